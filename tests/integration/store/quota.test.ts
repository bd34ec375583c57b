import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisQuotaGate } from '../../../src/store/quota.js';
import { createKeys } from '../../../src/store/keys.js';
import { CrmError } from '../../../connectors/errors.js';
import { testRedis, type TestRedis } from '../../helpers/redis.js';

describe('the shared quota gate', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('quota');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('admits our share of the HubSpot 10-second window, then waits', async () => {
    const keys = createKeys(`${t.prefix}a`);
    const gate = new RedisQuotaGate(t.redis, keys, {
      hubspot: { perTenSeconds: 10, share: 0.5, daily: 1000, searchPerSecond: 4 },
      salesforce: { share: 0.5 },
    }, { maxWaitMs: 50 });
    for (let i = 0; i < 5; i++) await gate.take('hubspot', 'read');
    const err = await gate.take('hubspot', 'read').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmError);
    expect((err as CrmError).code).toBe('RATE_LIMITED');
    expect((err as CrmError).retryAfterMs).toBeGreaterThan(9000);
  });

  it('two gates on one Redis (two workers) share one budget', async () => {
    const keys = createKeys(`${t.prefix}b`);
    const limits = { hubspot: { perTenSeconds: 1000, share: 1, daily: 7, searchPerSecond: 4 }, salesforce: { share: 0.5 } };
    const a = new RedisQuotaGate(t.redis, keys, limits);
    const b = new RedisQuotaGate(t.redis, keys, limits);
    for (let i = 0; i < 4; i++) await a.take('hubspot', 'write');
    for (let i = 0; i < 3; i++) await b.take('hubspot', 'write');
    const err = await b.take('hubspot', 'write').catch((e: unknown) => e);
    expect((err as CrmError).code).toBe('QUOTA_EXHAUSTED');
    expect((err as CrmError).retryAfterMs).toBeGreaterThan(0);
    const report = await a.report('hubspot');
    expect(report).toMatchObject({ dailyUsed: 7, dailyBudget: 7, paused: true });
  });

  it('derives the Salesforce budget from the org allocation it observed', async () => {
    const keys = createKeys(`${t.prefix}c`);
    const gate = new RedisQuotaGate(t.redis, keys, {
      hubspot: { perTenSeconds: 190, share: 0.5, daily: 1000, searchPerSecond: 4 },
      salesforce: { share: 0.25 },
    });
    await gate.observe('salesforce', { dailyUsed: 10, dailyLimit: 16 });
    for (let i = 0; i < 4; i++) await gate.take('salesforce', 'read');
    await expect(gate.take('salesforce', 'read')).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED' });
  });

  it('pauses when the whole org is nearly out of calls', async () => {
    const keys = createKeys(`${t.prefix}d`);
    const gate = new RedisQuotaGate(t.redis, keys, {
      hubspot: { perTenSeconds: 190, share: 0.5, daily: 1000, searchPerSecond: 4 },
      salesforce: { share: 0.5, dailyCalls: 1000 },
    });
    await gate.observe('salesforce', { dailyUsed: 99_000, dailyLimit: 100_000 });
    await expect(gate.take('salesforce', 'read')).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED' });
  });
});
