/**
 * One OAuth refresh at a time across workers: several HubSpot connectors (one per worker process)
 * share the encrypted Redis TokenStore and its refresh lock. When their token is due together,
 * exactly one token call goes to HubSpot; the others adopt the stored result. Counted at the
 * sandbox's token endpoint.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthRegistry } from '../../../connectors/hubspot/sandbox/auth.js';
import { SecretBox } from '../../../src/store/crypto.js';
import { createKeys } from '../../../src/store/keys.js';
import { RedisTokenStore } from '../../../src/store/tokens.js';
import { installOAuth, startWorld, type HubSpotWorld } from './setup.js';

describe('HubSpot OAuth refresh across workers', () => {
  let w: HubSpotWorld;
  let store: RedisTokenStore;
  const tokenCalls = vi.spyOn(AuthRegistry.prototype, 'token');
  const refreshes = () => tokenCalls.mock.calls.filter(([form]) => form.grant_type === 'refresh_token').length;

  beforeAll(async () => {
    w = await startWorld('hs-refresh-lock', { people: 20, seed: 5 });
    store = new RedisTokenStore(w.redis.redis, createKeys(w.redis.prefix), new SecretBox(SecretBox.generateKey()));
  });
  afterAll(async () => {
    tokenCalls.mockRestore();
    await w?.close();
  });

  async function install(): Promise<void> {
    await store.set('hubspot', await installOAuth(w));
  }

  const worker = (clock: () => number) =>
    w.connect({ accessToken: undefined, clientId: w.sandbox.clientId, tokens: store, refreshLock: store, clock });

  it('spends the refresh once when four workers find the token due at the same moment', async () => {
    await install();
    const later = () => Date.now() + 27 * 60_000;
    const workers = [worker(later), worker(later), worker(later), worker(later)];
    w.sandbox.clock.advance(27 * 60_000);
    try {
      const before = refreshes();
      await Promise.all(workers.map((c) => c.ping()));
      expect(refreshes() - before).toBe(1);
      // All four now hold the one stored token: the next calls need no refresh.
      await Promise.all(workers.map((c) => c.ping()));
      expect(refreshes() - before).toBe(1);
    } finally {
      w.sandbox.clock.reset();
    }
  });

  it('refreshes once when four workers are refused the expired token together (401)', async () => {
    await install();
    const workers = [worker(Date.now), worker(Date.now), worker(Date.now), worker(Date.now)];
    await Promise.all(workers.map((c) => c.ping()));
    w.sandbox.clock.advance(31 * 60_000);
    try {
      const before = refreshes();
      await Promise.all(workers.map((c) => c.ping()));
      expect(refreshes() - before).toBe(1);
    } finally {
      w.sandbox.clock.reset();
    }
  });
});
