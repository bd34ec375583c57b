/**
 * Where the service listens and who may read /metrics: HOST chooses the interface (unset: every
 * interface, as before); SMK_METRICS_TOKEN puts /metrics behind a bearer token; SMK_METRICS_PORT
 * moves it to a port of its own on 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { ConfigError, parseEnv } from '../../src/config.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';


let harness: ServerHarness | null = null;
let extra: RunningServer | null = null;
afterEach(async () => {
  await extra?.close();
  extra = null;
  await harness?.close();
  harness = null;
});

describe('HOST', () => {
  it('chooses the interface the service listens on', async () => {
    harness = await startHarness('listen-host', { env: { HOST: '127.0.0.1' } });
    extra = await startServer(harness.ctx, { port: 0 });
    expect((extra.server.address() as AddressInfo).address).toBe('127.0.0.1');
    expect(extra.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('listens on every interface when unset, as before', async () => {
    harness = await startHarness('listen-any');
    extra = await startServer(harness.ctx, { port: 0 });
    expect(['::', '0.0.0.0']).toContain((extra.server.address() as AddressInfo).address);
  });

  it.each<[string, Record<string, string>]>([
    ['HOST', { HOST: 'not a host!' }],
    ['SMK_METRICS_PORT', { SMK_METRICS_PORT: '3000' }],
    ['SMK_METRICS_PORT', { SMK_METRICS_PORT: 'ninety' }],
    ['SMK_METRICS_TOKEN', { SMK_METRICS_TOKEN: 'short' }],
  ])('refuses a bad %s, naming it', (variable, env) => {
    expect(() => parseEnv(env)).toThrow(ConfigError);
    try {
      parseEnv(env);
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toContain(variable);
      // Environment values may be secrets: never echoed.
      if (env.SMK_METRICS_TOKEN) expect((err as ConfigError).problems.join('\n')).not.toContain(env.SMK_METRICS_TOKEN);
    }
  });

  it('takes good values', () => {
    expect(parseEnv({ HOST: '::1', SMK_METRICS_PORT: '9464', SMK_METRICS_TOKEN: METRICS_TOKEN })).toMatchObject({ HOST: '::1', SMK_METRICS_PORT: 9464, SMK_METRICS_TOKEN: METRICS_TOKEN });
    expect(parseEnv({ HOST: 'localhost' }).HOST).toBe('localhost');
    expect(parseEnv({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(parseEnv({}).HOST).toBeUndefined();
  });
});

describe('/metrics behind SMK_METRICS_TOKEN', () => {
  it('refuses a scrape without the token or with a wrong one, and logs the client address, never the token', async () => {
    const { logger, lines } = capturingLogger();
    harness = await startHarness('metrics-token', { env: { SMK_METRICS_TOKEN: METRICS_TOKEN }, server: { logger } });
    const none = await fetch(`${harness.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await none.json()).toMatchObject({ error: expect.stringContaining('SMK_METRICS_TOKEN') });
    const wrong = await fetch(`${harness.url}/metrics`, { headers: { Authorization: 'Bearer wrong-wrong-wrong-wrong-wrong' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('smk_');

    const right = await fetch(`${harness.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('smk_queue_jobs');

    const refusals = lines.filter((l) => String(l.msg).includes('metrics scrape refused'));
    expect(refusals).toHaveLength(2);
    for (const r of refusals) expect(r.ip).toMatch(/127\.0\.0\.1/);
    const all = JSON.stringify(lines);
    expect(all).not.toContain('wrong-wrong-wrong');
    expect(all).not.toContain(METRICS_TOKEN);
  });
});

describe('/metrics on SMK_METRICS_PORT', () => {
  it('is served on its own port of 127.0.0.1, and not on the main port', async () => {
    harness = await startHarness('metrics-port', { env: { SMK_METRICS_PORT: '0' } });
    expect(harness.server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const main = await fetch(`${harness.url}/metrics`);
    expect(main.status).toBe(404);
    const res = await fetch(`${harness.server.metricsUrl as string}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('smk_queue_jobs');
    // Only /metrics there: not the dashboard, the API or the webhook.
    expect((await fetch(`${harness.server.metricsUrl as string}/api/status`)).status).toBe(404);
    expect((await fetch(`${harness.server.metricsUrl as string}/healthz`)).status).toBe(404);
  });

  it('can also ask for the token there', async () => {
    harness = await startHarness('metrics-port-token', { env: { SMK_METRICS_PORT: '0', SMK_METRICS_TOKEN: METRICS_TOKEN } });
    const url = `${harness.server.metricsUrl as string}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it('says which port is taken', async () => {
    harness = await startHarness('metrics-port-taken', { env: { SMK_METRICS_PORT: '0' } });
    const taken = Number(new URL(harness.server.metricsUrl as string).port);
    await expect(startServer(harness.ctx, { port: 0, host: '127.0.0.1', metricsPort: taken })).rejects.toThrow(new RegExp(`port ${taken} .*SMK_METRICS_PORT`));
  });
});
