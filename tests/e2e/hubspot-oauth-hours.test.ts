/**
 * A HubSpot OAuth install keeps working past its 30-minute access token, in the service as it is
 * wired (jobs/bootstrap.ts, jobs/connectors.ts), against the sandbox's OAuth (30-minute tokens on
 * its controllable clock). The admin installs the app through the service's OAuth flow; worker
 * processes started afterwards sync every 10 minutes of sandbox time for four hours. Every pass
 * succeeds, the token is refreshed ahead of expiry (no call is refused), one worker at a time
 * spends the refresh while another adopts its result, and an expiry our clock did not see (a
 * 401 EXPIRED_AUTHENTICATION) is cured by one refresh. Token calls are counted at the sandbox's
 * token endpoint.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthRegistry } from '../../connectors/hubspot/sandbox/auth.js';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import type { Clock } from '../../jobs/context.js';
import { syncOnce } from '../../jobs/run-once.js';
import { loadConfig } from '../../src/config.js';
import type { AppConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { fastSyncConfig, sandboxControl, writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { serviceEnv } from '../helpers/sandbox-io.js';

type TestClock = Clock & { advance(ms: number): Promise<void> };

const MINUTE = 60_000;
const CONFIG = fastSyncConfig();

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

describe('a HubSpot OAuth install over hours of sandbox time', () => {
  let sandboxes: Sandboxes;
  let redis: TestRedis;
  let config: AppConfig;
  let env: Record<string, string>;
  let service: Runtime;
  let server: RunningServer;
  const workers: Runtime[] = [];
  const tokenCalls = vi.spyOn(AuthRegistry.prototype, 'token');
  const refreshes = () => tokenCalls.mock.calls.filter(([form]) => form.grant_type === 'refresh_token').length;
  const start = (): Promise<Runtime> => bootstrap({ config, logger: createLogger({ level: process.env.SMK_TEST_LOG ?? 'silent' }), controllableClock: true });

  /** Service and sandbox move together, as real time would; other processes re-read the offset. */
  async function advance(ms: number): Promise<void> {
    await (service.ctx.clock as TestClock).advance(ms);
    sandboxes.clock.advance(ms);
    for (const w of workers) await w.ctx.clock.sync();
  }

  async function apiRequests(): Promise<LoggedRequest[]> {
    const res = await fetch(`${sandboxes.hubspot.baseUrl}/__sandbox/requests?limit=5000`);
    return ((await res.json()) as { requests: LoggedRequest[] }).requests;
  }

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 40, seed: 23, hubspotPerTenSeconds: 0 });
    redis = await testRedis('hs-oauth-hours');
    // An OAuth app instead of a private-app token: client id and secret, no HUBSPOT_ACCESS_TOKEN.
    const { HUBSPOT_ACCESS_TOKEN: _privateApp, ...rest } = serviceEnv(sandboxes, redis, writeConfig(CONFIG));
    // OAuth installs take their redirect URI from SMK_PUBLIC_URL only: the service's own URL here.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    env = { ...rest, HUBSPOT_CLIENT_ID: sandboxes.hubspot.clientId, SMK_PUBLIC_URL: `http://127.0.0.1:${port}` };
    config = loadConfig({ env });
    service = await start();
    server = await startServer(service.ctx, { port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    tokenCalls.mockRestore();
    await server?.close();
    for (const w of workers) await w.close();
    await service?.close();
    await redis?.cleanup();
    await sandboxes?.close();
  });

  it('is installed through the OAuth flow, and a process running before the install picks it up', async () => {
    await expect(service.ctx.connectors.hubspot.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID' });

    const begin = await fetch(`${server.url}/oauth/hubspot/start`, { redirect: 'manual', headers: { Authorization: `Bearer ${env.SMK_ADMIN_TOKEN}` } });
    expect(begin.status).toBe(302);
    // Companies (accounts) and deals are asked as optional scopes: a portal may grant them or not.
    const authorize = new URL(begin.headers.get('location') as string);
    expect(authorize.searchParams.get('optional_scope')?.split(' ')).toEqual(['crm.objects.companies.read', 'crm.objects.deals.read']);
    const consent = await fetch(begin.headers.get('location') as string, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const done = await fetch(consent.headers.get('location') as string, { redirect: 'manual' });
    expect(done.status).toBe(303);
    const stored = await service.tokens?.get('hubspot');
    expect(stored).toMatchObject({ accessToken: expect.stringMatching(/^CL/), refreshToken: expect.any(String), expiresAt: expect.any(Number) });

    await service.ctx.connectors.hubspot.ping();
  });

  it('keeps two workers syncing every 10 minutes for four hours, refreshing ahead of expiry, one refresh at a time', async () => {
    const installed = await service.tokens?.get('hubspot');
    // Worker processes started after the install, as after a deploy or a restart.
    workers.push(await start(), await start());
    const [a, b] = workers as [Runtime, Runtime];
    for (const crm of ['hubspot', 'salesforce'] as const) expect((await a.ctx.connectors[crm].ensureSchema()).problems).toEqual([]);
    await fetch(`${sandboxes.hubspot.baseUrl}/__sandbox/reset-stats`, { method: 'POST' });
    const refreshesBefore = refreshes();
    const contacts = sandboxes.world.people.filter((p) => p.hubspot).map((p) => p.hubspot?.email as string);

    const steps = 24;
    for (let step = 0; step <= steps; step += 1) {
      if (step > 0) {
        await advance(10 * MINUTE);
        // Something happens in HubSpot in every interval, so every pass reads, evaluates and writes.
        await sandboxControl(sandboxes.hubspot.baseUrl, '/activity', { email: contacts[step % contacts.length], kind: 'page_view', count: 3 });
      }
      // Worker A runs the sync pass while worker B calls HubSpot at the same moment.
      const [result, owners] = await Promise.all([syncOnce(a.ctx, { timeoutMs: 60_000 }), b.ctx.connectors.hubspot.owners()]);
      expect(result.syncErrors, `pass ${step}`).toBe(0);
      expect(result.paused, `pass ${step}`).toBeUndefined();
      expect(result.polls.hubspot?.records, `pass ${step} read HubSpot`).toBeGreaterThan(0);
      expect(owners.length).toBeGreaterThan(0);
    }

    // 240 minutes of 30-minute tokens: a refresh every third step, and never one per worker.
    expect(refreshes() - refreshesBefore).toBe(steps / 3);
    // Refreshed ahead of expiry: HubSpot refused no call.
    expect((await apiRequests()).filter((r) => r.status === 401)).toEqual([]);
    const now = await a.tokens?.get('hubspot');
    expect(now?.refreshToken).toBe(installed?.refreshToken);
    expect(now?.accessToken).not.toBe(installed?.accessToken);
    expect(now?.expiresAt).toBeGreaterThan(a.ctx.clock.now());
    // Stored back sealed: the raw Redis value shows neither token.
    const raw = (await redis.redis.get(a.ctx.keys.token('hubspot'))) as string;
    expect(raw).not.toContain(now?.accessToken as string);
    expect(raw).not.toContain(now?.refreshToken as string);
  }, 300_000);

  it('cures an expiry its clock did not see (401 EXPIRED_AUTHENTICATION) with one refresh for both workers', async () => {
    const [a, b] = workers as [Runtime, Runtime];
    await fetch(`${sandboxes.hubspot.baseUrl}/__sandbox/reset-stats`, { method: 'POST' });
    const before = refreshes();
    // 31 minutes pass at HubSpot only: every token the workers hold has expired there.
    sandboxes.clock.advance(31 * MINUTE);
    const [result] = await Promise.all([syncOnce(a.ctx, { timeoutMs: 60_000 }), b.ctx.connectors.hubspot.owners()]);
    expect(result.syncErrors).toBe(0);
    expect(refreshes() - before).toBe(1);
    const refused = (await apiRequests()).filter((r) => r.status === 401);
    expect(refused.length).toBeGreaterThan(0);
    // Both workers work with the one new token.
    await Promise.all([a.ctx.connectors.hubspot.ping(), b.ctx.connectors.hubspot.ping()]);
    expect(refreshes() - before).toBe(1);
  }, 120_000);
});
