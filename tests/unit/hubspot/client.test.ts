import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import type { StoredTokens, TokenStore } from '../../../connectors/types.js';
import { CrmError } from '../../../connectors/errors.js';
import { fakeGate, fixture } from './helpers.js';

const BASE = 'http://hubspot.test';
const LIST = '/crm/v3/objects/contacts';
const page = { results: [{ id: '1', properties: { hs_object_id: '1' }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', archived: false }] };

function memoryTokens(initial: StoredTokens | null): TokenStore & { saved: StoredTokens[] } {
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

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

describe('the HubSpot client', () => {
  it('takes a gate token before every attempt, sends the bearer and reports the rate-limit headers', async () => {
    const gate = fakeGate();
    const scope = nock(BASE, { reqheaders: { authorization: 'Bearer pat-test' } })
      .get(LIST)
      .query(true)
      .reply(200, page, { 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': '249990', 'X-HubSpot-RateLimit-Max': '100', 'X-HubSpot-RateLimit-Remaining': '97' });
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate });
    await connector.ping();
    expect(scope.isDone()).toBe(true);
    expect(gate.takes).toEqual([{ crm: 'hubspot', kind: 'read' }]);
    expect(gate.observed).toEqual([{ dailyLimit: 250_000, dailyUsed: 10, windowLimit: 100, windowRemaining: 97 }]);
  });

  it('recovers from a 429 TEN_SECONDLY_ROLLING after waiting the window, one gate token per attempt', async () => {
    const gate = fakeGate();
    const waits: number[] = [];
    nock(BASE).get(LIST).query(true).reply(429, fixture('error-429-ten-secondly.json')).get(LIST).query(true).reply(200, page);
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate, sleep: async (ms) => void waits.push(ms) });
    await connector.ping();
    expect(waits).toEqual([10_000]);
    expect(gate.takes).toHaveLength(2);
  });

  it('retries a 5xx and a call that does not answer in time, then gives up with TRANSIENT after the configured attempts', async () => {
    const gate = fakeGate();
    nock(BASE)
      .get(LIST).query(true).reply(502, fixture('error-502.json'))
      .get(LIST).query(true).delay(400).reply(200, page)
      .get(LIST).query(true).reply(503, fixture('error-502.json'));
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate, retries: 3, timeoutMs: 100, sleep: async () => {} });
    const err = await connector.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmError);
    expect((err as CrmError).code).toBe('TRANSIENT');
    expect(gate.takes).toHaveLength(3);
  });

  it('maps a refused connection to TRANSIENT', async () => {
    nock.enableNetConnect('127.0.0.1');
    try {
      // Port 1 on loopback refuses connections.
      const connector = createHubSpotConnector({ baseUrl: 'http://127.0.0.1:1', accessToken: 'pat-test', gate: fakeGate(), retries: 1 });
      await expect(connector.ping()).rejects.toMatchObject({ code: 'TRANSIENT' });
    } finally {
      nock.disableNetConnect();
    }
  });

  it('does not retry a 429 DAILY: the budget is spent, QUOTA_EXHAUSTED goes to the pipeline', async () => {
    const gate = fakeGate();
    nock(BASE).get(LIST).query(true).reply(429, fixture('error-429-daily.json'));
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate, sleep: async () => {} });
    await expect(connector.ping()).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED', vendorCode: 'DAILY' });
    expect(gate.takes).toHaveLength(1);
  });

  it('lets the gate\'s QUOTA_EXHAUSTED propagate without calling HubSpot', async () => {
    const gate = fakeGate();
    gate.take = async () => {
      throw new CrmError({ crm: 'hubspot', code: 'QUOTA_EXHAUSTED', message: 'budget spent', retryAfterMs: 1000 });
    };
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate });
    await expect(connector.ping()).rejects.toMatchObject({ code: 'QUOTA_EXHAUSTED' });
  });

  it('refreshes an OAuth token ahead of expiry and persists it', async () => {
    const now = Date.parse('2026-11-03T10:00:00Z');
    const tokens = memoryTokens({ accessToken: 'old', refreshToken: 'rt-1', expiresAt: now + 4 * 60_000 });
    const gate = fakeGate();
    const oauth = nock(BASE)
      .post('/oauth/v1/token', (body: Record<string, string>) => body.grant_type === 'refresh_token' && body.refresh_token === 'rt-1' && body.client_id === 'cid' && body.client_secret === 'secret')
      .reply(200, fixture('oauth-refresh-token.json'));
    const newToken = (fixture('oauth-refresh-token.json') as { access_token: string }).access_token;
    nock(BASE, { reqheaders: { authorization: `Bearer ${newToken}` } }).get(LIST).query(true).reply(200, page);
    const connector = createHubSpotConnector({ baseUrl: BASE, clientId: 'cid', clientSecret: 'secret', tokens, gate, clock: () => now });
    await connector.ping();
    expect(oauth.isDone()).toBe(true);
    expect(tokens.saved).toEqual([{ accessToken: newToken, refreshToken: 'na1-3f4e-7a2b-4c1d-9e8f-0a1b2c3d4e5f', expiresAt: now + 1_800_000 }]);
    // The token endpoint is not an API call: no gate token for it.
    expect(gate.takes).toHaveLength(1);
  });

  it('on EXPIRED_AUTHENTICATION refreshes once and retries once, never loops', async () => {
    const now = Date.parse('2026-11-03T10:00:00Z');
    const tokens = memoryTokens({ accessToken: 'old', refreshToken: 'rt-1', expiresAt: now + 3_600_000 });
    nock(BASE).get(LIST).query(true).reply(401, fixture('error-401-expired.json'));
    nock(BASE).post('/oauth/v1/token').reply(200, fixture('oauth-refresh-token.json'));
    nock(BASE).get(LIST).query(true).reply(401, fixture('error-401-expired.json'));
    const connector = createHubSpotConnector({ baseUrl: BASE, clientId: 'cid', clientSecret: 'secret', tokens, gate: fakeGate(), clock: () => now });
    await expect(connector.ping()).rejects.toMatchObject({ code: 'AUTH_EXPIRED' });
    expect(nock.pendingMocks()).toEqual([]);
    expect(tokens.saved).toHaveLength(1);
  });

  it('a refused refresh token is AUTH_INVALID (reinstall), and a private-app token is never refreshed', async () => {
    const now = Date.parse('2026-11-03T10:00:00Z');
    const tokens = memoryTokens({ accessToken: 'old', refreshToken: 'rt-gone', expiresAt: now - 1 });
    nock(BASE).post('/oauth/v1/token').reply(400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token', correlationId: 'x' });
    const oauth = createHubSpotConnector({ baseUrl: BASE, clientId: 'cid', clientSecret: 'secret', tokens, gate: fakeGate(), clock: () => now });
    await expect(oauth.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID', vendorCode: 'BAD_REFRESH_TOKEN' });

    nock(BASE).get(LIST).query(true).reply(401, fixture('error-401-invalid.json'));
    const privateApp = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-revoked', gate: fakeGate() });
    await expect(privateApp.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('with no credentials at all fails fast with AUTH_INVALID', async () => {
    const connector = createHubSpotConnector({ baseUrl: BASE, gate: fakeGate() });
    await expect(connector.ping()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
  });
});
