import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, raw, shapeDiff } from './helpers.js';

const REDIRECT = 'http://127.0.0.1:9/oauth/callback';
let sandbox: HubSpotSandbox;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world: generateWorld({ people: 30, seed: 4 }), seed: 4 });
});
afterAll(async () => {
  await sandbox.close();
});

async function authorize(state: string): Promise<URL> {
  const url = new URL('/oauth/authorize', sandbox.baseUrl);
  url.searchParams.set('client_id', sandbox.clientId);
  url.searchParams.set('redirect_uri', REDIRECT);
  url.searchParams.set('scope', 'oauth crm.objects.contacts.read crm.objects.contacts.write');
  url.searchParams.set('state', state);
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; body: Record<string, unknown> };
  }
  throw new Error('expected the call to fail');
}

describe('HubSpot sandbox: authentication', () => {
  it('derives the same credentials from the same seed', async () => {
    const again = await startHubSpotSandbox({ seed: 4 });
    try {
      expect(again.accessToken).toBe(sandbox.accessToken);
      expect(again.clientSecret).toBe(sandbox.clientSecret);
      expect(again.appId).toBe(sandbox.appId);
      expect(sandbox.accessToken).toMatch(/^pat-na1-[0-9a-f-]{36}$/);
    } finally {
      await again.close();
    }
  });

  it('runs the install flow: authorize redirects back with code and state, the code buys tokens once', async () => {
    const before = sandbox.monitor.stats().total;
    const back = await authorize('csrf-123');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('csrf-123');
    const code = back.searchParams.get('code') ?? '';
    const client = officialClient(sandbox);
    const tokens = await client.oauth.tokensApi.create('authorization_code', code, REDIRECT, sandbox.clientId, sandbox.clientSecret);
    expect(tokens.expiresIn).toBe(1800);
    expect(tokens.tokenType).toBe('bearer');
    expect(tokens.accessToken.length).toBeLessThanOrEqual(300);
    expect(tokens.refreshToken).toBeTruthy();

    const reused = await failure(client.oauth.tokensApi.create('authorization_code', code, REDIRECT, sandbox.clientId, sandbox.clientSecret));
    expect(reused.code).toBe(400);
    expect(reused.body.status).toBe('BAD_AUTH_CODE');
    const badSecret = await failure(client.oauth.tokensApi.create('refresh_token', undefined, undefined, sandbox.clientId, 'wrong', tokens.refreshToken));
    expect(badSecret.body.status).toBe('BAD_CLIENT_SECRET');
    // OAuth calls are not API calls.
    expect(sandbox.monitor.stats().total).toBe(before);
  });

  it('answers the token endpoint in the recorded shape', async () => {
    const { code } = (await control(sandbox, 'POST', '/oauth/code', { redirectUri: REDIRECT })).body as { code: string };
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: sandbox.clientId, client_secret: sandbox.clientSecret });
    const res = await fetch(`${sandbox.baseUrl}/oauth/v1/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    expect(res.status).toBe(200);
    expect(shapeDiff(await res.json(), fixture('oauth-token-response.json'))).toEqual([]);
  });

  it('serves API calls with an OAuth token, refreshes it, and expires it after 30 minutes of sandbox time', async () => {
    const { code } = (await control(sandbox, 'POST', '/oauth/code', {})).body as { code: string };
    const installer = officialClient(sandbox);
    const tokens = await installer.oauth.tokensApi.create('authorization_code', code, REDIRECT, sandbox.clientId, sandbox.clientSecret);
    const oauthClient = officialClient(sandbox, { accessToken: tokens.accessToken });
    const page = await oauthClient.crm.contacts.basicApi.getPage(2);
    expect(page.results).toHaveLength(2);

    // OAuth apps: 100 per 10 s and no daily headers.
    const headers = (await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, { token: tokens.accessToken })).headers;
    expect(headers.get('x-hubspot-ratelimit-max')).toBe('100');
    expect(headers.get('x-hubspot-ratelimit-daily')).toBeNull();

    const info = await installer.oauth.accessTokensApi.get(tokens.accessToken);
    expect(info.hubId).toBe(sandbox.portalId);
    expect(info.appId).toBe(sandbox.appId);
    expect(info.expiresIn).toBeLessThanOrEqual(1800);

    sandbox.clock.advance(31 * 60_000);
    const expired = await failure(oauthClient.crm.contacts.basicApi.getPage(2));
    expect(expired.code).toBe(401);
    expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
    const wire = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1', undefined, { token: tokens.accessToken });
    expect(shapeDiff(wire.body, fixture('expired-authentication-401.json'))).toEqual([]);
    expect((wire.body as { message: string }).message).toMatch(/^The OAuth token used to make this call expired \d+ second\(s\) ago\.$/);

    const refreshed = await installer.oauth.tokensApi.create('refresh_token', undefined, undefined, sandbox.clientId, sandbox.clientSecret, tokens.refreshToken);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    const renewed = officialClient(sandbox, { accessToken: refreshed.accessToken });
    expect((await renewed.crm.contacts.basicApi.getPage(1)).results).toHaveLength(1);
  });

  it('answers 401 INVALID_AUTHENTICATION to a missing or unknown token', async () => {
    const unknown = await raw(sandbox, 'GET', '/crm/v3/objects/contacts', undefined, { token: 'pat-na1-00000000-0000-0000-0000-000000000000' });
    expect(unknown.status).toBe(401);
    expect((unknown.body as { category: string }).category).toBe('INVALID_AUTHENTICATION');
    const missing = await raw(sandbox, 'GET', '/crm/v3/objects/contacts', undefined, { token: null });
    expect(missing.status).toBe(401);
    expect((missing.body as { correlationId: string }).correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
