/**
 * Batched writes: sObject Collections of up to 200 records with `allOrNone: false`, so that one bad
 * record fails alone, and Bulk API 2.0 above a configurable size. Each record gets its own
 * result; a request that fails as a whole fails each of its records with the same CrmError, but
 * for a failure that may go away by itself (a rate limit, a 5xx, a dropped connection, a spent
 * budget) of the first request: that is thrown, as the HubSpot connector throws errors about the
 * whole call, so that the pipeline retries the batch instead of counting it against each record.
 */
import { z } from 'zod';
import { CrmError, isRetryable } from '../errors.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SalesforceClient } from './client.js';
import { crmCodeFor, parseOrThrow, toCrmError } from './client.js';
import type { SObjectFields } from './validation.js';

/** The objects the connector writes: people, the reps' tasks, and the field-level security setup. */
export type SaveObject = SalesforceObject | 'Task' | 'PermissionSet' | 'FieldPermissions' | 'PermissionSetAssignment';

/** sObject Collections take at most 200 records per request (crm-api.md S2). */
export const COLLECTION_SIZE = 200;

export type RecordResult = { ok: true; id: string } | { ok: false; error: CrmError };

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One per-record result of a collection. Salesforce puts the code in `statusCode` (S2); jsforce
 * passes the answer through untouched although its SaveError type says `errorCode`, so both are read.
 */
const saveErrorSchema = z.object({
  statusCode: z.string().optional(),
  errorCode: z.string().optional(),
  message: z.string(),
  fields: z.array(z.string()).nullable().optional(),
});
const saveResultSchema = z.object({
  id: z.string().nullable().optional(),
  success: z.boolean(),
  errors: z.array(saveErrorSchema).default([]),
});
const saveResultsSchema = z.array(saveResultSchema);
export type SaveResult = z.infer<typeof saveResultSchema>;

/** A failed record's errors as one CrmError: the first error decides the code, all messages are kept. */
export function recordError(errors: ReadonlyArray<z.infer<typeof saveErrorSchema>>, recordId: string | undefined): CrmError {
  const first = errors[0];
  const vendorCode = first?.statusCode ?? first?.errorCode ?? 'UNKNOWN_EXCEPTION';
  const message = errors.length > 0 ? errors.map((e) => e.message).join('; ') : 'Salesforce refused the record without saying why';
  return new CrmError({
    crm: 'salesforce',
    code: crmCodeFor(vendorCode),
    message,
    vendorCode,
    recordId,
    field: first?.fields?.[0] ?? undefined,
  });
}

/** Results of one collection call, in input order (Salesforce answers in input order). */
export function toRecordResults(raw: unknown, records: readonly SObjectFields[]): RecordResult[] {
  const results = parseOrThrow(saveResultsSchema, raw, 'sObject Collections');
  return records.map((record, i) => {
    const recordId = typeof record.Id === 'string' ? record.Id : undefined;
    const result = results[i];
    if (!result) {
      return { ok: false, error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'Salesforce returned no result for this record', recordId }) };
    }
    if (result.success && (result.id || recordId)) return { ok: true, id: result.id ?? recordId ?? '' };
    return { ok: false, error: recordError(result.errors, recordId ?? result.id ?? undefined) };
  });
}

/** Insert or update through sObject Collections, 200 records per call. */
export async function saveByCollections(
  client: SalesforceClient,
  operation: 'create' | 'update',
  object: SaveObject,
  records: readonly SObjectFields[],
): Promise<RecordResult[]> {
  return saveMixedByCollections(client, operation, records.map((record) => ({ object, record })));
}

/**
 * Records of several objects (Leads and Contacts) in the same collections: one request carries up
 * to 200 records whatever their types (crm-api.md S2: mixed types are processed in chunks of one
 * type, at most 10), sorted by type so that each request makes as few chunks as possible.
 * Results come back in the order given.
 */
