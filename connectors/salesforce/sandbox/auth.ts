/**
 * OAuth 2.0 as Salesforce's login server speaks it (crm-api.md S7): the web-server flow
 * (`/services/oauth2/authorize` then `authorization_code`, PKCE checked when a challenge was
 * given), `refresh_token`, and the JWT bearer flow. Token responses have no `expires_in`; sessions
 * time out after `sessionTtlMs` of inactivity by the SandboxClock and then answer 401
 * INVALID_SESSION_ID, which makes jsforce refresh. OAuth calls are not API calls: never counted.
 */
import { createHash, createHmac, createVerify } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { SandboxClock } from '../../sandbox/common.js';
import { OAuthError, invalidSession, sendSfError } from './errors.js';

export interface Credentials {
  orgId: string;
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshToken: string;
}

function digest(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join(':')).digest('base64url');
}

/** Deterministic credentials for a seed, shaped like Salesforce's (consumer key 3MVG9..., token 00D...!...). */
export function deriveCredentials(seed: number): Credentials {
  const orgId = `00D${digest('org', seed).replace(/[^A-Za-z0-9]/g, '').slice(0, 12).toUpperCase()}AAA`.slice(0, 18);
  return {
    orgId,
    clientId: `3MVG9${(digest('client', seed) + digest('client2', seed)).replace(/-/g, '.').slice(0, 80)}`,
    clientSecret: createHash('sha256').update(`secret:${seed}`).digest('hex').toUpperCase(),
    accessToken: `${orgId.slice(0, 15)}!AQ${digest('access', seed, 0).slice(0, 100)}`,
    refreshToken: `5Aep861${digest('refresh', seed, 0).replace(/[^A-Za-z0-9]/g, '').slice(0, 80)}`,
  };
}

interface Session {
  userId: string;
  lastUsed: number;
  refreshToken: string | null;
}

interface AuthCode {
  userId: string;
  redirectUri: string;
  challenge: string | null;
  expiresAt: number;
}

export interface AuthOptions {
  clock: SandboxClock;
  credentials: Credentials;
  sessionTtlMs: number;
  defaultUserId: string;
  seed: number;
  /** PEM public key that JWT bearer assertions must verify against (unchecked when absent). */
  jwtPublicKey?: string;
  /** Resolves a JWT `sub` (username) to a user id. */
  userByUsername: (username: string) => string | undefined;
  /** The connected app's "refresh token rotation": each refresh issues a new refresh token and spends the old. */
  rotateRefreshTokens?: boolean;
}

