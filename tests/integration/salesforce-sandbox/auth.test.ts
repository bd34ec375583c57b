/**
 * OAuth and limits as jsforce meets them: refresh on an expired session, a revoked refresh token
 * that fails once instead of looping, the web-server flow with PKCE, the JWT bearer flow, and the
 * daily API allocation with `Sforce-Limit-Info`.
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import { OAuth2 } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SalesforceSandboxOptions } from '../../../connectors/salesforce/sandbox/index.js';
import { connect, control, rejection, seedLeads } from './helpers.js';

const TWO_HOURS = 2 * 60 * 60_000;
const running: SalesforceSandbox[] = [];

async function sandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sb = await startSalesforceSandbox({ seed: 41, ...options });
  running.push(sb);
  seedLeads(sb, 3);
  return sb;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sb) => sb.close()));
});

async function tokenCalls(sb: SalesforceSandbox): Promise<number> {
  return (await control<{ tokenRequests: number }>(sb, 'GET', '/oauth')).body.tokenRequests;
}

describe('sessions', () => {
  it('answers 401 INVALID_SESSION_ID once the session is idle past sessionTtlMs, and jsforce refreshes by itself', async () => {
    const sb = await sandbox();
    const conn = connect(sb);
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(3);

    sb.clock.advance(TWO_HOURS + 1);
    const raw = await fetch(`${sb.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);

    const result = await conn.query('SELECT Id FROM Lead');
    expect(result.totalSize).toBe(3);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).not.toBe(sb.accessToken);
    expect(conn.accessToken).toBe(refreshed[0]);
    expect(await tokenCalls(sb)).toBe(1);
    // The refresh response is Salesforce's: no expires_in, an instance_url and an id URL.
    const res = await new OAuth2({ clientId: sb.clientId, clientSecret: sb.clientSecret, loginUrl: sb.loginUrl }).refreshToken(sb.refreshToken);
    expect(res).toMatchObject({ token_type: 'Bearer', instance_url: sb.instanceUrl, scope: expect.any(String), signature: expect.any(String) });
    expect(res.id).toMatch(new RegExp(`^${sb.loginUrl}/id/00D[0-9A-Za-z]{15}/005[0-9A-Za-z]{15}$`));
    expect(res).not.toHaveProperty('expires_in');
    expect(res).not.toHaveProperty('refresh_token');
  });

  it('gives a clear invalid_grant after the refresh token is revoked, with one token call, not a loop', async () => {
    const sb = await sandbox();
    const conn = connect(sb);
    await conn.query('SELECT Id FROM Lead');
    expect((await control(sb, 'POST', '/revoke', { refreshToken: sb.refreshToken })).body).toEqual({ revoked: true });
    const err = await rejection(conn.query('SELECT Id FROM Lead'));
    expect(err.message).toContain('expired access/refresh token');
    expect(await tokenCalls(sb)).toBe(1);
    const direct = await rejection(new OAuth2({ clientId: sb.clientId, clientSecret: sb.clientSecret, loginUrl: sb.loginUrl }).refreshToken(sb.refreshToken));
    expect(direct).toMatchObject({ name: 'invalid_grant', message: 'expired access/refresh token' });
  });

  it('serves the versions list without a session and the identity URL with one', async () => {
    const sb = await sandbox();
    const versions = (await (await fetch(`${sb.instanceUrl}/services/data`)).json()) as Array<{ version: string; url: string; label: string }>;
    expect(versions).toContainEqual({ version: '62.0', url: '/services/data/v62.0', label: "Winter '25" });
    const conn = connect(sb);
    const identity = await conn.identity();
    expect(identity).toMatchObject({ username: 'integration@smarketing-demo.example', organization_id: expect.stringMatching(/^00D/), user_id: expect.stringMatching(/^005/) });
    const unknownVersion = await fetch(`${sb.instanceUrl}/services/data/v99.0/limits`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    expect(unknownVersion.status).toBe(404);
  });

  it('does not count OAuth calls or unauthenticated calls as API calls', async () => {
    const sb = await sandbox();
    await control(sb, 'POST', '/reset-stats');
    await fetch(`${sb.instanceUrl}/services/data/v62.0/query?q=SELECT+Id+FROM+Lead`);
    await new OAuth2({ clientId: sb.clientId, clientSecret: sb.clientSecret, loginUrl: sb.loginUrl }).refreshToken(sb.refreshToken);
    expect((await control(sb, 'GET', '/stats')).body).toEqual({ total: 0, calls: {} });
  });
});

describe('web-server flow', () => {
  it('exchanges an authorization code with PKCE for tokens that work', async () => {
    const sb = await sandbox();
    const oauth2 = new OAuth2({ clientId: sb.clientId, clientSecret: sb.clientSecret, loginUrl: sb.loginUrl, redirectUri: 'http://localhost:3000/oauth/callback', useVerifier: true });
    const authorize = await fetch(oauth2.getAuthorizationUrl({ state: 'xyz', scope: 'api refresh_token' }), { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const location = new URL(authorize.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('http://localhost:3000/oauth/callback');
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code') as string;

    const tokens = await oauth2.requestToken(code);
    expect(tokens).toMatchObject({ token_type: 'Bearer', instance_url: sb.instanceUrl, refresh_token: expect.stringMatching(/^5Aep861/) });
    expect(tokens).not.toHaveProperty('expires_in');
    const conn = connect(sb, { accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(3);

    const reused = await rejection(oauth2.requestToken(code));
    expect(reused.name).toBe('invalid_grant');
  });

  it('rejects a code redeemed with the wrong PKCE verifier', async () => {
    const sb = await sandbox();
    const redirectUri = 'http://localhost:3000/cb';
    const honest = new OAuth2({ clientId: sb.clientId, loginUrl: sb.loginUrl, redirectUri, useVerifier: true });
    const authorize = await fetch(honest.getAuthorizationUrl(), { redirect: 'manual' });
    const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') as string;
    const thief = new OAuth2({ clientId: sb.clientId, loginUrl: sb.loginUrl, redirectUri, useVerifier: true });
    const err = await rejection(thief.requestToken(code));
    expect(err).toMatchObject({ name: 'invalid_grant', message: 'invalid code verifier' });
  });
});

describe('JWT bearer flow', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  function assertion(claims: Record<string, unknown>, key = privateKey): string {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${enc({ alg: 'RS256' })}.${enc(claims)}`;
    return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
  }

  async function exchange(sb: SalesforceSandbox, jwt: string): Promise<{ status: number; body: Record<string, string> }> {
    const res = await fetch(`${sb.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  it('issues an access token (and no refresh token) for a signed, current assertion', async () => {
    const sb = await sandbox({ jwtPublicKey: pem });
    const exp = Math.floor(sb.clock.now() / 1000) + 180;
    const claims = { iss: sb.clientId, sub: 'integration@smarketing-demo.example', aud: 'https://login.salesforce.com', exp };
    const ok = await exchange(sb, assertion(claims));
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'id', 'instance_url', 'scope', 'token_type']);
    const conn = connect(sb, { accessToken: ok.body.access_token });
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(3);

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await exchange(sb, assertion(claims, other))).body).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' });
    expect((await exchange(sb, assertion({ ...claims, exp: exp - 3600 }))).body).toEqual({ error: 'invalid_grant', error_description: 'expired authorization code' });
    expect((await exchange(sb, assertion({ ...claims, aud: 'https://evil.example' }))).body.error_description).toBe('audience is invalid');
    expect((await exchange(sb, assertion({ ...claims, iss: 'someone-else' }))).body.error).toBe('invalid_client_id');
  });
});

describe('daily API limit', () => {
  it('sends Sforce-Limit-Info and answers 403 REQUEST_LIMIT_EXCEEDED once spent, until usage rolls out', async () => {
    const sb = await sandbox({ dailyApiLimit: 3 });
    const conn = connect(sb);
    await conn.query('SELECT Id FROM Lead');
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 3 });
    await conn.sobject('Lead').describe();
    const res = await fetch(`${sb.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
    expect(await res.json()).toMatchObject({ DailyApiRequests: { Max: 3, Remaining: 0 } });

    const spent = await fetch(`${sb.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    expect(spent.status).toBe(403);
    expect(spent.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
    expect(await spent.json()).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const err = await rejection(conn.query('SELECT Id FROM Lead'));
    expect(err.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');

    // A rolling 24 hours: a day later the old usage has rolled out (the idle session expired too).
    sb.clock.advance(24 * 60 * 60_000 + 60_000);
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(3);
    expect(conn.limitInfo.apiUsage).toEqual({ used: 1, limit: 3 });

    const raised = await control<{ dailyApiLimit: number; remaining: number }>(sb, 'PUT', '/limits', { dailyApiLimit: 10 });
    expect(raised.body).toMatchObject({ dailyApiLimit: 10, remaining: 9 });
  });
});
