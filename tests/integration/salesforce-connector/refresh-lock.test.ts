/**
 * One Salesforce refresh at a time across workers. With refresh token rotation on (Salesforce's
 * recommended connected-app setting: each refresh returns a new refresh token and invalidates the
 * one used), two workers refreshing together would each spend the same refresh token and the
 * second would be refused. So the workers (one connector each, sharing the encrypted TokenStore
 * and its Redis lock) refresh once, and the others adopt the stored session. Counted at the
 * sandbox's token endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const oauthSchema = z.object({ tokenRequests: z.number() });

describe('Salesforce refresh across workers, with refresh token rotation', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('sf-refresh-lock', 20, 7, { rotateRefreshTokens: true });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const tokenRequests = async () => oauthSchema.parse(await (await fetch(`${h.sandbox.instanceUrl}/__sandbox/oauth`)).json()).tokenRequests;
  const worker = () => h.connector({ refreshLock: h.tokens });

  it('refreshes once when four workers find the session gone together, and all four go on', async () => {
    const workers = [worker(), worker(), worker(), worker()];
    await Promise.all(workers.map((c) => c.ping()));
    for (let round = 1; round <= 2; round += 1) {
      await h.control('/expire-sessions');
      const before = await tokenRequests();
      const outcomes = await Promise.allSettled(workers.map((c) => c.owners()));
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(await tokenRequests()).toBe(before + 1);
    }
    // The rotated refresh token is the one kept: the original is spent.
    const stored = await h.tokens.get('salesforce');
    expect(stored?.refreshToken).toBeTruthy();
    expect(stored?.refreshToken).not.toBe(h.sandbox.refreshToken);
  });

  it('refuses a refresh token that rotation has spent, as Salesforce does', async () => {
    const res = await fetch(`${h.sandbox.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: h.sandbox.refreshToken, client_id: h.sandbox.clientId, client_secret: h.sandbox.clientSecret }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });
});