const CODE_TTL_MS = 15 * 60_000;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export class AuthState {
  private sessions = new Map<string, Session>();
  private refreshTokens = new Map<string, { userId: string; revoked: boolean }>();
  private codes = new Map<string, AuthCode>();
  private issued = 0;
  /** Token endpoint requests served (tests check that a dead refresh token does not loop). */
  tokenRequests = 0;

  constructor(readonly options: AuthOptions) {
    const { credentials, defaultUserId } = options;
    this.refreshTokens.set(credentials.refreshToken, { userId: defaultUserId, revoked: false });
    this.sessions.set(credentials.accessToken, { userId: defaultUserId, lastUsed: options.clock.now(), refreshToken: credentials.refreshToken });
  }

  private now(): number {
    return this.options.clock.now();
  }

  /** The user of a live session, refreshing its inactivity timer; null when missing or expired. */
  authenticate(token: string): string | null {
    const session = this.sessions.get(token);
    if (!session) return null;
    const now = this.now();
    if (now - session.lastUsed > this.options.sessionTtlMs) {
      this.sessions.delete(token);
      return null;
    }
    session.lastUsed = now;
    return session.userId;
  }

  issueAccessToken(userId: string, refreshToken: string | null): string {
    this.issued += 1;
    const token = `${this.options.credentials.orgId.slice(0, 15)}!AQ${digest('access', this.options.seed, this.issued).slice(0, 100)}`;
    this.sessions.set(token, { userId, lastUsed: this.now(), refreshToken });
    this.pruneSessions();
    return token;
  }

  private issueRefreshToken(userId: string): string {
    this.issued += 1;
    const token = `5Aep861${digest('refresh', this.options.seed, this.issued).replace(/[^A-Za-z0-9]/g, '').slice(0, 80)}`;
    this.refreshTokens.set(token, { userId, revoked: false });
    return token;
  }

  private pruneSessions(): void {
    if (this.sessions.size < 1000) return;
    const now = this.now();
    for (const [token, s] of this.sessions) if (now - s.lastUsed > this.options.sessionTtlMs) this.sessions.delete(token);
  }

  /** Revokes a refresh token and the sessions issued from it; or a single access token. */
  revoke(token: string): boolean {
    const refresh = this.refreshTokens.get(token);
    if (refresh) {
      refresh.revoked = true;
      for (const [t, s] of this.sessions) if (s.refreshToken === token) this.sessions.delete(t);
      return true;
    }
    return this.sessions.delete(token);
  }

  /** Forgets every session (the next API call with any token gets 401). */
  expireAllSessions(): void {
    this.sessions.clear();
  }

  createCode(userId: string, redirectUri: string, challenge: string | null): string {
    this.issued += 1;
    const code = `aPrx${digest('code', this.options.seed, this.issued).slice(0, 60)}==`;
    this.codes.set(code, { userId, redirectUri, challenge, expiresAt: this.now() + CODE_TTL_MS });
    return code;
  }

  private checkClient(clientId: string | undefined, clientSecret: string | undefined, secretRequired: boolean): void {
    const creds = this.options.credentials;
    if (clientId !== creds.clientId) throw new OAuthError('invalid_client_id', 'client identifier invalid');
    if ((clientSecret !== undefined || secretRequired) && clientSecret !== creds.clientSecret) {
      throw new OAuthError('invalid_client', 'invalid client credentials');
    }
  }

  private tokenResponse(userId: string, accessToken: string, baseUrl: string, extra: Record<string, string> = {}) {
    const id = `${baseUrl}/id/${this.options.credentials.orgId}/${userId}`;
    const issuedAt = String(this.now());
    const signature = createHmac('sha256', this.options.credentials.clientSecret).update(id + issuedAt).digest('base64');
    return { access_token: accessToken, ...extra, signature, scope: 'api refresh_token id', instance_url: baseUrl, id, token_type: 'Bearer', issued_at: issuedAt };
  }

  grantAuthorizationCode(p: { code: string; client_id?: string; client_secret?: string; redirect_uri?: string; code_verifier?: string }, baseUrl: string) {
    const entry = this.codes.get(p.code);
    if (!entry) throw new OAuthError('invalid_grant', 'invalid authorization code');
    this.codes.delete(p.code);
    if (entry.expiresAt < this.now()) throw new OAuthError('invalid_grant', 'expired authorization code');
    // Salesforce lets a PKCE client omit the secret; without PKCE the web-server flow needs it.
    this.checkClient(p.client_id, p.client_secret, entry.challenge === null);
    if (p.redirect_uri !== entry.redirectUri) throw new OAuthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
    if (entry.challenge !== null) {
      const computed = p.code_verifier ? createHash('sha256').update(p.code_verifier).digest('base64url') : null;
      if (computed !== entry.challenge) throw new OAuthError('invalid_grant', 'invalid code verifier');
    }
    const refreshToken = this.issueRefreshToken(entry.userId);
    const accessToken = this.issueAccessToken(entry.userId, refreshToken);
    return this.tokenResponse(entry.userId, accessToken, baseUrl, { refresh_token: refreshToken });
  }

  grantRefreshToken(p: { refresh_token: string; client_id?: string; client_secret?: string }, baseUrl: string) {
    this.checkClient(p.client_id, p.client_secret, false);
    const entry = this.refreshTokens.get(p.refresh_token);
    if (!entry || entry.revoked) throw new OAuthError('invalid_grant', 'expired access/refresh token');
    if (this.options.rotateRefreshTokens) {
      // Refresh token rotation (a connected-app OAuth setting): every refresh answers with a new
      // refresh token, and the one used is invalidated; sessions already issued stay valid
      // [https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm].
      entry.revoked = true;
      const rotated = this.issueRefreshToken(entry.userId);
      const accessToken = this.issueAccessToken(entry.userId, rotated);
      return this.tokenResponse(entry.userId, accessToken, baseUrl, { refresh_token: rotated });
    }
    const accessToken = this.issueAccessToken(entry.userId, p.refresh_token);
    // No rotation: the response carries no new refresh_token.
    return this.tokenResponse(entry.userId, accessToken, baseUrl);
  }

  grantJwtBearer(assertion: string, baseUrl: string) {
    const parts = assertion.split('.');
    const [h, p, s] = parts;
    if (parts.length !== 3 || !h || !p || s === undefined) throw new OAuthError('invalid_grant', 'invalid assertion');
    const header = z.object({ alg: z.string() }).safeParse(parseJsonSegment(h));
    const claims = z
      .object({ iss: z.string(), sub: z.string(), aud: z.union([z.string(), z.array(z.string())]), exp: z.number() })
      .safeParse(parseJsonSegment(p));
    if (!header.success || !claims.success || header.data.alg !== 'RS256') throw new OAuthError('invalid_grant', 'invalid assertion');
    const { iss, sub, aud, exp } = claims.data;
    if (iss !== this.options.credentials.clientId) throw new OAuthError('invalid_client_id', 'client identifier invalid');
    const audiences = Array.isArray(aud) ? aud : [aud];
    const accepted = [baseUrl, 'https://login.salesforce.com', 'https://test.salesforce.com'];
    if (!audiences.some((a) => accepted.includes(a.replace(/\/+$/, '')))) throw new OAuthError('invalid_grant', 'audience is invalid');
    if (exp * 1000 < this.now()) throw new OAuthError('invalid_grant', 'expired authorization code');
    if (this.options.jwtPublicKey) {
      const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(this.options.jwtPublicKey, Buffer.from(s, 'base64url'));
      if (!ok) throw new OAuthError('invalid_grant', 'invalid assertion');
    }
    const userId = this.options.userByUsername(sub);
    if (!userId) throw new OAuthError('invalid_grant', "user hasn't approved this consumer");
    const accessToken = this.issueAccessToken(userId, null);
    const { access_token, scope, instance_url, id, token_type } = this.tokenResponse(userId, accessToken, baseUrl);
    return { access_token, scope, instance_url, id, token_type };
  }
}

function parseJsonSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

const tokenBody = z.discriminatedUnion('grant_type', [
  z.object({
    grant_type: z.literal('authorization_code'),
    code: z.string().min(1),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
    redirect_uri: z.string().optional(),
    code_verifier: z.string().optional(),
  }),
  z.object({ grant_type: z.literal('refresh_token'), refresh_token: z.string().min(1), client_id: z.string().optional(), client_secret: z.string().optional() }),
  z.object({ grant_type: z.literal(JWT_BEARER), assertion: z.string().min(1) }),
]);

const authorizeQuery = z.object({
  response_type: z.string(),
  client_id: z.string(),
  redirect_uri: z.string().url(),
  state: z.string().optional(),
  code_challenge: z.string().optional(),
  code_challenge_method: z.string().optional(),
});

/** `/services/oauth2/*` and the identity URL. `baseUrl()` is the server's own URL (login = instance). */
export function oauthRouter(
  auth: AuthState,
  baseUrl: () => string,
  identity: (userId: string) => Record<string, unknown> | undefined,
): Router {
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '64kb' }));

  router.get('/services/oauth2/authorize', (req, res) => {
    const q = authorizeQuery.safeParse(req.query);
    if (!q.success) {
      res.status(400).json({ error: 'invalid_request', error_description: 'missing or invalid client_id, redirect_uri or response_type' });
      return;
    }
    const { response_type, client_id, redirect_uri, state, code_challenge, code_challenge_method } = q.data;
    if (client_id !== auth.options.credentials.clientId) {
      res.status(400).json({ error: 'invalid_client_id', error_description: 'client identifier invalid' });
      return;
    }
    const target = new URL(redirect_uri);
    if (state !== undefined) target.searchParams.set('state', state);
    if (response_type !== 'code') {
      target.searchParams.set('error', 'unsupported_response_type');
      target.searchParams.set('error_description', 'response type not supported');
    } else if (code_challenge && code_challenge_method && code_challenge_method !== 'S256') {
      target.searchParams.set('error', 'invalid_request');
      target.searchParams.set('error_description', 'code_challenge_method must be S256');
    } else {
      target.searchParams.set('code', auth.createCode(auth.options.defaultUserId, redirect_uri, code_challenge ?? null));
    }
    res.redirect(302, target.toString());
  });

  router.post('/services/oauth2/token', (req, res) => {
    auth.tokenRequests += 1;
    const grant = z.object({ grant_type: z.string() }).safeParse(req.body).data?.grant_type;
    const parsed = tokenBody.safeParse(req.body ?? {});
    try {
      if (!parsed.success) {
        if (grant && !['authorization_code', 'refresh_token', JWT_BEARER].includes(grant)) {
          throw new OAuthError('unsupported_grant_type', 'grant type not supported');
        }
        throw new OAuthError('invalid_request', 'missing required parameters');
      }
      const p = parsed.data;
      const base = baseUrl();
      const body =
        p.grant_type === 'authorization_code'
          ? auth.grantAuthorizationCode(p, base)
          : p.grant_type === 'refresh_token'
            ? auth.grantRefreshToken(p, base)
            : auth.grantJwtBearer(p.assertion, base);
      res.json(body);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      res.status(err.status).json({ error: err.error, error_description: err.description });
    }
  });

  router.post('/services/oauth2/revoke', (req, res) => {
    const token = z.object({ token: z.string() }).safeParse(req.body).data?.token;
    if (!token || !auth.revoke(token)) {
      res.status(400).json({ error: 'unsupported_token_type', error_description: 'this token type is not supported' });
      return;
    }
    res.status(200).end();
  });

  // The identity URL (`id` in token responses): jsforce's conn.identity() reads it.
  router.get('/id/:orgId/:userId', (req, res) => {
    const token = bearerToken(req) ?? z.object({ oauth_token: z.string() }).safeParse(req.query).data?.oauth_token ?? null;
    const userId = token ? auth.authenticate(token) : null;
    const body = userId && userId === req.params.userId ? identity(userId) : undefined;
    if (!body) {
      res.status(403).type('text/plain').send('Bad_OAuth_Token');
      return;
    }
    res.json(body);
  });
  return router;
}

export function bearerToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const m = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}

/** Rejects API calls without a live session with 401 INVALID_SESSION_ID; sets `res.locals.userId`. */
export function requireSession(auth: AuthState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerToken(req);
    const userId = token ? auth.authenticate(token) : null;
    if (!userId) {
      sendSfError(res, invalidSession());
      return;
    }
    res.locals.userId = userId;
    next();
  };
}
