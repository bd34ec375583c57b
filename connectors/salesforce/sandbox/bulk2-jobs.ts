/**
 * Bulk API 2.0 jobs (routes-bulk2.ts serves them): their state machine, the CSV both ways, and the
 * ingest job's processing through the same validation and store writes as sObject Collections
 * (routes-composite.ts `planWrite` / `commit`), so field rules, per-record errors, SystemModstamp
 * and the change event's `changeOrigin` are the same whichever API wrote a record. Facts and
 * sources: README.md "Bulk API 2.0".
 *
 * A job moves on when it is looked at: created `UploadComplete` (query) or `Open` (ingest), closed
 * `UploadComplete`, `InProgress` at the first look after that, `JobComplete` (or `Failed`) at the
 * next, when it runs. A real job takes seconds at least, so a client polls twice or more; the
 * sandbox never finishes sooner than that.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { SandboxContext } from './context.js';
import { withWriteOrigin } from './change-events.js';
import { commit, planWrite } from './routes-composite.js';
import type { Planned, SchemaLookup } from './routes-composite.js';
import type { CompiledQuery, SelectNode } from './soql/compile.js';
import { makeId } from './values.js';
import type { SfRecord } from './values.js';
import type { RecordError } from './errors.js';

export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
export type IngestOperation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';

/** Records per internal batch: each counts once against the daily batch allocation. */
export const RECORDS_PER_BATCH = 10_000;
/** Result rows per set when the client names no `maxRecords` (Salesforce cuts sets by size [U]). */
export const DEFAULT_RESULT_SET = 50_000;

/** Fault and pacing settings of the control surface (`PUT /__sandbox/bulk`). */
export interface BulkSettings {
  /** Rows per result set when the request has no maxRecords (default DEFAULT_RESULT_SET). */
  resultPageSize: number | null;
  /** `fail`: the next query jobs end Failed; `stall`: they stay InProgress; `complete`: normal. */
  queryJobs: 'complete' | 'fail' | 'stall';
  /** The next ingest job fails after processing this many records (the rest unprocessed). */
  failIngestAfter: number | null;
  /** `stall`: ingest jobs closed from now on stay InProgress (until aborted); `complete`: normal. */
  ingestJobs: 'complete' | 'stall';
}

interface JobBase {
  id: string;
  operation: string;
  object: string;
  createdById: string;
  createdDate: number;
  systemModstamp: number;
  state: JobState;
  apiVersion: number;
  errorMessage?: string;
}

export interface QueryJob extends JobBase {
  kind: 'query';
  compiled: CompiledQuery;
  includeDeleted: boolean;
  userId: string | undefined;
  rows: SfRecord[] | null;
  outcome: BulkSettings['queryJobs'];
}

export interface IngestJob extends JobBase {
  kind: 'ingest';
  externalIdFieldName?: string;
  /** The uploaded CSV's header and rows (strings, as sent). */
  header: string[] | null;
  rows: string[][];
  origin: string;
  userId: string | undefined;
  failAfter: number | null;
  stall: boolean;
  successful: Array<{ id: string; created: boolean; row: string[] }>;
  failed: Array<{ id: string; error: string; row: string[] }>;
  unprocessed: string[][];
}

export type Job = QueryJob | IngestJob;

const TERMINAL: ReadonlySet<JobState> = new Set(['JobComplete', 'Failed', 'Aborted']);

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

/** The jobs of the org, with the daily counters `/limits` reports. */
export class Bulk2Jobs {
  private jobs = new Map<string, Job>();
  private counter = 0;
  queryJobsRun = 0;
  batchesUsed = 0;
  settings: BulkSettings = { resultPageSize: null, queryJobs: 'complete', failIngestAfter: null, ingestJobs: 'complete' };

  nextId(): string {
    this.counter += 1;
    return makeId('750', this.counter);
  }

