/**
 * What HubSpot answers badly, turned into one CrmError (connectors/errors.ts). The pipeline decides
 * by `code`; `message` keeps HubSpot's own words for the sync-errors report.
 *
 * The SDK throws `ApiException {code: httpStatus, body, headers}` for every non-2xx answer; each
 * generated module (contacts, properties, owners, oauth) has its own ApiException class, so the
 * shape is recognised structurally rather than with `instanceof`. Error bodies are handed over
 * unfiltered (the SDK's "Error" type is not in its model map), hence the zod parse here.
 */
import { z } from 'zod';
import { CrmError, isCrmError } from '../errors.js';
import type { CrmErrorCode } from '../errors.js';

/** A HubSpot error body (reference H2, H5); every field optional so that odd bodies still parse. */
export const hubSpotErrorBodySchema = z
  .object({
    status: z.string().optional(),
    message: z.string().optional(),
    category: z.string().optional(),
    subCategory: z.unknown().optional(),
    policyName: z.string().optional(),
    errorType: z.string().optional(),
    correlationId: z.string().optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    errors: z
      .array(
        z.looseObject({
          message: z.string().optional(),
          code: z.string().optional(),
          context: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .optional(),
  })
  .loose();
export type HubSpotErrorBody = z.infer<typeof hubSpotErrorBodySchema>;

const apiExceptionSchema = z.object({
  code: z.number().int(),
  body: z.unknown(),
  headers: z.record(z.string(), z.unknown()).optional(),
});

/** The SDK's ApiException, recognised by shape. */
export interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

export function asApiException(err: unknown): ApiExceptionLike | null {
  if (!(err instanceof Error)) return null;
  const parsed = apiExceptionSchema.safeParse(err);
  if (!parsed.success) return null;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.data.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  return { code: parsed.data.code, body: parsed.data.body, headers };
}

/** The exact 429 strings the SDK's RetryDecorator keys on (reference H5, H8). */
export const TEN_SECONDLY_ROLLING = 'TEN_SECONDLY_ROLLING';
export const SECONDLY_LIMIT_MESSAGE = 'You have reached your secondly limit.';
/**
 * A 429 DAILY says nothing of when the day ends: midnight in the portal's time zone (reference H5;
 * https://developers.hubspot.com/apisbytier), which the quota gate knows once it has read the
 * account details. Without it, the call is tried again in an hour (the client replaces this with
 * the gate's answer).
 */
const DAILY_RECHECK_MS = 60 * 60_000;

function retryAfterHeaderMs(headers: Record<string, string>, now: number): number | undefined {
  const raw = headers['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function parseBody(body: unknown): HubSpotErrorBody {
  if (typeof body === 'string') {
    try {
      return parseBody(JSON.parse(body));
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  const parsed = hubSpotErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data : {};
}

/** The scopes a 403 MISSING_SCOPES body names (`errors[].context.requiredGranularScopes`). */
export function requiredScopes(body: unknown): string[] {
  const parsed = parseBody(body);
  const scopes = new Set<string>();
  for (const detail of parsed.errors ?? []) {
    for (const key of ['requiredGranularScopes', 'requiredScopes']) {
      const value = detail.context?.[key];
      if (Array.isArray(value)) for (const s of value) if (typeof s === 'string') scopes.add(s);
    }
  }
  return [...scopes];
}

/**
 * Maps an HTTP status and HubSpot body to a CrmError. 429 DAILY is the portal's whole daily
 * allowance (not ours to wait out within a call): QUOTA_EXHAUSTED, so the pipeline pauses and
 * resumes from its cursor; the portal's midnight is the quota gate's to know (client.ts asks it).
 * Other 429s are short windows: RATE_LIMITED.
 */
export function crmErrorFromResponse(
  status: number,
  rawBody: unknown,
  headers: Record<string, string> = {},
  options: { now?: number; recordId?: string; cause?: unknown } = {},
): CrmError {
  const now = options.now ?? Date.now();
  const body = parseBody(rawBody);
  const message = body.message ?? `HubSpot answered HTTP ${status}`;
  const vendorCode = body.policyName ?? body.category ?? (typeof body.status === 'string' && body.status !== 'error' ? body.status : undefined);
  const retryAfter = retryAfterHeaderMs(headers, now);
  let code: CrmErrorCode;
  let retryAfterMs: number | undefined;
  if (status === 429) {
    if (body.policyName === 'DAILY') {
      code = 'QUOTA_EXHAUSTED';
      retryAfterMs = retryAfter ?? DAILY_RECHECK_MS;
    } else {
      code = 'RATE_LIMITED';
      retryAfterMs = retryAfter ?? (body.message === SECONDLY_LIMIT_MESSAGE ? 1000 : 10_000);
    }
  } else if (status === 401) {
    code = body.category === 'EXPIRED_AUTHENTICATION' ? 'AUTH_EXPIRED' : 'AUTH_INVALID';
  } else if (status === 403) {
    code = 'PERMISSION';
  } else if (status === 404 || status === 410) {
    code = 'NOT_FOUND';
  } else if (status === 409) {
    code = 'CONFLICT';
  } else if (status === 408 || status === 423 || status >= 500 || status === 0) {
    // 423 Locked: HubSpot locks a record during a merge; the same call succeeds a moment later.
    code = 'TRANSIENT';
    retryAfterMs = retryAfter;
  } else {
    code = 'VALIDATION';
  }
  return new CrmError(
    { crm: 'hubspot', code, message, vendorCode, httpStatus: status, retryAfterMs, recordId: options.recordId },
    { cause: options.cause },
  );
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** node-fetch's FetchError, a socket error, or our own timeout: nothing was answered, try again later. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'FetchError' || err.name === 'AbortError' || err.name === 'HubSpotTimeoutError') return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/**
 * Any failure of an SDK call as a CrmError: ApiException by status/category/policy, a network
 * failure or timeout as TRANSIENT. Anything else (a bug) is rethrown unchanged, so that it is not
 * retried as if HubSpot were at fault.
 */
export function toCrmError(err: unknown, options: { now?: number; recordId?: string } = {}): CrmError {
  if (isCrmError(err)) return err;
  const api = asApiException(err);
  if (api) return crmErrorFromResponse(api.code, api.body, api.headers, { ...options, cause: err });
  if (isNetworkError(err)) {
    return new CrmError(
      { crm: 'hubspot', code: 'TRANSIENT', message: `HubSpot did not answer: ${(err as Error).message}`, recordId: options.recordId },
      { cause: err },
    );
  }
  throw err;
}

/** What the X-HubSpot-RateLimit-* headers say (reference H5), in the gate's vocabulary. */
export function rateLimitInfo(headers: Record<string, string>): {
  dailyUsed?: number;
  dailyLimit?: number;
  windowRemaining?: number;
  windowLimit?: number;
} {
  const num = (name: string): number | undefined => {
    const raw = headers[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  };
  const info: { dailyUsed?: number; dailyLimit?: number; windowRemaining?: number; windowLimit?: number } = {};
  const daily = num('x-hubspot-ratelimit-daily');
  const dailyRemaining = num('x-hubspot-ratelimit-daily-remaining');
  if (daily !== undefined) info.dailyLimit = daily;
  if (daily !== undefined && dailyRemaining !== undefined) info.dailyUsed = Math.max(0, daily - dailyRemaining);
  const max = num('x-hubspot-ratelimit-max');
  const remaining = num('x-hubspot-ratelimit-remaining');
  if (max !== undefined) info.windowLimit = max;
  if (remaining !== undefined) info.windowRemaining = remaining;
  return info;
}
