/**
 * Bulk API 2.0 over `/services/data/vXX.X/jobs/{query|ingest}` (README.md "Bulk API 2.0" has the
 * facts and their sources). Every request here is an API request of the org's daily allocation,
 * counted by the middleware in index.ts like any REST call; query jobs also count against
 * `DailyBulkV2QueryJobs`, and ingest jobs use one of `DailyBulkApiBatches` per 10,000 records.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { apiVersion, param, parseBody, renderQueryRow, sessionUser, visibleSchema } from './context.js';
import type { SandboxContext } from './context.js';
import { restOrigin } from './change-events.js';
import { SfApiError, notFound } from './errors.js';
import { DEFAULT_RESULT_SET, DELIMITERS, csvValue, isTerminal, parseCsv, runIngestJob, selectColumns, toCsv } from './bulk2-jobs.js';
import type { Bulk2Jobs, IngestJob, Job, QueryJob } from './bulk2-jobs.js';
import { dataQueryTarget } from './routes-query.js';
import { compileQuery } from './soql/compile.js';
import { executeQuery } from './soql/evaluate.js';
import { parseSoql } from './soql/parser.js';
import { formatDateTime } from './values.js';
import type { SfRecord } from './values.js';

const MAX_RESULT_SET = 1_000_000;

const queryJobBody = z.object({
  operation: z.enum(['query', 'queryAll']),
  query: z.string().trim().min(1),
  contentType: z.literal('CSV').optional(),
  columnDelimiter: z.literal('COMMA').nullish(),
  lineEnding: z.literal('LF').nullish(),
});
const ingestJobBody = z.object({
  object: z.string().min(1),
  operation: z.enum(['insert', 'update', 'upsert', 'delete', 'hardDelete']),
  externalIdFieldName: z.string().optional(),
  contentType: z.literal('CSV').optional(),
  columnDelimiter: z.enum(['COMMA', 'TAB', 'PIPE', 'SEMICOLON', 'CARET', 'BACKQUOTE']).nullish(),
  lineEnding: z.enum(['LF', 'CRLF']).nullish(),
});
const stateBody = z.object({ state: z.enum(['UploadComplete', 'Aborted']) });
const resultsQuery = z.object({ locator: z.string().optional(), maxRecords: z.coerce.number().int().min(1).max(MAX_RESULT_SET).optional() });

const invalidJob = (message: string) => new SfApiError(400, 'INVALIDJOB', message);
const invalidState = (job: Job, wanted: string) => new SfApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is in state ${job.state}; ${wanted}`);

function jobInfo(job: Job, detail: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatDateTime(job.createdDate),
    systemModstamp: formatDateTime(job.systemModstamp),
    state: job.state,
    ...(job.kind === 'ingest' && job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    ...(job.kind === 'ingest' ? { contentUrl: `services/data/v${job.apiVersion.toFixed(1)}/jobs/ingest/${job.id}/batches` } : {}),
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
  };
  if (!detail) return base;
  const processed = job.kind === 'query' ? (job.rows?.length ?? 0) : job.successful.length + job.failed.length;
  return {
    ...base,
    jobType: job.kind === 'query' ? 'V2Query' : 'V2Ingest',
    numberRecordsProcessed: processed,
    ...(job.kind === 'ingest' ? { numberRecordsFailed: job.failed.length } : {}),
    retries: 0,
    totalProcessingTime: 0,
    ...(job.kind === 'ingest' ? { apiActiveProcessingTime: 0, apexProcessingTime: 0 } : {}),
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  };
}

/** A look at a closed job moves it on: UploadComplete → InProgress → (it runs) JobComplete/Failed. */
function advance(ctx: SandboxContext, jobs: Bulk2Jobs, job: Job, res: Response): void {
  if (job.state === 'UploadComplete') {
    job.state = 'InProgress';
  } else if (job.state === 'InProgress') {
    if (job.kind === 'query') {
      if (job.outcome === 'stall') return;
      if (job.outcome === 'fail') {
        job.state = 'Failed';
      } else {
        const result = executeQuery(job.compiled, ctx.store.source(job.compiled.schema), { includeDeleted: job.includeDeleted });
        job.rows = result.kind === 'records' ? result.rows : [];
        job.state = 'JobComplete';
      }
    } else {
      if (job.stall) return;
      runIngestJob(ctx, jobs, job, (name) => visibleSchema(ctx, res, name));
    }
  } else return;
  job.systemModstamp = ctx.store.now();
}

