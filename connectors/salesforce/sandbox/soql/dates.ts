/**
 * Relative date literals (`TODAY`, `LAST_N_DAYS:30`, `THIS_MONTH`...) as half-open UTC ranges
 * `[start, end)` at the time of the query. Salesforce resolves them in the user's time zone; the
 * sandbox's user lives in UTC. Weeks start on Sunday (the en_US locale).
 */
import { DAY_MS, startOfUtcDay } from '../values.js';

export interface DateRange {
  start: number;
  end: number;
}

function monthStart(ms: number, addMonths: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + addMonths, 1);
}

function yearStart(ms: number, addYears: number): number {
  return Date.UTC(new Date(ms).getUTCFullYear() + addYears, 0, 1);
}

/** The range of a relative date literal, or null when the name is unknown. */
export function relativeDateRange(name: string, n: number, now: number): DateRange | null {
  const today = startOfUtcDay(now);
  const weekStart = today - new Date(today).getUTCDay() * DAY_MS;
  const days = (start: number, count: number): DateRange => ({ start, end: start + count * DAY_MS });
  switch (name) {
    case 'TODAY':
      return days(today, 1);
    case 'YESTERDAY':
      return days(today - DAY_MS, 1);
    case 'TOMORROW':
      return days(today + DAY_MS, 1);
    case 'LAST_N_DAYS':
      return { start: today - n * DAY_MS, end: today + DAY_MS };
    case 'NEXT_N_DAYS':
      return days(today + DAY_MS, n);
    case 'N_DAYS_AGO':
      return days(today - n * DAY_MS, 1);
    case 'LAST_90_DAYS':
      return { start: today - 90 * DAY_MS, end: today + DAY_MS };
    case 'NEXT_90_DAYS':
      return days(today + DAY_MS, 90);
    case 'THIS_WEEK':
      return days(weekStart, 7);
    case 'LAST_WEEK':
      return days(weekStart - 7 * DAY_MS, 7);
    case 'NEXT_WEEK':
      return days(weekStart + 7 * DAY_MS, 7);
    case 'LAST_N_WEEKS':
      return { start: weekStart - n * 7 * DAY_MS, end: weekStart };
    case 'NEXT_N_WEEKS':
      return { start: weekStart + 7 * DAY_MS, end: weekStart + (n + 1) * 7 * DAY_MS };
    case 'THIS_MONTH':
      return { start: monthStart(today, 0), end: monthStart(today, 1) };
    case 'LAST_MONTH':
      return { start: monthStart(today, -1), end: monthStart(today, 0) };
    case 'NEXT_MONTH':
      return { start: monthStart(today, 1), end: monthStart(today, 2) };
    case 'LAST_N_MONTHS':
      return { start: monthStart(today, -n), end: monthStart(today, 0) };
    case 'NEXT_N_MONTHS':
      return { start: monthStart(today, 1), end: monthStart(today, n + 1) };
    case 'THIS_YEAR':
      return { start: yearStart(today, 0), end: yearStart(today, 1) };
    case 'LAST_YEAR':
      return { start: yearStart(today, -1), end: yearStart(today, 0) };
    case 'NEXT_YEAR':
      return { start: yearStart(today, 1), end: yearStart(today, 2) };
    default:
      return null;
  }
}
