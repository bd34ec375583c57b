/**
 * The one HTTP layer for HubSpot: the official SDK client, created once per connector, and `call`,
 * through which every API call goes: a token from the shared QuotaGate first, the bearer token
 * (refreshed when due), the SDK call, the X-HubSpot-RateLimit-* headers reported to the gate, and
 * failures as CrmError with the one retry policy (connectors/errors.ts `backoffMs`).
 *
 * SDK facts relied on (reference H8, read in node_modules/@hubspot/api-client/lib):
 * - Decorators (retry, limiter) live in a process-wide singleton that every `new Client()`
 *   replaces, and each API object is decorated when first touched. We configure neither (no
 *   `numberOfApiCallRetries`, no `limiterOptions`): the SDK's retries would bypass the gate, and its
 *   bottleneck limiter counts per process where our Redis gate counts for every worker. The APIs we
 *   use are touched once in the constructor so that a client made elsewhere later cannot re-decorate them.
 * - `basePath` replaces https://api.hubapi.com everywhere (HUBSPOT_BASE_URL points at a sandbox).
 * - Client-level `middleware` is never applied in 13.5.0: each generated `ObservableAPI` method
 *   builds its middleware list only from the per-call `_options` (`let allMiddleware = []`, filled
 *   only when `_options.middleware` is given). So every call passes `SdkCallOptions` with
 *   `middlewareMergeStrategy: 'append'` (the SDK's own header middleware, then ours). Our `pre`
 *   runs after the SDK applied its auth and sets the bearer from our token holder, so an OAuth
 *   refresh never needs `setAccessToken` (which re-creates every API); `post` sees every response,
 *   2xx or not, with its headers before the body is deserialized.
 */
import { Client } from '@hubspot/api-client';
import { z } from 'zod';
import type { ConnectorLogger, QuotaGate, TokenStore } from '../types.js';
import { CrmError, backoffMs, isCrmError } from '../errors.js';
import { HubSpotAuth } from './auth.js';
import type { RefreshLock } from './auth.js';
import { asApiException, rateLimitInfo, toCrmError } from './errors.js';

export const DEFAULT_BASE_URL = 'https://api.hubapi.com';

export interface HubSpotClientOptions {
  /** HUBSPOT_BASE_URL; default the real API. */
  baseUrl?: string;
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
  tokens?: TokenStore;
  /** One OAuth refresh at a time across workers (see auth.ts). */
  refreshLock?: RefreshLock;
  gate: QuotaGate;
  logger?: ConnectorLogger;
  /** Total attempts per call, like the SDK's `numberOfApiCallRetries` (default 3; 1 = no retry). */
  retries?: number;
  /** A call that has not answered after this long counts as TRANSIENT (default 30 s). */
  timeoutMs?: number;
  /** Epoch ms now: token expiry. Tests inject it. */
  clock?: () => number;
  /** Waits between attempts. Tests inject it. */
  sleep?: (ms: number) => Promise<void>;
  /** Longest wait honoured inside one call before giving the error to the caller (default 15 s). */
  maxInlineWaitMs?: number;
}

export type CallKind = 'read' | 'write' | 'search';

interface RequestContextLike {
  getUrl(): string;
  setHeaderParam(key: string, value: string): void;
}

interface ResponseContextLike {
  httpStatusCode: number;
  headers: Record<string, string>;
}

/** A per-call SDK middleware; generic so that it fits every generated module's PromiseMiddleware. */
interface CallMiddleware {
  pre<C extends RequestContextLike>(context: C): Promise<C>;
  post<R extends ResponseContextLike>(context: R): Promise<R>;
}

/** The `_options` argument every SDK call receives (see the header comment). */
export interface SdkCallOptions {
  middleware: CallMiddleware[];
  middlewareMergeStrategy: 'append';
}

class HubSpotTimeoutError extends Error {
  override name = 'HubSpotTimeoutError';
}

/** A non-2xx answer to a raw `apiRequest`, shaped like the SDK's ApiException (errors.ts reads it by shape). */
class HubSpotHttpError extends Error {
  override name = 'HubSpotHttpError';
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly headers: Record<string, string>,
  ) {
    super(`HTTP-Code: ${code}`);
  }
}

/**
 * `GET /account-info/v3/details` (`PortalInformationResponse`, HubSpot-public-api-spec-collection,
 * Account Info v3): `timeZone` is the zone whose midnight resets the daily limit ("The daily limits
 * reset at midnight based on the time zone setting of the HubSpot account",
 * https://developers.hubspot.com/apisbytier). Only the field we use is required here.
 */
