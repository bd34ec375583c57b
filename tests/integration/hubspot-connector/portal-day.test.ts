/**
 * HubSpot's daily limit resets at midnight in the portal's time zone ("The daily limits reset at
 * midnight based on the time zone setting of the HubSpot account", developers.hubspot.com/apisbytier),
 * which `GET /account-info/v3/details` gives as `timeZone`. The connector and the shared quota gate
 * against a sandbox portal in America/Los_Angeles, on the sandbox clock: our budget and the portal's
 * own allowance both end at 08:00 UTC (midnight in Los Angeles), not at UTC midnight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmError } from '../../../connectors/errors.js';
import { crmFailure } from '../../helpers/crm-failure.js';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import type { HubSpotConnector } from '../../../connectors/hubspot/index.js';
import { startHubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import type { HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { createKeys } from '../../../src/store/keys.js';
import { RedisQuotaGate } from '../../../src/store/quota.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

const LA_MIDNIGHT = '2025-01-16T08:00:00.000Z';

/** The sandbox clock runs on from where it was set: a wait is right to within a few seconds. */
function expectWaitUntil(err: CrmError, at: string, from: string): void {
  expect(Math.abs((err.retryAfterMs ?? 0) - (Date.parse(at) - Date.parse(from)))).toBeLessThan(5_000);
}

interface Portal {
  sandbox: HubSpotSandbox;
  redis: TestRedis;
  gate: RedisQuotaGate;
  connector: HubSpotConnector;
  served(): number;
}

const open: Portal[] = [];

async function portal(label: string, options: { ourDaily: number; portalDaily: number }): Promise<Portal> {
  const sandbox = await startHubSpotSandbox({
    seed: 21,
    world: generateWorld({ people: 10, seed: 21 }),
    timeZone: 'America/Los_Angeles',
    rateLimits: { daily: options.portalDaily, perTenSeconds: 0 },
  });
  const redis = await testRedis(label);
  const now = () => sandbox.clock.now();
  const gate = new RedisQuotaGate(
    redis.redis,
    createKeys(redis.prefix),
    { hubspot: { perTenSeconds: 10_000, share: 1, daily: options.ourDaily, searchPerSecond: 5 }, salesforce: { share: 0.5 } },
    { now },
  );
  const connector = createHubSpotConnector({ baseUrl: sandbox.baseUrl, accessToken: sandbox.accessToken, clientSecret: sandbox.clientSecret, gate, clock: now });
  const p: Portal = { sandbox, redis, gate, connector, served: () => sandbox.monitor.stats().total };
  open.push(p);
  return p;
}

afterEach(async () => {
  for (const p of open.splice(0)) {
    await p.sandbox.close();
    await p.redis.cleanup();
  }
});

describe('the HubSpot portal day', () => {
  it('our daily budget lasts until midnight in the portal time zone, not UTC midnight', async () => {
    const p = await portal('hs-day-budget', { ourDaily: 10, portalDaily: 1000 });
    // 14:00 in Los Angeles.
    p.sandbox.clock.set(Date.parse('2025-01-15T22:00:00Z'));
    let pings = 0;
    for (; pings < 20; pings++) {
      const err = await p.connector.ping().then(() => null, (e: unknown) => e);
      if (err) {
        expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
        break;
      }
    }
    expect(pings).toBeGreaterThan(0);
    expect(p.served(), 'API calls served').toBeLessThanOrEqual(10);
    const spent = await p.connector.quota();
    expect(spent).toMatchObject({ paused: true, dailyBudget: 10, resumesAt: LA_MIDNIGHT });

    // 16:30 in Los Angeles, half an hour after UTC midnight: still the same portal day.
    p.sandbox.clock.set(Date.parse('2025-01-16T00:30:00Z'));
    p.sandbox.monitor.resetStats();
    const refused = await crmFailure(p.connector.ping());
    expect(refused.code).toBe('QUOTA_EXHAUSTED');
    expectWaitUntil(refused, LA_MIDNIGHT, '2025-01-16T00:30:00Z');
    expect(p.served()).toBe(0);

    // Midnight in Los Angeles: a new day, a new budget.
    p.sandbox.clock.set(Date.parse('2025-01-16T08:00:30Z'));
    await p.connector.ping();
    expect(p.served()).toBe(1);
    expect(await p.connector.quota()).toMatchObject({ dailyUsed: 1, paused: false });
  });

  it('when the portal itself is nearly out, holds the work until its midnight without spending calls meanwhile', async () => {
    const p = await portal('hs-day-portal', { ourDaily: 1000, portalDaily: 100 });
    p.sandbox.clock.set(Date.parse('2025-01-15T22:00:00Z'));
    await p.connector.ping();
    // Other integrations on the portal use it up to 98 of its 100 calls.
    for (let i = 0; i < 96; i++) {
      const res = await fetch(`${p.sandbox.baseUrl}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${p.sandbox.accessToken}` } });
      expect(res.status).toBe(200);
    }
    await p.connector.ping();
    const held = await crmFailure(p.connector.ping());
    expect(held.code).toBe('QUOTA_EXHAUSTED');
    expectWaitUntil(held, LA_MIDNIGHT, '2025-01-15T22:00:00Z');
    expect(await p.connector.quota()).toMatchObject({ paused: true, resumesAt: LA_MIDNIGHT });

    p.sandbox.clock.set(Date.parse('2025-01-16T00:30:00Z'));
    p.sandbox.monitor.resetStats();
    const refused = await crmFailure(p.connector.ping());
    expectWaitUntil(refused, LA_MIDNIGHT, '2025-01-16T00:30:00Z');
    expect(p.served()).toBe(0);

    p.sandbox.clock.set(Date.parse('2025-01-16T08:00:30Z'));
    await p.connector.ping();
    expect(await p.connector.quota()).toMatchObject({ paused: false });
  });
});
