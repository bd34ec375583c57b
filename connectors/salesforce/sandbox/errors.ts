/**
 * Salesforce's two error shapes. Request-level errors are a JSON array of
 * `{message, errorCode, fields?}` (crm-api.md S5); per-record results of sObject Collections carry
 * `statusCode` instead of `errorCode` (S2). OAuth errors are `{error, error_description}` (S7).
 */
import type { Response } from 'express';

/** One per-record DML error, as inside a collection result or a SaveResult. */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** A request-level REST error: sent as `[{message, errorCode, fields?}]` with an HTTP status. */
export class SfApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
    this.name = errorCode;
  }

  body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
    return [{ message: this.message, errorCode: this.errorCode, ...(this.fields ? { fields: this.fields } : {}) }];
  }

  /** A per-record failure turned into a request error, the way single-record routes answer. */
  static fromRecordErrors(errors: readonly RecordError[], status = 400): SfApiError {
    const first = errors[0] ?? { statusCode: 'UNKNOWN_EXCEPTION', message: 'unknown error', fields: [] };
    return new SfApiError(status, first.statusCode, first.message, first.fields);
  }
}

/** An OAuth token-endpoint error: `{"error":"invalid_grant","error_description":"..."}`. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

export function sendSfError(res: Response, err: SfApiError): void {
  res.status(err.status).json(err.body());
}

export const NOT_FOUND_MESSAGE = 'The requested resource does not exist';

export const notFound = (message = NOT_FOUND_MESSAGE): SfApiError => new SfApiError(404, 'NOT_FOUND', message);

export const invalidSession = (): SfApiError => new SfApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

export const requestLimitExceeded = (): SfApiError => new SfApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');

/**
 * The concurrent-request limits, also 403 REQUEST_LIMIT_EXCEEDED: too many API requests of 20 s or
 * more at once (`ConcurrentRequests`), or too many long-running Apex transactions (`ConcurrentPerOrgLongTxn`).
 * Both clear as soon as the long requests finish.
 */
export const concurrentLimitExceeded = (which: 'requests' | 'long-transactions'): SfApiError =>
  new SfApiError(
    403,
    'REQUEST_LIMIT_EXCEEDED',
    which === 'requests' ? 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.' : 'ConcurrentPerOrgLongTxn Limit exceeded.',
  );

export const serverUnavailable = (): SfApiError =>
  new SfApiError(503, 'SERVER_UNAVAILABLE', 'Server is temporarily unavailable. Please try again later.');

export const jsonParserError = (message: string): SfApiError => new SfApiError(400, 'JSON_PARSER_ERROR', message);

/** The message of an unexpected failure: an opaque error id, never a stack trace. */
export const unknownException = (): SfApiError =>
  new SfApiError(500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: 1742913807-12345 (-1585939236)');

export const recordError = (statusCode: string, message: string, fields: string[] = []): RecordError => ({ statusCode, message, fields });

export const ROLLED_BACK: RecordError = recordError(
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  'Record rolled back because not all records were valid and the request was using AllOrNone header',
);

export const noSuchColumnOnSObject = (field: string, type: string): RecordError =>
  recordError('INVALID_FIELD', `No such column '${field}' on sobject of type ${type}`, [field]);

export const exceededIdLimit = (max = 200): SfApiError =>
  new SfApiError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${max} records into this call`);
