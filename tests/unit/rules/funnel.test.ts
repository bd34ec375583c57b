import { describe, expect, it } from 'vitest';
import type { Lead, Stage } from '../../../src/model/lead.js';
import { funnelDates, median, periodFunnel } from '../../../src/rules/funnel.js';
import { makeConfig, makeLead } from './helpers.js';

const NOW = new Date('2026-03-20T12:00:00Z');
const targets = makeConfig({ targets: { mqlPerMonth: 10 } }).targets;
const noon = (day: string) => `${day}T12:00:00.000Z`;

function person(id: string, path: Array<[Stage, string]>, extra: { source?: string; campaign?: string; sales?: Partial<Lead['sales']> } = {}): Lead {
  const current = path.at(-1)?.[0];
  return makeLead({
    id,
    marketing: { engagement: [], source: extra.source ?? null, campaign: extra.campaign ?? null },
    sales: extra.sales ?? {},
    ...(current === undefined ? {} : { stage: { current, history: path.map(([stage, day]) => ({ stage, at: noon(day), cause: 'test' })) } }),
  });
}

// March 2026 as a RevOps admin would tell it.
const leads = [
  // Through every step in March, won on the 18th.
  person('A', [['lead', '2026-03-02'], ['mql', '2026-03-05'], ['sal', '2026-03-06'], ['sql', '2026-03-10'], ['opportunity', '2026-03-12'], ['customer', '2026-03-19']], {
    source: 'Webinar', campaign: 'Spring launch',
    sales: { opportunityId: '006A', opportunityCreatedAt: noon('2026-03-12'), opportunityWon: true, opportunityAmount: 5000, opportunityCloseDate: '2026-03-18' },
  }),
  // Straight from MQL to SQL (it passed SAL too), with an open opportunity closing on the 30th.
  person('B', [['lead', '2026-03-03'], ['mql', '2026-03-04'], ['sql', '2026-03-08'], ['opportunity', '2026-03-15']], {
    source: 'Webinar',
    sales: { opportunityId: '006B', opportunityCreatedAt: noon('2026-03-15'), opportunityWon: null, opportunityAmount: 20000, opportunityCloseDate: '2026-03-30' },
  }),
  // A February lead that became an MQL in March.
  person('C', [['lead', '2026-02-10'], ['mql', '2026-03-01']], { source: 'Paid search' }),
  person('D', [['lead', '2026-03-10']]),
  // January's lead, February's opportunity and win.
  person('E', [['lead', '2026-01-05'], ['mql', '2026-01-06'], ['sal', '2026-01-10'], ['sql', '2026-01-20'], ['opportunity', '2026-02-01'], ['customer', '2026-02-20']], {
    source: 'Webinar',
    sales: { opportunityId: '006E', opportunityCreatedAt: noon('2026-02-01'), opportunityWon: true, opportunityAmount: 7000, opportunityCloseDate: '2026-02-20' },
  }),
  // First seen at install in March, but its opportunity was opened in November: every step dates from then.
  person('F', [['opportunity', '2026-03-09']], {
    source: 'Partner',
    sales: { opportunityId: '006F', opportunityCreatedAt: noon('2025-11-01'), opportunityWon: null, opportunityAmount: 3000, opportunityCloseDate: '2026-03-25' },
  }),
  // Lost in March: in the steps, not in the revenue.
  person('G', [['lead', '2026-03-01'], ['mql', '2026-03-02'], ['sal', '2026-03-03'], ['sql', '2026-03-04'], ['opportunity', '2026-03-05'], ['recycled', '2026-03-19']], {
    source: 'Event',
    sales: { opportunityId: '006G', opportunityCreatedAt: noon('2026-03-05'), opportunityWon: false, opportunityAmount: 9000, opportunityCloseDate: '2026-03-19' },
  }),
  // Never evaluated: no date, in no period.
  makeLead({ id: 'H', marketing: { engagement: [], source: 'Webinar' } }),
];

