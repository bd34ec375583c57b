/**
 * The Salesforce change feed: SOQL polling on `SystemModstamp` with a `(timestamp, Id)` cursor, one
 * stream per object ('Lead', 'Contact'). Each page is one query call of up to 2,000 rows:
 *
 *   WHERE SystemModstamp > :ts OR (SystemModstamp = :ts AND Id > :id)
 *   ORDER BY SystemModstamp, Id LIMIT 2000
 *
 * SystemModstamp is not unique (a bulk update stamps thousands of rows alike): the Id tie-breaker
 * means rows sharing a timestamp are neither skipped at a page boundary nor read forever. The
 * change feed reads through `queryAll` (jsforce `scanAll`), so deleted rows come back with
 * `IsDeleted = true` and become removals; a full read uses plain `query`. A page answered with
 * fewer rows than asked and `done: false` (Salesforce may cut batches short) simply continues from
 * the cursor, at the same cost of one call per page.
 *
 * An org stamps whole seconds (`.000+0000`), so a second is complete only once no later write can
 * still be stamped with it. The window's upper bound (`until`, now minus the safety margin) is cut
 * back to the end of the last complete second: were the feed to read into the open second, a row
 * changed later in that same second with an Id below the cursor's would tie behind the cursor and
 * never be read. (A window without `until` has no such guard.)
 */
import { z } from 'zod';
import type { SalesforceObject } from '../../src/model/lead.js';
import { CrmError, isCrmError } from '../errors.js';
import type { ChangeOptions, ChangePage, ConnectorLogger, RecordProblem, StreamPosition } from '../types.js';
import { bulkQueryRows } from './bulk-query.js';
import type { BulkQueryOptions } from './bulk-query.js';
import type { SalesforceClient } from './client.js';
import { stopsTheRun, toCrmError } from './client.js';
import { readFields } from './fields.js';
import type { SyncField } from '../../src/model/field-sync.js';
import { mapRow } from './mapping.js';
import type { Translations } from './picklists.js';
import type { OrgMetadata } from './metadata.js';
import { changeFeedQuery, countQuery, snapshotQuery, toIsoDateTime } from './soql.js';

/** Salesforce's largest query batch (crm-api.md S1). */
export const PAGE_SIZE = 2000;

export const STREAMS: readonly SalesforceObject[] = ['Lead', 'Contact'];

export interface FeedDeps {
  client: SalesforceClient;
  metadata: OrgMetadata;
  translations: () => Promise<Translations>;
  /** Whether queries may use relationship fields (`Account.Name`); default true. */
  relationships?: boolean;
  /** Fields copied between the CRMs: read with every row. */
  syncFields?: readonly SyncField[];
  /** Where reps keep their notes (Lead and Contact), read into `sales.notes`; null: not read. */
  salesNotesField?: string | null;
  /** Full reads of a stream above `threshold` rows go by one Bulk API 2.0 query job (bulk-query.ts). */
  bulkQuery?: BulkQueryOptions;
  logger?: ConnectorLogger;
}

export interface StreamOptions {
  /** Include deleted rows (queryAll). */
  scanAll: boolean;
  /** Upper bound of the window (now minus a safety margin), if any. */
  until?: Date | null;
  /**
   * Without `until` (no safety margin), the time of the read: the rows of its still-open second
   * are read, but the position handed on never passes the last complete second, so the next read
   * takes that second again (re-reading a record is harmless) and a row stamped later in the same
   * second, with an Id below the last one read, is not skipped.
   */
  openSecondAt?: Date | null;
  maxPages?: number;
  signal?: AbortSignal;
  pageSize?: number;
  /** A fixed SOQL condition the feed's rows must also meet (code-defined, never user input). */
  filter?: string;
}

/**
 * The last instant of the last second that is complete at `until`: writes after `until` are
 * stamped in `until`'s second or later, so only the seconds before it are closed (unless `until`
 * is the second's final millisecond). `SystemModstamp <= 10:00:04.999Z` selects the same stamps
 * whether an org compares at the millisecond or ignores it (the literal names 10:00:04 either way).
 */
export function lastCompleteSecond(until: Date): Date {
  const ms = until.getTime() + 1;
  return new Date(ms - (((ms % 1000) + 1000) % 1000) - 1);
}

/** The later of two positions (a clamp never moves a cursor back before where the read began). */
function maxPosition(a: StreamPosition | null, b: StreamPosition): StreamPosition {
  if (!a) return b;
  const at = Date.parse(a.ts);
  const bt = Date.parse(b.ts);
  if (at !== bt) return at > bt ? a : b;
  return a.id >= b.id ? a : b;
}

/** The smk fields the org has on `object` decide the select list (a missing field fails the query). */
async function fieldsFor(deps: FeedDeps, object: SalesforceObject): Promise<string[]> {
  const meta = await deps.metadata.object(object);
  return readFields(object, new Set(meta.fields.keys()), { relationships: deps.relationships, syncFields: deps.syncFields, salesNotesField: deps.salesNotesField });
}

