/**
 * Marketing's side of the agreement: a monthly MQL target, and progress against it from the
 * dates of MQL transitions. Months are calendar months in the configured zone (luxon), so an MQL
 * at 23:30 on the 31st in New York counts for that month even though it is already the 1st in UTC.
 */
import { DateTime } from 'luxon';
import type { Lead } from '../model/lead.js';
import type { TargetsConfig } from './config.js';

export interface MqlProgress {
  /** The month, yyyy-MM, in the targets' zone. */
  month: string;
  /** The target for the month (a per-month override or mqlPerMonth), or null when none is set. */
  target: number | null;
  count: number;
  /** MQLs still needed; 0 once the target is reached; null without a target. */
  remaining: number | null;
  /** count / target, e.g. 0.5 at half; null without a target. */
  progress: number | null;
  /** Share of the month elapsed at `now`, 0 to 1. */
  elapsed: number;
  /** The target pro rata to the elapsed share of the month, rounded. */
  expectedByNow: number | null;
  onTrack: boolean | null;
  /** The month's count if the pace so far continues. */
  projected: number;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The dates of every MQL transition in the leads' stage histories (re-handoffs count again). */
export function mqlDates(leads: Iterable<Lead>): string[] {
  const dates: string[] = [];
  for (const lead of leads) {
    for (const entry of lead.stage?.history ?? []) if (entry.stage === 'mql') dates.push(entry.at);
  }
  return dates;
}

/** MQLs per month (yyyy-MM) in the given zone. */
export function countMqlsByMonth(dates: Iterable<string>, tz: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const date of dates) {
    const at = DateTime.fromISO(date, { zone: tz });
    if (!at.isValid) continue;
    const month = at.toFormat('yyyy-MM');
    counts[month] = (counts[month] ?? 0) + 1;
  }
  return counts;
}

export function targetFor(month: string, targets: TargetsConfig): number | null {
  if (Object.hasOwn(targets.months, month)) return targets.months[month] ?? null;
  return targets.mqlPerMonth ?? null;
}

/** Progress of the month containing `now` (or of `month`, given as yyyy-MM) against its target. */
export function mqlProgress(dates: readonly string[], targets: TargetsConfig, now: Date, month?: string): MqlProgress {
  const nowLocal = DateTime.fromJSDate(now, { zone: targets.tz });
  const start = month === undefined ? nowLocal.startOf('month') : DateTime.fromFormat(month, 'yyyy-MM', { zone: targets.tz });
  if (!start.isValid) throw new RangeError(`invalid month "${month ?? ''}": use yyyy-MM`);
  const end = start.plus({ months: 1 });
  const key = start.toFormat('yyyy-MM');
  const from = start.toMillis();
  const to = end.toMillis();
  let count = 0;
  for (const date of dates) {
    const at = Date.parse(date);
    if (at >= from && at < to) count += 1;
  }
  const nowMs = now.getTime();
  const elapsed = nowMs <= from ? 0 : nowMs >= to ? 1 : (nowMs - from) / (to - from);
  const target = targetFor(key, targets);
  const projected = elapsed === 0 ? count : Math.round(count / elapsed);
  const expectedByNow = target === null ? null : Math.round(target * elapsed);
  return {
    month: key,
    target,
    count,
    remaining: target === null ? null : Math.max(0, target - count),
    progress: target === null || target === 0 ? null : round(count / target, 4),
    elapsed: round(elapsed, 4),
    expectedByNow,
    onTrack: expectedByNow === null ? null : count >= expectedByNow,
    projected,
  };
}

/** Marketing's target for any reporting range, against the MQLs in it, with the pace. */
export interface RangeTarget {
  /** The months' targets pro rata to the days of each month in the range; null when none is set. */
  target: number | null;
  /** Every MQL transition in the range (a lead handed off again counts again, as for the month). */
  actual: number;
  /** The target pro rata to the share of the range gone at `now`. */
  expectedByNow: number | null;
  remaining: number | null;
  /** The range's MQLs if the pace so far continues. */
  projected: number;
  pace: 'on-track' | 'behind' | 'no-target';
  /** MQLs short of the pro-rata target (0 on track); null without a target. */
  behindBy: number | null;
}

/**
 * The target of a range of days `[fromMs, toMs)`: each calendar month it touches (in the targets'
 * zone) gives its target times the share of its days inside the range, so a month's range gets
 * exactly the month's target and a quarter the sum of three.
 */
export function rangeTarget(dates: Iterable<string>, targets: TargetsConfig, range: { fromMs: number; toMs: number }, now: Date): RangeTarget {
  let sum = 0;
  let anyTarget = false;
  let month = DateTime.fromMillis(range.fromMs, { zone: targets.tz }).startOf('month');
  while (month.toMillis() < range.toMs) {
    const next = month.plus({ months: 1 });
    const target = targetFor(month.toFormat('yyyy-MM'), targets);
    if (target !== null) {
      anyTarget = true;
      const overlap = Math.min(next.toMillis(), range.toMs) - Math.max(month.toMillis(), range.fromMs);
      sum += (target * overlap) / (next.toMillis() - month.toMillis());
    }
    month = next;
  }
  let actual = 0;
  for (const date of dates) {
    const at = Date.parse(date);
    if (at >= range.fromMs && at < range.toMs) actual += 1;
  }
  const nowMs = now.getTime();
  const elapsed = nowMs <= range.fromMs ? 0 : nowMs >= range.toMs ? 1 : (nowMs - range.fromMs) / (range.toMs - range.fromMs);
  const target = anyTarget ? Math.round(sum) : null;
  const expectedByNow = target === null ? null : Math.round(target * elapsed);
  return {
    target,
    actual,
    expectedByNow,
    remaining: target === null ? null : Math.max(0, target - actual),
    projected: elapsed === 0 ? actual : Math.round(actual / elapsed),
    pace: expectedByNow === null ? 'no-target' : actual >= expectedByNow ? 'on-track' : 'behind',
    behindBy: expectedByNow === null ? null : Math.max(0, expectedByNow - actual),
  };
}
