import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwtAssertion, SessionManager } from '../../../connectors/salesforce/auth.js';
import type { StoredTokens, TokenStore } from '../../../connectors/types.js';

function memoryStore(initial: StoredTokens | null): TokenStore & { value: StoredTokens | null } {
  return {
    value: initial,
    async get() {
      return this.value;
    },
    async set(_crm, tokens) {
      this.value = tokens;
    },
  };
}

describe('the JWT bearer assertion', () => {
  it('is an RS256 JWT with iss, sub, aud and a short exp, verifiable with the certificate\'s key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Date.UTC(2025, 2, 14, 9, 0, 0);
    const jwt = jwtAssertion({ clientId: '3MVG9abc', username: 'integration@acme.example', audience: 'https://test.salesforce.com', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), nowMs: now });
    const [head, claims, sig] = jwt.split('.');
    expect(JSON.parse(Buffer.from(head ?? '', 'base64url').toString())).toEqual({ alg: 'RS256' });
    expect(JSON.parse(Buffer.from(claims ?? '', 'base64url').toString())).toEqual({
      iss: '3MVG9abc',
      sub: 'integration@acme.example',
      aud: 'https://test.salesforce.com',
      exp: now / 1000 + 180,
    });
    expect(verify('RSA-SHA256', Buffer.from(`${head}.${claims}`), publicKey, Buffer.from(sig ?? '', 'base64url'))).toBe(true);
  });
});

describe('which tokens a connection starts with', () => {
  const base = { instanceUrl: 'https://env.my.salesforce.com', loginUrl: 'https://login.salesforce.com', clientId: 'cid' };

  it('takes the environment\'s when there is nothing stored', async () => {
    const s = new SessionManager({ ...base, accessToken: 'env-at', refreshToken: 'env-rt', tokens: memoryStore(null) });
    expect(await s.initial()).toEqual({ instanceUrl: base.instanceUrl, accessToken: 'env-at', refreshToken: 'env-rt' });
  });

  it('takes stored tokens where the environment gives none (an OAuth install)', async () => {
    const store = memoryStore({ accessToken: 'st-at', refreshToken: 'st-rt', instanceUrl: 'https://na1.my.salesforce.com' });
    const s = new SessionManager({ ...base, tokens: store });
    expect(await s.initial()).toEqual({ instanceUrl: 'https://na1.my.salesforce.com', accessToken: 'st-at', refreshToken: 'st-rt' });
  });

  it('takes the stored (fresher) access token when it descends from the environment\'s refresh token', async () => {
    const store = memoryStore({ accessToken: 'refreshed-at', refreshToken: 'env-rt', instanceUrl: 'https://moved.my.salesforce.com' });
    const s = new SessionManager({ ...base, accessToken: 'env-at', refreshToken: 'env-rt', tokens: store });
    expect(await s.initial()).toEqual({ instanceUrl: 'https://moved.my.salesforce.com', accessToken: 'refreshed-at', refreshToken: 'env-rt' });
  });

  it('keeps the environment\'s tokens when the stored ones belong to another grant', async () => {
    const store = memoryStore({ accessToken: 'other-at', refreshToken: 'other-rt' });
    const s = new SessionManager({ ...base, accessToken: 'env-at', refreshToken: 'env-rt', tokens: store });
    expect((await s.initial()).accessToken).toBe('env-at');
  });
});