const rowPositionSchema = z.object({ Id: z.string(), SystemModstamp: z.string() });

/** A row's place in its stream: its `(SystemModstamp, Id)`, when it has them. */
function rowPosition(raw: unknown): StreamPosition | null {
  const row = rowPositionSchema.safeParse(raw);
  const ts = row.success ? toIsoDateTime(row.data.SystemModstamp) : null;
  return row.success && ts ? { ts, id: row.data.Id } : null;
}

/** The position handed on after a page: never past the last complete second of an open window (StreamOptions). */
function handOn(start: StreamPosition | null, options: StreamOptions): (p: StreamPosition | null) => StreamPosition | null {
  const closedUpTo = !options.until && options.openSecondAt ? lastCompleteSecond(options.openSecondAt) : null;
  return (p) => (closedUpTo && p && Date.parse(p.ts) > closedUpTo.getTime() ? maxPosition(start, { ts: closedUpTo.toISOString(), id: '' }) : p);
}

/** `(SystemModstamp, Id)` order, the feed's; rows without a position first (they move no cursor). */
function byPosition(a: StreamPosition | null, b: StreamPosition | null): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const at = Date.parse(a.ts);
  const bt = Date.parse(b.ts);
  if (at !== bt) return at - bt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A stream read from its start. Its first SOQL page comes first; a stream that fills it may be big:
 * one `COUNT()` call tells how many rows are left, and above the bulk threshold one Bulk API 2.0
 * query job reads them, its rows put in `(SystemModstamp, Id)` order and handed on in pages with
 * the same positions as the SOQL feed's. Otherwise, or when the job fails or times out (logged),
 * the SOQL pages go on. A small stream costs no call more than before; a run limited to fewer
 * pages than the stream holds reads SOQL pages (a job would read rows the run cannot hand on).
 */
async function* snapshotPages(deps: FeedDeps, object: SalesforceObject, fields: readonly string[], options: StreamOptions): AsyncGenerator<{ rows: unknown[]; position: StreamPosition | null }> {
  const bulk = deps.bulkQuery;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const soql = modstampPages(deps.client, object, fields, null, options);
  if (!bulk || !Number.isFinite(bulk.threshold)) {
    yield* soql;
    return;
  }
  const first = await soql.next();
  if (first.done) return;
  yield first.value;
  const after = first.value.position;
  const until = options.until ? lastCompleteSecond(options.until) : null;
  const more = first.value.rows.length >= pageSize && after !== null && !options.signal?.aborted;
  const left = more ? ((await deps.client.queryPage(`count ${object}`, countQuery(object, { from: after, until }), { scanAll: options.scanAll })).totalSize ?? 0) : 0;
  const pagesLeft = options.maxPages === undefined ? Number.POSITIVE_INFINITY : options.maxPages - 1;
  if (!more || left + first.value.rows.length <= bulk.threshold || pagesLeft * pageSize < left) {
    yield* soql;
    return;
  }
  await soql.return(undefined);
  let rows: Array<Record<string, unknown>>;
  try {
    const meta = await deps.metadata.object(object);
    const types = new Map([...meta.fields].map(([name, f]) => [name, f.type]));
    rows = await bulkQueryRows(deps.client, `bulk read ${object} x${left}`, snapshotQuery(object, fields, { from: after, until }), { ...bulk, scanAll: options.scanAll, types });
  } catch (err) {
    const error = toCrmError(err);
    if (stopsTheRun(error)) throw error;
    deps.logger?.warn(
      { crm: 'salesforce', object, rows: left, code: error.code, vendorCode: error.vendorCode, reason: error.message },
      `the Bulk API 2.0 query job for ${object} did not complete (${error.message}): reading ${object} by SOQL pages instead`,
    );
    yield* modstampPages(deps.client, object, fields, after, options);
    return;
  }
  const handedOn = handOn(null, options);
  const ordered = rows.map((row) => ({ row, position: rowPosition(row) })).sort((a, b) => byPosition(a.position, b.position));
  let last: StreamPosition | null = after;
  for (let i = 0; i < ordered.length; i += pageSize) {
    if (options.signal?.aborted) return;
    const page = ordered.slice(i, i + pageSize);
    for (const r of page) last = r.position ?? last;
    yield { rows: page.map((r) => r.row), position: handedOn(last) };
  }
}

/**
 * Pages of one object's rows by `(SystemModstamp, Id)` from `start`, each with the position after
 * it (clamped to the last complete second, see StreamOptions). Any object with SystemModstamp.
 */
