/**
 * sObject Collections (crm-api.md S2): `POST` create, `PATCH` update, `DELETE ?ids=` and retrieve
 * (`GET /{type}?ids=&fields=` or `POST /{type}` with `{ids, fields}`), upsert by external id.
 * At most 200 records; results in input order with per-record `statusCode` errors; `allOrNone`
 * rolls every record back when one fails (ALL_OR_NONE_OPERATION_ROLLED_BACK). The whole call is
 * one transaction: every record written gets the same SystemModstamp.
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { param, parseBody, parseQuery, renderRecord, sessionUser, visibleSchema } from './context.js';
import type { SandboxContext } from './context.js';
import { ROLLED_BACK, SfApiError, exceededIdLimit, notFound, recordError } from './errors.js';
import type { RecordError } from './errors.js';
import type { FieldDef, SObjectSchema } from './objects.js';
import type { SalesforceStore } from './store.js';
import { resolveTarget, validateFields } from './validation.js';
import type { WriteMode } from './validation.js';
import type { SfRecord, SfValue } from './values.js';

const MAX_RECORDS = 200;
const MAX_RETRIEVE_IDS = 2000;

const collectionRecord = z.record(z.string(), z.unknown());
const collectionBody = z.object({ allOrNone: z.boolean().optional(), records: z.array(collectionRecord) });
const deleteQuery = z.object({ ids: z.string().min(1), allOrNone: z.enum(['true', 'false']).optional() });
const retrieveQuery = z.object({ ids: z.string().min(1), fields: z.string().min(1) });
const retrieveBody = z.object({ ids: z.array(z.string()), fields: z.array(z.string()).min(1) });

export type Planned =
  | { kind: 'error'; errors: RecordError[] }
  | { kind: 'write'; schema: SObjectSchema; values: Record<string, SfValue>; record?: SfRecord; created?: boolean };

interface SaveResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
  created?: boolean;
}

/** Looks an object up by name as the session's user sees it (field-level security). */
export type SchemaLookup = (name: string) => SObjectSchema | undefined;

function typeOf(schemaOf: SchemaLookup, record: Record<string, unknown>): SObjectSchema | RecordError {
  const attributes = z.object({ type: z.string() }).safeParse(record.attributes);
  if (!attributes.success) return recordError('INVALID_TYPE', 'Must specify a type in attributes for each record', []);
  const schema = schemaOf(attributes.data.type);
  if (!schema) return recordError('INVALID_TYPE', `sObject type '${attributes.data.type}' is not supported.`, []);
  return schema;
}

function idOf(record: Record<string, unknown>): unknown {
  return record.id ?? record.Id ?? record.ID;
}

/** Validates every record first; writes only when allowed (all valid, or allOrNone false). */
export function commit(ctx: SandboxContext, plans: Planned[], allOrNone: boolean, actorId: string | undefined): SaveResult[] {
  const failed = plans.some((p) => p.kind === 'error');
  if (failed && allOrNone) {
    return plans.map((p) => {
      if (p.kind === 'error') return { success: false, errors: p.errors };
      return { ...(p.record ? { id: String(p.record.Id) } : {}), success: false, errors: [ROLLED_BACK] };
    });
  }
  const ts = ctx.store.stampNow();
  return plans.map((p) => {
    if (p.kind === 'error') return { success: false, errors: p.errors };
    if (p.record) {
      ctx.store.update(p.record, p.values, { ts, actorId });
      return { id: String(p.record.Id), success: true, errors: [], ...(p.created === false ? { created: false } : {}) };
    }
    const created = ctx.store.insert(p.schema.name, p.values, { ts, actorId });
    return { id: String(created.Id), success: true, errors: [], ...(p.created ? { created: true } : {}) };
  });
}

/**
 * `seen`: the ids updated and the unique keys (validation.ts `unique`) taken so far in this call,
 * so that two records of one call cannot both take what only one may have.
 */
export function planWrite(store: SalesforceStore, schemaOf: SchemaLookup, raw: Record<string, unknown>, mode: WriteMode, seen: Set<string>): Planned {
  const schema = typeOf(schemaOf, raw);
  if ('statusCode' in schema) return { kind: 'error', errors: [schema] };
  const claim = (unique: string | undefined): RecordError[] => {
    if (unique === undefined) return [];
    if (seen.has(unique)) return [recordError('DUPLICATE_VALUE', 'duplicate value found: <unknown> duplicates value on record with id: <unknown>')];
    seen.add(unique);
    return [];
  };
  if (mode === 'create') {
    if (!schema.flags.createable) return { kind: 'error', errors: [recordError('INVALID_TYPE', `Cannot create records of type ${schema.name}`)] };
    const v = validateFields(schema, raw, 'create', store);
    if (!v.ok) return { kind: 'error', errors: v.errors };
    const taken = claim(v.unique);
    return taken.length ? { kind: 'error', errors: taken } : { kind: 'write', schema, values: v.values };
  }
  const target = resolveTarget(store, schema, idOf(raw), 'update');
  if ('error' in target) return { kind: 'error', errors: [target.error] };
  const id = String(target.record.Id);
  if (seen.has(id)) return { kind: 'error', errors: [recordError('DUPLICATE_VALUE', `Duplicate id in list: ${id}`)] };
  seen.add(id);
  const fields = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'id' && k !== 'Id' && k !== 'ID'));
  const v = validateFields(schemaOf(target.schema.name) ?? target.schema, fields, 'update', store, target.record);
  if (!v.ok) return { kind: 'error', errors: v.errors };
  const taken = claim(v.unique);
  return taken.length ? { kind: 'error', errors: taken } : { kind: 'write', schema: target.schema, values: v.values, record: target.record };
}

