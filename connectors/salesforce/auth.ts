/**
 * Salesforce sessions: where the tokens come from (environment, TokenStore, JWT bearer), how they
 * are refreshed, and the guard that keeps a refresh that keeps failing from looping.
 *
 * jsforce refreshes by itself: any 401 makes its SessionRefreshDelegate call the connection's
 * `refreshFn` and then repeat the request (http-api.js). It has no limit, so an org (or sandbox)
 * that answers 401 to every fresh token would be refreshed forever. The `refreshFn` given here
 * counts failed refreshes in a short window (a token-endpoint error, or a fresh token whose very
 * next call is a 401 again); after two it latches the session as dead and every call fails fast
 * with AUTH_INVALID until an admin reconnects (new tokens appear in the TokenStore).
 */
import { sign } from 'node:crypto';
import type { Connection } from 'jsforce';
import { OAuth2 } from 'jsforce';
import { z } from 'zod';
import { CrmError, isCrmError } from '../errors.js';
import type { ConnectorLogger, RefreshLock, StoredTokens, TokenStore } from '../types.js';

export interface JwtBearerOptions {
  /** The integration user's username (the assertion's `sub`). */
  username: string;
  /** PEM of the private key whose certificate is uploaded to the connected app. */
  privateKeyPem: string;
  /** `https://login.salesforce.com`, `https://test.salesforce.com` or a site URL; default `jwtAudience(loginUrl)`. */
  audience?: string;
}

/**
 * The assertion's `aud` for a login URL. Salesforce accepts `https://login.salesforce.com`,
 * `https://test.salesforce.com` (sandbox orgs) or an Experience Cloud site URL, not a My Domain
 * host, even though the token request may go to the My Domain [C crm-api.md S7 and
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm; S the aud list
 * as quoted by https://www.npmjs.com/package/salesforce-jwt-bearer-token-flow]. Any other host (a
 * site, or a local sandbox) is its own audience.
 */
export function jwtAudience(loginUrl: string): string {
  const url = new URL(loginUrl);
  const host = url.hostname.toLowerCase();
  if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')) return 'https://test.salesforce.com';
  if (host === 'login.salesforce.com' || host.endsWith('.my.salesforce.com')) return 'https://login.salesforce.com';
  return loginUrl.replace(/\/+$/, '');
}

export interface SessionOptions {
  instanceUrl: string;
  loginUrl: string;
  accessToken?: string;
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  jwt?: JwtBearerOptions;
  tokens?: TokenStore;
  /**
   * One refresh at a time across workers. With refresh token rotation on, each refresh spends the
   * refresh token it used [https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm]:
   * a second worker refreshing at the same moment would be refused (invalid_grant).
   */
  refreshLock?: RefreshLock;
  logger?: ConnectorLogger;
  /** Failed refreshes allowed in `windowMs` before the session is declared dead (default 2 in 10 min). */
  maxFailedRefreshes?: number;
  windowMs?: number;
  now?: () => number;
}

export interface InitialSession {
  instanceUrl: string;
  accessToken?: string;
  refreshToken?: string;
}

/** The token endpoint's answer (crm-api.md S7): no `expires_in`; `refresh_token` only when rotated. */
const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.string().url().optional(),
  refresh_token: z.string().min(1).optional(),
  id: z.string().optional(),
  scope: z.string().optional(),
  token_type: z.string().optional(),
  issued_at: z.string().optional(),
  signature: z.string().optional(),
});
type TokenResponse = z.infer<typeof tokenResponseSchema>;

const RECONNECT =
  'Reconnect Salesforce: run the OAuth install again (or `smk install`) so that the connector gets working tokens.';

/** `{alg:RS256}` JWT for the OAuth 2.0 JWT bearer flow; Salesforce wants `exp` within ~3 minutes. */
export function jwtAssertion(options: { clientId: string; username: string; audience: string; privateKeyPem: string; nowMs: number }): string {
  const enc = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const head = enc({ alg: 'RS256' });
  const claims = enc({ iss: options.clientId, sub: options.username, aud: options.audience, exp: Math.floor(options.nowMs / 1000) + 180 });
  const signature = sign('RSA-SHA256', Buffer.from(`${head}.${claims}`), options.privateKeyPem).toString('base64url');
  return `${head}.${claims}.${signature}`;
}

/** An error from jsforce's token call: `name` is the OAuth `error` (oauth2.js `_postParams`). */
function isDefinitiveOAuthError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  // ERROR_HTTP_5xx and socket errors (FetchError) say nothing about the grant: try again later.
  return /^[a-z_]+$/.test(err.name) && err.name !== 'error';
}

