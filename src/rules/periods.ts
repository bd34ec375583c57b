/**
 * Reporting periods: a calendar week (Monday first), month or quarter in the reporting zone
 * (`targets.tz`), or a custom range of whole days. A range is half-open in time: it starts at
 * midnight of its first day and ends at midnight after its last day (`to` is that last day, so
 * `--from 2026-03-01 --to 2026-03-31` is March). The query that picks one comes from the CLI and
 * the admin API as strings; its zod schema is here so that both refuse the same things alike.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';

export const PERIOD_KINDS = ['week', 'month', 'quarter'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

export const DEFAULT_TREND_PERIODS = 6;
export const MAX_TREND_PERIODS = 24;
/** The longest custom range, in days: ten years is more than any funnel question needs. */
export const MAX_RANGE_DAYS = 3660;

const DAY_MS = 86_400_000;

/** A calendar date that exists: 2026-02-30 is refused, not rolled over into March. */
function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text, { zone: 'UTC' }).isValid;
}

export const calendarDateSchema = z.string().refine(isCalendarDate, { message: 'expected a date such as 2026-03-31 (YYYY-MM-DD)' });

export const funnelQuerySchema = z
  .object({
    period: z.enum(PERIOD_KINDS).optional(),
    from: calendarDateSchema.optional(),
    to: calendarDateSchema.optional(),
    /** How many periods the trend shows, the chosen one last. */
    trend: z
      .string()
      .refine((text) => /^\d{1,6}$/.test(text), { message: 'expected a whole number of periods' })
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_TREND_PERIODS))
      .optional(),
  })
  .superRefine((query, ctx) => {
    // Each message is whole: no input to echo (the parameter's own value is in the message).
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message, input: undefined });
    if ((query.from === undefined) !== (query.to === undefined)) {
      issue(query.from === undefined ? 'from' : 'to', 'from and to go together: give both dates or neither');
      return;
    }
    if (query.from !== undefined && query.period !== undefined) issue('period', 'give either a period or from and to, not both');
    // A malformed date has its own message; comparing it would only add noise.
    if (query.from !== undefined && query.to !== undefined && isCalendarDate(query.from) && isCalendarDate(query.to)) {
      if (query.from > query.to) {
        issue('from', `from (${query.from}) is after to (${query.to})`);
      } else if (Date.parse(query.to) - Date.parse(query.from) >= MAX_RANGE_DAYS * DAY_MS) {
        issue('to', `the range may span at most ${MAX_RANGE_DAYS} days`);
      }
    }
  });
export type FunnelQuery = z.infer<typeof funnelQuerySchema>;

export interface ReportRange {
  kind: PeriodKind | 'custom';
  /** First day, YYYY-MM-DD in the zone. */
  from: string;
  /** Last day (included), YYYY-MM-DD in the zone. */
  to: string;
  /** Start (included) and end (excluded) as epoch ms. */
  fromMs: number;
  toMs: number;
  /** A short name for charts: "Mar 2026", "Q1 2026", "week of 2 Mar", or the two dates. */
  label: string;
}

function rangeOf(kind: ReportRange['kind'], start: DateTime, end: DateTime): ReportRange {
  const last = end.minus({ days: 1 });
  const label =
    kind === 'month' ? start.toFormat('LLL yyyy')
      : kind === 'quarter' ? `Q${start.quarter} ${start.year}`
        : kind === 'week' ? `week of ${start.toFormat('d LLL')}`
          : `${start.toISODate()} to ${last.toISODate()}`;
  return { kind, from: start.toISODate() ?? '', to: last.toISODate() ?? '', fromMs: start.toMillis(), toMs: end.toMillis(), label };
}

function periodContaining(kind: PeriodKind, at: DateTime): ReportRange {
  const start = at.startOf(kind);
  return rangeOf(kind, start, start.plus({ [`${kind}s`]: 1 }));
}

/** The range a query asks for: its dates, else the period under way at `now` (a month by default). */
export function resolveRange(query: FunnelQuery, tz: string, now: Date): ReportRange {
  if (query.from !== undefined && query.to !== undefined) {
    const start = DateTime.fromISO(query.from, { zone: tz });
    const end = DateTime.fromISO(query.to, { zone: tz }).plus({ days: 1 });
    return rangeOf('custom', start, end);
  }
  return periodContaining(query.period ?? 'month', DateTime.fromJSDate(now, { zone: tz }));
}

/**
 * The `count` ranges that end with `range`, oldest first: the periods before it, or for a custom
 * range the back-to-back ranges of as many days.
 */
export function trendRanges(range: ReportRange, count: number, tz: string): ReportRange[] {
  const ranges: ReportRange[] = [range];
  const start = DateTime.fromMillis(range.fromMs, { zone: tz });
  for (let i = 1; i < count; i += 1) {
    if (range.kind === 'custom') {
      const days = Math.round(DateTime.fromMillis(range.toMs, { zone: tz }).diff(start, 'days').days);
      const end = start.minus({ days: days * (i - 1) });
      ranges.unshift(rangeOf('custom', end.minus({ days }), end));
    } else {
      ranges.unshift(periodContaining(range.kind, start.minus({ [`${range.kind}s`]: i })));
    }
  }
  return ranges;
}

/** A date-only value (a close date, YYYY-MM-DD) as the start of that day in the zone; NaN when unreadable. */
export function dayStartMs(date: string, tz: string): number {
  const at = DateTime.fromISO(date.slice(0, 10), { zone: tz });
  return at.isValid ? at.toMillis() : Number.NaN;
}