describe('the lead step', () => {
  it('is dated by the person\'s creation in the CRM, not by when the connector first saw them', () => {
    // Installed in March; the person was created in HubSpot in January.
    const installed = { ...person('I', [['lead', '2026-03-02']]), createdAt: noon('2026-01-20') };
    expect(funnelDates(installed, 'UTC')?.at[0]).toBe(Date.parse(noon('2026-01-20')));
    const jan = periodFunnel([installed], { from: '2026-01-01', to: '2026-01-31' }, targets, NOW);
    const mar = periodFunnel([installed], { period: 'month' }, targets, NOW);
    expect(jan.steps[0]?.count).toBe(1);
    expect(mar.steps[0]?.count).toBe(0);
  });
});

describe('periodFunnel for a month', () => {
  const report = periodFunnel(leads, { period: 'month', trend: 3 }, targets, NOW);

  it('names the period', () => {
    expect(report).toMatchObject({ from: '2026-03-01', to: '2026-03-31', period: 'month', label: 'Mar 2026', tz: 'UTC' });
  });

  it.each<[string, number, number | null, number | null]>([
    // stage, leads that reached it in March, share of those that reached the next step, median days from the previous step
    ['lead', 4, 0.75, null], // A B D G; three of them went on to MQL
    ['mql', 4, 0.75, 2], // A B C G; days 3, 1, 19, 1
    ['sal', 3, 1, 1], // A G and B (skipped: no days of its own)
    ['sql', 3, 1, 2.5], // A 4 days, G 1 (B's SAL was skipped)
    ['opportunity', 3, 0.3333, 2], // A 2, B 7, G 1
    ['won', 1, null, 5.5], // A: opportunity at noon on the 12th, closed on the 18th
  ])('%s: %i, conversion %s, median days %s', (stage, count, conversion, medianDays) => {
    expect(report.steps.find((s) => s.stage === stage)).toMatchObject({ stage, count, conversion, medianDays });
  });

  it('lists the steps in order', () => {
    expect(report.steps.map((s) => s.stage)).toEqual(['lead', 'mql', 'sal', 'sql', 'opportunity', 'won']);
  });

  it('counts open opportunities closing in the period as pipeline, and wins closed in it as won', () => {
    expect(report.revenue).toEqual({ pipeline: 23000, won: 5000, pipelineDeals: 2, wonDeals: 1 });
  });

  it('sets the MQL target against every MQL of the month, with the pace', () => {
    // 19.5 of 31 days gone: 6 expected by now, 4 so far.
    expect(report.mqlTarget).toMatchObject({ target: 10, actual: 4, pace: 'behind', expectedByNow: 6, behindBy: 2 });
  });

  it.each<[string, string, Record<string, number>, { pipeline: number; won: number }]>([
    ['bySource', 'Webinar', { lead: 2, mql: 2, sal: 2, sql: 2, opportunity: 2, won: 1 }, { pipeline: 20000, won: 5000 }],
    ['bySource', 'Paid search', { lead: 0, mql: 1, sal: 0, won: 0 }, { pipeline: 0, won: 0 }],
    ['bySource', 'Partner', { lead: 0, opportunity: 0 }, { pipeline: 3000, won: 0 }],
    ['bySource', '(none)', { lead: 1, mql: 0 }, { pipeline: 0, won: 0 }],
    ['byCampaign', 'Spring launch', { lead: 1, won: 1 }, { pipeline: 0, won: 5000 }],
    ['byCampaign', '(none)', { lead: 3, mql: 3, sal: 2, sql: 2, opportunity: 2, won: 0 }, { pipeline: 23000, won: 0 }],
  ])('%s %s', (dimension, key, counts, revenue) => {
    const rows = dimension === 'bySource' ? report.bySource : report.byCampaign;
    const row = rows.find((r) => r.key === key);
    expect(row?.counts).toMatchObject(counts);
    expect(row?.revenue).toMatchObject(revenue);
  });

  it('leaves out sources with nothing in the period, and sorts the rest by leads', () => {
    expect(report.bySource.map((r) => r.key)).toEqual(['Webinar', '(none)', 'Event', 'Paid search', 'Partner']);
  });

  it('trends over the last periods, the chosen one last', () => {
    expect(report.trend.map((p) => [p.label, p.counts.lead, p.counts.mql, p.counts.opportunity, p.counts.won, p.revenue.won])).toEqual([
      ['Jan 2026', 1, 1, 0, 0, 0],
      ['Feb 2026', 1, 0, 1, 1, 7000],
      ['Mar 2026', 4, 4, 3, 1, 5000],
    ]);
  });
});

