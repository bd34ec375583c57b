import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox } from '../../connectors/hubspot/sandbox/index.js';
import type { HubSpotSandbox } from '../../connectors/hubspot/sandbox/index.js';
import { startSalesforceSandbox } from '../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../connectors/salesforce/sandbox/index.js';
import { hubspotAuthorizeUrl } from '../../src/server/oauth.js';
import { SecretBox } from '../../src/store/crypto.js';
import { RedisTokenStore } from '../../src/store/tokens.js';
import { ENCRYPTION_KEY, authHeaders, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let hubspot: HubSpotSandbox;
let salesforce: SalesforceSandbox;
let h: ServerHarness;

/** A port nobody listens on now, so that SMK_PUBLIC_URL can name the service before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function oauthEnv(): Record<string, string> {
  return {
    HUBSPOT_BASE_URL: hubspot.baseUrl,
    HUBSPOT_CLIENT_ID: hubspot.clientId,
    HUBSPOT_CLIENT_SECRET: hubspot.clientSecret,
    SALESFORCE_LOGIN_URL: salesforce.loginUrl,
    SALESFORCE_CLIENT_ID: salesforce.clientId,
    SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
  };
}

beforeAll(async () => {
  hubspot = await startHubSpotSandbox({ seed: 7 });
  salesforce = await startSalesforceSandbox({ seed: 7 });
  // The service's public URL is what the vendors send the browser back to.
  const port = await freePort();
  h = await startHarness('oauth', { env: { ...oauthEnv(), SMK_PUBLIC_URL: `http://127.0.0.1:${port}` }, server: { port } });
});

afterAll(async () => {
  await h?.close();
  await hubspot?.close();
  await salesforce?.close();
});

/** GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'GET', headers: { ...headers, Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const noFollow = { redirect: 'manual' } as const;

async function start(crm: 'hubspot' | 'salesforce'): Promise<URL> {
  const res = await fetch(`${h.url}/oauth/${crm}/start`, { ...noFollow, headers: authHeaders() });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') as string);
}

async function storedToken(crm: 'hubspot' | 'salesforce'): Promise<string | null> {
  return h.t.redis.get(h.ctx.keys.token(crm));
}

describe('OAuth install', () => {
  it('keeps the install start behind the admin token', async () => {
    expect((await fetch(`${h.url}/oauth/hubspot/start`, noFollow)).status).toBe(401);
    expect((await fetch(`${h.url}/oauth/salesforce/start`, noFollow)).status).toBe(401);
  });

  it.each(['hubspot', 'salesforce'] as const)('sends %s the redirect URI of SMK_PUBLIC_URL, whatever Host header the request carries', async (crm) => {
    const res = await getWithHost(`${h.url}/oauth/${crm}/start`, 'evil.example', authHeaders());
    expect(res.status).toBe(302);
    const consent = new URL(res.location as string);
    expect(consent.searchParams.get('redirect_uri')).toBe(`${h.url}/oauth/${crm}/callback`);
    expect(res.location).not.toContain('evil.example');
  });

  it('derives the HubSpot consent page from HUBSPOT_BASE_URL', () => {
    expect(hubspotAuthorizeUrl('https://api.hubapi.com')).toBe('https://app.hubspot.com/oauth/authorize');
    expect(hubspotAuthorizeUrl('http://127.0.0.1:4000/')).toBe('http://127.0.0.1:4000/oauth/authorize');
  });

  it('sends Salesforce a state and an S256 PKCE challenge', async () => {
    const url = await start('salesforce');
    expect(`${url.origin}${url.pathname}`).toBe(`${salesforce.loginUrl}/services/oauth2/authorize`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(salesforce.clientId);
    expect(url.searchParams.get('redirect_uri')).toBe(`${h.url}/oauth/salesforce/callback`);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it.each<[string, string]>([
    ['no state', '/oauth/hubspot/callback?code=abc'],
    ['an unknown state', '/oauth/hubspot/callback?code=abc&state=forged-state-value'],
    ['an empty state', '/oauth/salesforce/callback?code=abc&state='],
  ])('answers a callback with %s with 400 and stores no tokens', async (_name, path) => {
    const res = await fetch(`${h.url}${path}`, noFollow);
    expect(res.status).toBe(400);
    expect(await res.json()).toHaveProperty('error');
    expect(await storedToken('hubspot')).toBeNull();
    expect(await storedToken('salesforce')).toBeNull();
  });

  it('refuses a HubSpot state on the Salesforce callback (and burns it)', async () => {
    const state = (await start('hubspot')).searchParams.get('state') as string;
    const res = await fetch(`${h.url}/oauth/salesforce/callback?code=abc&state=${state}`, noFollow);
    expect(res.status).toBe(400);
    expect(await storedToken('salesforce')).toBeNull();
    expect(await h.t.redis.exists(h.ctx.keys.oauthState(state))).toBe(0);
  });

  it('completes a HubSpot install against the sandbox and stores the tokens sealed', async () => {
    const consent = await start('hubspot');
    expect(`${consent.origin}${consent.pathname}`).toBe(`${hubspot.baseUrl}/oauth/authorize`);
    expect(consent.searchParams.get('scope')).toContain('crm.objects.contacts.write');
    const back = await fetch(consent, noFollow);
    expect(back.status).toBe(302);
    const callback = back.headers.get('location') as string;
    expect(callback).toContain('/oauth/hubspot/callback?code=');

    const done = await fetch(callback, noFollow);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/?installed=hubspot');

    const sealed = (await storedToken('hubspot')) as string;
    expect(sealed).toMatch(/^v1:/);
    const tokens = await new RedisTokenStore(h.t.redis, h.ctx.keys, new SecretBox(ENCRYPTION_KEY)).get('hubspot');
    expect(tokens?.accessToken).toMatch(/^CL/);
    expect(tokens?.refreshToken).toBeTruthy();
    expect(tokens?.expiresAt).toBeGreaterThan(Date.now());
    expect(sealed).not.toContain(tokens?.accessToken as string);
    expect(sealed).not.toContain(tokens?.refreshToken as string);
    // The token works: HubSpot's introspection endpoint knows it.
    expect((await fetch(`${hubspot.baseUrl}/oauth/v1/access-tokens/${tokens?.accessToken}`)).status).toBe(200);

    // The state was single use: replaying the callback stores nothing new.
    const replay = await fetch(callback, noFollow);
    expect(replay.status).toBe(400);
  });

  it('completes a Salesforce connection with PKCE against the sandbox and stores tokens and the instance URL', async () => {
    const consent = await start('salesforce');
    const back = await fetch(consent, noFollow);
    expect(back.status).toBe(302);
    const callback = back.headers.get('location') as string;
    expect(new URL(callback).searchParams.get('code')).toBeTruthy();

    const done = await fetch(callback, noFollow);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/?installed=salesforce');

    const sealed = (await storedToken('salesforce')) as string;
    expect(sealed).toMatch(/^v1:/);
    const tokens = await new RedisTokenStore(h.t.redis, h.ctx.keys, new SecretBox(ENCRYPTION_KEY)).get('salesforce');
    expect(tokens).toMatchObject({ instanceUrl: salesforce.instanceUrl, accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(sealed).not.toContain(tokens?.accessToken as string);
    // The session is live: an API call with it is answered.
    const api = await fetch(`${salesforce.instanceUrl}/services/data/v62.0/limits`, { headers: { Authorization: `Bearer ${tokens?.accessToken}` } });
    expect(api.status).toBe(200);
  });

  it('reports a code the vendor refuses as 502 and stores nothing', async () => {
    await h.t.redis.del(h.ctx.keys.token('hubspot'));
    const state = (await start('hubspot')).searchParams.get('state') as string;
    const res = await fetch(`${h.url}/oauth/hubspot/callback?code=not-a-real-code&state=${state}`, noFollow);
    expect(res.status).toBe(502);
    expect(await storedToken('hubspot')).toBeNull();
  });
});

describe('OAuth install without SMK_PUBLIC_URL', () => {
  let bare: ServerHarness;
  beforeAll(async () => {
    bare = await startHarness('oauth-no-public-url', { env: oauthEnv() });
  });
  afterAll(async () => {
    await bare?.close();
  });

  it.each(['hubspot', 'salesforce'] as const)('refuses to start a %s install, naming SMK_PUBLIC_URL, and never builds a redirect URI from the Host header', async (crm) => {
    const res = await getWithHost(`${bare.url}/oauth/${crm}/start`, 'evil.example', authHeaders());
    expect(res.status).toBe(503);
    expect(res.location).toBeUndefined();
    const error = (JSON.parse(res.body) as { error: string }).error;
    expect(error).toContain('SMK_PUBLIC_URL');
    expect(error).toContain(`/oauth/${crm}/callback`);
    expect(res.body).not.toContain('evil.example');
    // Nothing was stored for a callback to take.
    expect(await bare.t.redis.keys(`${bare.t.prefix}oauth-state:*`)).toEqual([]);
  });
});