const accountDetailsSchema = z.looseObject({ portalId: z.number().optional(), timeZone: z.string().min(1) });
export type AccountDetails = z.infer<typeof accountDetailsSchema>;

export class HubSpotClient {
  readonly sdk: Client;
  readonly auth: HubSpotAuth;
  readonly baseUrl: string;
  private readonly gate: QuotaGate;
  private readonly logger: ConnectorLogger | undefined;
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxInlineWaitMs: number;
  /** The bearer token of the call in flight is set per request by the middleware. */
  private bearer: string | null = null;
  private readonly sdkOptions: SdkCallOptions;

  constructor(options: HubSpotClientOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.gate = options.gate;
    this.logger = options.logger;
    this.attempts = Math.max(1, Math.min(10, options.retries ?? 3));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxInlineWaitMs = options.maxInlineWaitMs ?? 15_000;
    // No retry or limiter decorators (see the header comment); `basePath` = HUBSPOT_BASE_URL.
    this.sdk = new Client({ basePath: this.baseUrl });
    const middleware: CallMiddleware = {
      pre: async (ctx) => {
        // The OAuth token endpoint authenticates with the client secret in its form body, not a bearer.
        if (this.bearer && !ctx.getUrl().includes('/oauth/v1/token')) ctx.setHeaderParam('Authorization', `Bearer ${this.bearer}`);
        return ctx;
      },
      post: async (ctx) => {
        await this.observe(ctx.headers);
        return ctx;
      },
    };
    this.sdkOptions = { middleware: [middleware], middlewareMergeStrategy: 'append' };
    // Decorate now with this client's (empty) decorator set: see the header comment.
    void this.sdk.crm.contacts.basicApi;
    void this.sdk.crm.properties.coreApi;
    void this.sdk.crm.owners.ownersApi;
    void this.sdk.oauth.tokensApi;
    this.auth = new HubSpotAuth(
      {
        accessToken: options.accessToken,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        tokens: options.tokens,
        refreshLock: options.refreshLock,
        clock: this.clock,
        logger: options.logger,
      },
      // HubSpot OAuth v1: form-POST /oauth/v1/token with grant_type=refresh_token (reference H6).
      async (refreshToken, clientId, clientSecret) => {
        const answer = await this.withTimeout(
          this.sdk.oauth.tokensApi.create('refresh_token', undefined, undefined, clientId, clientSecret, refreshToken, this.sdkOptions),
        );
        return { accessToken: answer.accessToken, refreshToken: answer.refreshToken, expiresIn: answer.expiresIn };
      },
    );
  }

