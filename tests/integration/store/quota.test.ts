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
    // A portal whose time zone the connector has read (until then one call is kept for reading it).
    await a.observe('hubspot', { timeZone: 'Europe/Berlin' });
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

  it('holds the work when the whole org is nearly out of calls', async () => {
    const keys = createKeys(`${t.prefix}d`);
    const gate = new RedisQuotaGate(t.redis, keys, {
      hubspot: { perTenSeconds: 190, share: 0.5, daily: 1000, searchPerSecond: 4 },
      salesforce: { share: 0.5, dailyCalls: 1000 },
    });
    await gate.observe('salesforce', { dailyUsed: 99_000, dailyLimit: 100_000 });
    await expect(gate.take('salesforce', 'read')).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED' });
  });

  describe('windows as the vendors count them (on an injected clock)', () => {
    const HOUR = 3_600_000;
    let clock = 0;
    const limits = (hubspotDaily: number, salesforce: { share: number; dailyCalls?: number } = { share: 1 }) => ({
      hubspot: { perTenSeconds: 100_000, share: 1, daily: hubspotDaily, searchPerSecond: 100 },
      salesforce,
    });
    const gateOn = (label: string, l: ReturnType<typeof limits>) => new RedisQuotaGate(t.redis, createKeys(`${t.prefix}${label}`), l, { now: () => clock, probeIntervalMs: 60_000 });
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as CrmError);

    it('counts HubSpot calls from midnight to midnight in the portal time zone', async () => {
      const gate = gateOn('day', limits(3));
      clock = Date.parse('2025-01-15T23:00:00Z'); // 15:00 in Los Angeles
      await gate.observe('hubspot', { timeZone: 'America/Los_Angeles' });
      for (let i = 0; i < 3; i++) await gate.take('hubspot', 'read');
      clock = Date.parse('2025-01-16T00:30:00Z');
      const err = await refusal(gate.take('hubspot', 'read'));
      expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: Date.parse('2025-01-16T08:00:00Z') - clock });
      expect(await gate.report('hubspot')).toMatchObject({
        dailyUsed: 3,
        paused: true,
        pausedBy: 'budget',
        resumesAt: '2025-01-16T08:00:00.000Z',
        window: { kind: 'portal-day', timeZone: 'America/Los_Angeles', resetsAt: '2025-01-16T08:00:00.000Z' },
      });
      clock = Date.parse('2025-01-16T08:00:00Z');
      await gate.take('hubspot', 'read');
      expect(await gate.report('hubspot')).toMatchObject({ dailyUsed: 1, paused: false });
      // On the day Los Angeles puts its clocks back the portal day has 25 hours.
      clock = Date.parse('2025-11-02T12:00:00Z');
      await gate.observe('hubspot', { timeZone: 'America/Los_Angeles' });
      expect((await gate.report('hubspot')).window).toEqual({ kind: 'portal-day', timeZone: 'America/Los_Angeles', resetsAt: '2025-11-03T08:00:00.000Z' });
    });

    it('counts HubSpot over a rolling 24 hours until the portal time zone is known, keeping one call for reading it', async () => {
      const gate = gateOn('zoneless', limits(3));
      clock = Date.parse('2025-01-15T23:00:00Z');
      await gate.take('hubspot', 'read');
      await gate.take('hubspot', 'read');
      expect(await refusal(gate.take('hubspot', 'read'))).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
      expect((await gate.report('hubspot')).window).toEqual({ kind: 'rolling-24h' });
      // The one call that reads the time zone: allowed once a minute, and it fits the budget.
      expect(await gate.claimProbe('hubspot')).toBe(true);
      expect(await gate.claimProbe('hubspot')).toBe(false);
      await gate.take('hubspot', 'read', 1, { probe: true });
      await gate.observe('hubspot', { timeZone: 'UTC' });
      expect(await gate.claimProbe('hubspot')).toBe(false);
      // Known: the UTC day began an hour ago with these three calls; the next day is free.
      expect(await refusal(gate.take('hubspot', 'read'))).toMatchObject({ retryAfterMs: HOUR });
      clock = Date.parse('2025-01-16T00:00:00Z');
      await gate.take('hubspot', 'read');
      // A day later the zone is read again; until then the rolling count applies.
      clock = Date.parse('2025-01-17T01:00:00Z');
      expect((await gate.report('hubspot')).window).toEqual({ kind: 'rolling-24h' });
      expect(await gate.claimProbe('hubspot')).toBe(true);
    });

    it('counts Salesforce over a rolling 24 hours: a call is free again once it is a full day old', async () => {
      const gate = gateOn('rolling', limits(1000, { share: 1, dailyCalls: 2 }));
      clock = Date.parse('2025-01-15T23:59:30Z');
      await gate.take('salesforce', 'read');
      clock = Date.parse('2025-01-16T06:00:00Z');
      await gate.take('salesforce', 'write');
      clock = Date.parse('2025-01-16T06:00:10Z');
      const err = await refusal(gate.take('salesforce', 'read'));
      expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: Date.parse('2025-01-17T00:00:00Z') - clock });
      expect(await gate.report('salesforce')).toMatchObject({ dailyUsed: 2, paused: true, resumesAt: '2025-01-17T00:00:00.000Z', window: { kind: 'rolling-24h' } });
      clock = Date.parse('2025-01-16T23:59:59Z');
      expect(await refusal(gate.take('salesforce', 'read'))).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
      clock = Date.parse('2025-01-17T00:00:00Z');
      await gate.take('salesforce', 'read');
      expect(await refusal(gate.take('salesforce', 'read'))).toMatchObject({ retryAfterMs: Date.parse('2025-01-17T06:01:00Z') - clock });
      // A day of silence: nothing is left of it.
      clock = Date.parse('2025-01-25T00:00:00Z');
      expect(await gate.report('salesforce')).toMatchObject({ dailyUsed: 0, paused: false });
    });

    it('holds Salesforce while the org is out of calls, lets one re-read through a minute, and lifts the hold at the first report of room', async () => {
      const gate = gateOn('org', limits(1000, { share: 0.5 }));
      clock = Date.parse('2025-01-15T10:00:00Z');
      await gate.observe('salesforce', { dailyUsed: 100_000, dailyLimit: 100_000 });
      expect(await refusal(gate.take('salesforce', 'read'))).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: 60_000 });
      expect(await gate.report('salesforce')).toMatchObject({ paused: true, pausedBy: 'crm-limit', resumesAt: '2025-01-15T10:01:00.000Z', crmUsage: { used: 100_000, limit: 100_000 } });
      expect(await gate.claimProbe('salesforce')).toBe(false);
      clock += 60_000;
      expect(await gate.claimProbe('salesforce')).toBe(true);
      expect(await gate.claimProbe('salesforce')).toBe(false);
      // The re-read goes through the hold; nothing else does.
      await gate.take('salesforce', 'read', 1, { probe: true });
      expect(await refusal(gate.take('salesforce', 'read'))).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
      await gate.observe('salesforce', { dailyUsed: 99_500, dailyLimit: 100_000 });
      expect((await gate.report('salesforce')).paused).toBe(true);
      await gate.observe('salesforce', { dailyUsed: 90_000, dailyLimit: 100_000 });
      await gate.take('salesforce', 'read');
      expect(await gate.report('salesforce')).toMatchObject({ paused: false });
      expect(await gate.claimProbe('salesforce')).toBe(false);

      // Refused for the limit without a word on usage: held the same way, until a report of room.
      await gate.observe('salesforce', { limitReached: true });
      expect(await refusal(gate.take('salesforce', 'read'))).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: 60_000 });
      await gate.observe('salesforce', { dailyUsed: 1_000, dailyLimit: 100_000 });
      await gate.take('salesforce', 'read');
    });

    it('holds HubSpot until the portal midnight when the portal is out of calls, with no re-read in between', async () => {
      const gate = gateOn('portal', limits(1000));
      clock = Date.parse('2025-01-15T22:00:00Z');
      await gate.observe('hubspot', { timeZone: 'America/Los_Angeles' });
      await gate.observe('hubspot', { dailyUsed: 250_000, dailyLimit: 250_000 });
      clock = Date.parse('2025-01-16T07:00:00Z');
      expect(await refusal(gate.take('hubspot', 'read', 1, { probe: true }))).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: HOUR });
      expect(await gate.claimProbe('hubspot')).toBe(false);
      expect(await gate.report('hubspot')).toMatchObject({ paused: true, pausedBy: 'crm-limit', resumesAt: '2025-01-16T08:00:00.000Z' });
      clock = Date.parse('2025-01-16T08:00:00Z');
      await gate.take('hubspot', 'read');
    });
  });
});
