/**
 * The Salesforce HTTP layer: one jsforce Connection per connector, with the session manager's
 * refresh function, the gated transport, and one translation of every failure into a CrmError.
 * Everything else in the connector calls Salesforce through `client.call()` or the query helpers.
 */
import { Connection } from 'jsforce';
import { z } from 'zod';
import { CrmError } from '../errors.js';
import type { CrmErrorCode } from '../errors.js';
import type { ConnectorLogger, QuotaGate } from '../types.js';
import { SessionManager } from './auth.js';
import type { SessionOptions } from './auth.js';
import { GatedTransport } from './transport.js';
import type { ApiUsage } from './transport.js';

export const DEFAULT_API_VERSION = '62.0';

export interface SalesforceClientOptions extends SessionOptions {
  /** REST API version; jsforce's own default (50.0) predates fields the connector reads. */
  version?: string;
  gate: QuotaGate;
  logger?: ConnectorLogger;
  /** Per-request timeout; jsforce's default is 30 minutes. */
  requestTimeoutMs?: number;
  /** Epoch ms now as the quota gate counts it (the service's clock), for the waits errors carry. */
  clock?: () => number;
  /**
   * The client id every call names in `Sforce-Call-Options: client=<id>`; Change Data Capture
   * reports it in `changeOrigin`, which is how our own writes are recognised on the stream.
   */
  clientName?: string;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Salesforce's codes (REST `errorCode`, per-record `statusCode`) by what the pipeline does about
 * them. Sources: REST API "Status Codes and Error Responses" and the StatusCode enum of the SOAP
 * API, which the REST per-record results reuse.
 */
const VENDOR_CODES: Readonly<Record<string, CrmErrorCode>> = {
  INVALID_SESSION_ID: 'AUTH_EXPIRED',
  INVALID_AUTH_HEADER: 'AUTH_INVALID',
  INVALID_GRANT: 'AUTH_INVALID',
  REQUEST_LIMIT_EXCEEDED: 'QUOTA_EXHAUSTED',
  API_DISABLED_FOR_ORG: 'PERMISSION',
  API_CURRENTLY_DISABLED: 'PERMISSION',
  INSUFFICIENT_ACCESS: 'PERMISSION',
  INSUFFICIENT_ACCESS_OR_READONLY: 'PERMISSION',
  INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: 'PERMISSION',
  INSUFFICIENT_PRIVILEGES: 'PERMISSION',
  FUNCTIONALITY_NOT_ENABLED: 'PERMISSION',
  MALFORMED_QUERY: 'VALIDATION',
  INVALID_FIELD: 'VALIDATION',
  INVALID_TYPE: 'VALIDATION',
  INVALID_QUERY_FILTER_OPERATOR: 'VALIDATION',
  JSON_PARSER_ERROR: 'VALIDATION',
  MALFORMED_ID: 'VALIDATION',
  INVALID_ID_FIELD: 'VALIDATION',
  EXCEEDED_ID_LIMIT: 'VALIDATION',
  STRING_TOO_LONG: 'VALIDATION',
  FIELD_CUSTOM_VALIDATION_EXCEPTION: 'VALIDATION',
  FIELD_INTEGRITY_EXCEPTION: 'VALIDATION',
  REQUIRED_FIELD_MISSING: 'VALIDATION',
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: 'VALIDATION',
  INVALID_FIELD_FOR_INSERT_UPDATE: 'VALIDATION',
  INVALID_CROSS_REFERENCE_KEY: 'VALIDATION',
  INVALID_EMAIL_ADDRESS: 'VALIDATION',
  NUMBER_OUTSIDE_VALID_RANGE: 'VALIDATION',
  INVALID_TYPE_ON_FIELD_IN_RECORD: 'VALIDATION',
  CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  ENTITY_IS_DELETED: 'NOT_FOUND',
  DUPLICATE_VALUE: 'CONFLICT',
  DUPLICATES_DETECTED: 'CONFLICT',
  DUPLICATE_DEVELOPER_NAME: 'CONFLICT',
  CANNOT_UPDATE_CONVERTED_LEAD: 'CONFLICT',
  ENTITY_IS_LOCKED: 'CONFLICT',
  MULTIPLE_CHOICES: 'CONFLICT',
  UNABLE_TO_LOCK_ROW: 'TRANSIENT',
  SERVER_UNAVAILABLE: 'TRANSIENT',
  UNKNOWN_EXCEPTION: 'TRANSIENT',
  QUERY_TIMEOUT: 'TRANSIENT',
  INVALID_QUERY_LOCATOR: 'TRANSIENT',
  REQUEST_RUNNING_TOO_LONG: 'TRANSIENT',
  ALL_OR_NONE_OPERATION_ROLLED_BACK: 'TRANSIENT',
};

/** Socket-level failures (node-fetch FetchError `code`, undici codes): the call may work again. */
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETDOWN', 'ENETUNREACH',
  'EHOSTDOWN', 'EHOSTUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** What the pipeline should do about one Salesforce code; unknown codes are not retried. */
export function crmCodeFor(vendorCode: string): CrmErrorCode {
  const known = VENDOR_CODES[vendorCode];
  if (known) return known;
  // jsforce names a body it cannot parse ERROR_HTTP_<status> (http-api.js getError).
  const http = /^ERROR_HTTP_(\d{3})$/.exec(vendorCode);
  if (http) return crmCodeForStatus(Number(http[1]));
  return 'VALIDATION';
}

export function crmCodeForStatus(status: number): CrmErrorCode {
  if (status === 401) return 'AUTH_EXPIRED';
  if (status === 403) return 'PERMISSION';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 420 || status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'TRANSIENT';
  return 'VALIDATION';
}

/**
 * How soon the org's usage is worth asking again after it refused a call for its allocation: the
 * allocation is a rolling 24 hours ("Calls are blocked until usage for the preceding 24 hours drops
 * below the limit", Salesforce Help "System Overview: API Usage"), so room comes back as old calls
 * roll out, not at a set hour. The quota gate's re-check (one `GET /limits`) decides; this is the
 * hint of an error read alone.
 */
export const ORG_RECHECK_MS = 60_000;
/** A refusal that clears in seconds (the concurrent long-request limits, 420/429). */
const SHORT_RETRY_MS = 5_000;

function retryAfterFor(code: CrmErrorCode): number | undefined {
  if (code === 'QUOTA_EXHAUSTED') return ORG_RECHECK_MS;
  if (code === 'RATE_LIMITED') return SHORT_RETRY_MS;
  return undefined;
}

/** `GET /limits` (REST API Developer Guide, "Limits"): only the figure the gate needs is required. */
const limitsSchema = z.looseObject({
  DailyApiRequests: z.object({ Max: z.number().nonnegative(), Remaining: z.number() }),
});

/** The body of a REST error as jsforce keeps it in `error.data` (one error, or all of several). */
const apiErrorBodySchema = z.object({
  message: z.string().optional(),
  errorCode: z.string().optional(),
  fields: z.array(z.string()).optional(),
});
const jsforceErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  errorCode: z.string().optional(),
  code: z.string().optional(),
  data: z.unknown().optional(),
});