export class SessionManager {
  private failures: number[] = [];
  /** The token of the last refresh, until a call made with it has answered. */
  private awaitingProof: string | null = null;
  private deadError: CrmError | null = null;
  private deadTokens: { accessToken?: string; refreshToken?: string } = {};
  /** Bumped on every refresh failure, so a caller can tell that its call failed because of one. */
  failureSeq = 0;
  lastFailure: CrmError | null = null;
  private readonly oauth2: OAuth2 | null;

  constructor(private readonly options: SessionOptions) {
    this.oauth2 = options.jwt ? new OAuth2({ loginUrl: options.loginUrl }) : null;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  get dead(): CrmError | null {
    return this.deadError;
  }

  /**
   * The tokens to start with. The environment wins; stored tokens (an OAuth install, or a refresh
   * persisted earlier) take over where it gives none, or where they descend from the same refresh
   * token (then the stored access token is the fresher one).
   */
  async initial(): Promise<InitialSession> {
    const env: InitialSession = {
      instanceUrl: this.options.instanceUrl,
      accessToken: this.options.accessToken,
      refreshToken: this.options.refreshToken,
    };
    const stored = await this.options.tokens?.get('salesforce');
    if (!stored) return env;
    const descends = stored.refreshToken !== undefined && stored.refreshToken === env.refreshToken;
    if (!env.accessToken || descends) {
      return {
        instanceUrl: stored.instanceUrl ?? env.instanceUrl,
        accessToken: stored.accessToken,
        refreshToken: stored.refreshToken ?? env.refreshToken,
      };
    }
    return env;
  }

  /**
   * The transport reports every answer. The first one to a call made with the refreshed token
   * proves it (anything but 401) or counts as a failed refresh; answers to calls still in flight
   * with the old token say nothing about the new one.
   */
  noteResponse(statusCode: number, token: string | null): void {
    if (this.awaitingProof === null || token !== this.awaitingProof) return;
    this.awaitingProof = null;
    if (statusCode === 401) this.recordFailure();
    else this.failures = [];
  }

  private recordFailure(): number {
    const now = this.now();
    const windowMs = this.options.windowMs ?? 10 * 60_000;
    this.failures = [...this.failures.filter((t) => now - t < windowMs), now];
    return this.failures.length;
  }

  private limitReached(): boolean {
    const now = this.now();
    const windowMs = this.options.windowMs ?? 10 * 60_000;
    return this.failures.filter((t) => now - t < windowMs).length >= (this.options.maxFailedRefreshes ?? 2);
  }

  private fail(error: CrmError): CrmError {
    this.failureSeq += 1;
    this.lastFailure = error;
    return error;
  }

  private latch(conn: Connection, reason: string): CrmError {
    this.deadTokens = { accessToken: conn.accessToken ?? undefined, refreshToken: conn.refreshToken ?? undefined };
    this.deadError = new CrmError({ crm: 'salesforce', code: 'AUTH_INVALID', message: `${reason}. ${RECONNECT}`, vendorCode: 'REFRESH_FAILED' });
    this.options.logger?.error({ crm: 'salesforce', failures: this.failures.length }, 'salesforce session is dead; an admin must reconnect');
    return this.fail(this.deadError);
  }

  /**
   * While dead: tokens in the store that differ from the ones that failed mean an admin
   * reconnected (or another worker holds a working session). Returns them, or null.
   */
  async revive(): Promise<StoredTokens | null> {
    if (!this.deadError) return null;
    const stored = await this.options.tokens?.get('salesforce');
    if (!stored) return null;
    const fresh =
      (stored.refreshToken !== undefined && stored.refreshToken !== this.deadTokens.refreshToken) ||
      stored.accessToken !== this.deadTokens.accessToken;
    if (!fresh) return null;
    this.deadError = null;
    this.failures = [];
    this.options.logger?.info({ crm: 'salesforce' }, 'salesforce session revived from stored tokens');
    return stored;
  }

  /** The jsforce `refreshFn`: same callback shape as its own oauthRefreshFn (connection.js). */
  readonly refreshFn = (conn: Connection, callback: (err: Error | null | undefined, accessToken?: string, res?: never) => void): void => {
    this.refresh(conn).then(
      (accessToken) => callback(undefined, accessToken),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  };

  /**
   * A refresh asked for by a caller outside jsforce's REST path (the streaming client, whose
   * session the org refused): the same refresh as a 401 gets, with the lock, the loop guard and the
   * look at the TokenStore first (another worker's fresh session is taken instead of a token call).
   */
  refreshNow(conn: Connection): Promise<string> {
    return this.refresh(conn);
  }

  private async refresh(conn: Connection): Promise<string> {
    if (this.deadError) throw this.fail(this.deadError);
    if (this.limitReached()) throw this.latch(conn, 'Salesforce keeps rejecting fresh sessions (401 after every refresh)');
    const lock = this.options.refreshLock;
    if (!lock) return this.refreshHolding(conn);
    try {
      return await lock.withRefreshLock('salesforce', () => this.refreshHolding(conn));
    } catch (err) {
      if (isCrmError(err) || isDefinitiveOAuthError(err)) throw err;
      // The lock itself failed (Redis, or another worker held it too long): a passing fault.
      throw this.fail(new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: `could not take the token refresh lock: ${err instanceof Error ? err.message : String(err)}` }, { cause: err }));
    }
  }

