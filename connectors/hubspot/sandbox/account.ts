/**
 * The portal's own settings, as `GET /account-info/v3/details` answers them, and the calendar day
 * its daily API limit counts in.
 *
 * Sources:
 * - `GET /account-info/v3/details` returns `PortalInformationResponse`, all fields required:
 *   `portalId, accountType (STANDARD|DEVELOPER_TEST|SANDBOX|APP_DEVELOPER), timeZone,
 *   companyCurrency, additionalCurrencies[], utcOffset ("-04:00"), utcOffsetMilliseconds,
 *   uiDomain, dataHostingLocation`; the example has `timeZone: "US/Eastern"` with `-04:00`, so the
 *   offset is the one in force now, not the zone's standard offset. Scope `oauth`.
 *   [C HubSpot-public-api-spec-collection, PublicApiSpecs/Account/Account Info/Rollouts/144923/v3/accountInfo.json]
 * - "The daily limits reset at midnight based on the time zone setting of the HubSpot account."
 *   [C https://developers.hubspot.com/apisbytier]; the usage endpoint's example has
 *   `resetsAt: "2020-04-10T04:00:00Z"`, midnight in US/Eastern (EDT) [C same spec file].
 * - What happens to the day when an admin changes the time zone is not documented [U]: the
 *   sandbox ends the current day at the later of the two midnights, never earlier.
 */
import { z } from 'zod';

const HOUR_MS = 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** A zone name the platform's time-zone database knows (IANA names and their aliases). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export const timeZoneSchema = z.string().min(1).refine(isTimeZone, { message: 'not a time zone of the IANA database' });

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

function dateKey(w: WallClock): number {
  return w.year * 10_000 + w.month * 100 + w.day;
}

/** The zone's offset from UTC at an instant, in ms (Los Angeles in January: -28,800,000). */
export function utcOffsetMs(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/** `-08:00`, `+05:30`. */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The first instant of the local calendar day that holds `ms`. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const key = dateKey(w);
  const midnightAsUtc = Date.UTC(w.year, w.month - 1, w.day);
  let t = midnightAsUtc - utcOffsetMs(midnightAsUtc, timeZone);
  t = midnightAsUtc - utcOffsetMs(t, timeZone);
  if (dateKey(wallClock(t, timeZone)) === key && dateKey(wallClock(t - 1, timeZone)) !== key) return t;
  // Zones whose clocks skip midnight (a DST change at 00:00): the day starts at the first instant
  // that has its date. Within a few hours of the estimate; transitions fall on whole minutes.
  let lo = t - 3 * HOUR_MS;
  let hi = Math.min(ms, t + 3 * HOUR_MS);
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 2 / 60_000) * 60_000;
    if (dateKey(wallClock(mid, timeZone)) >= key) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The first instant of the next local calendar day (local days last 23 to 25 hours). */
export function nextLocalMidnight(ms: number, timeZone: string): number {
  return startOfLocalDay(startOfLocalDay(ms, timeZone) + 25 * HOUR_MS, timeZone);
}

export const DEFAULT_TIME_ZONE = 'US/Eastern';

/** The portal settings the sandbox answers; the time zone can be changed from the control surface. */
export class PortalAccount {
  private zone: string;
  private readonly listeners: Array<(timeZone: string) => void> = [];

  constructor(
    readonly portalId: number,
    timeZone: string = DEFAULT_TIME_ZONE,
  ) {
    this.zone = timeZoneSchema.parse(timeZone);
  }

  get timeZone(): string {
    return this.zone;
  }

  setTimeZone(timeZone: string): void {
    this.zone = timeZoneSchema.parse(timeZone);
    for (const listener of this.listeners) listener(this.zone);
  }

  onTimeZoneChange(listener: (timeZone: string) => void): void {
    this.listeners.push(listener);
  }

  /** `PortalInformationResponse` at the instant `now`. */
  details(now: number): Record<string, unknown> {
    const offset = utcOffsetMs(now, this.zone);
    return {
      portalId: this.portalId,
      accountType: 'STANDARD',
      timeZone: this.zone,
      companyCurrency: 'USD',
      additionalCurrencies: [],
      utcOffset: formatOffset(offset),
      utcOffsetMilliseconds: offset,
      uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    };
  }
}