/**
 * A message with the query string (and fragment) cut from every URL in it, absolute or a REST path:
 * `.../query?q=SELECT+...+WHERE+Email+%3D+'...'` carries SOQL with record values, which must not
 * reach the sync-errors report or the logs. The path (which resource failed) stays.
 */
export function withoutQueryStrings(message: string): string {
  // A quote ends neither part: encodeURIComponent leaves `'` as it is, and SOQL quotes its values.
  return message.replace(/((?:\bhttps?:\/\/|(?<![\w.])\/services\/)[^\s?#"<>`]*)[?#][^\s"<>`]*/gi, '$1');
}

/**
 * Any failure of a Salesforce call as a CrmError. jsforce's HttpApiError has `name = errorCode`
 * and the first body in `data`; several bodies become MULTIPLE_API_ERRORS with all in `data`;
 * OAuth errors carry the OAuth `error` (lower case) as their name; sockets fail as FetchError.
 */
export function toCrmError(err: unknown, context: { recordId?: string } = {}): CrmError {
  if (err instanceof CrmError) return err;
  const parsed = jsforceErrorSchema.safeParse(err);
  if (!parsed.success) {
    return new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: withoutQueryStrings(`Salesforce call failed: ${String(err)}`), ...context }, { cause: err });
  }
  const e = parsed.data;
  // SOAP faults (the Metadata API) carry the code with its namespace prefix: `sf:INSUFFICIENT_ACCESS`.
  let vendorCode = (e.errorCode ?? e.name).replace(/^(?:sf|soapenv):/, '');
  let message = e.message;
  let field: string | undefined;
  const bodies = Array.isArray(e.data) ? e.data : e.data !== undefined ? [e.data] : [];
  const first = apiErrorBodySchema.safeParse(bodies[0]);
  if (first.success) {
    if (vendorCode === 'MULTIPLE_API_ERRORS' && first.data.errorCode) vendorCode = first.data.errorCode;
    if (vendorCode === first.data.errorCode && first.data.message) message = first.data.message;
    field = first.data.fields?.[0];
  }
  if (e.name === 'FetchError' || (e.code !== undefined && NETWORK_CODES.has(e.code)) || e.name === 'AbortError' || e.message === 'Request Timeout') {
    return new CrmError(
      { crm: 'salesforce', code: 'TRANSIENT', message: withoutQueryStrings(`Salesforce did not answer: ${e.message}`), vendorCode: e.code ?? e.name, ...context },
      { cause: err },
    );
  }
  // jsforce's OAuth2 errors: `name` is the OAuth error (invalid_grant, invalid_client ...).
  if (/^[a-z_]+$/.test(e.name) && e.errorCode === undefined) {
    return new CrmError({ crm: 'salesforce', code: 'AUTH_INVALID', message: withoutQueryStrings(`${e.name}: ${e.message}`), vendorCode: e.name, ...context }, { cause: err });
  }
  let code = crmCodeFor(vendorCode);
  // REQUEST_LIMIT_EXCEEDED also covers the concurrent long-running request limit, which clears in seconds.
  if (vendorCode === 'REQUEST_LIMIT_EXCEEDED' && /concurrent/i.test(message)) code = 'RATE_LIMITED';
  const http = /^ERROR_HTTP_(\d{3})$/.exec(vendorCode);
  return new CrmError(
    {
      crm: 'salesforce',
      code,
      message: withoutQueryStrings(message),
      vendorCode,
      httpStatus: http ? Number(http[1]) : undefined,
      retryAfterMs: retryAfterFor(code),
      field,
      ...context,
    },
    { cause: err },
  );
}

// ---------------------------------------------------------------------------------------------
// Queries

/** A query answer (REST "Query" resource); `done` is omitted by jsforce when there are no rows. */
export const queryResultSchema = z.object({
  totalSize: z.number().int().nonnegative().optional(),
  done: z.boolean().optional(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(z.unknown()),
});
export type QueryPage = z.infer<typeof queryResultSchema>;

// ---------------------------------------------------------------------------------------------
// The client

export class SalesforceClient {
  readonly session: SessionManager;
  readonly version: string;
  /** The latest `Sforce-Limit-Info` the org sent, and when (epoch ms). */
  usage: ApiUsage | null = null;
  usageAt = 0;
  private connection: Promise<Connection> | null = null;

  constructor(private readonly options: SalesforceClientOptions) {
    this.session = new SessionManager(options);
    this.version = options.version ?? DEFAULT_API_VERSION;
  }

  get logger(): ConnectorLogger | undefined {
    return this.options.logger;
  }

  get gate(): QuotaGate {
    return this.options.gate;
  }

  /** The connection, created on first use (the TokenStore is async). */
  conn(): Promise<Connection> {
    this.connection ??= this.connect().catch((err: unknown) => {
      this.connection = null;
      throw toCrmError(err);
    });
    return this.connection;
  }

  private async connect(): Promise<Connection> {
    const initial = await this.session.initial();
    const conn = new Connection({
      instanceUrl: initial.instanceUrl,
      loginUrl: this.options.loginUrl,
      accessToken: initial.accessToken,
      refreshToken: initial.refreshToken,
      version: this.version,
      ...(this.options.clientName ? { callOptions: { client: this.options.clientName } } : {}),
      oauth2: { clientId: this.options.clientId, clientSecret: this.options.clientSecret, loginUrl: this.options.loginUrl },
      // Our refresh function instead of jsforce's oauthRefreshFn: same token call, plus the loop
      // guard, the instance_url move and awaited persistence (auth.ts).
      refreshFn: this.session.refreshFn,
    });
    // jsforce sends REST, Tooling and Bulk 2.0 calls through `conn._transport` (http-api.js).
    conn._transport = new GatedTransport(conn._transport, {
      gate: this.options.gate,
      logger: this.options.logger,
      timeoutMs: this.options.requestTimeoutMs ?? 120_000,
      onResponse: (res, token) => this.session.noteResponse(res.statusCode, token),
      onUsage: (usage) => {
        this.usage = usage;
        this.usageAt = Date.now();
      },
      recheck: () => this.recheckUsage(conn),
    });
    await this.session.bootstrap(conn);
    return conn;
  }

  /**
   * The session `stale` was refused outside a REST call (the Streaming API's handshake): refreshes
   * it, unless the connection already holds another token (refreshed meanwhile), and returns the
   * access token to use. A dead session revives only from new stored tokens, as `call` does.
   */
  async refreshSession(stale: string | null): Promise<string> {
    const conn = await this.conn();
    if (this.session.dead) {
      const revived = await this.session.revive();
      if (!revived) throw this.session.dead;
      conn._establish({ accessToken: revived.accessToken, refreshToken: revived.refreshToken, instanceUrl: revived.instanceUrl });
    }
    if (conn.accessToken && conn.accessToken !== stale) return conn.accessToken;
    try {
      return await this.session.refreshNow(conn);
    } catch (err) {
      throw toCrmError(err);
    }
  }

  /**
   * Runs one piece of work against Salesforce and turns any failure into a CrmError. A dead
   * session fails fast (no call goes out) unless new tokens appeared in the TokenStore.
   */
  async call<T>(what: string, fn: (conn: Connection) => Promise<T>, context: { recordId?: string } = {}): Promise<T> {
    const conn = await this.conn();
    if (this.session.dead) {
      const revived = await this.session.revive();
      if (!revived) throw this.session.dead;
      conn._establish({ accessToken: revived.accessToken, refreshToken: revived.refreshToken, instanceUrl: revived.instanceUrl });
    }
    const seq = this.session.failureSeq;
    const started = Date.now();
    try {
      return await fn(conn);
    } catch (err) {
      // jsforce rewraps a failed refresh as a plain Error ("Unable to refresh session due to: ...");
      // the session manager kept the real reason.
      let error = this.session.failureSeq !== seq && this.session.lastFailure ? this.session.lastFailure : toCrmError(err, context);
      if (error.vendorCode === 'REQUEST_LIMIT_EXCEEDED' && error.code === 'QUOTA_EXHAUSTED') error = await this.allocationRefused(error, started);
      this.options.logger?.warn({ crm: 'salesforce', what, code: error.code, vendorCode: error.vendorCode, recordId: context.recordId }, 'salesforce call failed');
      throw error;
    }
  }

  /**
   * A 403 REQUEST_LIMIT_EXCEEDED "TotalRequests": decided by the usage the org reports, not by the
   * refusal alone (`Sforce-Limit-Info` comes with every answer, this one included, and the
   * transport has told the gate). An org with room left made a passing refusal: a short retry,
   * nobody paused. An org out of calls (or one that said nothing) holds the work in the gate until
   * a `GET /limits` re-check finds room; the error carries when that re-check is due.
   */
  private async allocationRefused(error: CrmError, callStarted: number): Promise<CrmError> {
    const usage = this.usage && this.usageAt >= callStarted ? this.usage : null;
    try {
      if (!usage) await this.options.gate.observe('salesforce', { limitReached: true });
      const report = await this.options.gate.report('salesforce');
      const held = report.paused && report.pausedBy === 'crm-limit';
      if (usage && usage.used < usage.limit && !held) {
        this.options.logger?.warn({ crm: 'salesforce', used: usage.used, limit: usage.limit }, 'Salesforce refused a call for its daily allocation while reporting room: retrying shortly');
        return new CrmError({ ...error.toJSON(), code: 'RATE_LIMITED', retryAfterMs: SHORT_RETRY_MS }, { cause: error });
      }
      const resumesAt = report.paused && report.resumesAt ? Date.parse(report.resumesAt) : Number.NaN;
      if (Number.isFinite(resumesAt)) {
        const now = this.options.clock?.() ?? Date.now();
        return new CrmError({ ...error.toJSON(), retryAfterMs: Math.max(1000, resumesAt - now) }, { cause: error });
      }
    } catch (gateErr) {
      this.options.logger?.warn({ crm: 'salesforce', err: gateErr instanceof Error ? gateErr.message : String(gateErr) }, 'could not tell the quota gate that the org is out of calls');
    }
    return error;
  }

  /**
   * While the gate holds the work for the org's allocation: if the gate allows it now (at most one
   * caller per interval across workers), one `GET /limits` re-reads the org's usage, which the
   * gate takes as the end of the hold when there is room. jsforce's `limits()` goes through the
   * gated transport like any call (counted; `isUsageProbe` lets it pass the hold).
   */
  private async recheckUsage(conn: Connection): Promise<boolean> {
    const gate = this.options.gate;
    if (!gate.claimProbe || !(await gate.claimProbe('salesforce'))) return false;
    try {
      const answer = parseOrThrow(limitsSchema, await conn.limits(), 'limits');
      const { Max, Remaining } = answer.DailyApiRequests;
      await gate.observe('salesforce', { dailyUsed: Math.max(0, Max - Remaining), dailyLimit: Max });
    } catch (err) {
      // A refusal (still out of calls) carried Sforce-Limit-Info, which the transport reported.
      const error = toCrmError(err);
      this.options.logger?.info({ crm: 'salesforce', code: error.code, vendorCode: error.vendorCode }, 'the org\'s API usage was re-read: no room yet');
    }
    return true;
  }

  /**
   * One query call (REST `query`, or `queryAll` with deleted rows when `scanAll`), no auto-fetch:
   * the caller pages with its own cursor, so every page is exactly one counted call.
   */
  async queryPage(what: string, soql: string, options: { scanAll?: boolean } = {}): Promise<QueryPage> {
    // jsforce's Query is a thenable that executes on `then`; `.then(r => r)` makes it a Promise.
    const result: unknown = await this.call(what, (conn) => conn.query(soql, { scanAll: options.scanAll ?? false, autoFetch: false }).then((r) => r));
    return parseOrThrow(queryResultSchema, result, what);
  }

  /**
   * Every row of a small query. jsforce's autoFetch follows `nextRecordsUrl` (one call per batch of
   * up to 2,000); `maxFetch` defaults to 10,000 in jsforce and would cut a big org's users short.
   */
  async queryAll(what: string, soql: string): Promise<unknown[]> {
    const result: unknown = await this.call(what, (conn) =>
      conn.query(soql, { autoFetch: true, maxFetch: 1_000_000 }).then((r) => r),
    );
    return parseOrThrow(queryResultSchema, result, what).records;
  }
}

/**
 * A failure of the call itself rather than of what it asked for (out of calls, rate-limited, not
 * authorised): a step that reports per-item problems passes it on instead, so that the run stops.
 */
export function stopsTheRun(error: CrmError): boolean {
  return error.code === 'QUOTA_EXHAUSTED' || error.code === 'RATE_LIMITED' || error.code === 'AUTH_INVALID';
}

/** A vendor answer that does not have the expected shape is a TRANSIENT failure with the path of the mismatch. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new CrmError({
    crm: 'salesforce',
    code: 'TRANSIENT',
    message: `unexpected Salesforce answer to ${what}: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`,
  });
}
