/**
 * The org's API allocation as a real org counts it: a rolling 24 hours ("Limits are enforced
 * against the aggregate of all API calls made to the org in a 24-hour period ... Calls are blocked
 * until usage for the preceding 24 hours drops below the limit", Salesforce Help "System Overview:
 * API Usage"), reported on every REST response but the Versions URI (`Sforce-Limit-Info`,
 * REST API Developer Guide "Limit Info Header") and by `GET /limits` (`DailyApiRequests`), which
 * is itself a counted call. Through jsforce, on the sandbox clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SalesforceSandboxOptions } from '../../../connectors/salesforce/sandbox/index.js';
import { connect, control, rejection, seedLeads } from './helpers.js';

const running: SalesforceSandbox[] = [];
const DAY_MS = 24 * 60 * 60_000;

async function sandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sb = await startSalesforceSandbox({ seed: 43, sessionTtlMs: 10 * DAY_MS, ...options });
  running.push(sb);
  seedLeads(sb, 2);
  return sb;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sb) => sb.close()));
});

describe('Salesforce sandbox: the rolling 24-hour allocation', () => {
  it('counts a call until a full 24 hours have passed since it, not until its minute comes round again', async () => {
    const sb = await sandbox();
    const conn = connect(sb);
    sb.clock.set(Date.parse('2025-01-15T12:00:59Z'));
    await conn.query('SELECT Id FROM Lead');
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 100_000 });

    // 23 h 59 min 31 s later: the first call is younger than 24 hours and still counts.
    sb.clock.set(Date.parse('2025-01-16T12:00:30Z'));
    const limits = (await conn.limits()) as unknown as { DailyApiRequests: { Max: number; Remaining: number } };
    expect(limits.DailyApiRequests).toEqual({ Max: 100_000, Remaining: 100_000 - 2 });
    expect(conn.limitInfo.apiUsage).toEqual({ used: 2, limit: 100_000 });

    // A day and a minute after it, it has rolled out; the /limits call of 12:00:30 has not.
    sb.clock.set(Date.parse('2025-01-16T12:01:00Z'));
    await conn.query('SELECT Id FROM Lead');
    expect(conn.limitInfo.apiUsage).toEqual({ used: 2, limit: 100_000 });
  });

  it('blocks every call, /limits included, until the usage of the preceding 24 hours drops below the allocation', async () => {
    const sb = await sandbox({ dailyApiLimit: 3 });
    const conn = connect(sb);
    sb.clock.set(Date.parse('2025-01-15T23:50:10Z'));
    await conn.query('SELECT Id FROM Lead');
    sb.clock.set(Date.parse('2025-01-16T02:00:00Z'));
    await conn.query('SELECT Id FROM Lead');
    await conn.limits();
    const blocked = await rejection(conn.limits());
    expect(blocked.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(blocked.message).toBe('TotalRequests Limit exceeded.');
    const raw = await fetch(`${sb.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('sforce-limit-info')).toBe('api-usage=3/3');

    // Past UTC midnight nothing changes: the window rolls, it does not reset.
    sb.clock.set(Date.parse('2025-01-16T12:00:00Z'));
    expect((await rejection(conn.query('SELECT Id FROM Lead'))).errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    // 24 hours after the first call (and its minute) one call is free again; then none.
    sb.clock.set(Date.parse('2025-01-16T23:51:00Z'));
    const limits = (await conn.limits()) as unknown as { DailyApiRequests: { Max: number; Remaining: number } };
    expect(limits.DailyApiRequests).toEqual({ Max: 3, Remaining: 0 });
    expect((await rejection(conn.query('SELECT Id FROM Lead'))).errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect((await control<{ used: number; remaining: number }>(sb, 'GET', '/limits')).body).toMatchObject({ used: 3, remaining: 0 });
  });
});
