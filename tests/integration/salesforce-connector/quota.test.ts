/**
 * The Salesforce connector and the shared quota gate against the sandbox org, on the sandbox clock:
 * the allocation is a rolling 24 hours (ours and the org's), and a refusal for the org's
 * allocation is decided by the usage the org reports (`Sforce-Limit-Info` on every answer,
 * `GET /limits` `DailyApiRequests`), re-checked by one `/limits` call at a bounded rate and lifted
 * as soon as there is room, instead of pausing every worker for an hour.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { crmFailure } from '../../helpers/crm-failure.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { RedisQuotaGate } from '../../../src/store/quota.js';
import type { QuotaLimits } from '../../../src/store/quota.js';
import { createKeys } from '../../../src/store/keys.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const DAY_MS = 24 * 60 * 60_000;
const PROBE_INTERVAL_MS = 60_000;

describe('Salesforce quotas against the sandbox org', () => {
  let h: Harness;
  let run = 0;

  beforeAll(async () => {
    h = await startHarness('sf-quota', 5, 31, { sessionTtlMs: 30 * DAY_MS });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    h.sandbox.usage.reset();
    h.sandbox.usage.setLimit(100_000);
    h.sandbox.monitor.setFaults({ rateLimit: 0, salesforceRateLimit: 'allocation' });
    h.sandbox.clock.reset();
    await h.resetStats();
  });

  /** A connector on a gate of its own (own key prefix), judging time by the sandbox clock. */
  function setUp(salesforce: QuotaLimits['salesforce']): { gate: RedisQuotaGate; sf: SalesforceConnector } {
    run += 1;
    const keys = createKeys(`${h.redis.prefix}run${run}`);
    const gate = new RedisQuotaGate(
      h.redis.redis,
      keys,
      { hubspot: { perTenSeconds: 190, share: 0.5, daily: 500_000, searchPerSecond: 4 }, salesforce },
      { now: () => h.sandbox.clock.now(), probeIntervalMs: PROBE_INTERVAL_MS },
    );
    return { gate, sf: h.connector({ gate, clock: () => h.sandbox.clock.now() }) };
  }

  it('counts our own daily budget over a rolling 24 hours: passing UTC midnight frees nothing', async () => {
    const { sf } = setUp({ share: 1, dailyCalls: 4 });
    h.sandbox.clock.set(Date.parse('2025-01-15T23:50:00Z'));
    for (let i = 0; i < 4; i++) await sf.ping();
    expect((await h.stats()).total).toBe(4);
    expect((await crmFailure(sf.ping())).code).toBe('QUOTA_EXHAUSTED');
    const report = await sf.quota();
    expect(report).toMatchObject({ dailyUsed: 4, dailyBudget: 4, paused: true });
    // Free again when the first call is 24 hours old (counted per minute, never early).
    expect(report.resumesAt).toBe('2025-01-16T23:51:00.000Z');

    h.sandbox.clock.set(Date.parse('2025-01-16T00:10:00Z'));
    await h.resetStats();
    const refused = await crmFailure(sf.ping());
    expect(refused.code).toBe('QUOTA_EXHAUSTED');
    // The sandbox clock runs on from where it was set: right to within a few seconds.
    expect(Math.abs((refused.retryAfterMs ?? 0) - (Date.parse('2025-01-16T23:51:00Z') - Date.parse('2025-01-16T00:10:00Z')))).toBeLessThan(5_000);
    expect((await h.stats()).total).toBe(0);

    h.sandbox.clock.set(Date.parse('2025-01-16T23:51:00Z'));
    await sf.ping();
    expect((await h.stats()).total).toBe(1);
    // The four calls of yesterday evening have rolled out; today's one counts.
    expect(await sf.quota()).toMatchObject({ dailyUsed: 1, paused: false });
  });

  it('takes one REQUEST_LIMIT_EXCEEDED with almost none of 100,000 calls used for what the org says: a short retry, not a pause', async () => {
    const { sf } = setUp({ share: 0.5 });
    h.sandbox.monitor.setFaults({ rateLimit: 1, salesforceRateLimit: 'allocation' });
    const err = await crmFailure(sf.ping());
    h.sandbox.monitor.setFaults({ rateLimit: 0 });
    expect(err.vendorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(err.retryAfterMs ?? 0).toBeLessThanOrEqual(PROBE_INTERVAL_MS);
    expect((await sf.quota()).paused).toBe(false);
    // The next call goes out at once.
    await sf.ping();
    expect((await h.stats()).calls['GET /services/data/v62.0/query']).toBe(2);
  });

  it('holds the work while the org is out of calls, re-checks with one /limits call a minute, and resumes as soon as there is room', async () => {
    const { sf } = setUp({ share: 0.5 });
    h.sandbox.clock.set(Date.parse('2025-01-15T10:00:00Z'));
    h.sandbox.usage.setLimit(200);
    await sf.ping();
    // Other integrations spend the rest of the org's allocation: the next call is refused.
    while (h.sandbox.usage.tryConsume());
    const refused = await crmFailure(sf.ping());
    expect(refused).toMatchObject({ code: 'QUOTA_EXHAUSTED', vendorCode: 'REQUEST_LIMIT_EXCEEDED' });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(PROBE_INTERVAL_MS);
    const held = await sf.quota();
    expect(held.paused).toBe(true);
    expect(Date.parse(held.resumesAt ?? '')).toBeLessThanOrEqual(h.sandbox.clock.now() + PROBE_INTERVAL_MS);

    // Within the minute: nothing goes out at all.
    await h.resetStats();
    expect((await crmFailure(sf.ping())).code).toBe('QUOTA_EXHAUSTED');
    expect((await h.stats()).total).toBe(0);

    // A minute later: one /limits call, which says the org is still out; the ping is not sent.
    h.sandbox.clock.advance(PROBE_INTERVAL_MS + 1000);
    expect((await crmFailure(sf.ping())).code).toBe('QUOTA_EXHAUSTED');
    expect((await h.stats()).calls).toEqual({ 'GET /services/data/v62.0/limits': 1 });

    // The org gets room (an add-on bought, or old usage rolled out): found at the next re-check.
    h.sandbox.usage.setLimit(1000);
    await h.resetStats();
    expect((await crmFailure(sf.ping())).code).toBe('QUOTA_EXHAUSTED');
    expect((await h.stats()).total).toBe(0);
    h.sandbox.clock.advance(PROBE_INTERVAL_MS + 1000);
    await sf.ping();
    expect((await h.stats()).calls).toEqual({ 'GET /services/data/v62.0/limits': 1, 'GET /services/data/v62.0/query': 1 });
    expect((await sf.quota()).paused).toBe(false);
    await sf.ping();
    expect((await h.stats()).calls['GET /services/data/v62.0/query']).toBe(2);
  });
});