function checkSize(n: number): void {
  if (n > MAX_RECORDS) throw exceededIdLimit(MAX_RECORDS);
}

function retrieve(ctx: SandboxContext, res: express.Response, type: string, ids: string[], fieldNames: string[]) {
  const schema = visibleSchema(ctx, res, type);
  if (!schema) throw notFound();
  if (ids.length > MAX_RETRIEVE_IDS) throw exceededIdLimit(MAX_RETRIEVE_IDS);
  const columns: FieldDef[] = fieldNames.map((name) => {
    const f = schema.field(name.trim());
    if (!f) throw new SfApiError(400, 'INVALID_FIELD', `No such column '${name.trim()}' on entity '${schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
    return f;
  });
  return ids.map((id) => {
    const found = ctx.store.find(id.trim());
    if (!found || found.table.schema.name !== schema.name || found.record.IsDeleted === true) return null;
    return renderRecord(res, schema, found.record, columns);
  });
}

export function compositeRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;

  const lookup = (res: express.Response): SchemaLookup => (name) => visibleSchema(ctx, res, name);

  router.post('/composite/sobjects', (req, res) => {
    const body = parseBody(collectionBody, req);
    checkSize(body.records.length);
    const seen = new Set<string>();
    const plans = body.records.map((r) => planWrite(store, lookup(res), r, 'create', seen));
    res.json(commit(ctx, plans, body.allOrNone ?? false, sessionUser(res)));
  });

  router.patch('/composite/sobjects', (req, res) => {
    const body = parseBody(collectionBody, req);
    checkSize(body.records.length);
    const seen = new Set<string>();
    const plans = body.records.map((r) => planWrite(store, lookup(res), r, 'update', seen));
    res.json(commit(ctx, plans, body.allOrNone ?? false, sessionUser(res)));
  });

  router.delete('/composite/sobjects', (req, res) => {
    const q = parseQuery(deleteQuery, req, 'MALFORMED_ID');
    const ids = q.ids.split(',').map((s) => s.trim()).filter(Boolean);
    checkSize(ids.length);
    const allOrNone = q.allOrNone === 'true';
    const targets = ids.map((id) => ({ id, target: resolveTarget(store, null, id, 'delete') }));
    const failed = targets.some((t) => 'error' in t.target);
    const actorId = sessionUser(res);
    const ts = store.stampNow();
    res.json(targets.map(({ id, target }) => {
      if ('error' in target) return { success: false, errors: [target.error] };
      if (failed && allOrNone) return { id, success: false, errors: [ROLLED_BACK] };
      if (target.schema.flags.softDelete) store.softDelete(target.record, { ts, actorId });
      else store.remove(target.record);
      return { id: String(target.record.Id), success: true, errors: [] };
    }));
  });

  router.get('/composite/sobjects/:type', (req, res) => {
    const q = parseQuery(retrieveQuery, req, 'INVALID_FIELD');
    res.json(retrieve(ctx, res, param(req, 'type'), q.ids.split(','), q.fields.split(',')));
  });

  router.post('/composite/sobjects/:type', (req, res) => {
    const body = parseBody(retrieveBody, req);
    res.json(retrieve(ctx, res, param(req, 'type'), body.ids, body.fields));
  });

  // Upsert by external id: each record is matched on the external-id field's value.
  router.patch('/composite/sobjects/:type/:field', (req, res) => {
    const schema = visibleSchema(ctx, res, param(req, 'type'));
    if (!schema) throw notFound();
    const key = schema.field(param(req, 'field'));
    if (!key || (!key.externalId && key.name !== 'Id')) {
      throw new SfApiError(400, 'INVALID_FIELD', `Field ${param(req, 'field')} is not an External ID or Id field on ${schema.name}`);
    }
    const body = parseBody(collectionBody, req);
    checkSize(body.records.length);
    const byKey = new Map<string, SfRecord>();
    if (key.name !== 'Id') {
      for (const r of store.list(schema.name)) {
        const v = r[key.name];
        if (typeof v === 'string') byKey.set(v.toLowerCase(), r);
      }
    }
    const seen = new Set<string>();
    const plans = body.records.map((raw): Planned => {
      const value = raw[key.name] ?? raw[key.name.toLowerCase()];
      if (typeof value !== 'string' || value === '') return { kind: 'error', errors: [recordError('MISSING_ARGUMENT', `${key.name} not specified`, [key.name])] };
      const existing = key.name === 'Id' ? store.get(value) : byKey.get(value.toLowerCase());
      if (existing && existing.IsDeleted !== true) {
        const plan = planWrite(store, lookup(res), { ...raw, attributes: { type: schema.name }, id: existing.Id }, 'update', seen);
        return plan.kind === 'write' ? { ...plan, created: false } : plan;
      }
      const plan = planWrite(store, lookup(res), { ...raw, attributes: { type: schema.name } }, 'create', seen);
      return plan.kind === 'write' ? { ...plan, created: true } : plan;
    });
    res.json(commit(ctx, plans, body.allOrNone ?? false, sessionUser(res)));
  });

  return router;
}