  /** Runs under the refresh lock when there is one: reads the store afresh, so another worker's refresh is seen. */
  private async refreshHolding(conn: Connection): Promise<string> {
    const failing = conn.accessToken;

    // Another worker may have refreshed already (one TokenStore for all): take its session instead
    // of spending a token call, and instead of invalidating its refresh token if rotation is on.
    const stored = await this.options.tokens?.get('salesforce');
    if (stored && stored.accessToken !== failing) {
      this.establish(conn, { access_token: stored.accessToken, instance_url: stored.instanceUrl, refresh_token: stored.refreshToken });
      this.awaitingProof = stored.accessToken;
      return stored.accessToken;
    }

    for (;;) {
      let res: TokenResponse;
      try {
        res = tokenResponseSchema.parse(await this.requestToken(conn));
      } catch (err) {
        if (!isDefinitiveOAuthError(err)) {
          throw this.fail(
            new CrmError(
              { crm: 'salesforce', code: 'TRANSIENT', message: `the Salesforce token endpoint did not answer: ${err instanceof Error ? err.message : String(err)}` },
              { cause: err },
            ),
          );
        }
        this.recordFailure();
        this.options.logger?.warn({ crm: 'salesforce', oauthError: err.name, failures: this.failures.length }, 'salesforce token refresh refused');
        if (this.limitReached()) throw this.latch(conn, `Salesforce refused to refresh the session (${err.name}: ${err.message})`);
        continue;
      }
      this.establish(conn, res);
      this.awaitingProof = res.access_token;
      await this.persist(conn, res);
      this.options.logger?.info({ crm: 'salesforce', instanceChanged: res.instance_url !== undefined }, 'salesforce session refreshed');
      return res.access_token;
    }
  }

  private async requestToken(conn: Connection): Promise<unknown> {
    const jwt = this.options.jwt;
    if (jwt && this.oauth2) {
      if (!this.options.clientId) throw Object.assign(new Error('the JWT bearer flow needs the connected app client id'), { name: 'invalid_client' });
      // JWT bearer flow: the grant is the signed assertion itself; the answer has no refresh token.
      return this.oauth2.requestToken({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwtAssertion({
          clientId: this.options.clientId,
          username: jwt.username,
          audience: jwt.audience ?? jwtAudience(this.options.loginUrl),
          privateKeyPem: jwt.privateKeyPem,
          nowMs: this.now(),
        }),
      });
    }
    if (!conn.refreshToken) throw Object.assign(new Error('no refresh token to refresh the session with'), { name: 'invalid_grant' });
    // Web-server flow refresh (oauth2.js `refreshToken`): grant_type=refresh_token, client id and secret.
    return conn.oauth2.refreshToken(conn.refreshToken);
  }

  /** The answer may move the org to another instance (`instance_url`); later calls go there. */
  private establish(conn: Connection, res: { access_token: string; instance_url?: string; refresh_token?: string }): void {
    conn._establish({ accessToken: res.access_token, instanceUrl: res.instance_url, refreshToken: res.refresh_token });
  }

  /** Persisted before jsforce repeats the request, so a crash right after cannot lose a rotated refresh token. */
  private async persist(conn: Connection, res: TokenResponse): Promise<void> {
    if (!this.options.tokens) return;
    const tokens: StoredTokens = {
      accessToken: res.access_token,
      refreshToken: res.refresh_token ?? conn.refreshToken ?? undefined,
      instanceUrl: res.instance_url ?? conn.instanceUrl,
      scopes: res.scope ? res.scope.split(' ') : undefined,
    };
    try {
      await this.options.tokens.set('salesforce', tokens);
    } catch (err) {
      this.options.logger?.error({ crm: 'salesforce', err: err instanceof Error ? err.name : 'unknown' }, 'could not persist refreshed salesforce tokens');
    }
  }

  /** The first session of a JWT connection, or of one given only a refresh token. */
  async bootstrap(conn: Connection): Promise<void> {
    if (conn.accessToken) return;
    const token = await this.refresh(conn);
    conn.accessToken = token;
  }
}