export async function* modstampPages(
  client: SalesforceClient,
  object: string,
  fields: readonly string[],
  start: StreamPosition | null,
  options: StreamOptions,
): AsyncGenerator<{ rows: unknown[]; position: StreamPosition | null }> {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const until = options.until ? lastCompleteSecond(options.until) : null;
  const handedOn = handOn(start, options);
  let position = start;
  for (let pages = 0; options.maxPages === undefined || pages < options.maxPages; pages++) {
    if (options.signal?.aborted) return;
    const soql = changeFeedQuery(object, fields, position, { limit: pageSize, until, ...(options.filter ? { filter: options.filter } : {}) });
    const page = await client.queryPage(`changes ${object}`, soql, { scanAll: options.scanAll });
    let last = position;
    for (const raw of page.records) last = rowPosition(raw) ?? last;
    const moved = last !== null && (last.ts !== position?.ts || last.id !== position?.id);
    if (page.records.length > 0) yield { rows: page.records, position: handedOn(last) };
    // The end: a short final batch, or (defensively) a page that did not move the cursor.
    if (!moved || (page.records.length < pageSize && page.done !== false)) return;
    position = last;
  }
}

/** A side feed's row of the wrong shape, as a problem naming the object, the id and the field. */
export function rowProblem(object: string, raw: unknown, error: z.ZodError): RecordProblem {
  const id = z.looseObject({ Id: z.string() }).safeParse(raw);
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || undefined;
  return {
    ref: null,
    code: 'VALIDATION',
    message: `${object} ${id.success ? id.data.Id : ''} row does not have the expected shape: ${field ?? ''} ${issue?.message ?? ''}`.replace(/\s+/g, ' ').trim(),
    ...(field ? { field } : {}),
  };
}

/** The stream options of a side feed (accounts, opportunities, activities) read with queryAll. */
export function sideFeedOptions(options: ChangeOptions & { pageSize?: number }, filter?: string): StreamOptions {
  const until = options.safetyMarginMs ? new Date((options.now ?? new Date()).getTime() - options.safetyMarginMs) : null;
  return {
    scanAll: true,
    until,
    openSecondAt: until ? null : (options.now ?? new Date()),
    maxPages: options.maxPages,
    signal: options.signal,
    pageSize: options.pageSize ?? PAGE_SIZE,
    ...(filter ? { filter } : {}),
  };
}

/**
 * A query on an object the integration user cannot see, as PERMISSION naming what to grant.
 * Salesforce answers INVALID_TYPE, "sObject type 'X' is not supported" (the answer for an object
 * that is missing or not visible to the running user), which the client takes for a bad query
 * (VALIDATION); on a feed of a standard object it can only mean the refusal. [S Salesforce
 * Dictionary, "INVALID_TYPE: sObject type 'X' is not supported": "the running user lacks
 * permission to see the object" https://salesforcedictionary.com/errors/invalid-type-cannot-find-sobject]
 */
export function invisibleObjectRefusal(err: unknown, object: string): unknown {
  if (!isCrmError(err) || err.crm !== 'salesforce' || err.vendorCode !== 'INVALID_TYPE') return err;
  return new CrmError({
    crm: 'salesforce',
    code: 'PERMISSION',
    vendorCode: err.vendorCode,
    ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
    message: `the integration user cannot read ${object} (Salesforce answers that the ${object} object is not supported for it): give it Read on ${object}`,
  }, { cause: err });
}

/** modstampPages of a side feed: a refusal to see the object surfaces as PERMISSION (invisibleObjectRefusal). */
export async function* visibleModstampPages(
  client: SalesforceClient,
  object: string,
  fields: readonly string[],
  start: StreamPosition | null,
  options: StreamOptions,
): AsyncGenerator<{ rows: unknown[]; position: StreamPosition | null }> {
  const pages = modstampPages(client, object, fields, start, options)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<{ rows: unknown[]; position: StreamPosition | null }>;
      try {
        next = await pages.next();
      } catch (err) {
        throw invisibleObjectRefusal(err, object);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await pages.return?.(undefined);
  }
}

export async function* readStream(
  deps: FeedDeps,
  object: SalesforceObject,
  start: StreamPosition | null,
  options: StreamOptions,
): AsyncGenerator<ChangePage> {
  const fields = await fieldsFor(deps, object);
  const translations = await deps.translations();
  const pages = start === null ? snapshotPages(deps, object, fields, options) : modstampPages(deps.client, object, fields, start, options);
  for await (const page of pages) {
    const out: ChangePage = { stream: object, fragments: [], removed: [], problems: [], position: page.position };
    for (const raw of page.rows) {
      const mapped = mapRow(object, raw, translations, deps.syncFields, deps.salesNotesField);
      if (mapped.fragment) out.fragments.push(mapped.fragment);
      if (mapped.removed) out.removed.push(mapped.removed);
      if (mapped.problem) out.problems.push(mapped.problem);
    }
    yield out;
  }
}