  /**
   * One API call: gate token, bearer, SDK call, error mapping, retry. `fn` must make exactly one
   * HTTP request and pass `options` as the SDK method's last (`_options`) argument. RATE_LIMITED
   * and TRANSIENT are retried after `max(retryAfterMs, backoff)` while attempts remain and the wait
   * is short; AUTH_EXPIRED refreshes the token once and retries once.
   */
  async call<T>(kind: CallKind, op: string, fn: (sdk: Client, options: SdkCallOptions) => Promise<T>, options: { probe?: boolean } = {}): Promise<T> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      this.bearer = await this.auth.token();
      // Every API call first takes a token from the shared budget; QUOTA_EXHAUSTED propagates.
      await this.takeToken(kind, options.probe ?? false);
      try {
        return await this.withTimeout(fn(this.sdk, this.sdkOptions));
      } catch (err) {
        let error = toCrmError(err, { now: this.clock() });
        if (error.code === 'QUOTA_EXHAUSTED') error = await this.portalOutOfCalls(error, err);
        if (error.code === 'AUTH_EXPIRED' && !refreshed && this.auth.canRefresh()) {
          refreshed = true;
          attempt -= 1;
          this.logger?.warn({ crm: 'hubspot', op, code: error.code }, 'HubSpot token expired: refreshing once');
          await this.auth.refresh('expired');
          continue;
        }
        const retryable = error.code === 'RATE_LIMITED' || error.code === 'TRANSIENT';
        const wait = retryable ? backoffMs(attempt, error, { baseMs: 250, maxMs: this.maxInlineWaitMs }) : 0;
        if (!retryable || attempt >= this.attempts || (error.retryAfterMs ?? 0) > this.maxInlineWaitMs) {
          this.logger?.warn({ crm: 'hubspot', op, code: error.code, vendorCode: error.vendorCode, httpStatus: error.httpStatus, attempt }, 'HubSpot call failed');
          throw error;
        }
        this.logger?.debug({ crm: 'hubspot', op, code: error.code, vendorCode: error.vendorCode, attempt, waitMs: wait }, 'HubSpot call will be retried');
        await this.sleep(wait);
      }
    }
  }

  /**
   * A token from the shared gate. When the gate refuses and asks for what only HubSpot can tell it
   * (the portal's time zone, or its usage while the work is held), one caller across the workers
   * reads the account details, and the gate is asked once more.
   */
  private async takeToken(kind: CallKind, probe: boolean): Promise<void> {
    try {
      await this.gate.take('hubspot', kind, 1, probe ? { probe: true } : undefined);
    } catch (err) {
      if (probe || !isCrmError(err) || err.code !== 'QUOTA_EXHAUSTED' || !this.gate.claimProbe || !(await this.gate.claimProbe('hubspot'))) throw err;
      try {
        await this.accountDetails();
      } catch (probeErr) {
        this.logger?.warn({ crm: 'hubspot', code: isCrmError(probeErr) ? probeErr.code : undefined }, 'could not read the HubSpot account details (time zone, daily usage)');
      }
      await this.gate.take('hubspot', kind);
    }
  }

  /**
   * `GET /account-info/v3/details` (scope `oauth`; the SDK 13.5 has no typed API for it, so the
   * client's raw `apiRequest` with our bearer), told to the gate: the portal's time zone, and the
   * daily usage in the rate-limit headers of the answer. A counted call.
   */
  async accountDetails(): Promise<AccountDetails> {
    const details = await this.call(
      'read',
      'account-info.details',
      async (sdk) => {
        const res = await sdk.apiRequest({ method: 'GET', path: '/account-info/v3/details', headers: this.bearer ? { Authorization: `Bearer ${this.bearer}` } : {} });
        const headers: Record<string, string> = {};
        res.headers.forEach((value, key) => {
          headers[key.toLowerCase()] = value;
        });
        await this.observe(headers);
        const text = await res.text();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: the error keeps the text
        }
        if (!res.ok) throw new HubSpotHttpError(res.status, body, headers);
        return body;
      },
      { probe: true },
    );
    const parsed = accountDetailsSchema.safeParse(details);
    if (!parsed.success) throw unexpectedAnswer('account-info details', parsed.error.issues[0]?.message ?? 'no time zone');
    await this.gate.observe('hubspot', { timeZone: parsed.data.timeZone });
    return parsed.data;
  }

  /**
   * A 429 DAILY: the portal's daily limit is spent for everyone. The gate holds the work (the
   * answer's X-HubSpot-RateLimit-Daily-Remaining: 0 told it; without those headers we tell it), and
   * it knows until when: the portal's midnight, once its time zone is known. The error carries that.
   */
  private async portalOutOfCalls(error: CrmError, cause: unknown): Promise<CrmError> {
    try {
      const headers = asApiException(cause)?.headers ?? {};
      if (rateLimitInfo(headers).dailyUsed === undefined) await this.gate.observe('hubspot', { limitReached: true });
      const report = await this.gate.report('hubspot');
      const resumesAt = report.paused && report.resumesAt ? Date.parse(report.resumesAt) : Number.NaN;
      if (!Number.isFinite(resumesAt)) return error;
      return new CrmError({ ...error.toJSON(), retryAfterMs: Math.max(1000, resumesAt - this.clock()) }, { cause });
    } catch {
      return error;
    }
  }

  private async withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HubSpotTimeoutError(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reports X-HubSpot-RateLimit-* to the gate; a failing report never fails the call. */
  private async observe(headers: Record<string, string>): Promise<void> {
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
    const info = rateLimitInfo(lower);
    if (Object.keys(info).length === 0) return;
    try {
      await this.gate.observe('hubspot', info);
    } catch (err) {
      this.logger?.warn({ crm: 'hubspot', err: err instanceof Error ? err.message : String(err) }, 'could not record HubSpot rate-limit headers');
    }
  }
}

/** Throws the CrmError for a call that returned something the SDK should not have. */
export function unexpectedAnswer(op: string, detail: string): CrmError {
  return new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: `HubSpot ${op} answered unexpectedly: ${detail}` });
}
