/**
 * Which bearer token goes out with a HubSpot call: a private-app token (static), or the OAuth
 * tokens of an install, kept in the TokenStore and refreshed.
 *
 * HubSpot facts relied on (tags as in shared/reference/crm-api.md):
 * - Access tokens live 30 minutes: `expires_in` is 1800 and "will always reflect the time that the
 *   token will expire"; HubSpot recommends following `expires_in` rather than a hard-coded time,
 *   and refreshing on a 401 for an expired token is also fine. [C
 *   https://developers.hubspot.com/changelog/upcoming-expiration-of-oauth-access-tokens-is-changing]
 *   So a token is refreshed once `expiresAt - 5 min < now`, and a 401 EXPIRED_AUTHENTICATION
 *   (reference H2) still forces one refresh (the caller retries once, never more).
 * - The refresh token is long-lived and reused: "store the refresh token you get when initiating
 *   your OAuth integration and use it to generate a new access token once the initial one
 *   expires"; the 30-minute change "will have no effect on refresh tokens". [C
 *   https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/refresh-oauth-token.md,
 *   and the changelog above] The token response nevertheless carries a `refresh_token` (required in
 *   the v1 spec, reference H6), and a secondary source says the old one becomes invalid once used
 *   [S https://www.educative.io/courses/building-websites-using-hubspot-cms-apis-in-javascript/refreshing-tokens].
 *   So the answer's refresh token is what gets stored, and one worker at a time refreshes
 *   (`RefreshLock`, a Redis lock in the service): a second worker adopts the stored result instead
 *   of spending the refresh token again, which is safe whichever source is right.
 * - Previously issued access tokens stay valid until they expire ("Access tokens generated with the
 *   refresh token will not be affected" by deleting it) [C
 *   https://developers.hubspot.com/docs-beta/oauth/tokens], so a call in flight with the old token
 *   while another worker refreshes is not refused for that reason.
 * - The SDK's `oauth.tokensApi.create` posts to `/oauth/v1/token`, which HubSpot deprecates on
 *   16 February 2027 in favour of `/oauth/2026-03/token` [C
 *   https://developers.hubspot.com/changelog/v1-oauth-api-deprecation]; @hubspot/api-client 13.5
 *   has no client for the new path.
 */
import type { ConnectorLogger, RefreshLock, StoredTokens, TokenStore } from '../types.js';
import { CrmError, isCrmError } from '../errors.js';
import { toCrmError } from './errors.js';

export const REFRESH_AHEAD_MS = 5 * 60_000;

export type { RefreshLock } from '../types.js';

export interface AuthOptions {
  /** A private-app token (HUBSPOT_ACCESS_TOKEN). When set, it is used as is and never refreshed. */
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** OAuth tokens from an install; they take over where no access token is configured. */
  tokens?: TokenStore;
  /** Serialises refreshes across workers; without it, only within this process. */
  refreshLock?: RefreshLock;
  clock: () => number;
  logger?: ConnectorLogger;
}

/** The OAuth token endpoint call; client.ts wires it to the SDK's `oauth.tokensApi.create`. */
export type RefreshCall = (refreshToken: string, clientId: string, clientSecret: string) => Promise<{
  accessToken: string;
  refreshToken?: string;
  expiresIn: number;
}>;

