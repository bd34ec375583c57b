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
import type { SObjectFields, SObjectValue } from './validation.js';
import type { ConnectorLogger } from '../types.js';

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
const jobInfoSchema = z.looseObject({ id: z.string(), state: z.string(), errorMessage: z.string().nullish() });

/**
 * Records per ingest job that write-back hands over at most: one of Bulk API 2.0's internal
 * batches (10,000 records, each counted against the 15,000 daily batches, crm-api.md S4).
 */
export const BULK_WRITE_BATCH = 10_000;

/** Salesforce ids compare on their first 15 characters. */
const bulkKey = (id: string) => id.slice(0, 15);

/**
 * Ingest jobs whose outcome this process does not know (their polling or results failed after the
 * job was closed, so it may have run): by record, the job and the values it carried. A later
 * update of the same record first asks that job, so that a record it wrote with the same values is
 * not written a second time. In memory: another worker that takes the records writes them again
 * (the same values: the write is idempotent, only SystemModstamp moves).
 */
const unsettledByClient = new WeakMap<SalesforceClient, Map<string, { jobId: string; values: string }>>();

function unsettledOf(client: SalesforceClient): Map<string, { jobId: string; values: string }> {
  let map = unsettledByClient.get(client);
  if (!map) {
    map = new Map();
    unsettledByClient.set(client, map);
  }
  return map;
}

/** Forgets the jobs of unknown outcome of `client` (tests). */
export function forgetUnsettledBulkJobs(client: SalesforceClient): void {
  unsettledByClient.delete(client);
}

const fingerprint = (record: SObjectFields): string => JSON.stringify(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

/**
 * The rows jsforce uploads: every record with every column (jsforce takes the CSV header from the
 * first record and drops other columns), a column a record does not set left empty (Bulk API 2.0
 * leaves the field as it is), an empty string sent as null (`#N/A`: Bulk API 2.0 would read an
 * empty value as "unchanged", where the REST API clears the field).
 */
function uploadRows(records: readonly SObjectFields[]): Array<Record<string, SObjectValue>> {
  const columns = ['Id', ...new Set(records.flatMap((r) => Object.keys(r)).filter((k) => k !== 'Id'))];
  return records.map((record) =>
    Object.fromEntries(columns.map((c) => {
      if (!(c in record)) return [c, ''];
      const value = record[c];
      return [c, value === '' ? null : (value ?? null)];
    })),
  );
}

/** One job's results by record: done, refused (with Salesforce's error), or not reached. */
function resultsById(raw: unknown, job: { id: string; state: string; errorMessage?: string | null }): Map<string, RecordResult> {
  const results = parseOrThrow(bulkResultsSchema, raw, 'Bulk API 2.0 results');
  const byId = new Map<string, RecordResult>();
  for (const row of results.successfulResults) {
    const id = row.sf__Id ?? row.Id;
    if (id) byId.set(bulkKey(id), { ok: true, id });
  }
  for (const row of results.failedResults) {
    const id = row.Id ?? row.sf__Id;
    if (id) byId.set(bulkKey(id), { ok: false, error: parseBulkError(row.sf__Error ?? '', id) });
  }
  const unprocessed = Array.isArray(results.unprocessedRecords) ? results.unprocessedRecords : [];
  for (const row of unprocessed) if (row.Id) byId.set(bulkKey(row.Id), notProcessed(row.Id, job));
  return byId;
}

function notProcessed(recordId: string, job: { id: string; state: string; errorMessage?: string | null }): RecordResult {
  const why = job.errorMessage ? `${job.state}: ${job.errorMessage}` : job.state;
  return { ok: false, error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: `not processed by Bulk API job ${job.id} (${why}): it goes again`, recordId }) };
}

/**
 * jsforce's ingest poll (lib/api/bulk2.js `IngestJobV2.poll`) ends a Failed or Aborted job with a
 * plain Error and a timeout with `JobPollingTimeout`; anything else is the polling call failing.
 */
function jobEnded(err: unknown): 'timeout' | 'ended' | null {
  if (!(err instanceof Error)) return null;
  if (err.name === 'JobPollingTimeout') return 'timeout';
  if (/^Ingest job failed to complete|^Job has been aborted/.test(err.message)) return 'ended';
  return null;
}

/**
 * Records of earlier jobs whose outcome was unknown: the job is asked first. A record it wrote
 * with the values asked again is answered from it (not written twice); a record it refused with
 * the same values gets that refusal; the rest go into the new job. A job still running holds its
 * records back (TRANSIENT) until it ends.
 */
