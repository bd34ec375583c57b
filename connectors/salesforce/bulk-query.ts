/**
 * Full reads through a Bulk API 2.0 query job (jsforce `conn.bulk2.query`), for streams big enough
 * that one job costs fewer API calls than SOQL pages of 2,000: a job is one create, a few polls and
 * one call per result set (crm-api.md S4; connectors/salesforce/sandbox/README.md "Bulk API 2.0"),
 * where SOQL costs one call per 2,000 rows.
 *
 * The job answers CSV: every value a string, empty for null, parent fields in `Account.Name`
 * columns. The rows are turned back into the REST query's shape (typed values, parent records
 * nested) by the object's describe, so that the same row schemas and mapping read them.
 */
import { z } from 'zod';
import { HttpApi } from 'jsforce/lib/http-api.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';

export interface BulkQueryOptions {
  /** Above this many rows expected (a COUNT() first), a full read goes by one query job. */
  threshold: number;
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

/** Off: no stream is ever that big. */
export const BULK_QUERY_OFF: BulkQueryOptions = { threshold: Number.POSITIVE_INFINITY, pollIntervalMs: 5_000, pollTimeoutMs: 120_000 };

/** Parent fields the connector reads (fields.ts `Account.*`) that are not text. */
const PARENT_FIELD_TYPES: Readonly<Record<string, string>> = {
  'Account.NumberOfEmployees': 'int',
  'Account.AnnualRevenue': 'currency',
};
const NUMERIC = new Set(['int', 'double', 'currency', 'percent', 'long']);

const csvRowSchema = z.record(z.string(), z.string());

/** A CSV value in the REST API's form, by the field's describe type. */
function typedValue(value: string, type: string | undefined): string | number | boolean | null {
  if (value === '') return null;
  if (type === 'boolean') return value.toLowerCase() === 'true';
  if (type && NUMERIC.has(type)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }
  return value;
}

/**
 * One CSV row as the REST API would give it: typed values, `Account.Name` as `{Account: {Name}}`
 * (null when every parent column is empty, as REST gives an empty lookup).
 */
export function csvRowToRecord(row: Readonly<Record<string, string>>, types: ReadonlyMap<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const parents = new Map<string, Record<string, unknown>>();
  for (const [column, value] of Object.entries(row)) {
    const dot = column.indexOf('.');
    if (dot < 0) {
      out[column] = typedValue(value, types.get(column));
      continue;
    }
    const parent = column.slice(0, dot);
    const nested = parents.get(parent) ?? {};
    nested[column.slice(dot + 1)] = typedValue(value, PARENT_FIELD_TYPES[column]);
    parents.set(parent, nested);
  }
  for (const [name, nested] of parents) out[name] = Object.values(nested).every((v) => v === null) ? null : nested;
  return out;
}

const createdJobSchema = z.looseObject({ id: z.string().min(1) });

/**
 * jsforce's poll (lib/api/bulk2.js `QueryJobV2.poll`) ends a timed-out job with
 * `JobPollingTimeout`: the job is aborted then, so that the org stops working on rows nobody reads.
 */
const isPollTimeout = (err: unknown): boolean => err instanceof Error && err.name === 'JobPollingTimeout';

/**
 * Every row of `soql` through one query job (`queryAll` with `scanAll`: deleted rows included).
 * The job is created and polled through jsforce (`conn.request`, `conn.bulk2.job('query')`); its
 * result sets are read one request each with jsforce's HttpApi, which parses each set as a CSV
 * file of its own and reports the `Sforce-Locator` header. (jsforce 3.10's `bulk2.query` pipes
 * every set into one CSV parser: each later set's header line comes out as a row, and a set still
 * streaming when the next one starts interleaves with it, corrupting rows; the sandbox test
 * `tests/integration/salesforce-connector/bulk.test.ts` met that with sets of 1,000 Leads.)
 * A failed, aborted or timed-out job throws (a CrmError, from client.call).
 */
export async function bulkQueryRows(
  client: SalesforceClient,
  what: string,
  soql: string,
  options: BulkQueryOptions & { scanAll: boolean; types: ReadonlyMap<string, string> },
): Promise<Array<Record<string, unknown>>> {
  const raw: unknown[] = await client.call(what, async (conn) => {
    const created = parseOrThrow(
      createdJobSchema,
      await conn.request({ method: 'POST', url: '/jobs/query', body: JSON.stringify({ operation: options.scanAll ? 'queryAll' : 'query', query: soql }), headers: { 'content-type': 'application/json' } }),
      'Bulk API 2.0 query job',
    );
    const job = conn.bulk2.job('query', { id: created.id });
    try {
      await job.poll(options.pollIntervalMs, options.pollTimeoutMs);
    } catch (err) {
      if (isPollTimeout(err)) await job.abort().catch(() => undefined);
      throw err;
    }
    const rows: unknown[] = [];
    let locator: string | undefined;
    // The last set's `Sforce-Locator` is the string `null` (crm-api.md S4).
    for (;;) {
      const api = new HttpApi(conn, { responseType: 'text/csv' });
      let next: string | undefined;
      api.on('response', (response: { headers: Record<string, string | undefined> }) => {
        next = response.headers['sforce-locator'];
      });
      const path = `/services/data/v${conn.version}/jobs/query/${created.id}/results${locator ? `?locator=${encodeURIComponent(locator)}` : ''}`;
      const set: unknown = await api.request({ method: 'GET', url: new URL(path, conn.instanceUrl).toString(), headers: { Accept: 'text/csv' } });
      if (Array.isArray(set)) rows.push(...(set as unknown[]));
      if (!next || next === 'null') break;
      locator = next;
    }
    return rows;
  });
  const rows = parseOrThrow(z.array(csvRowSchema), raw, what);
  return rows.map((row) => csvRowToRecord(row, options.types));
}