export class HubSpotAuth {
  private current: StoredTokens | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly options: AuthOptions,
    private readonly refreshCall: RefreshCall,
  ) {}

  /** The token to send now; loads it on first use and refreshes it ahead of expiry. */
  async token(): Promise<string> {
    await this.load();
    if (this.current && this.needsRefresh(this.current)) await this.refresh('ahead-of-expiry');
    if (!this.current) {
      throw new CrmError({
        crm: 'hubspot',
        code: 'AUTH_INVALID',
        message: 'no HubSpot credentials: set HUBSPOT_ACCESS_TOKEN (private app) or install the OAuth app',
      });
    }
    return this.current.accessToken;
  }

  /** Whether a 401 EXPIRED_AUTHENTICATION can be cured by refreshing. */
  canRefresh(): boolean {
    return Boolean(!this.options.accessToken && this.current?.refreshToken && this.options.clientId && this.options.clientSecret);
  }

  /**
   * Refreshes once for all concurrent callers of this process, and under the RefreshLock for all
   * workers. Another worker may already have refreshed and stored new tokens: those are adopted
   * instead of spending a second refresh.
   */
  async refresh(reason: 'ahead-of-expiry' | 'expired'): Promise<void> {
    if (!this.refreshing) {
      const failed = this.current?.accessToken;
      this.refreshing = this.lockedRefresh(reason, failed).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async lockedRefresh(reason: string, failedToken: string | undefined): Promise<void> {
    const lock = this.options.refreshLock;
    if (!lock) return this.doRefresh(reason, failedToken);
    try {
      return await lock.withRefreshLock('hubspot', () => this.doRefresh(reason, failedToken));
    } catch (err) {
      if (isCrmError(err)) throw err;
      // The lock itself failed (Redis, or another worker held it too long): try again later.
      throw new CrmError(
        { crm: 'hubspot', code: 'TRANSIENT', message: `could not take the HubSpot token refresh lock: ${err instanceof Error ? err.message : String(err)}` },
        { cause: err },
      );
    }
  }

  private needsRefresh(tokens: StoredTokens): boolean {
    return (
      !this.options.accessToken &&
      tokens.expiresAt !== undefined &&
      tokens.expiresAt - REFRESH_AHEAD_MS < this.options.clock() &&
      tokens.refreshToken !== undefined
    );
  }

  /**
   * The configured private-app token, else the stored install. Until an install is stored, every
   * call looks again: a worker started before the admin installed the app picks it up.
   */
  private async load(): Promise<void> {
    if (this.current) return;
    if (this.options.accessToken) {
      this.current = { accessToken: this.options.accessToken };
    } else if (this.options.tokens) {
      this.current = await this.options.tokens.get('hubspot');
    }
  }

  /** Runs inside the RefreshLock: reads the store afresh, so a refresh by another worker is seen. */
  private async doRefresh(reason: string, failedToken: string | undefined): Promise<void> {
    const { clientId, clientSecret, tokens: store } = this.options;
    let base = this.current;
    if (store) {
      const stored = await store.get('hubspot');
      if (stored && stored.accessToken !== failedToken && !this.needsRefresh(stored)) {
        this.current = stored;
        this.options.logger?.info({ crm: 'hubspot', reason }, 'adopted HubSpot tokens refreshed by another worker');
        return;
      }
      // The stored refresh token is the newest of the install (another worker may have been given a new one).
      if (stored) base = stored;
    }
    const refreshToken = base?.refreshToken;
    if (!refreshToken || !clientId || !clientSecret) {
      throw new CrmError({
        crm: 'hubspot',
        code: 'AUTH_EXPIRED',
        message: 'the HubSpot access token expired and cannot be refreshed (no refresh token or client credentials)',
      });
    }
    let answer: Awaited<ReturnType<RefreshCall>>;
    try {
      answer = await this.refreshCall(refreshToken, clientId, clientSecret);
    } catch (err) {
      const crmError = isCrmError(err) ? err : toCrmError(err);
      // A refused refresh token (400 BAD_REFRESH_TOKEN / invalid_grant) needs a new install, not a retry.
      const code = crmError.code === 'TRANSIENT' || crmError.code === 'RATE_LIMITED' ? crmError.code : 'AUTH_INVALID';
      throw new CrmError(
        { crm: 'hubspot', code, message: `HubSpot refused the token refresh: ${crmError.message}`, vendorCode: crmError.vendorCode, httpStatus: crmError.httpStatus },
        { cause: err },
      );
    }
    const next: StoredTokens = {
      ...base,
      accessToken: answer.accessToken,
      // The answer's refresh token (HubSpot returns the same one; see the header), else the old one.
      refreshToken: answer.refreshToken || refreshToken,
      expiresAt: this.options.clock() + answer.expiresIn * 1000,
    };
    this.current = next;
    // Stored (sealed by the implementation) before the lock is released, so the next holder adopts it.
    if (store) await store.set('hubspot', next);
    this.options.logger?.info({ crm: 'hubspot', reason, expiresAt: next.expiresAt }, 'refreshed the HubSpot access token');
  }
}
