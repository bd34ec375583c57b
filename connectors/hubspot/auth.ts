/**
 * Which bearer token goes out with a HubSpot call: a private-app token (static), or OAuth tokens
 * from the TokenStore refreshed ahead of expiry. HubSpot access tokens live 30 minutes
 * (`expires_in: 1800`, reference H6) and its docs say to refresh from `expires_in` rather than wait
 * for a 401, so a token is refreshed once `expiresAt - 5 min < now`; a 401 EXPIRED_AUTHENTICATION
 * still forces one refresh (the caller retries once, never more).
 */
import type { ConnectorLogger, StoredTokens, TokenStore } from '../types.js';
import { CrmError, isCrmError } from '../errors.js';
import { toCrmError } from './errors.js';

export const REFRESH_AHEAD_MS = 5 * 60_000;

export interface AuthOptions {
  /** A private-app token (HUBSPOT_ACCESS_TOKEN). When set, it is used as is and never refreshed. */
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** OAuth tokens from an install; they take over where no access token is configured. */
  tokens?: TokenStore;
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
  private loaded = false;
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
   * Refreshes once for all concurrent callers. Another worker may already have refreshed and
   * stored new tokens: those are adopted instead of spending a second refresh.
   */
  async refresh(reason: 'ahead-of-expiry' | 'expired'): Promise<void> {
    if (!this.refreshing) {
      const failed = this.current?.accessToken;
      this.refreshing = this.doRefresh(reason, failed).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private needsRefresh(tokens: StoredTokens): boolean {
    return (
      !this.options.accessToken &&
      tokens.expiresAt !== undefined &&
      tokens.expiresAt - REFRESH_AHEAD_MS < this.options.clock() &&
      tokens.refreshToken !== undefined
    );
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    if (this.options.accessToken) {
      this.current = { accessToken: this.options.accessToken };
    } else if (this.options.tokens) {
      this.current = await this.options.tokens.get('hubspot');
    }
    this.loaded = true;
  }

  private async doRefresh(reason: string, failedToken: string | undefined): Promise<void> {
    const { clientId, clientSecret, tokens: store } = this.options;
    if (store) {
      const stored = await store.get('hubspot');
      if (stored && stored.accessToken !== failedToken && !this.needsRefresh(stored)) {
        this.current = stored;
        this.options.logger?.info({ crm: 'hubspot', reason }, 'adopted HubSpot tokens refreshed by another worker');
        return;
      }
    }
    const refreshToken = this.current?.refreshToken;
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
      ...this.current,
      accessToken: answer.accessToken,
      // HubSpot keeps the refresh token unchanged; keep the old one if the answer omits it.
      refreshToken: answer.refreshToken || refreshToken,
      expiresAt: this.options.clock() + answer.expiresIn * 1000,
    };
    this.current = next;
    if (store) await store.set('hubspot', next);
    this.options.logger?.info({ crm: 'hubspot', reason, expiresAt: next.expiresAt }, 'refreshed the HubSpot access token');
  }
}
