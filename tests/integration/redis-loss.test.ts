/**
 * `smk start` (a real process) against a Redis of its own that comes back empty, by a flush and by a
 * restart without persistence: the service notices, says so once, reports `rebuilding` on /readyz
 * until both CRMs were read again, re-creates its schedules, and writes nothing to the CRMs that
 * already hold every value.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { freePort, startPrivateRedis } from '../../src/store/redis.js';
import type { PrivateRedis } from '../../src/store/redis.js';
import { writeConfig } from '../helpers/pipeline.js';
import { resetStats, stats, writeCalls } from '../helpers/sandbox-io.js';

/** Write calls both sandboxes served since their stats were reset. */
async function writesSinceReset(sandboxes: Sandboxes): Promise<Record<string, number>> {
  const [h, s] = await Promise.all([stats(sandboxes.connection.hubspot.baseUrl), stats(sandboxes.connection.salesforce.instanceUrl)]);
  return { ...writeCalls(h), ...writeCalls(s) };
}

async function resetBoth(sandboxes: Sandboxes): Promise<void> {
  await Promise.all([resetStats(sandboxes.connection.hubspot.baseUrl), resetStats(sandboxes.connection.salesforce.instanceUrl)]);
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Redis comes back empty under a running service', () => {
  let sandboxes: Sandboxes;
  let redis: PrivateRedis;
  let port: number;
  let redisPort: number;
  let service: ChildProcess;
  let log = '';

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; error?: string }> } };
  };

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 40, seed: 12, hubspotPerTenSeconds: 0 });
    redisPort = await freePort();
    redis = await startPrivateRedis({ port: redisPort });
    port = await freePort();
    const env = {
      ...process.env,
      ...sandboxEnv(sandboxes.connection),
      REDIS_URL: redis.url,
      PORT: String(port),
      SMK_ADMIN_TOKEN: 'redis-loss-test-admin-token',
      SMK_CONFIG: writeConfig('sync:\n  pollEvery: 1s\n  batchWait: 200ms\n  searchSafetyMargin: 0s\n  jobLock: 5s\n  writeLease: 5s\n'),
      LOG_LEVEL: 'info',
    };
    const install = spawn(process.execPath, ['bin/smk.js', 'install'], { env, stdio: 'ignore' });
    await new Promise((r) => install.on('exit', r));
    service = spawn(process.execPath, ['bin/smk.js', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout?.on('data', (d: Buffer) => (log += String(d)));
    service.stderr?.on('data', (d: Buffer) => (log += String(d)));
    // The first sync: both CRMs read, every lead written.
    await waitFor('the first sync', async () => {
      const client = new Redis(redis.url);
      try {
        const leads = await client.zcard('smk:leads');
        const pending = (await client.keys('smk:pending:*:ids')).length;
        return leads > 0 && (await readyz()).status === 200 && pending === 0 && leads;
      } finally {
        client.disconnect();
      }
    }, 90_000);
    await waitFor('quiet CRMs', async () => {
      await resetBoth(sandboxes);
      await new Promise((r) => setTimeout(r, 3000));
      return Object.keys(await writesSinceReset(sandboxes)).length === 0;
    }, 60_000);
  }, 150_000);

  afterAll(async () => {
    service?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    service?.kill('SIGKILL');
    await redis?.stop();
    await sandboxes?.close();
  });

  async function expectRebuilt(): Promise<void> {
    const during = await waitFor('rebuilding on /readyz', async () => {
      const r = await readyz();
      return r.status === 503 && r.body.checks.rebuilding ? r : null;
    }, 30_000);
    expect(during.body.checks.rebuilding?.error).toMatch(/rebuilding the lead store from both CRMs since/);
    await waitFor('the rebuild to finish', async () => (await readyz()).status === 200, 90_000);
    const client = new Redis(redis.url);
    try {
      expect(await client.zcard('smk:leads')).toBeGreaterThan(0);
      // The schedules are back: the polls and the reconcile run again by themselves.
      const schedulers = await client.keys('smk:{*}:*:repeat');
      expect(schedulers.length).toBeGreaterThanOrEqual(2);
    } finally {
      client.disconnect();
    }
  }

  it('after a flush: notices, rebuilds from both CRMs, writes nothing the CRMs already hold', async () => {
    await resetBoth(sandboxes);
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
    await expectRebuilt();
    const writes = await writesSinceReset(sandboxes);
    expect(writes, JSON.stringify(writes)).toEqual({});
    expect(log.match(/redis came back empty/g)?.length).toBe(1);
  }, 150_000);

  it('a worker started while its Redis is down waits for it, then works', async () => {
    const port2 = await freePort();
    const worker = spawn(process.execPath, ['bin/smk.js', 'worker'], {
      env: { ...process.env, ...sandboxEnv(sandboxes.connection), REDIS_URL: `redis://127.0.0.1:${port2}`, LOG_LEVEL: 'info', SMK_CONFIG: writeConfig('sync:\n  pollEvery: 5s\n') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout?.on('data', (d: Buffer) => (out += String(d)));
    worker.stderr?.on('data', (d: Buffer) => (out += String(d)));
    let late: PrivateRedis | null = null;
    try {
      await waitFor('the worker to say it waits', async () => /does not answer yet; waiting for it/.test(out), 20_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(worker.exitCode).toBeNull();
      late = await startPrivateRedis({ port: port2 });
      await waitFor('the workers to start', async () => /workers started/.test(out), 30_000);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1000));
      worker.kill('SIGKILL');
      await late?.stop();
    }
  }, 90_000);

  it('after a restart without persistence: one line away, one back, and the same rebuild', async () => {
    await redis.stop();
    await new Promise((r) => setTimeout(r, 2500));
    redis = await startPrivateRedis({ port: redisPort });
    await expectRebuilt();
    expect(log.match(/redis came back empty/g)?.length).toBe(2);
    expect(log.match(/redis connection failed; retrying until it answers again/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(log.match(/redis connection is back/g)?.length ?? 0).toBeLessThanOrEqual(1);
  }, 150_000);
});
