/**
 * Instants as the Lead stores them: ISO-8601 text. Snapshots written by this code are canonical
 * UTC (`2026-03-10T18:00:00.000Z`), and reading those is on every evaluation's path, so they are
 * read field by field; anything else (offsets, other precisions) goes through Date.parse.
 */

export const DAY_MS = 86_400_000;

function digitsAt(text: string, from: number, length: number): number {
  let value = 0;
  for (let i = from; i < from + length; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/** Milliseconds since the epoch, or NaN for text that is not an instant. */
export function parseInstant(iso: string): number {
  const length = iso.length;
  if (
    (length === 24 || length === 20) &&
    iso.charCodeAt(length - 1) === 90 && // Z
    iso.charCodeAt(4) === 45 &&
    iso.charCodeAt(7) === 45 &&
    iso.charCodeAt(10) === 84 && // T
    iso.charCodeAt(13) === 58 &&
    iso.charCodeAt(16) === 58 &&
    (length === 20 || iso.charCodeAt(19) === 46)
  ) {
    const month = digitsAt(iso, 5, 2);
    const day = digitsAt(iso, 8, 2);
    const hour = digitsAt(iso, 11, 2);
    const minute = digitsAt(iso, 14, 2);
    const second = digitsAt(iso, 17, 2);
    const ms = length === 24 ? digitsAt(iso, 20, 3) : 0;
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59) {
      // Like Date.parse, Date.UTC rolls a 30 February over into March.
      return Date.UTC(digitsAt(iso, 0, 4), month - 1, day, hour, minute, second, ms);
    }
  }
  return Date.parse(iso);
}

/** The UTC day number (days since 1970-01-01) of an instant; NaN when it is not one. */
export function utcDay(iso: string): number {
  if (iso.length >= 20 && iso.charCodeAt(iso.length - 1) === 90 && iso.charCodeAt(4) === 45 && iso.charCodeAt(7) === 45) {
    const year = digitsAt(iso, 0, 4);
    const month = digitsAt(iso, 5, 2);
    const day = digitsAt(iso, 8, 2);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31) return Date.UTC(year, month - 1, day) / DAY_MS;
  }
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? Number.NaN : Math.floor(ms / DAY_MS);
}
