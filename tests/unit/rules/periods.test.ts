import { describe, expect, it } from 'vitest';
import { funnelQuerySchema, resolveRange, trendRanges } from '../../../src/rules/periods.js';
import type { FunnelQuery } from '../../../src/rules/periods.js';

// A Wednesday.
const NOW = new Date('2026-03-18T12:00:00Z');

describe('resolveRange', () => {
  it.each<[string, FunnelQuery, string, Date, { from: string; to: string; label: string }]>([
    ['the month under way by default', {}, 'UTC', NOW, { from: '2026-03-01', to: '2026-03-31', label: 'Mar 2026' }],
    ['a week starts on Monday', { period: 'week' }, 'UTC', NOW, { from: '2026-03-16', to: '2026-03-22', label: 'week of 16 Mar' }],
    ['a calendar quarter', { period: 'quarter' }, 'UTC', NOW, { from: '2026-01-01', to: '2026-03-31', label: 'Q1 2026' }],
    ['the month in the reporting zone, not UTC', { period: 'month' }, 'America/New_York', new Date('2026-04-01T02:00:00Z'), { from: '2026-03-01', to: '2026-03-31', label: 'Mar 2026' }],
    ['a custom range includes its last day', { from: '2026-02-10', to: '2026-02-16' }, 'UTC', NOW, { from: '2026-02-10', to: '2026-02-16', label: '2026-02-10 to 2026-02-16' }],
  ])('%s', (_name, query, tz, now, expected) => {
    expect(resolveRange(query, tz, now)).toMatchObject({ ...expected });
  });

  it('starts and ends at midnight in the zone, the end excluded', () => {
    const range = resolveRange({ period: 'month' }, 'America/New_York', NOW);
    expect(new Date(range.fromMs).toISOString()).toBe('2026-03-01T05:00:00.000Z');
    // Daylight saving time began on 8 March: April starts at UTC-4.
    expect(new Date(range.toMs).toISOString()).toBe('2026-04-01T04:00:00.000Z');
  });
});

describe('trendRanges', () => {
  it.each<[string, FunnelQuery, number, string[]]>([
    ['months before the chosen one', { period: 'month' }, 3, ['Jan 2026', 'Feb 2026', 'Mar 2026']],
    ['quarters across a year end', { period: 'quarter' }, 3, ['Q3 2025', 'Q4 2025', 'Q1 2026']],
    ['weeks', { period: 'week' }, 2, ['week of 9 Mar', 'week of 16 Mar']],
    ['back-to-back custom ranges of as many days', { from: '2026-03-08', to: '2026-03-14' }, 3, ['2026-02-22 to 2026-02-28', '2026-03-01 to 2026-03-07', '2026-03-08 to 2026-03-14']],
  ])('%s', (_name, query, count, labels) => {
    expect(trendRanges(resolveRange(query, 'UTC', NOW), count, 'UTC').map((r) => r.label)).toEqual(labels);
  });
});

describe('funnelQuerySchema', () => {
  const problem = (query: Record<string, string>) => {
    const result = funnelQuerySchema.safeParse(query);
    return result.success ? null : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it.each<[string, Record<string, string>, RegExp]>([
    ['an unknown period', { period: 'year' }, /^period: /],
    ['a malformed date', { from: '2026-3-1', to: '2026-03-31' }, /^from: expected a date such as 2026-03-31 \(YYYY-MM-DD\)/],
    ['a date that does not exist', { from: '2026-02-01', to: '2026-02-30' }, /^to: expected a date such as/],
    ['from after to', { from: '2026-04-01', to: '2026-03-01' }, /^from: from \(2026-04-01\) is after to \(2026-03-01\)/],
    ['from without to', { from: '2026-04-01' }, /^to: from and to go together/],
    ['a period and dates', { period: 'week', from: '2026-03-01', to: '2026-03-31' }, /^period: give either a period or from and to/],
    ['a trend of no periods', { trend: '0' }, /^trend: /],
    ['a trend that is not a number', { trend: 'six' }, /^trend: expected a whole number of periods/],
  ])('refuses %s, naming the parameter', (_name, query, message) => {
    expect(problem(query)).toMatch(message);
  });

  it.each<[Record<string, string>, FunnelQuery]>([
    [{}, {}],
    [{ period: 'quarter', trend: '4' }, { period: 'quarter', trend: 4 }],
    [{ from: '2026-03-01', to: '2026-03-01' }, { from: '2026-03-01', to: '2026-03-01' }],
  ])('takes %j', (query, parsed) => {
    expect(funnelQuerySchema.parse(query)).toEqual(parsed);
  });
});