export async function saveMixedByCollections(
  client: SalesforceClient,
  operation: 'create' | 'update',
  records: ReadonlyArray<{ object: SaveObject; record: SObjectFields }>,
): Promise<RecordResult[]> {
  const order = records.map((_, i) => i).sort((a, b) => (records[a]?.object ?? '').localeCompare(records[b]?.object ?? '') || a - b);
  const out: RecordResult[] = new Array(records.length);
  const parts = chunk(order, COLLECTION_SIZE);
  const first = parts[0];
  for (const part of parts) {
    const items = part.map((i) => records[i] as { object: SaveObject; record: SObjectFields });
    const body = {
      allOrNone: false,
      records: items.map(({ object, record }) => {
        const { Id, ...fields } = record;
        return { attributes: { type: object }, ...(operation === 'update' ? { id: typeof Id === 'string' ? Id : '' } : {}), ...fields };
      }),
    };
    const label = `${operation} ${[...new Set(items.map((r) => r.object))].join('+')} x${items.length}`;
    let results: RecordResult[];
    try {
      // The collection resource itself, through jsforce's request (its auth, refresh and limits).
      const raw: unknown = await client.call(label, (conn) =>
        conn.request({ method: operation === 'create' ? 'POST' : 'PATCH', url: '/composite/sobjects', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      );
      results = toRecordResults(raw, items.map((r) => r.record));
    } catch (err) {
      const error = toCrmError(err);
      // Nothing of this call went through yet and the call may work later: the records did nothing
      // wrong, so the whole batch waits and goes again (jobs/writeback.ts reschedules a thrown call).
      // Once an earlier request went through, its results must not be lost: each record fails.
      if (part === first && isRetryable(error.code)) throw error;
      results = items.map(({ record }) => {
        const recordId = typeof record.Id === 'string' ? record.Id : undefined;
        return { ok: false, error: recordId ? new CrmError({ ...error.toJSON(), recordId }, { cause: error }) : error };
      });
    }
    part.forEach((i, n) => {
      out[i] = results[n] ?? { ok: false, error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'no result for this record' }) };
    });
  }
  return out;
}

/** Bulk 2.0's failure column: `STATUS_CODE:message:fields`. */
export function parseBulkError(sfError: string, recordId: string | undefined): CrmError {
  const m = /^([A-Z_]+):(.*?)(?::([^:]*))?$/s.exec(sfError);
  const statusCode = m?.[1] ?? 'UNKNOWN_EXCEPTION';
  const fields = (m?.[3] ?? '').split(',').map((f) => f.trim()).filter((f) => f && f !== '--');
  return recordError([{ statusCode, message: (m?.[2] ?? sfError).trim() || sfError, fields }], recordId);
}

const bulkRowSchema = z.looseObject({ sf__Id: z.string().optional(), sf__Error: z.string().optional(), Id: z.string().optional() });
const bulkResultsSchema = z.object({
  successfulResults: z.array(bulkRowSchema),
  failedResults: z.array(bulkRowSchema),
  unprocessedRecords: z.union([z.array(bulkRowSchema), z.string()]),
});

/**
 * Update through Bulk API 2.0 (ingest job: open, upload CSV, close, poll, results), for write sets
 * above the threshold where one job is cheaper than many collection calls. Results come back
 * unordered; updates are matched by Id.
 */
export async function updateByBulk(
  client: SalesforceClient,
  object: SalesforceObject,
  records: readonly SObjectFields[],
  options: { pollTimeoutMs: number; pollIntervalMs?: number },
): Promise<RecordResult[]> {
  let raw: unknown;
  try {
    // jsforce writes null as `#N/A`, Bulk 2.0's "set this field to null".
    raw = await client.call(`bulk update ${object} x${records.length}`, (conn) =>
      conn.bulk2.loadAndWaitForResults({ object, operation: 'update', input: records.map((r) => ({ ...r })), pollTimeout: options.pollTimeoutMs, pollInterval: options.pollIntervalMs ?? 2000 }),
    );
  } catch (err) {
    const error = toCrmError(err);
    return records.map(() => ({ ok: false, error }));
  }
  const results = parseOrThrow(bulkResultsSchema, raw, 'Bulk API 2.0 results');
  const byId = new Map<string, RecordResult>();
  const key = (id: string) => id.slice(0, 15);
  for (const row of results.successfulResults) {
    const id = row.sf__Id ?? row.Id;
    if (id) byId.set(key(id), { ok: true, id });
  }
  for (const row of results.failedResults) {
    const id = row.Id ?? row.sf__Id;
    if (id) byId.set(key(id), { ok: false, error: parseBulkError(row.sf__Error ?? '', id) });
  }
  return records.map((record) => {
    const id = typeof record.Id === 'string' ? record.Id : '';
    return (
      byId.get(key(id)) ?? {
        ok: false,
        error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'the Bulk API job did not process this record', recordId: id }),
      }
    );
  });
}
