import { describe, expect, it } from 'vitest';
import type { Lead } from '../../../src/model/lead.js';
import { compareRuleSets } from '../../../src/rules/dry-run.js';
import { countMqlsByMonth, mqlDates, mqlProgress } from '../../../src/rules/targets.js';
import { makeConfig, makeLead } from './helpers.js';
import type { LeadInput } from './helpers.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const TODAY = '2026-03-10T08:00:00Z';

const engagement = { halfLifeDays: 30, events: [{ kind: 'demo_request' as const, points: 30, cap: 30, reason: 'Demo request' }] };
const current = makeConfig({
  scoring: { fit: [{ field: 'person.title', matches: '\\bvp\\b', points: 20, reason: 'Senior title' }], engagement },
});
const candidate = makeConfig({
  scoring: {
    fit: [{ field: 'person.title', matches: '\\bvp\\b', points: 40, reason: 'Senior title' }],
    engagement,
    grades: { hot: 80, warm: 40 },
  },
});

function lead(id: string, title: string, demoAt: string | null, extra: LeadInput = {}): Lead {
  return makeLead({
    id,
    person: { title },
    marketing: { engagement: demoAt === null ? [] : [{ kind: 'demo_request', at: demoAt }] },
    ...extra,
  });
}

describe('compareRuleSets', () => {
  const leads = [
    lead('L1', 'VP Sales', TODAY),
    lead('L2', 'VP Sales', null),
    lead('L3', 'Engineer', TODAY),
    lead('L4', 'VP Sales', '2026-02-08T08:00:00Z'),
  ];

  it('summarises what a rule change would change', () => {
    const summary = compareRuleSets(leads, current, candidate, NOW);
    expect(summary).toEqual({
      leads: 4,
      changed: 3,
      gradeChanges: [{ from: 'cold', to: 'warm', count: 2 }],
      stageChanges: [{ from: 'lead', to: 'mql', count: 1 }],
      scoreDelta: { mean: 15, min: 0, max: 20, up: 3, down: 0, unchanged: 1 },
      examples: [
        {
          leadId: 'L1',
          before: { total: 50, grade: 'warm', stage: 'lead', reasons: ['+30 Demo request (today)', '+20 Senior title'] },
          after: { total: 70, grade: 'warm', stage: 'mql', reasons: ['+40 Senior title', '+30 Demo request (today)'] },
        },
        {
          leadId: 'L2',
          before: { total: 20, grade: 'cold', stage: 'lead', reasons: ['+20 Senior title'] },
          after: { total: 40, grade: 'warm', stage: 'lead', reasons: ['+40 Senior title'] },
        },
        {
          // The demo 30 days ago is worth half: 15.
          leadId: 'L4',
          before: { total: 35, grade: 'cold', stage: 'lead', reasons: ['+20 Senior title', '+15 Demo request (30 days ago)'] },
          after: { total: 55, grade: 'warm', stage: 'lead', reasons: ['+40 Senior title', '+15 Demo request (30 days ago)'] },
        },
      ],
    });
  });

  it('finds nothing to change between identical rule sets', () => {
    const summary = compareRuleSets(leads, current, current, NOW);
    expect(summary).toMatchObject({ leads: 4, changed: 0, gradeChanges: [], stageChanges: [], examples: [] });
    expect(summary.scoreDelta).toEqual({ mean: 0, min: 0, max: 0, up: 0, down: 0, unchanged: 4 });
  });

  it('keeps at most the requested number of examples', () => {
    expect(compareRuleSets(leads, current, candidate, NOW, { examples: 1 }).examples.map((example) => example.leadId)).toEqual(['L1']);
    expect(compareRuleSets([], current, candidate, NOW).scoreDelta).toEqual({ mean: 0, min: 0, max: 0, up: 0, down: 0, unchanged: 0 });
  });
});

describe('monthly MQL target', () => {
  const targets = makeConfig({ targets: { mqlPerMonth: 10, months: { '2026-04': 20 }, tz: 'America/New_York' } }).targets;
  const dates = ['2026-03-01T04:30:00Z', '2026-03-01T05:00:00Z', '2026-03-10T12:00:00Z', '2026-03-15T12:00:00Z'];
  // Midnight of 16 March in New York; March there runs 743 hours (DST), of which 359 have passed.
  const now = new Date('2026-03-16T04:00:00Z');

  it('tracks progress in the zone\'s calendar month', () => {
    expect(mqlProgress(dates, targets, now)).toEqual({
      month: '2026-03',
      target: 10,
      count: 3,
      remaining: 7,
      progress: 0.3,
      elapsed: 0.4832,
      expectedByNow: 5,
      onTrack: false,
      projected: 6,
    });
  });

  it('uses a per-month override', () => {
    expect(mqlProgress(dates, targets, now, '2026-04')).toEqual({
      month: '2026-04',
      target: 20,
      count: 0,
      remaining: 20,
      progress: 0,
      elapsed: 0,
      expectedByNow: 0,
      onTrack: true,
      projected: 0,
    });
  });

  it('reports counts without a target', () => {
    const none = makeConfig().targets;
    expect(mqlProgress(dates, none, now)).toMatchObject({ target: null, remaining: null, progress: null, expectedByNow: null, onTrack: null, count: 4 });
  });

  it('counts MQL transitions per month from the stage history', () => {
    const leads = [
      makeLead({ stage: { current: 'mql', history: [{ stage: 'mql', at: dates[0] as string, cause: 'x' }] } }),
      makeLead({
        stage: {
          current: 'mql',
          history: [
            { stage: 'mql', at: dates[2] as string, cause: 'x' },
            { stage: 'recycled', at: '2026-03-12T00:00:00Z', cause: 'y' },
            { stage: 'mql', at: dates[3] as string, cause: 'z' },
          ],
        },
      }),
    ];
    expect(mqlDates(leads)).toEqual([dates[0], dates[2], dates[3]]);
    expect(countMqlsByMonth(dates, 'America/New_York')).toEqual({ '2026-02': 1, '2026-03': 3 });
    expect(countMqlsByMonth(dates, 'UTC')).toEqual({ '2026-03': 4 });
  });
});
