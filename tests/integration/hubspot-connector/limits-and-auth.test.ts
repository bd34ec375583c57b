import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredTokens, TokenStore } from '../../../connectors/types.js';
import { createKeys } from '../../../src/store/keys.js';
import { installOAuth, startWorld, type HubSpotWorld } from './setup.js';

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

function memoryTokens(initial: StoredTokens): TokenStore & { saved: StoredTokens[] } {
  let current = initial;
  const saved: StoredTokens[] = [];
  return {
    saved,
    get: async () => current,
    set: async (_crm, tokens) => {
      current = tokens;
      saved.push(tokens);
    },
  };
}

describe('HubSpot rate limits against the sandbox', () => {
  let w: HubSpotWorld;
  const requests = async (): Promise<LoggedRequest[]> => ((await w.control('GET', '/requests?limit=5000')) as { requests: LoggedRequest[] }).requests;

  beforeAll(async () => {
    w = await startWorld('hs-limits', { people: 600, seed: 3 });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await w?.close();
  });

  it('recovers from a 429 TEN_SECONDLY_ROLLING by waiting out the window, then carries on', async () => {
    // HubSpot allows this app 4 calls per 10 s; our own budget would allow more.
    await w.control('PUT', '/rate-limits', { perTenSeconds: 4, resetUsage: true });
    const waits: number[] = [];
    // Waiting is done on the sandbox clock, so the test does not sleep 10 s of real time.
    const connector = w.connect({ sleep: async (ms) => void (waits.push(ms), w.sandbox.clock.advance(ms)) });
    try {
      const before = (await requests()).length;
      let contacts = 0;
      for await (const page of connector.readAll()) contacts += page.fragments.length;
      expect(contacts).toBe(w.sandbox.store.contactCount());
      const log = (await requests()).slice(before);
      expect(log.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
      expect(log.filter((r) => r.status === 200).length).toBe(Math.ceil(contacts / 100));
      expect(waits.every((ms) => ms >= 10_000)).toBe(true);
    } finally {
      await w.control('PUT', '/rate-limits', { perTenSeconds: 190, resetUsage: true });
      w.sandbox.clock.reset();
    }
  });

  it('respects the 5-per-second search limit: our gate paces searches, a secondly 429 is waited out', async () => {
    await w.control('PUT', '/rate-limits', { searchPerSecond: 2, resetUsage: true });
    try {
      const before = (await requests()).length;
      const ids = new Set<string>();
      for await (const page of w.connector.changes({ contacts: null, 'contacts:archived': null })) for (const f of page.fragments) ids.add(f.recordId);
      expect(ids.size).toBe(w.sandbox.store.contactCount());
      const searches = (await requests()).slice(before).filter((r) => r.path.endsWith('/search'));
      expect(searches.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
      expect(searches.some((r) => r.status === 429)).toBe(true);
    } finally {
      await w.control('PUT', '/rate-limits', { searchPerSecond: 5, resetUsage: true });
    }
  });

  it('a spent daily budget in our gate stops the work with QUOTA_EXHAUSTED before HubSpot is called', async () => {
    await w.gate.pause('hubspot', 60_000);
    await w.resetStats();
    try {
      await expect(w.connector.ping()).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED' });
      expect((await w.stats()).total).toBe(0);
      expect((await w.connector.quota()).paused).toBe(true);
    } finally {
      await w.redis.redis.del(createKeys(w.redis.prefix).quotaPause('hubspot'));
    }
  });
});

describe('HubSpot OAuth against the sandbox', () => {
  let w: HubSpotWorld;

  beforeAll(async () => {
    w = await startWorld('hs-oauth', { people: 50, seed: 4 });
  });
  afterAll(async () => {
    await w?.close();
  });

  const install = (): Promise<StoredTokens> => installOAuth(w);

  it('refreshes once an expired token is refused (EXPIRED_AUTHENTICATION), retries once, and persists the new token', async () => {
    const installed = await install();
    const tokens = memoryTokens(installed);
    const connector = w.connect({ accessToken: undefined, clientId: w.sandbox.clientId, tokens });
    await connector.ping();
    // 31 minutes pass at HubSpot: the 30-minute token expires there (our clock did not notice).
    w.sandbox.clock.advance(31 * 60_000);
    try {
      await w.resetStats();
      await connector.ping();
      expect(tokens.saved).toHaveLength(1);
      expect(tokens.saved[0]).toMatchObject({ refreshToken: installed.refreshToken });
      expect(tokens.saved[0]?.accessToken).not.toBe(installed.accessToken);
      // Two API calls: the refused one and the retry (the token endpoint is not an API call).
      expect((await w.stats()).total).toBe(2);
      await connector.ping();
      expect(tokens.saved).toHaveLength(1);
    } finally {
      w.sandbox.clock.reset();
    }
  });

  it('refreshes ahead of expiry (expiresAt - 5 min < now) without a refused call', async () => {
    const tokens = memoryTokens(await install());
    const connector = w.connect({ accessToken: undefined, clientId: w.sandbox.clientId, tokens, clock: () => Date.now() + 26 * 60_000 });
    w.sandbox.clock.advance(26 * 60_000);
    try {
      await w.resetStats();
      await connector.ping();
      expect(tokens.saved).toHaveLength(1);
      expect((await w.stats()).total).toBe(1);
    } finally {
      w.sandbox.clock.reset();
    }
  });

  it('a revoked refresh token ends in AUTH_INVALID, without looping', async () => {
    const installed = await install();
    const tokens = memoryTokens({ ...installed, expiresAt: Date.now() - 1 });
    await fetch(`${w.sandbox.baseUrl}/oauth/v1/refresh-tokens/${installed.refreshToken}`, { method: 'DELETE' });
    const connector = w.connect({ accessToken: undefined, clientId: w.sandbox.clientId, tokens });
    await w.resetStats();
    await expect(connector.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect((await w.stats()).total).toBe(0);
  });
});
