/**
 * Durations in config: `30m`, `4h`, `2d`, `1h30m`, `1d 4h`. Days are kept apart from hours and
 * minutes because on a business-hours clock "2d" means two working days (two full spans of the
 * calendar's opening hours), not 48 hours of working time.
 */

export interface Duration {
  days: number;
  /** The hours and minutes part, in milliseconds. */
  ms: number;
}

const DURATION = /^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$/i;

import { DAY_MS } from './time.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

const cache = new Map<string, Duration | null>();

/** Parses a duration; null for anything malformed, empty or zero. */
export function parseDuration(text: string): Duration | null {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const match = DURATION.exec(text);
  let result: Duration | null = null;
  if (match !== null && (match[1] !== undefined || match[2] !== undefined || match[3] !== undefined)) {
    const days = Number(match[1] ?? 0);
    const ms = Number(match[2] ?? 0) * HOUR_MS + Number(match[3] ?? 0) * MINUTE_MS;
    if (days > 0 || ms > 0) result = { days, ms };
  }
  if (cache.size < 1000) cache.set(text, result);
  return result;
}

/** A duration on a plain clock, where a day is 24 hours. */
export function durationToMs(duration: Duration): number {
  return duration.days * DAY_MS + duration.ms;
}

/** A human message for a bad duration, used by the config schema. */
export function durationError(text: string): string {
  return `invalid duration "${text}": use a number with d, h or m, such as 30m, 4h, 2d or 1h30m`;
}
