/**
 * POST /login and the admin API are rate-limited per client address, with the count in Redis so
 * that every process of the service shares it; refusals (a wrong token, a rate-limited request)
 * are logged with the client address and never the token. Clients are told apart here by
 * X-Forwarded-For, which the app trusts from loopback (trustProxy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

const WRONG = 'wrong-admin-token-that-must-never-be-logged';


function login(url: string, ip: string, token: string, form = false): Promise<Response> {
  return fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'X-Forwarded-For': ip, 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams({ token }).toString() : JSON.stringify({ token }),
  });
}

function status(url: string, ip: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/status`, { headers: { 'X-Forwarded-For': ip, ...headers } });
}

describe('rate limits with the defaults', () => {
  let h: ServerHarness;
  const { logger, lines } = capturingLogger();
  beforeAll(async () => {
    h = await startHarness('rate-limit', { server: { trustProxy: 'loopback', logger } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses wrong tokens at POST /login with 429 after 20 from one address, and only for that address', async () => {
    const attacker = '203.0.113.5';
    const codes: number[] = [];
    for (let i = 0; i < 25; i += 1) codes.push((await login(h.url, attacker, WRONG)).status);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(codes.slice(20)).toEqual(Array(5).fill(429));

    const blocked = await login(h.url, attacker, ADMIN_TOKEN);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.json()).toMatchObject({ error: expect.stringMatching(/too many/i) });
    // The login form gets the form back, saying why.
    const form = await login(h.url, attacker, WRONG, true);
    expect(form.status).toBe(429);
    expect(await form.text()).toContain('Too many');

    // Another address is not affected.
    expect((await login(h.url, '198.51.100.7', ADMIN_TOKEN)).status).toBe(204);
  });

  it('counts wrong bearer tokens on the admin API too, without locking out a signed-in browser on that address', async () => {
    const attacker = '203.0.113.9';
    const codes: number[] = [];
    for (let i = 0; i < 22; i += 1) codes.push((await status(h.url, attacker, { Authorization: `Bearer ${WRONG}` })).status);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(codes.slice(20)).toEqual([429, 429]);
    expect((await status(h.url, attacker, { Authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(429);
    expect((await login(h.url, attacker, ADMIN_TOKEN)).status).toBe(429);

    // A session cookie (from a login elsewhere) is no guess: it still works from that address.
    const signedIn = await login(h.url, '198.51.100.20', ADMIN_TOKEN);
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^smk_admin=/);
    expect((await status(h.url, attacker, { Cookie: cookie })).status).toBe(200);
    // The right token from another address is fine.
    expect((await status(h.url, '198.51.100.21', { Authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });

  it('logs each refusal with the client address, and never the token', () => {
    const refusedLogins = lines.filter((l) => l.msg === 'dashboard login refused');
    expect(refusedLogins.length).toBeGreaterThanOrEqual(20);
    for (const l of refusedLogins) expect(l.ip).toBe('203.0.113.5');
    const refusedApi = lines.filter((l) => l.msg === 'admin authentication failed' && l.ip === '203.0.113.9');
    expect(refusedApi).toHaveLength(20);
    const limited = lines.filter((l) => l.msg === 'rate limited');
    expect(limited.map((l) => l.ip)).toEqual(expect.arrayContaining(['203.0.113.5', '203.0.113.9']));
    for (const l of limited) expect(l).toMatchObject({ path: expect.any(String), limit: expect.any(Number) });
    const all = JSON.stringify(lines);
    expect(all).not.toContain(WRONG);
    expect(all).not.toContain(ADMIN_TOKEN);
  });
});

describe('rate limits shared by several processes', () => {
  let h: ServerHarness;
  let second: RunningServer;
  beforeAll(async () => {
    h = await startHarness('rate-limit-shared', { server: { trustProxy: 'loopback' } });
    second = await startServer(h.ctx, { port: 0, host: '127.0.0.1', trustProxy: 'loopback' });
  });
  afterAll(async () => {
    await second.close();
    await h.close();
  });

  it('counts one address across processes: 20 wrong logins spread over two services exhaust it on both', async () => {
    const attacker = '203.0.113.77';
    for (let i = 0; i < 20; i += 1) expect((await login(i % 2 === 0 ? h.url : second.url, attacker, WRONG)).status).toBe(401);
    expect((await login(h.url, attacker, WRONG)).status).toBe(429);
    expect((await login(second.url, attacker, WRONG)).status).toBe(429);
  });
});

describe('the admin API as a whole', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('rate-limit-api', { server: { trustProxy: 'loopback', rateLimits: { api: { limit: 30, windowMs: 60_000 } } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is limited per client address even with the right token', async () => {
    const busy = '203.0.113.100';
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    for (let i = 0; i < 30; i += 1) expect((await status(h.url, busy, auth)).status).toBe(200);
    const limited = await status(h.url, busy, auth);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await status(h.url, '198.51.100.100', auth)).status).toBe(200);
  });
});

describe('a Redis that was down when the limiter was made', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('rate-limit-redis-down');
  });
  afterAll(async () => {
    await h.close();
  });

  it('lets requests through while it cannot count, and counts once Redis answers again', async () => {
    const express = (await import('express')).default;
    const { createRateLimits } = await import('../../src/server/rate-limit.js');
    let down = true;
    const redis = new Proxy(h.t.redis, {
      get(target, prop, receiver) {
        if (prop === 'call') {
          return (...args: [string, ...string[]]) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : target.call(...args));
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const limits = createRateLimits({ ...h.ctx, redis }, pino({ level: 'silent' }), { api: { limit: 3, windowMs: 60_000 } });
    const app = express();
    app.use(...limits.admin, (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      for (let i = 0; i < 5; i += 1) expect((await fetch(url)).status).toBe(200);
      down = false;
      const codes: number[] = [];
      for (let i = 0; i < 4; i += 1) codes.push((await fetch(url)).status);
      expect(codes).toEqual([200, 200, 200, 429]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('behind a reverse proxy (SMK_TRUST_PROXY)', () => {
  it('tells clients apart by X-Forwarded-For only when told how many proxies to trust', async () => {
    const { trustProxyFrom } = await import('../../src/server/app.js');
    expect(trustProxyFrom(undefined)).toBe(false);
    expect(trustProxyFrom('1')).toBe(1);
    expect(trustProxyFrom('loopback')).toBe('loopback');
    const behind = await startHarness('rate-limit-proxy', { env: { SMK_TRUST_PROXY: '1' } });
    const direct = await startHarness('rate-limit-direct');
    try {
      // Trusted: one client's wrong tokens do not lock out another behind the same proxy.
      for (let i = 0; i < 21; i += 1) await login(behind.url, '203.0.113.50', WRONG);
      expect((await login(behind.url, '203.0.113.50', ADMIN_TOKEN)).status).toBe(429);
      expect((await login(behind.url, '198.51.100.50', ADMIN_TOKEN)).status).toBe(204);
      // Not trusted (the default): the header is not believed, every request is the socket's peer.
      for (let i = 0; i < 21; i += 1) await login(direct.url, '203.0.113.60', WRONG);
      expect((await login(direct.url, '198.51.100.60', ADMIN_TOKEN)).status).toBe(429);
    } finally {
      await behind.close();
      await direct.close();
    }
  });
});
