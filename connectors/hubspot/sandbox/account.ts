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
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';

/** A zone name the time-zone database knows (IANA names and their aliases, such as US/Eastern). */
export const timeZoneSchema = z.string().min(1).refine((tz) => IANAZone.isValidZone(tz), { message: 'not a time zone of the IANA database' });

/** The first instant of the local calendar day that holds `ms` (a zone may skip midnight: then its first instant). */
export function startOfLocalDay(ms: number, timeZone: string): number {
  return DateTime.fromMillis(ms, { zone: timeZone }).startOf('day').toMillis();
}

/** The first instant of the next local calendar day (local days last 23 to 25 hours). */
export function nextLocalMidnight(ms: number, timeZone: string): number {
  return DateTime.fromMillis(ms, { zone: timeZone }).startOf('day').plus({ days: 1 }).startOf('day').toMillis();
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
    const local = DateTime.fromMillis(now, { zone: this.zone });
    return {
      portalId: this.portalId,
      accountType: 'STANDARD',
      timeZone: this.zone,
      companyCurrency: 'USD',
      additionalCurrencies: [],
      utcOffset: local.toFormat('ZZ'),
      utcOffsetMilliseconds: local.offset * 60_000,
      uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    };
  }
}
