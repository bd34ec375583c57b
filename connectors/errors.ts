/**
 * One error for everything a CRM can answer badly. The pipeline decides by `code`, never by
 * matching message text; `message` keeps the CRM's own words for the sync-errors report.
 */

export const CRM_ERROR_CODES = [
  'RATE_LIMITED',
  'QUOTA_EXHAUSTED',
  'AUTH_EXPIRED',
  'AUTH_INVALID',
  'PERMISSION',
  'VALIDATION',
  'NOT_FOUND',
  'CONFLICT',
  'TRANSIENT',
] as const;
export type CrmErrorCode = (typeof CRM_ERROR_CODES)[number];

export interface CrmErrorDetails {
  crm: 'hubspot' | 'salesforce';
  code: CrmErrorCode;
  message: string;
  /** The vendor's own code: HubSpot `category`/`policyName`, Salesforce `errorCode`/`statusCode`. */
  vendorCode?: string;
  httpStatus?: number;
  retryAfterMs?: number;
  recordId?: string;
  field?: string;
}

export class CrmError extends Error {
  readonly crm: 'hubspot' | 'salesforce';
  readonly code: CrmErrorCode;
  readonly vendorCode?: string;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
  readonly recordId?: string;
  readonly field?: string;

  constructor(details: CrmErrorDetails, options?: { cause?: unknown }) {
    super(details.message, options);
    this.name = 'CrmError';
    this.crm = details.crm;
    this.code = details.code;
    this.vendorCode = details.vendorCode;
    this.httpStatus = details.httpStatus;
    this.retryAfterMs = details.retryAfterMs;
    this.recordId = details.recordId;
    this.field = details.field;
  }

  toJSON(): CrmErrorDetails {
    return {
      crm: this.crm,
      code: this.code,
      message: this.message,
      vendorCode: this.vendorCode,
      httpStatus: this.httpStatus,
      retryAfterMs: this.retryAfterMs,
      recordId: this.recordId,
      field: this.field,
    };
  }
}

export function isCrmError(value: unknown): value is CrmError {
  return value instanceof CrmError;
}

/** Whether doing the same thing again later can succeed. */
export function isRetryable(code: CrmErrorCode): boolean {
  switch (code) {
    case 'RATE_LIMITED':
    case 'QUOTA_EXHAUSTED':
    case 'TRANSIENT':
    case 'AUTH_EXPIRED':
      return true;
    case 'AUTH_INVALID':
    case 'PERMISSION':
    case 'VALIDATION':
    case 'NOT_FOUND':
    case 'CONFLICT':
      return false;
  }
}

/**
 * The one back-off policy: exponential from `baseMs` with full jitter, at least the CRM's own
 * `retryAfterMs`, at most `maxMs`. `random` is injectable so tests can pin it.
 */
export function backoffMs(
  attempt: number,
  error: { retryAfterMs?: number } | undefined,
  options: { baseMs?: number; maxMs?: number; random?: () => number } = {},
): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 5 * 60_000;
  const random = options.random ?? Math.random;
  const exponential = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(exponential / 2 + random() * (exponential / 2));
  return Math.min(max, Math.max(jittered, error?.retryAfterMs ?? 0));
}
