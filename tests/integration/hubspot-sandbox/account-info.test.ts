/**
 * The portal's time zone and its daily limit, as HubSpot has them: `GET /account-info/v3/details`
 * answers the portal's settings (the public API spec's `PortalInformationResponse`), and a private
 * app's daily allowance resets at midnight in that time zone ("The daily limits reset at midnight
 * based on the time zone setting of the HubSpot account", developers.hubspot.com/apisbytier), not
 * at UTC midnight. Driven through the official client's `apiRequest` and the SDK's contacts API.
 */
import { describe, expect, it } from 'vitest';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, officialClient, raw, sandboxPerTest, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 10, seed: 5 });
const start = sandboxPerTest(world);

/** The example of `GET /account-info/v3/details` in HubSpot-public-api-spec-collection (Account Info, v3). */
const SPEC_EXAMPLE = {
  portalId: 12345678,
  accountType: 'STANDARD',
  timeZone: 'US/Eastern',
  companyCurrency: 'USD',
  additionalCurrencies: ['NZD', 'AUD', 'EUR'],
  utcOffset: '-04:00',
  utcOffsetMilliseconds: -14400000,
  uiDomain: 'app-eu1.hubspot.com',
  dataHostingLocation: 'eu1',
};

describe('HubSpot sandbox: account info and the portal day', () => {
  it('answers GET /account-info/v3/details with the portal time zone and its offset at the sandbox clock', async () => {
    const sandbox = await start({ timeZone: 'America/Los_Angeles' });
    const client = officialClient(sandbox);
    sandbox.clock.set(Date.parse('2025-01-15T12:00:00Z'));
    const winter = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(winter.status).toBe(200);
    const body = (await winter.json()) as Record<string, unknown>;
    expect(shapeDiff(body, SPEC_EXAMPLE)).toEqual([]);
    expect(body).toMatchObject({ portalId: sandbox.portalId, timeZone: 'America/Los_Angeles', utcOffset: '-08:00', utcOffsetMilliseconds: -28_800_000 });
    // An API call like any other: counted, rate-limited, with the rate-limit headers.
    expect(winter.headers.get('x-hubspot-ratelimit-daily-remaining')).not.toBeNull();
    expect(sandbox.monitor.stats().calls['GET /account-info/v3/details']).toBe(1);

    sandbox.clock.set(Date.parse('2025-07-15T12:00:00Z'));
    const summer = (await (await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()) as Record<string, unknown>;
    expect(summer).toMatchObject({ utcOffset: '-07:00', utcOffsetMilliseconds: -25_200_000 });

    expect((await raw(sandbox, 'GET', '/account-info/v3/details', undefined, { token: 'wrong' })).status).toBe(401);
  });

  it('changes the time zone from the control surface, refusing names that are not IANA zones', async () => {
    const sandbox = await start();
    expect(((await control(sandbox, 'GET', '/account')).body as { timeZone: string }).timeZone).toBe('US/Eastern');
    expect((await control(sandbox, 'PUT', '/account', { timeZone: 'Europe/Berlin' })).body).toMatchObject({ timeZone: 'Europe/Berlin' });
    expect((await control(sandbox, 'PUT', '/account', { timeZone: 'Mars/Olympus' })).status).toBe(400);
    const details = await raw(sandbox, 'GET', '/account-info/v3/details');
    expect(details.body).toMatchObject({ timeZone: 'Europe/Berlin' });
  });

  it('resets the daily limit at midnight in the portal time zone, not at UTC midnight', async () => {
    const sandbox = await start({ timeZone: 'America/Los_Angeles', rateLimits: { daily: 2 } });
    const client = officialClient(sandbox);
    // 15:00 in Los Angeles (UTC-8): two calls spend the day.
    sandbox.clock.set(Date.parse('2025-01-15T23:00:00Z'));
    await client.crm.contacts.basicApi.getPage(1);
    await client.crm.contacts.basicApi.getPage(1);
    const spent = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
    expect(spent.status).toBe(429);
    expect(spent.body).toMatchObject({ policyName: 'DAILY' });

    // UTC midnight has passed, the portal's has not (16:30 in Los Angeles): still spent.
    sandbox.clock.set(Date.parse('2025-01-16T00:30:00Z'));
    const afterUtcMidnight = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
    expect(afterUtcMidnight.status).toBe(429);
    expect(afterUtcMidnight.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');

    // Midnight in Los Angeles (08:00 UTC): a new day.
    sandbox.clock.set(Date.parse('2025-01-16T08:00:00Z'));
    const newDay = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
    expect(newDay.status).toBe(200);
    expect(newDay.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('1');
  });

  it('never resets earlier than the portal midnight when the time zone changes during the day', async () => {
    const sandbox = await start({ timeZone: 'Asia/Tokyo', rateLimits: { daily: 1 } });
    // 23:30 in Tokyo (UTC+9): the one call of the day.
    sandbox.clock.set(Date.parse('2025-01-15T14:30:00Z'));
    expect((await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    // The admin moves the portal to Los Angeles, where it is 06:30 of the same day.
    await control(sandbox, 'PUT', '/account', { timeZone: 'America/Los_Angeles' });
    sandbox.clock.set(Date.parse('2025-01-15T15:30:00Z'));
    expect((await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(429);
    // The day ends at the later of the two midnights: Los Angeles' (2025-01-16T08:00Z).
    sandbox.clock.set(Date.parse('2025-01-16T07:59:00Z'));
    expect((await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(429);
    sandbox.clock.set(Date.parse('2025-01-16T08:00:00Z'));
    expect((await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(200);
  });
});
