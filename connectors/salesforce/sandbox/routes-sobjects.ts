/**
 * The sObject resources: describeGlobal, basic info, describe, and single-record create (201
 * `{id, success, errors}`), read (`?fields=`), update (204) and delete (204; the record stays with
 * IsDeleted = true for queryAll), plus `updated` / `deleted` for polling by time window.
 * Errors are request-level arrays `[{message, errorCode, fields}]`.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { dataBase, param, parseBody, parseQuery, renderRecord, sessionUser, visibleSchema } from './context.js';
import type { SandboxContext } from './context.js';
import { describeGlobalEntry, describeSObject } from './describe.js';
import { NOT_FOUND_MESSAGE, SfApiError, notFound } from './errors.js';
import type { SObjectSchema } from './objects.js';
import { resolveTarget, validateFields } from './validation.js';
import { formatDateTime, isIdShaped, parseDateTime } from './values.js';

const recordBody = z.record(z.string(), z.unknown());
const fieldsQuery = z.object({ fields: z.string().optional() });
const windowQuery = z.object({ start: z.string(), end: z.string() });

/** The object of the path, as the session's user sees it (field-level security). */
function schemaOf(ctx: SandboxContext, req: Request, res: Response): SObjectSchema {
  const schema = visibleSchema(ctx, res, param(req, 'type'));
  if (!schema) throw notFound();
  return schema;
}

/** Where a target error lands on a single-record route: missing things are 404s. */
function targetStatus(code: string): number {
  return code === 'ENTITY_IS_DELETED' || code === 'INVALID_CROSS_REFERENCE_KEY' || code === 'MALFORMED_ID' ? 404 : 400;
}

function timeWindow(req: Request): { start: number; end: number } {
  const { start, end } = parseQuery(windowQuery, req, 'INVALID_REPLICATION_DATE');
  const s = parseDateTime(start);
  const e = parseDateTime(end);
  if (s === null || e === null || e < s) throw new SfApiError(400, 'INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate by more than one minute');
  // The replication API truncates to whole minutes.
  return { start: Math.floor(s / 60_000) * 60_000, end: Math.floor(e / 60_000) * 60_000 };
}

export function sobjectsRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;

  router.get('/sobjects', (_req, res) => {
    res.json({ encoding: 'UTF-8', maxBatchSize: 200, sobjects: [...store.schemas.values()].map((s) => describeGlobalEntry(s, dataBase(res))) });
  });

  router.get('/sobjects/:type', (req, res) => {
    res.json({ objectDescribe: describeGlobalEntry(schemaOf(ctx, req, res), dataBase(res)), recentItems: [] });
  });

  router.get('/sobjects/:type/describe', (req, res) => {
    res.json(describeSObject(schemaOf(ctx, req, res), dataBase(res)));
  });

  router.get('/sobjects/:type/updated', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const { start, end } = timeWindow(req);
    const ids: string[] = [];
    for (const r of store.source(schema).scanByModstamp?.(start, end - 1, 'asc') ?? []) if (r.IsDeleted !== true) ids.push(String(r.Id));
    res.json({ ids, latestDateCovered: formatDateTime(end) });
  });

  router.get('/sobjects/:type/deleted', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const { start, end } = timeWindow(req);
    const deletedRecords: Array<{ id: string; deletedDate: string }> = [];
    for (const r of store.source(schema).scanByModstamp?.(start, end - 1, 'asc') ?? []) {
      if (r.IsDeleted === true) deletedRecords.push({ id: String(r.Id), deletedDate: formatDateTime(r.SystemModstamp as number) });
    }
    res.json({ deletedRecords, earliestDateAvailable: formatDateTime(start), latestDateCovered: formatDateTime(end) });
  });

  router.post('/sobjects/:type', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const body = parseBody(recordBody, req);
    if (!schema.flags.createable) throw new SfApiError(400, 'INVALID_TYPE', `Cannot create records of type ${schema.name}`);
    const result = validateFields(schema, body, 'create', store);
    if (!result.ok) throw SfApiError.fromRecordErrors(result.errors);
    const record = store.insert(schema.name, result.values, { actorId: sessionUser(res) });
    res.status(201).json({ id: record.Id, success: true, errors: [] });
  });

  router.get('/sobjects/:type/:id', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const id = param(req, 'id');
    const { fields } = parseQuery(fieldsQuery, req, 'INVALID_FIELD');
    const columns = fields
      ? fields.split(',').map((name) => {
          const f = schema.field(name.trim());
          if (!f) throw new SfApiError(400, 'INVALID_FIELD', `No such column '${name.trim()}' on entity '${schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
          return f;
        })
      : schema.fields;
    if (!isIdShaped(id)) throw notFound(`Provided external ID field does not exist or is not accessible: ${id}`);
    const found = store.find(id);
    if (!found || found.table.schema.name !== schema.name) throw notFound(NOT_FOUND_MESSAGE);
    if (found.record.IsDeleted === true) throw new SfApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    res.json(renderRecord(res, schema, found.record, columns));
  });

  router.patch('/sobjects/:type/:id', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const body = parseBody(recordBody, req);
    const target = resolveTarget(store, schema, param(req, 'id'), 'update');
    if ('error' in target) throw SfApiError.fromRecordErrors([target.error], targetStatus(target.error.statusCode));
    const result = validateFields(schema, body, 'update', store, target.record);
    if (!result.ok) throw SfApiError.fromRecordErrors(result.errors);
    store.update(target.record, result.values, { actorId: sessionUser(res) });
    res.status(204).end();
  });

  router.delete('/sobjects/:type/:id', (req, res) => {
    const schema = schemaOf(ctx, req, res);
    const target = resolveTarget(store, schema, param(req, 'id'), 'delete');
    if ('error' in target) throw SfApiError.fromRecordErrors([target.error], targetStatus(target.error.statusCode));
    if (target.schema.flags.softDelete) store.softDelete(target.record, { actorId: sessionUser(res) });
    else store.remove(target.record);
    res.status(204).end();
  });

  const methodNotAllowed = (allowed: string) => (req: Request, res: Response) => {
    res.status(405).json([{ errorCode: 'METHOD_NOT_ALLOWED', message: `HTTP Method '${req.method}' not allowed. Allowed are ${allowed}` }]);
  };
  router.all('/sobjects/:type/:id', methodNotAllowed('GET,HEAD,PATCH,DELETE'));
  router.all('/sobjects/:type', methodNotAllowed('GET,HEAD,POST'));
  return router;
}
