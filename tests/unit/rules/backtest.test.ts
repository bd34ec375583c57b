import { describe, expect, it } from 'vitest';
import type { Lead } from '../../../src/model/lead.js';
import { backtest, judgeBacktest } from '../../../src/rules/backtest.js';
import { makeConfig, makeLead } from './helpers.js';
import type { LeadInput } from './helpers.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const TODAY = '2026-03-10T08:00:00Z';

const engagement = { halfLifeDays: 30, events: [{ kind: 'demo_request' as const, points: 30, cap: 30, reason: 'Demo request' }] };
const current = makeConfig({
  scoring: { fit: [{ field: 'person.title', matches: '\\bvp\\b', points: 20, reason: 'Senior title' }], engagement },
});

function lead(id: string, title: string, demoAt: string | null, extra: LeadInput = {}): Lead {
  return makeLead({
    id,
    person: { title },
    marketing: { engagement: demoAt === null ? [] : [{ kind: 'demo_request', at: demoAt }] },
    ...extra,
  });
}

describe('backtest', () => {
  const leads = [
    lead('B1', 'VP Sales', TODAY, { sales: { converted: true, opportunityWon: true } }),
    lead('B2', 'VP Sales', TODAY, { sales: { converted: true, opportunityWon: false } }),
    lead('B3', 'VP Sales', null, { sales: { disqualifyReason: 'spam' } }),
    lead('B4', 'Engineer', null),
    lead('B5', 'Engineer', null, { sales: { converted: true } }),
    // Handed off on 1 January right after a demo: 50 then, 26 now that the demo has decayed.
    lead('B6', 'VP Sales', '2026-01-01T08:00:00Z', {
      sales: { converted: true, opportunityWon: true },
      stage: { current: 'customer', history: [{ stage: 'mql', at: '2026-01-01T12:00:00Z', cause: 'score' }] },
    }),
  ];
  const empty = { leads: 0, closed: 0, converted: 0, won: 0, lost: 0, disqualified: 0, conversionRate: null, winRate: null };

  it('reports conversion by score band, scoring each lead as of its handoff', () => {
    expect(backtest(leads, current, NOW)).toEqual([
      { band: '0-20', leads: 2, closed: 1, converted: 1, won: 0, lost: 0, disqualified: 0, conversionRate: 1, winRate: null },
      { band: '20-40', leads: 1, closed: 1, converted: 0, won: 0, lost: 0, disqualified: 1, conversionRate: 0, winRate: null },
      { band: '40-60', leads: 3, closed: 3, converted: 3, won: 2, lost: 1, disqualified: 0, conversionRate: 1, winRate: 0.6667 },
      { band: '60-80', ...empty },
      { band: '80-100', ...empty },
    ]);
  });

  it('can score as of now instead', () => {
    const rows = backtest(leads, current, NOW, { scoreAt: 'now' });
    expect(rows.map((row) => [row.band, row.leads, row.won])).toEqual([
      ['0-20', 2, 0],
      ['20-40', 2, 1],
      ['40-60', 2, 1],
      ['60-80', 0, 0],
      ['80-100', 0, 0],
    ]);
  });

  it('takes custom bands; the last one includes its upper bound', () => {
    const top = lead('T', 'VP', TODAY);
    const rich = makeConfig({ scoring: { ...current.scoring, fit: [{ field: 'person.title', matches: 'vp', points: 70, reason: 'VP' }] } });
    const rows = backtest([...leads, top], rich, NOW, { bands: [0, 50, 100] });
    expect(rows.map((row) => [row.band, row.leads])).toEqual([
      ['0-50', 2],
      ['50-100', 5],
    ]);
  });
});


describe('backtest on real outcomes', () => {
  it('takes a won or lost opportunity as the outcome, and a customer as won', () => {
    const leads = [
      lead('W', 'VP Sales', TODAY, { sales: { opportunityId: '006W', opportunityWon: true, opportunityStage: 'Closed Won', opportunityAmount: 12000 } }),
      lead('L', 'VP Sales', TODAY, { sales: { opportunityId: '006L', opportunityWon: false, opportunityStage: 'Closed Lost' } }),
      // A customer whose newest opportunity is still open was won before.
      lead('C', 'VP Sales', TODAY, { sales: { opportunityId: '006C', opportunityWon: null }, stage: { current: 'customer', history: [{ stage: 'customer', at: TODAY, cause: 'won' }] } }),
      // An open opportunity is converted, not yet won or lost.
      lead('O', 'VP Sales', TODAY, { sales: { opportunityId: '006O', opportunityWon: null, opportunityStage: 'Proposal' } }),
    ];
    expect(backtest(leads, current, NOW).find((row) => row.band === '40-60')).toEqual({
      band: '40-60', leads: 4, closed: 4, converted: 4, won: 2, lost: 1, disqualified: 0, conversionRate: 1, winRate: 0.6667,
    });
  });
});

describe('judgeBacktest', () => {
  const row = (band: string, won: number, lost: number) => ({ band, leads: won + lost, closed: won + lost, converted: won + lost, won, lost, disqualified: 0, conversionRate: 1, winRate: won + lost === 0 ? null : won / (won + lost) });

  it.each<[string, ReturnType<typeof row>[], { outcomes: number; enough: boolean; warnings: RegExp[] }]>([
    ['no outcome at all', [row('0-50', 0, 0), row('50-100', 0, 0)], { outcomes: 0, enough: false, warnings: [/^Too few outcomes to judge the score: 0 won or lost opportunities; at least 30 are needed\.$/] }],
    ['one short of the threshold', [row('0-50', 10, 9), row('50-100', 6, 4)], { outcomes: 29, enough: false, warnings: [/29 won or lost opportunities; at least 30/] }],
    ['enough overall, every band judged', [row('0-50', 10, 10), row('50-100', 6, 4)], { outcomes: 30, enough: true, warnings: [] }],
    ['enough overall, one band thin', [row('0-50', 20, 20), row('50-100', 3, 1), row('100-120', 0, 0)], { outcomes: 44, enough: true, warnings: [/^Band 50-100 has only 4 won or lost opportunities \(at least 10 to judge a band\)\.$/] }],
  ])('%s', (_name, rows, expected) => {
    const verdict = judgeBacktest(rows);
    expect(verdict.outcomes).toBe(expected.outcomes);
    expect(verdict.enough).toBe(expected.enough);
    expect(verdict.warnings).toHaveLength(expected.warnings.length);
    expected.warnings.forEach((w, i) => expect(verdict.warnings[i]).toMatch(w));
  });

  it('takes other thresholds', () => {
    expect(judgeBacktest([row('0-100', 3, 2)], { minOutcomes: 5, minPerBand: 5 })).toMatchObject({ outcomes: 5, enough: true, warnings: [] });
  });
});