describe('periodFunnel', () => {
  it('never converts above 100 %, and a skipped step counts as passed', () => {
    // Both reach SQL in March; one skipped MQL and SAL altogether.
    const skipper = person('S', [['lead', '2026-03-02'], ['sql', '2026-03-09']]);
    const late = person('L', [['lead', '2026-02-02'], ['mql', '2026-02-03'], ['sal', '2026-02-04'], ['sql', '2026-03-03']]);
    const report = periodFunnel([skipper, late], { period: 'month' }, targets, NOW);
    expect(report.steps.map((s) => [s.stage, s.count, s.conversion])).toEqual([
      ['lead', 1, 1],
      ['mql', 1, 1],
      ['sal', 1, 1],
      ['sql', 2, 0],
      ['opportunity', 0, null],
      ['won', 0, null],
    ]);
  });

  it('counts an open opportunity without a close date as pipeline where it was opened', () => {
    const undated = person('U', [['lead', '2026-03-02']], { sales: { opportunityId: '006U', opportunityCreatedAt: noon('2026-02-20'), opportunityWon: null, opportunityAmount: 4000 } });
    expect(periodFunnel([undated], { period: 'month' }, targets, NOW).revenue).toMatchObject({ pipeline: 0, pipelineDeals: 0 });
    expect(periodFunnel([undated], { from: '2026-02-01', to: '2026-02-28' }, targets, NOW).revenue).toMatchObject({ pipeline: 4000, pipelineDeals: 1 });
  });

  it('takes a custom range of days', () => {
    const report = periodFunnel(leads, { from: '2026-03-01', to: '2026-03-05' }, targets, NOW);
    expect(report).toMatchObject({ from: '2026-03-01', to: '2026-03-05', period: 'custom' });
    // A, B, G were first seen by the 5th; A, B, C, G were MQLs by then.
    expect(report.steps.map((s) => s.count)).toEqual([3, 4, 1, 1, 1, 0]);
    // Five of March's 31 days, all gone: 10 × 5/31 is 2 MQLs.
    expect(report.mqlTarget).toMatchObject({ target: 2, actual: 4, pace: 'on-track' });
  });

  it('has nothing to divide by in an empty period', () => {
    const report = periodFunnel([], { period: 'week' }, makeConfig({}).targets, NOW);
    expect(report.steps.every((s) => s.count === 0 && s.conversion === null && s.medianDays === null)).toBe(true);
    expect(report.revenue).toEqual({ pipeline: 0, won: 0, pipelineDeals: 0, wonDeals: 0 });
    expect(report.mqlTarget).toMatchObject({ target: null, actual: 0, pace: 'no-target' });
    expect(report.trend).toHaveLength(6);
  });
});