async function settleEarlierJobs(client: SalesforceClient, records: readonly SObjectFields[]): Promise<Map<number, RecordResult>> {
  const answered = new Map<number, RecordResult>();
  const unsettled = unsettledOf(client);
  const byJob = new Map<string, number[]>();
  records.forEach((record, i) => {
    const id = typeof record.Id === 'string' ? record.Id : '';
    const known = unsettled.get(bulkKey(id));
    if (known) byJob.set(known.jobId, [...(byJob.get(known.jobId) ?? []), i]);
  });
  for (const [jobId, indexes] of byJob) {
    let results: Map<string, RecordResult> | null = null;
    let running = false;
    try {
      await client.call(`bulk job ${jobId} outcome`, async (conn) => {
        const job = conn.bulk2.job('ingest', { id: jobId });
        const info = parseOrThrow(jobInfoSchema, await job.check(), 'Bulk API 2.0 job info');
        if (info.state !== 'JobComplete' && info.state !== 'Failed' && info.state !== 'Aborted') {
          running = true;
          return;
        }
        results = resultsById(await job.getAllResults(), info);
      });
    } catch {
      // Unknown still: the records are written again below (idempotent), the job forgotten.
    }
    for (const i of indexes) {
      const record = records[i] as SObjectFields;
      const id = typeof record.Id === 'string' ? record.Id : '';
      const known = unsettled.get(bulkKey(id));
      if (running) {
        answered.set(i, { ok: false, error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: `Bulk API job ${jobId} that carried this record is still running`, recordId: id }) });
        continue;
      }
      unsettled.delete(bulkKey(id));
      const earlier = (results as Map<string, RecordResult> | null)?.get(bulkKey(id));
      if (earlier && known?.values === fingerprint(record) && (earlier.ok || earlier.error.code !== 'TRANSIENT')) answered.set(i, earlier);
    }
  }
  return answered;
}

/**
 * Update through Bulk API 2.0: one ingest job (open, upload CSV, close, poll, results), for write
 * sets above the threshold where one job costs fewer calls than collections of 200. Results come
 * back unordered and are matched by Id. Nothing of the job sent yet (open or upload failed): a
 * failure that may pass is thrown, so that write-back retries the batch. A job that fails or is
 * aborted part-way (or takes longer than `pollTimeoutMs`, when it is aborted) answers the records
 * it reached from its results and the rest TRANSIENT (retried alone). A job whose outcome cannot
 * be read is remembered (settleEarlierJobs) and its records answered with the error.
 */
export async function updateByBulk(
  client: SalesforceClient,
  object: SalesforceObject,
  records: readonly SObjectFields[],
  options: { pollTimeoutMs: number; pollIntervalMs?: number; logger?: ConnectorLogger },
): Promise<RecordResult[]> {
  const out: Array<RecordResult | undefined> = new Array(records.length);
  for (const [i, result] of await settleEarlierJobs(client, records)) out[i] = result;
  const todo = records.map((record, i) => ({ record, i })).filter(({ i }) => !out[i]);
  if (todo.length === 0) return out as RecordResult[];
  const label = `bulk update ${object} x${todo.length}`;

  let jobId: string | undefined;
  let closed = false;
  try {
    await client.call(label, async (conn) => {
      const job = conn.bulk2.createJob({ object, operation: 'update' });
      await job.open();
      jobId = job.id;
      await job.uploadData(uploadRows(todo.map((t) => t.record)));
      await job.close();
      closed = true;
    });
  } catch (err) {
    const error = toCrmError(err);
    // A job opened but never closed never runs: it is aborted so that nobody closes it later.
    if (jobId && !closed) {
      const id = jobId;
      await client.call(`bulk abort ${id}`, (conn) => conn.bulk2.job('ingest', { id }).abort()).catch(() => undefined);
    }
    if (!closed) {
      if (isRetryable(error.code)) throw error;
      for (const { i } of todo) out[i] = { ok: false, error };
      return out as RecordResult[];
    }
    // Closed, then the answer was lost: the job may run, its outcome is asked next time.
    return rememberUnknown(client, out, todo, jobId ?? '', error);
  }
  const id = jobId ?? '';
  let byId: Map<string, RecordResult>;
  try {
    byId = await client.call(`${label} results`, async (conn) => {
      const job = conn.bulk2.job('ingest', { id });
      try {
        await job.poll(options.pollIntervalMs ?? 5_000, options.pollTimeoutMs);
      } catch (err) {
        const ended = jobEnded(err);
        if (!ended) throw err;
        if (ended === 'timeout') {
          options.logger?.warn({ crm: 'salesforce', job: id, object, records: todo.length, timeoutMs: options.pollTimeoutMs }, 'a Bulk API 2.0 ingest job took too long: aborted, its unprocessed records go again');
          await job.abort();
        }
      }
      // The job's last state as polling (or the abort) left it: no extra call.
      const info = parseOrThrow(jobInfoSchema, job.getInfo(), 'Bulk API 2.0 job info');
      if (info.state !== 'JobComplete') options.logger?.warn({ crm: 'salesforce', job: id, object, state: info.state, reason: info.errorMessage ?? null }, 'a Bulk API 2.0 ingest job did not complete: the records it reached are settled, the rest go again');
      return resultsById(await job.getAllResults(), info);
    });
  } catch (err) {
    return rememberUnknown(client, out, todo, id, toCrmError(err));
  }
  for (const { record, i } of todo) {
    const recordId = typeof record.Id === 'string' ? record.Id : '';
    out[i] = byId.get(bulkKey(recordId)) ?? notProcessed(recordId, { id, state: 'JobComplete', errorMessage: 'no result for this record' });
  }
  return out as RecordResult[];
}

function rememberUnknown(client: SalesforceClient, out: Array<RecordResult | undefined>, todo: ReadonlyArray<{ record: SObjectFields; i: number }>, jobId: string, error: CrmError): RecordResult[] {
  const unsettled = unsettledOf(client);
  for (const { record, i } of todo) {
    const recordId = typeof record.Id === 'string' ? record.Id : undefined;
    if (recordId && jobId) unsettled.set(bulkKey(recordId), { jobId, values: fingerprint(record) });
    out[i] = { ok: false, error: recordId ? new CrmError({ ...error.toJSON(), recordId }, { cause: error }) : error };
  }
  return out as RecordResult[];
}