  add(job: Job): void {
    this.jobs.set(job.id, job);
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id) ?? [...this.jobs.values()].find((j) => j.id.slice(0, 15) === id.slice(0, 15));
  }

  delete(id: string): boolean {
    const job = this.get(id);
    return job ? this.jobs.delete(job.id) : false;
  }

  clear(): void {
    this.jobs.clear();
    this.queryJobsRun = 0;
    this.batchesUsed = 0;
    this.settings = { resultPageSize: null, queryJobs: 'complete', failIngestAfter: null, ingestJobs: 'complete' };
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Column names of a query's select list: parent fields as `Account.Name`. */
export function selectColumns(select: readonly SelectNode[], prefix = ''): string[] {
  return select.flatMap((node) => (node.kind === 'field' ? [`${prefix}${node.field.name}`] : selectColumns(node.children, `${prefix}${node.hop.name}.`)));
}

/** A value of a rendered row (REST form) by its dotted column, as Bulk API 2.0 writes it in CSV. */
export function csvValue(row: Record<string, unknown>, column: string): string {
  let value: unknown = row;
  for (const part of column.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/.test(value) ? value.replace('+0000', 'Z') : value;
  return String(value);
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  // Every value quoted, as Salesforce writes its result files.
  return stringify([header as string[], ...(rows as string[][])], { quoted: true, record_delimiter: '\n' });
}

export function parseCsv(text: string, delimiter: string): string[][] {
  return parse(text, { delimiter, skip_empty_lines: true, relax_column_count: false }) as string[][];
}

export const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', PIPE: '|', SEMICOLON: ';', CARET: '^', BACKQUOTE: '`' };

// ---------------------------------------------------------------------------------------------
// Processing

/**
 * One CSV row as a record for planWrite: an empty value leaves the field as it is, `#N/A` empties
 * it (Bulk API 2.0's null); relationship columns are not part of a write here.
 */
function rowRecord(header: readonly string[], row: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const value = row[i] ?? '';
    if (value === '') return;
    out[name] = value === '#N/A' ? null : value;
  });
  return out;
}

/** `STATUS_CODE:message:fields`, Bulk API's sf__Error form. */
function errorText(errors: readonly RecordError[]): string {
  const first = errors[0];
  if (!first) return 'UNKNOWN_EXCEPTION:an unknown error occurred:--';
  return `${first.statusCode}:${first.message}:${first.fields.length ? first.fields.join(',') : '--'}`;
}

/** Runs a closed ingest job through the store, a batch of 10,000 records per transaction. */
export function runIngestJob(ctx: SandboxContext, jobs: Bulk2Jobs, job: IngestJob, lookup: SchemaLookup): void {
  const header = job.header ?? [];
  const schema = lookup(job.object);
  const unknown = schema ? header.filter((h) => !h.includes('.') && !schema.field(h)) : [];
  if (!schema || unknown.length > 0 || header.length === 0) {
    job.state = 'Failed';
    job.errorMessage = !schema ? `InvalidBatch : Object ${job.object} not found` : header.length === 0 ? 'InvalidBatch : No content to process' : `InvalidBatch : Field name not found : ${unknown[0]}`;
    job.unprocessed = job.rows;
    return;
  }
  const idColumn = header.findIndex((h) => h.toLowerCase() === 'id');
  const limit = job.failAfter ?? Number.POSITIVE_INFINITY;
  const todo = job.rows.slice(0, Math.min(job.rows.length, limit));
  withWriteOrigin(job.origin, () => {
    for (let start = 0; start < todo.length; start += RECORDS_PER_BATCH) {
      const part = todo.slice(start, start + RECORDS_PER_BATCH);
      jobs.batchesUsed += 1;
      const seen = new Set<string>();
      const plans: Planned[] = part.map((row) => {
        const record = { ...rowRecord(header, row), attributes: { type: job.object } };
        if (job.operation === 'update') return planWrite(ctx.store, lookup, { ...record, id: idColumn >= 0 ? row[idColumn] : undefined }, 'update', seen);
        return planWrite(ctx.store, lookup, record, 'create', seen);
      });
      const results = commit(ctx, plans, false, job.userId);
      results.forEach((r, n) => {
        const row = part[n] as string[];
        if (r.success && r.id) job.successful.push({ id: r.id, created: job.operation === 'insert', row });
        else job.failed.push({ id: '', error: errorText(r.errors), row });
      });
    }
  });
  job.unprocessed = job.rows.slice(todo.length);
  if (todo.length < job.rows.length) {
    job.state = 'Failed';
    job.errorMessage = 'InternalServerError : the job stopped before processing every record';
  } else job.state = 'JobComplete';
}