describe('funnelDates', () => {
  const day = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 10));

  it.each<[string, Lead, Array<string | null>]>([
    ['a lead only', person('1', [['lead', '2026-03-02']]), ['2026-03-02', null, null, null, null, null]],
    ['an MQL first seen as one', person('1', [['mql', '2026-03-02']]), ['2026-03-02', '2026-03-02', null, null, null, null]],
    ['a customer without dates of its own in between', person('1', [['lead', '2026-03-02'], ['customer', '2026-03-09']]), ['2026-03-02', '2026-03-09', '2026-03-09', '2026-03-09', '2026-03-09', '2026-03-09']],
    ['a won deal dated by its close date', person('1', [['lead', '2026-01-02'], ['customer', '2026-03-09']], { sales: { opportunityWon: true, opportunityCreatedAt: noon('2026-02-01'), opportunityCloseDate: '2026-03-01' } }), ['2026-01-02', '2026-02-01', '2026-02-01', '2026-02-01', '2026-02-01', '2026-03-01']],
    ['recycled after SAL', person('1', [['lead', '2026-01-02'], ['mql', '2026-01-03'], ['sal', '2026-01-04'], ['recycled', '2026-03-01']]), ['2026-01-02', '2026-01-03', '2026-01-04', null, null, null]],
    ['disqualified straight from lead', person('1', [['lead', '2026-01-02'], ['disqualified', '2026-01-03']]), ['2026-01-02', null, null, null, null, null]],
  ])('%s', (_name, lead, expected) => {
    expect(funnelDates(lead, 'UTC')?.at.map(day)).toEqual(expected);
  });

  it('dates a lead not evaluated yet by its opportunity, when it has one', () => {
    const lead = makeLead({ id: 'x', sales: { opportunityId: '006X', opportunityCreatedAt: noon('2026-03-04'), opportunityWon: null } });
    expect(funnelDates(lead, 'UTC')?.at.map(day)).toEqual(['2026-03-04', '2026-03-04', '2026-03-04', '2026-03-04', '2026-03-04', null]);
  });

  it('has no dates for a lead never evaluated', () => {
    expect(funnelDates(makeLead({ id: 'x' }), 'UTC')).toBeNull();
  });
});

describe('median', () => {
  it.each<[number[], number | null]>([
    [[], null],
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median(%j) = %j', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe("the MQL target: marketing's side of the agreement, with its pace", () => {
  const nyTargets = makeConfig({ targets: { mqlPerMonth: 40, months: { '2025-03': 30 }, tz: 'America/New_York' } }).targets;
  // 2025-03-16 12:00 New York: 15.5 of 31 days gone, half the month.
  const now = new Date('2025-03-16T16:00:00.000Z');
  const mqlAt = (id: string, iso: string): Lead => makeLead({ id, stage: { current: 'mql', history: [{ stage: 'mql', at: iso, cause: 'test' }] } });

  it('counts the MQLs of the month in the targets zone and says how far behind the pace it is', () => {
    const leads = [
      ...Array.from({ length: 9 }, (_, i) => mqlAt(`L${i}`, `2025-03-${String(2 + i).padStart(2, '0')}T15:00:00.000Z`)),
      // 23:30 on 28 February in New York is February there, though March in UTC.
      mqlAt('Lfeb', '2025-03-01T04:30:00.000Z'),
      mqlAt('Lapr', '2025-04-01T04:30:00.000Z'),
    ];
    expect(periodFunnel(leads, { period: 'month' }, nyTargets, now).mqlTarget).toEqual({ target: 30, actual: 9, expectedByNow: 15, remaining: 21, projected: 18, pace: 'behind', behindBy: 6 });
  });

  it('is on track at or above the pro-rata target, and says there is no target when none is set', () => {
    const leads = Array.from({ length: 15 }, (_, i) => mqlAt(`L${i}`, `2025-03-0${1 + (i % 9)}T15:00:00.000Z`));
    expect(periodFunnel(leads, { period: 'month' }, nyTargets, now).mqlTarget).toMatchObject({ actual: 15, pace: 'on-track', behindBy: 0 });
    expect(periodFunnel(leads, { period: 'month' }, makeConfig({}).targets, now).mqlTarget).toMatchObject({ target: null, actual: 15, pace: 'no-target', behindBy: null });
  });

  it('sums the months of a quarter, the per-month override included', () => {
    // January and February at 40, March at 30.
    expect(periodFunnel([], { period: 'quarter' }, nyTargets, now).mqlTarget).toMatchObject({ target: 110, actual: 0 });
  });
});
