/**
 * The one HTTP hook of the Salesforce connector. jsforce sends every REST, Tooling and Bulk 2.0
 * request through `conn._transport.httpRequest()` (http-api.js; bulk2.js builds its own HttpApi on
 * the same transport), and OAuth token calls through a separate transport of its own (oauth2.js).
 * Wrapping the connection's transport therefore sees exactly the calls Salesforce counts against
 * the org's API allocation: each one first takes a token from the shared QuotaGate, and each
 * answer's `Sforce-Limit-Info: api-usage=N/MAX` header is reported back to the gate.
 *
 * jsforce's fetch layer (request.js) also retries 420/429/5xx and socket errors up to five times
 * with back-off, out of sight of the gate. That retry is switched off here: the pipeline owns the
 * one retry policy (errors.ts `backoffMs`), and every call that goes out must be counted.
 *
 * While the gate holds the work because the org is out of calls, only the org can say when there
 * is room again: `GET /limits` (`DailyApiRequests {Max, Remaining}`, REST API Developer Guide
 * "Limits"; a counted call like any other but the Versions URI) passes the hold, at most once per
 * interval across workers (the gate's `claimProbe`), and its answer lifts the hold at once.
 */
import { Transport } from 'jsforce/lib/transport.js';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce/lib/types/common.js';
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import { createLazyStream } from 'jsforce/lib/util/stream.js';
import { CrmError } from '../errors.js';
import type { ConnectorLogger, QuotaGate } from '../types.js';

export interface ApiUsage {
  used: number;
  limit: number;
}

/**
 * `api-usage=10018/100000; api-bursts=1/750` → `{used: 10018, limit: 100000}`. The org-wide
 * figure only: a connected app's `per-app-api-usage=17/250(appName=...)` is not the org's.
 */
export function parseLimitInfo(header: string | undefined): ApiUsage | null {
  if (!header) return null;
  const m = /(?:^|[\s;,])api-usage=(\d+)\/(\d+)/.exec(header);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { used: Number(m[1]), limit: Number(m[2]) };
}

export interface GatedTransportHooks {
  gate: QuotaGate;
  logger?: ConnectorLogger;
  timeoutMs: number;
  /** Called with every answer and the bearer token it was asked with (the refresh guard's proof). */
  onResponse?: (response: HttpResponse, token: string | null) => void;
  /** The latest usage the org reported (kept for quota-aware callers). */
  onUsage?: (usage: ApiUsage) => void;
  /**
   * The gate refused a call: re-read the org's usage if the gate allows it now (one `GET /limits`).
   * Resolves true when it was re-read, and the gate is then asked once more.
   */
  recheck?: () => Promise<boolean>;
}

/** `GET /services/data/vXX.X/limits`: the call that reads the org's usage, let through a hold. */
export function isUsageProbe(req: HttpRequest): boolean {
  return req.method === 'GET' && /\/services\/data\/v\d+\.\d+\/limits\/?$/.test(pathOf(req.url));
}

/** GET (and HEAD) reads; everything else, including a POST that only reads, counts as a write. */
function callKind(method: string): 'read' | 'write' {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The path without the query string: a SOQL in the query string may hold personal values. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? '';
  }
}

function bearerOf(req: HttpRequest): string | null {
  const header = req.headers?.Authorization ?? req.headers?.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : null;
}

export class GatedTransport extends Transport {
  constructor(
    private readonly inner: Transport,
    private readonly hooks: GatedTransportHooks,
  ) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    // jsforce pipes request bodies (Bulk 2.0 CSV uploads) into the returned stream synchronously,
    // before the gate has answered; a lazy stream buffers them the way http-api.js does itself.
    return StreamPromise.create(() => {
      const { stream, setStream } = createLazyStream();
      const promise = (async () => {
        await this.takeToken(req);
        const started = Date.now();
        const inner = this.inner.httpRequest(req, {
          ...options,
          timeout: options.timeout ?? this.hooks.timeoutMs,
          retry: { maxRetries: 0, statusCodes: [], errorCodes: [], methods: [] },
        });
        setStream(inner.stream());
        const response = await inner;
        this.hooks.logger?.debug(
          { crm: 'salesforce', method: req.method, path: pathOf(req.url), status: response.statusCode, ms: Date.now() - started },
          'salesforce call',
        );
        this.hooks.onResponse?.(response, bearerOf(req));
        const usage = parseLimitInfo(response.headers['sforce-limit-info']);
        if (usage) {
          this.hooks.onUsage?.(usage);
          await this.hooks.gate.observe('salesforce', { dailyUsed: usage.used, dailyLimit: usage.limit });
        }
        return response;
      })();
      return { stream, promise };
    });
  }

  private async takeToken(req: HttpRequest): Promise<void> {
    const kind = callKind(req.method);
    if (isUsageProbe(req)) {
      await this.hooks.gate.take('salesforce', kind, 1, { probe: true });
      return;
    }
    try {
      await this.hooks.gate.take('salesforce', kind);
    } catch (err) {
      if (!(err instanceof CrmError) || err.code !== 'QUOTA_EXHAUSTED' || !this.hooks.recheck || !(await this.hooks.recheck())) throw err;
      await this.hooks.gate.take('salesforce', kind);
    }
  }
}