function findJob(jobs: Bulk2Jobs, req: Request, kind: Job['kind']): Job {
  const job = jobs.get(param(req, 'jobId'));
  if (!job || job.kind !== kind) throw notFound();
  return job;
}

function sendCsv(res: Response, text: string): void {
  res.status(200).type('text/csv').send(text);
}

/** Locators are opaque to clients; here the base64 of the next row's offset. */
const encodeLocator = (offset: number) => Buffer.from(String(offset)).toString('base64url');
function decodeLocator(locator: string): number {
  const n = Number(Buffer.from(locator, 'base64url').toString());
  if (!Number.isInteger(n) || n < 0) throw new SfApiError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator}`);
  return n;
}

export function bulk2Router(ctx: SandboxContext, jobs: Bulk2Jobs): Router {
  const router = express.Router({ mergeParams: true });

  router.post('/jobs/query', (req, res) => {
    const body = parseBody(queryJobBody, req);
    const compiled = compileQuery(parseSoql(body.query), dataQueryTarget(ctx, sessionUser(res)).resolve, ctx.store.now(), ctx.store.finder);
    if (compiled.kind !== 'records') throw invalidJob('Aggregate queries and COUNT() are not supported by Bulk API 2.0 query');
    if (compiled.offset > 0) throw invalidJob('OFFSET is not supported by Bulk API 2.0 query');
    const now = ctx.store.now();
    const job: QueryJob = {
      kind: 'query', id: jobs.nextId(), operation: body.operation, object: compiled.schema.name, createdById: sessionUser(res) ?? '',
      createdDate: now, systemModstamp: now, state: 'UploadComplete', apiVersion: Number(apiVersion(res)),
      compiled, includeDeleted: body.operation === 'queryAll', userId: sessionUser(res), rows: null, outcome: jobs.settings.queryJobs,
    };
    jobs.add(job);
    jobs.queryJobsRun += 1;
    res.json(jobInfo(job, false));
  });

  router.get('/jobs/query/:jobId', (req, res) => {
    const job = findJob(jobs, req, 'query');
    advance(ctx, jobs, job, res);
    res.json(jobInfo(job, true));
  });

  router.get('/jobs/query/:jobId/results', (req, res) => {
    const job = findJob(jobs, req, 'query') as QueryJob;
    if (Number(apiVersion(res)) !== job.apiVersion) throw new SfApiError(409, 'INVALIDJOB', `Job ${job.id} was created with API version ${job.apiVersion.toFixed(1)}; get its results with the same version`);
    if (job.state !== 'JobComplete' || !job.rows) {
      const status = job.state.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
      throw new SfApiError(412, 'JOB_NOT_COMPLETE', `can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: ${status}`);
    }
    const q = resultsQuery.safeParse(req.query);
    if (!q.success) throw new SfApiError(400, 'INVALIDLOCATOR', q.error.issues[0]?.message ?? 'invalid parameters');
    const offset = q.data.locator ? decodeLocator(q.data.locator) : 0;
    const size = q.data.maxRecords ?? jobs.settings.resultPageSize ?? DEFAULT_RESULT_SET;
    const rows = job.rows.slice(offset, offset + size);
    const end = offset + rows.length;
    const columns = selectColumns(job.compiled.select);
    const csvRows = rows.map((r: SfRecord) => {
      const rendered = renderQueryRow(res, job.compiled.schema, r, job.compiled.select);
      return columns.map((c) => csvValue(rendered, c));
    });
    res.setHeader('Sforce-NumberOfRecords', String(rows.length));
    res.setHeader('Sforce-Locator', end < job.rows.length ? encodeLocator(end) : 'null');
    sendCsv(res, toCsv(columns, csvRows));
  });

  router.patch('/jobs/query/:jobId', (req, res) => {
    const job = findJob(jobs, req, 'query');
    const body = parseBody(stateBody, req);
    if (body.state !== 'Aborted') throw invalidJob('A query job can only be aborted');
    if (isTerminal(job.state)) throw invalidState(job, 'it can no longer be aborted');
    job.state = 'Aborted';
    res.json(jobInfo(job, false));
  });

  router.delete(['/jobs/query/:jobId', '/jobs/ingest/:jobId'], (req, res) => {
    const job = jobs.get(param(req, 'jobId'));
    if (!job) throw notFound();
    if (!isTerminal(job.state) && job.state !== 'Open') throw invalidState(job, 'only a finished job can be deleted');
    jobs.delete(job.id);
    res.status(204).end();
  });

  router.post('/jobs/ingest', (req, res) => {
    const body = parseBody(ingestJobBody, req);
    const schema = visibleSchema(ctx, res, body.object);
    if (!schema) throw new SfApiError(400, 'INVALIDJOB', `InvalidJob : Object ${body.object} not found`);
    if (body.operation !== 'insert' && body.operation !== 'update') throw new SfApiError(400, 'FEATURENOTENABLED', `the sandbox serves Bulk API 2.0 insert and update jobs, not ${body.operation}`);
    const now = ctx.store.now();
    const job: IngestJob = {
      kind: 'ingest', id: jobs.nextId(), operation: body.operation, object: schema.name, createdById: sessionUser(res) ?? '',
      createdDate: now, systemModstamp: now, state: 'Open', apiVersion: Number(apiVersion(res)),
      ...(body.externalIdFieldName ? { externalIdFieldName: body.externalIdFieldName } : {}),
      header: null, rows: [], origin: restOrigin(apiVersion(res), req.header('sforce-call-options')), userId: sessionUser(res),
      failAfter: null, stall: false, successful: [], failed: [], unprocessed: [],
    };
    jobs.add(job);
    res.json(jobInfo(job, false));
  });

  router.put('/jobs/ingest/:jobId/batches', express.text({ type: () => true, limit: '150mb' }), (req, res) => {
    const job = findJob(jobs, req, 'ingest') as IngestJob;
    if (job.state !== 'Open') throw invalidState(job, 'data can be uploaded only while it is Open');
    if (!/^text\/csv\b/i.test(req.header('content-type') ?? '')) throw new SfApiError(400, 'INVALIDJOB', 'Upload the job data as text/csv');
    const text = typeof req.body === 'string' ? req.body : '';
    const rows = parseCsv(text, DELIMITERS.COMMA as string);
    const [header, ...data] = rows;
    if (header) {
      if (job.header && job.header.join(',') !== header.join(',')) throw new SfApiError(400, 'INVALIDJOB', 'Every upload of a job must have the same header');
      job.header = header;
      job.rows.push(...data);
    }
    res.status(201).end();
  });

  router.patch('/jobs/ingest/:jobId', (req, res) => {
    const job = findJob(jobs, req, 'ingest') as IngestJob;
    const body = parseBody(stateBody, req);
    if (body.state === 'UploadComplete') {
      if (job.state !== 'Open') throw invalidState(job, 'only an Open job can be closed');
      job.state = 'UploadComplete';
      job.failAfter = jobs.settings.failIngestAfter;
      job.stall = jobs.settings.ingestJobs === 'stall';
      jobs.settings.failIngestAfter = null;
    } else {
      if (isTerminal(job.state)) throw invalidState(job, 'it can no longer be aborted');
      job.state = 'Aborted';
      job.unprocessed = job.rows;
    }
    job.systemModstamp = ctx.store.now();
    res.json(jobInfo(job, false));
  });

  router.get('/jobs/ingest/:jobId', (req, res) => {
    const job = findJob(jobs, req, 'ingest');
    advance(ctx, jobs, job, res);
    res.json(jobInfo(job, true));
  });

  const ingestResults = (req: Request): IngestJob => {
    const job = findJob(jobs, req, 'ingest') as IngestJob;
    if (!isTerminal(job.state)) throw invalidState(job, 'results are available once it has finished');
    return job;
  };
  router.get('/jobs/ingest/:jobId/successfulResults', (req, res) => {
    const job = ingestResults(req);
    sendCsv(res, toCsv(['sf__Id', 'sf__Created', ...(job.header ?? [])], job.successful.map((s) => [s.id, String(s.created), ...s.row])));
  });
  router.get('/jobs/ingest/:jobId/failedResults', (req, res) => {
    const job = ingestResults(req);
    sendCsv(res, toCsv(['sf__Id', 'sf__Error', ...(job.header ?? [])], job.failed.map((f) => [f.id, f.error, ...f.row])));
  });
  router.get('/jobs/ingest/:jobId/unprocessedrecords', (req, res) => {
    const job = ingestResults(req);
    sendCsv(res, toCsv(job.header ?? [], job.unprocessed));
  });

  return router;
}

/** `PUT /__sandbox/bulk`: the result set size and the next jobs' faults (never counted). */
export const bulkSettingsBody = z.object({
  resultPageSize: z.number().int().min(1).max(MAX_RESULT_SET).nullable().optional(),
  queryJobs: z.enum(['complete', 'fail', 'stall']).optional(),
  failIngestAfter: z.number().int().min(0).nullable().optional(),
  ingestJobs: z.enum(['complete', 'stall']).optional(),
});
