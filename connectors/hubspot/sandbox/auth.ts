/**
 * Authentication as HubSpot does it (reference H6): a static private-app bearer token, and OAuth
 * v1 (authorization codes, 30-minute access tokens measured on the SandboxClock, long-lived
 * refresh tokens). 401 bodies follow reference H2.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createRandom, type SandboxClock } from '../../sandbox/common.js';
import { errorBody, type HubSpotErrorBody } from './errors.js';

export interface Credentials {
  accessToken: string;
  clientId: string;
  clientSecret: string;
  appId: number;
  portalId: number;
  userId: number;
  hubDomain: string;
  user: string;
}

export const ACCESS_TOKEN_TTL_SECONDS = 1800;
const AUTH_CODE_TTL_MS = 10 * 60_000;
export const DEFAULT_SCOPES = [
  'oauth',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.schemas.contacts.read',
  'crm.schemas.contacts.write',
  'crm.objects.owners.read',
];

function uuidFrom(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Deterministic credentials for a seed, random ones without. */
export function deriveCredentials(seed?: number): Credentials {
  const rand = seed === undefined ? () => randomInt(0, 2 ** 32) / 2 ** 32 : createRandom((seed * 7919 + 104_729) >>> 0);
  const portalId = 20_000_000 + Math.floor(rand() * 80_000_000);
  return {
    accessToken: `pat-na1-${uuidFrom(rand)}`,
    clientId: uuidFrom(rand),
    clientSecret: uuidFrom(rand),
    appId: 1_000_000 + Math.floor(rand() * 9_000_000),
    portalId,
    userId: 10_000_000 + Math.floor(rand() * 90_000_000),
    hubDomain: `smarketing-sandbox-${portalId}.hubspot.example`,
    user: 'revops-admin@smarketing-demo.example',
  };
}

export interface Principal {
  kind: 'private' | 'oauth';
  /** The key rate limits are counted under: one private app, or one OAuth app in this portal. */
  rateKey: string;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; body: HubSpotErrorBody };

export interface OAuthReply {
  status: number;
  body: object;
}

interface AccessToken {
  expiresAt: number;
  scopes: string[];
}

const NOT_FOUND_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

function oauthError(status: string, message: string): OAuthReply {
  return { status: 400, body: { status, message, correlationId: randomUUID() } };
}

export class AuthRegistry {
  private codes = new Map<string, { redirectUri: string | null; scopes: string[]; expiresAt: number }>();
  private accessTokens = new Map<string, AccessToken>();
  private refreshTokens = new Map<string, { scopes: string[] }>();

  constructor(
    readonly credentials: Credentials,
    private readonly clock: SandboxClock,
  ) {}

  authenticate(authorization: string | undefined): AuthResult {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) return { ok: false, body: errorBody('INVALID_AUTHENTICATION', NOT_FOUND_MESSAGE) };
    if (token === this.credentials.accessToken) return { ok: true, principal: { kind: 'private', rateKey: `private:${this.credentials.appId}` } };
    const access = this.accessTokens.get(token);
    if (!access) return { ok: false, body: errorBody('INVALID_AUTHENTICATION', NOT_FOUND_MESSAGE) };
    const now = this.clock.now();
    if (now >= access.expiresAt) {
      const ago = Math.max(1, Math.floor((now - access.expiresAt) / 1000));
      return {
        ok: false,
        body: errorBody('EXPIRED_AUTHENTICATION', `The OAuth token used to make this call expired ${ago} second(s) ago.`, {
          context: { 'expire time': [new Date(access.expiresAt).toISOString()] },
        }),
      };
    }
    return { ok: true, principal: { kind: 'oauth', rateKey: `oauth:${this.credentials.appId}` } };
  }

  /** An authorization code, as the install page would hand back to `redirect_uri`. */
  issueCode(redirectUri: string | null, scopes: string[] = DEFAULT_SCOPES): string {
    const code = randomUUID();
    this.codes.set(code, { redirectUri, scopes, expiresAt: this.clock.now() + AUTH_CODE_TTL_MS });
    return code;
  }

  /** `POST /oauth/v1/token` with its form fields. */
  token(form: Record<string, string | undefined>): OAuthReply {
    if (form.client_id !== this.credentials.clientId) return oauthError('BAD_CLIENT_ID', 'missing or invalid client_id');
    if (form.client_secret !== this.credentials.clientSecret) return oauthError('BAD_CLIENT_SECRET', 'missing or invalid client_secret');
    switch (form.grant_type) {
      case 'authorization_code': {
        const code = form.code ? this.codes.get(form.code) : undefined;
        if (!form.code || !code || this.clock.now() >= code.expiresAt) return oauthError('BAD_AUTH_CODE', 'missing or unknown auth code');
        if (code.redirectUri !== null && code.redirectUri !== form.redirect_uri) {
          return oauthError('BAD_REDIRECT_URI', 'redirect_uri does not match initial auth code URL');
        }
        this.codes.delete(form.code);
        const refreshToken = `na1-${randomUUID()}`;
        this.refreshTokens.set(refreshToken, { scopes: code.scopes });
        return this.grant(refreshToken, code.scopes);
      }
      case 'refresh_token': {
        const refresh = form.refresh_token ? this.refreshTokens.get(form.refresh_token) : undefined;
        if (!form.refresh_token || !refresh) return oauthError('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
        // HubSpot refresh tokens do not rotate: the same one comes back.
        return this.grant(form.refresh_token, refresh.scopes);
      }
      default:
        return oauthError('BAD_GRANT_TYPE', `unsupported grant_type: ${form.grant_type ?? '(missing)'}`);
    }
  }

  private grant(refreshToken: string, scopes: string[]): OAuthReply {
    const accessToken = `CL${randomBytes(48).toString('base64url')}`;
    this.accessTokens.set(accessToken, { expiresAt: this.clock.now() + ACCESS_TOKEN_TTL_SECONDS * 1000, scopes });
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        refresh_token: refreshToken,
        access_token: accessToken,
        expires_in: ACCESS_TOKEN_TTL_SECONDS,
        hub_id: this.credentials.portalId,
        user_id: this.credentials.userId,
        scopes,
        token_use: 'access',
      },
    };
  }

  accessTokenInfo(token: string): OAuthReply {
    const access = this.accessTokens.get(token);
    const now = this.clock.now();
    if (!access || now >= access.expiresAt) {
      return { status: 404, body: errorBody('OBJECT_NOT_FOUND', 'The access token was not found or has expired') };
    }
    const c = this.credentials;
    return {
      status: 200,
      body: {
        token,
        user: c.user,
        hub_domain: c.hubDomain,
        scopes: access.scopes,
        hub_id: c.portalId,
        app_id: c.appId,
        expires_in: Math.floor((access.expiresAt - now) / 1000),
        user_id: c.userId,
        token_type: 'access',
      },
    };
  }

  refreshTokenInfo(token: string): OAuthReply {
    const refresh = this.refreshTokens.get(token);
    if (!refresh) return { status: 404, body: errorBody('OBJECT_NOT_FOUND', 'The refresh token was not found') };
    const c = this.credentials;
    return {
      status: 200,
      body: { token, user: c.user, hub_domain: c.hubDomain, scopes: refresh.scopes, hub_id: c.portalId, client_id: c.clientId, user_id: c.userId, token_type: 'refresh' },
    };
  }

  revokeRefreshToken(token: string): boolean {
    return this.refreshTokens.delete(token);
  }
}
