/**
 * `GET /query?q=`, `/queryAll?q=` and `/query/{locator}` (crm-api.md S1): batches of 2,000 (or the
 * `Sforce-Query-Options: batchSize=N` asked for, 200 to 2,000), `nextRecordsUrl` while more remain,
 * `COUNT()` as `{totalSize, done: true, records: []}`. The locator route answers under any version,
 * since jsforce re-requests it with the connection's own version.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { dataBase, param, parseQuery, renderQueryRow, sessionUser } from './context.js';
import type { SandboxContext } from './context.js';
import { SfApiError } from './errors.js';
import type { SObjectSchema } from './objects.js';
import type { Cursor } from './query-cursors.js';
import { compileQuery } from './soql/compile.js';
import type { CompiledQuery, RecordFinder, SchemaResolver, SelectNode } from './soql/compile.js';
import { executeQuery } from './soql/evaluate.js';
import type { QuerySource } from './soql/evaluate.js';
import { parseSoql } from './soql/parser.js';
import type { SfRecord } from './values.js';

export const DEFAULT_BATCH = 2000;
const MIN_BATCH = 200;

/** What a query runs against: the data API's objects or the Tooling API's. */
export interface QueryTarget {
  resolve: SchemaResolver;
  source(schema: SObjectSchema): QuerySource;
  /** Looks parents up by id for relationship paths (`Account.Name`); none without it. */
  find?: RecordFinder;
  render(res: Response, schema: SObjectSchema, record: SfRecord, select: readonly SelectNode[]): Record<string, unknown>;
  /** A last check on the compiled query and its row count (tooling's single-row FullName rule). */
  check?(query: CompiledQuery, rows: number): void;
}

/** `Sforce-Query-Options: batchSize=N`, clamped to Salesforce's 200..2000; null when absent. */
export function requestedBatchSize(req: Request): number | null {
  const header = req.headers['sforce-query-options'];
  const m = typeof header === 'string' ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  if (!m) return null;
  return Math.min(DEFAULT_BATCH, Math.max(MIN_BATCH, Number(m[1])));
}

const queryParams = z.object({ q: z.string().trim().min(1, 'A query string has to be specified') });

function sendPage(req: Request, res: Response, ctx: SandboxContext, target: QueryTarget, cursor: Cursor, offset: number): void {
  const size = requestedBatchSize(req) ?? cursor.batchSize;
  const end = Math.min(cursor.rows.length, offset + size);
  const records: Array<Record<string, unknown>> = [];
  for (let i = offset; i < end; i++) records.push(target.render(res, cursor.schema, cursor.rows[i] as SfRecord, cursor.select));
  const done = end >= cursor.rows.length;
  res.json({
    totalSize: cursor.rows.length,
    done,
    ...(done ? {} : { nextRecordsUrl: `${dataBase(res)}/query/${cursor.id}-${end}` }),
    records,
  });
}

/** Runs one SOQL request and answers its first batch. */
export function answerQuery(req: Request, res: Response, ctx: SandboxContext, target: QueryTarget, includeDeleted: boolean): void {
  const { q } = parseQuery(queryParams, req, 'MALFORMED_QUERY');
  const compiled = compileQuery(parseSoql(q), target.resolve, ctx.store.now(), target.find);
  const result = executeQuery(compiled, target.source(compiled.schema), { includeDeleted });
  if (result.kind === 'count') {
    res.json({ totalSize: result.count, done: true, records: [] });
    return;
  }
  if (result.kind === 'aggregate') {
    if (result.rows.length > DEFAULT_BATCH) {
      throw new SfApiError(400, 'EXCEEDED_ID_LIMIT', 'Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch');
    }
    res.json({ totalSize: result.rows.length, done: true, records: result.rows });
    return;
  }
  target.check?.(compiled, result.rows.length);
  const batchSize = requestedBatchSize(req) ?? DEFAULT_BATCH;
  const rows = result.rows;
  if (rows.length <= batchSize) {
    res.json({ totalSize: rows.length, done: true, records: rows.map((r) => target.render(res, compiled.schema, r, compiled.select)) });
    return;
  }
  const cursor = ctx.cursors.create(compiled.schema, compiled.select, rows, batchSize);
  sendPage(req, res, ctx, target, cursor, 0);
}

/** Answers a `nextRecordsUrl` request. */
export function answerLocator(req: Request, res: Response, ctx: SandboxContext, target: QueryTarget): void {
  const found = ctx.cursors.resolve(param(req, 'locator'));
  if (!found) throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  sendPage(req, res, ctx, target, found.cursor, found.offset);
}

/** The data API's objects as `userId` sees them (field-level security); all of them without a user. */
export function dataQueryTarget(ctx: SandboxContext, userId?: string): QueryTarget {
  return {
    resolve: (name) => {
      const schema = ctx.store.schema(name);
      return schema ? ctx.security.schemaFor(userId, schema) : undefined;
    },
    source: (schema) => ctx.store.source(schema),
    find: ctx.store.finder,
    render: renderQueryRow,
  };
}

export function queryRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const target = (res: Response) => dataQueryTarget(ctx, sessionUser(res));
  router.get('/query', (req, res) => answerQuery(req, res, ctx, target(res), false));
  router.get('/queryAll', (req, res) => answerQuery(req, res, ctx, target(res), true));
  router.get(['/query/:locator', '/queryAll/:locator'], (req, res) => answerLocator(req, res, ctx, target(res)));
  return router;
}
