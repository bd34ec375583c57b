/**
 * Stopping, with real signals to real processes, started the way the README starts them:
 * Ctrl-C on `npm run demo` (the terminal's SIGINT to the whole process group, which tsx relays a
 * second time) removes the demo's Redis keys and its temporary folder and says so; SIGTERM to
 * `npx smk start` (npm's exec does not pass it on) stops the service too.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { freePort, startPrivateRedis } from '../../src/store/redis.js';
import type { PrivateRedis } from '../../src/store/redis.js';
import { writeConfig } from '../helpers/pipeline.js';

function collect(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += String(d)));
  child.stderr?.on('data', (d: Buffer) => (text += String(d)));
  return { text: () => text };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => {
  if (child.exitCode !== null) resolve(child.exitCode);
  else child.once('exit', (code) => resolve(code));
});

const closed = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.stdout?.closed && child.stderr?.closed) resolve();
  else child.once('close', () => resolve());
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopping', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('Ctrl-C on npm run demo removes its Redis keys and its temporary folder, and says so', async () => {
    const demo = spawn('npm', ['run', 'demo', '--', '--people', '30', '--port', '0'], {
      env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = collect(demo);
    try {
      await until('the demo to serve its dashboard', () => /Dashboard: /.test(out.text()));
      const client = new Redis(redis.url);
      expect(await client.dbsize()).toBeGreaterThan(0);
      // The terminal's Ctrl-C: SIGINT to the whole process group (npm, tsx and the demo).
      process.kill(-(demo.pid as number), 'SIGINT');
      // npm itself dies of the signal at once; the demo cleans up behind it, holding the output
      // open until it is done: wait for the output to close, not for npm to exit.
      await closed(demo);
      expect(out.text()).toMatch(/Demo stopped: removed its \d+ Redis key\(s\), stopped both sandboxes, and deleted (\S+)\./);
      const folder = /deleted (\S+)\./.exec(out.text())?.[1] as string;
      expect(existsSync(folder)).toBe(false);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
    } finally {
      try {
        process.kill(-(demo.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }, 150_000);

  it('smk start --no-workers serves and schedules, and leaves the jobs to smk worker processes', async () => {
    const sandboxes: Sandboxes = await startSandboxes({ people: 10, seed: 2, hubspotPerTenSeconds: 0 });
    const port = await freePort();
    const env = { ...process.env, ...sandboxEnv(sandboxes.connection), REDIS_URL: redis.url, SMK_KEY_PREFIX: 'smk-noworkers', PORT: String(port), SMK_ADMIN_TOKEN: 'signals-test-admin-token', SMK_CONFIG: writeConfig('sync:\n  pollEvery: 1s\n'), LOG_LEVEL: 'info' };
    const web = spawn(process.execPath, ['bin/smk.js', 'start', '--no-workers'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(web);
    const client = new Redis(redis.url);
    try {
      await until('the service to answer', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true);
      expect(out.text()).toContain('no workers in this process');
      // The schedules are there, and their polls wait for a worker.
      await until('a scheduled poll waiting', async () => (await client.llen('smk-noworkers:{poll}:poll:wait')) + (await client.zcard('smk-noworkers:{poll}:poll:delayed')) > 0, 20_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await client.hget('smk-noworkers:cursor:hubspot', '_lastSyncAt')).toBeNull();
      const worker = spawn(process.execPath, ['bin/smk.js', 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await until('the worker to poll', async () => (await client.hget('smk-noworkers:cursor:hubspot', '_lastSyncAt')) !== null, 30_000);
      } finally {
        worker.kill('SIGTERM');
        await exited(worker);
      }
    } finally {
      web.kill('SIGTERM');
      await exited(web);
      client.disconnect();
      await sandboxes.close();
    }
  }, 120_000);

  it('SIGTERM to npx smk start stops the service, not only npx', async () => {
    const sandboxes: Sandboxes = await startSandboxes({ people: 10, seed: 2, hubspotPerTenSeconds: 0 });
    const port = await freePort();
    const npx = spawn('npx', ['smk', 'start'], {
      env: { ...process.env, ...sandboxEnv(sandboxes.connection), REDIS_URL: redis.url, SMK_KEY_PREFIX: 'smk-signals', PORT: String(port), SMK_ADMIN_TOKEN: 'signals-test-admin-token', SMK_CONFIG: writeConfig('sync:\n  pollEvery: 5s\n'), LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collect(npx);
    try {
      await until('the service to answer', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true);
      npx.kill('SIGTERM');
      await exited(npx);
      await until('the service to stop', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)) === null, 30_000);
      expect(out.text()).not.toContain('EADDRINUSE');
    } finally {
      if (npx.pid && alive(npx.pid)) npx.kill('SIGKILL');
      await sandboxes.close();
    }
  }, 120_000);
});
