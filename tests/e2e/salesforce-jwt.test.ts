/**
 * The Salesforce JWT bearer flow chosen by configuration alone (SALESFORCE_JWT_USERNAME, a key
 * file, SALESFORCE_CLIENT_ID, SALESFORCE_LOGIN_URL; no token, no instance URL), end to end through
 * the service's wiring against the Salesforce sandbox, whose connected app holds the certificate's
 * public key: sync passes keep working when every session expires between them or in the middle
 * of one, each expiry costing one token request; a key the connected app does not know ends in AUTH_INVALID without a
 * loop. Token requests are counted at the sandbox (`GET /__sandbox/oauth`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { syncOnce } from '../../jobs/run-once.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { fastSyncConfig, sandboxControl, writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { serviceEnv } from '../helpers/sandbox-io.js';

const CONFIG = fastSyncConfig();
const USERNAME = 'integration@smarketing-demo.example';

function pem(key: ReturnType<typeof generateKeyPairSync>['privateKey']): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('the Salesforce JWT bearer flow, configured by environment', () => {
  let sandboxes: Sandboxes;
  const redises: TestRedis[] = [];
  const runtimes: Runtime[] = [];
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const tokenRequests = async (): Promise<number> =>
    z.object({ tokenRequests: z.number() }).parse(await (await fetch(`${sandboxes.salesforce.instanceUrl}/__sandbox/oauth`)).json()).tokenRequests;

  /** The environment of a service configured for JWT only: the sandbox's own tokens, secret and instance URL removed. */
  async function jwtOnlyEnv(label: string, jwtEnv: Record<string, string>): Promise<Record<string, string>> {
    const redis = await testRedis(label);
    redises.push(redis);
    const {
      SALESFORCE_ACCESS_TOKEN: _access,
      SALESFORCE_REFRESH_TOKEN: _refresh,
      SALESFORCE_CLIENT_SECRET: _secret,
      SALESFORCE_INSTANCE_URL: _instance,
      ...rest
    } = serviceEnv(sandboxes, redis, writeConfig(CONFIG));
    return { ...rest, SALESFORCE_JWT_USERNAME: USERNAME, ...jwtEnv };
  }

  async function start(label: string, jwtEnv: Record<string, string>): Promise<Runtime> {
    const runtime = await bootstrap({ config: loadConfig({ env: await jwtOnlyEnv(label, jwtEnv) }), logger: createLogger({ level: process.env.SMK_TEST_LOG ?? 'silent' }) });
    runtimes.push(runtime);
    return runtime;
  }

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 40, seed: 29, hubspotPerTenSeconds: 0 });
    // The connected app's certificate: assertions must verify against its public key.
    sandboxes.salesforce.auth.options.jwtPublicKey = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }, 60_000);

  afterAll(async () => {
    for (const r of runtimes) await r.close();
    for (const r of redises) await r.cleanup();
    await sandboxes?.close();
  });

  it('smk doctor accepts a JWT-only Salesforce connection (no instance URL, no tokens) and checks it live', async () => {
    const keyPath = join(mkdtempSync(join(tmpdir(), 'smk-jwt-doctor-')), 'salesforce.key');
    writeFileSync(keyPath, pem(privateKey), { mode: 0o600 });
    const { diagnose } = await import('../../src/cli/doctor.js');
    const checks = await diagnose({ env: await jwtOnlyEnv('sf-jwt-doctor', { SALESFORCE_JWT_PRIVATE_KEY_FILE: keyPath }) });
    expect(checks.filter((c) => c.name === 'Salesforce credentials')).toEqual([]);
    expect(checks.find((c) => c.name === 'Salesforce connection')).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('syncs on sessions from signed assertions, and keeps syncing when every session expires mid-run', async () => {
    const keyPath = join(mkdtempSync(join(tmpdir(), 'smk-jwt-e2e-')), 'salesforce.key');
    writeFileSync(keyPath, pem(privateKey), { mode: 0o600 });
    const runtime = await start('sf-jwt', { SALESFORCE_JWT_PRIVATE_KEY_FILE: keyPath });
    const before = await tokenRequests();

    for (const crm of ['hubspot', 'salesforce'] as const) expect((await runtime.ctx.connectors[crm].ensureSchema()).problems).toEqual([]);
    const first = await syncOnce(runtime.ctx, { timeoutMs: 90_000 });
    expect(first.syncErrors).toBe(0);
    expect(first.polls.salesforce?.records).toBeGreaterThan(0);
    // One assertion for the first session; its instance URL came with it, and it is kept sealed.
    expect(await tokenRequests()).toBe(before + 1);
    const session = await runtime.tokens?.get('salesforce');
    expect(session).toMatchObject({ accessToken: expect.any(String), instanceUrl: sandboxes.salesforce.instanceUrl });
    expect(session?.refreshToken).toBeUndefined();

    const leads = sandboxes.salesforce.store.list('Lead').filter((l) => !l.IsConverted).map((l) => String(l.Id));
    for (let round = 1; round <= 3; round += 1) {
      // A rep works a Lead, then Salesforce ends every session (timeout, admin, password change).
      await sandboxControl(sandboxes.salesforce.instanceUrl, '/activity', { kind: 'field', id: leads[round], fields: { Title: `Director of Operations ${round}` } });
      await sandboxControl(sandboxes.salesforce.instanceUrl, '/expire-sessions', {});
      const pass = await syncOnce(runtime.ctx, { timeoutMs: 90_000 });
      expect(pass.syncErrors, `pass ${round}`).toBe(0);
      expect(pass.paused, `pass ${round}`).toBeUndefined();
      expect(pass.polls.salesforce?.records, `pass ${round} read the rep's change`).toBeGreaterThan(0);
      expect(await tokenRequests(), `pass ${round}`).toBe(before + 1 + round);
      const stored = await runtime.tokens?.get('salesforce');
      expect(stored?.accessToken).not.toBe(session?.accessToken);
    }

    // And in the middle of a pass: the sessions end right after the pass's second Salesforce call.
    const auth = sandboxes.salesforce.auth;
    const authenticate = auth.authenticate.bind(auth);
    let seen = 0;
    const spy = vi.spyOn(auth, 'authenticate').mockImplementation((token) => {
      seen += 1;
      if (seen === 2) auth.expireAllSessions();
      return authenticate(token);
    });
    try {
      await sandboxControl(sandboxes.salesforce.instanceUrl, '/activity', { kind: 'field', id: leads[4], fields: { Title: 'VP of Sales' } });
      const pass = await syncOnce(runtime.ctx, { timeoutMs: 90_000 });
      expect(seen).toBeGreaterThan(2);
      expect(pass.syncErrors).toBe(0);
      expect(pass.polls.salesforce?.records).toBeGreaterThan(0);
      expect(await tokenRequests()).toBe(before + 5);
    } finally {
      spy.mockRestore();
    }
    const connection = await runtime.ctx.connections.get('salesforce');
    expect(connection?.state).toBe('connected');
  }, 240_000);

  it('ends a key the connected app does not know in AUTH_INVALID after two refused assertions, without a loop', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    // Inline, with \n escapes, as a one-line environment value.
    const runtime = await start('sf-jwt-wrong-key', { SALESFORCE_JWT_PRIVATE_KEY: pem(stranger).trim().replace(/\n/g, '\\n') });
    const before = await tokenRequests();
    const err = await runtime.ctx.connectors.salesforce.ping().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_INVALID' });
    expect((err as Error).message).toMatch(/Reconnect Salesforce/);
    expect(await tokenRequests()).toBe(before + 2);
    await expect(runtime.ctx.connectors.salesforce.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(await tokenRequests()).toBe(before + 2);
  }, 60_000);
});
