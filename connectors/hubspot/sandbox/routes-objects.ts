/**
 * `/crm/v3/objects/deals` and `/crm/v3/objects/companies` (reference H1, H3; behaviour in
 * crm-objects.ts): list, read, create (with associations), update, archive, batch read of up to
 * 100 (missing ids in a 207), and search with the contacts' limits (one sort, limit 200, the
 * 10,000-result cap, 5 groups of 6 filters).
 */
import express from 'express';
import type { Request, Router } from 'express';
import { z } from 'zod';
import { rawBodyChars } from './body-parsing.js';
import { baseUrlOf, booleanParamSchema, idSchema, listParam, listParamSchema, propertyMapSchema, propertyValuesError, toStringMap } from './contact-writes.js';
import type { SandboxContext } from './context.js';
import { CrmObjectStore, DEFAULT_PROPERTIES, OBJECT_PROPERTIES, associationTypes } from './crm-objects.js';
import type { AssociatedType, CrmObjectRecord, CrmObjectType } from './crm-objects.js';
import { HubSpotApiError, objectNotFound, parseOr400, standardError, validationError } from './errors.js';
import { parseTimeInput } from './properties.js';
import { isPrimaryCompanyLink, syncPrimaryCompany } from './primary-company.js';
import { SEARCH_LIMITS, searchBodySchema } from './search.js';
import type { SearchBody, SearchFilter } from './search.js';

const MAX_PAGE = 100;
const MAX_BATCH = 100;

const listQuerySchema = z.object({
  limit: z.string().regex(/^\d+$/, 'limit must be an integer').optional(),
  after: z.string().optional(),
  properties: listParamSchema,
  associations: listParamSchema,
  archived: booleanParamSchema,
});
const getQuerySchema = z.object({ properties: listParamSchema, associations: listParamSchema, archived: booleanParamSchema, idProperty: z.string().optional() });
const associationInputSchema = z.object({
  to: z.object({ id: idSchema }),
  types: z.array(z.object({ associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']), associationTypeId: z.number().int() })).min(1),
});
const createBodySchema = z.object({ properties: propertyMapSchema, associations: z.array(associationInputSchema).optional() });
const updateBodySchema = z.object({ properties: propertyMapSchema });
const batchReadSchema = z.object({
  inputs: z.array(z.object({ id: idSchema })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().optional(),
});

export function renderObject(record: CrmObjectRecord, names: readonly string[] | null): Record<string, unknown> {
  const properties: Record<string, string | null> = {};
  for (const name of names ?? DEFAULT_PROPERTIES[record.type]) {
    if (!OBJECT_PROPERTIES[record.type][name]) continue;
    const stored = record.props[name];
    properties[name] = stored === undefined ? null : CrmObjectStore.render(record.type, name, stored);
  }
  const out: Record<string, unknown> = {
    id: record.id,
    properties,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    archived: record.archived,
  };
  if (record.archived) out.archivedAt = new Date(record.archivedAt).toISOString();
  return out;
}

/** The type of record an association type id leads to from `from` (its v4 direction). */
function targetOf(from: CrmObjectType, typeId: number): AssociatedType | undefined {
  return (['contacts', 'companies', 'deals'] as const).find((to) => associationTypes(from, to).some((t) => t.typeId === typeId));
}

function exists(ctx: SandboxContext, type: AssociatedType, id: string): boolean {
  return type === 'contacts' ? ctx.store.findById(id, false) !== undefined : ctx.objects.get(type, id) !== undefined;
}

type Predicate = (r: CrmObjectRecord) => boolean;

function compileFilter(type: CrmObjectType, f: SearchFilter): Predicate {
  const def = OBJECT_PROPERTIES[type][f.propertyName];
  if (!def) {
    throw validationError(`Property "${f.propertyName}" does not exist`, {
      errors: [{ message: `Property "${f.propertyName}" does not exist`, code: 'PROPERTY_DOESNT_EXIST', in: f.propertyName }],
    });
  }
  const name = f.propertyName;
  const numeric = def.type === 'number' || def.type === 'datetime';
  const parse = (text: string): number | string => {
    if (!numeric) return def.type === 'enumeration' ? text : text.toLowerCase();
    const n = def.type === 'number' ? Number(text) : (parseTimeInput(text) ?? Number.NaN);
    if (!Number.isFinite(n)) throw validationError(`Invalid value '${text}' for property ${name} of type ${def.type}`, { errors: [{ message: `invalid ${def.type} value`, in: name, code: 'INVALID_FILTER_VALUE' }] });
    return n;
  };
  const get = (r: CrmObjectRecord): number | string | undefined => {
    const v = r.props[name];
    if (v === undefined) return undefined;
    return numeric ? Number(v) : def.type === 'enumeration' ? v : v.toLowerCase();
  };
  const need = (): number | string => {
    if (f.value === undefined) throw validationError(`Operator ${f.operator} on ${name} requires a value`);
    return parse(f.value);
  };
  const has = (test: (v: number | string) => boolean): Predicate => (r) => {
    const v = get(r);
    return v !== undefined && test(v);
  };
  switch (f.operator) {
    case 'HAS_PROPERTY': return (r) => get(r) !== undefined;
    case 'NOT_HAS_PROPERTY': return (r) => get(r) === undefined;
    case 'EQ': { const v = need(); return has((x) => x === v); }
    case 'NEQ': { const v = need(); return (r) => get(r) !== v; }
    case 'LT': { const v = need(); return has((x) => x < v); }
    case 'LTE': { const v = need(); return has((x) => x <= v); }
    case 'GT': { const v = need(); return has((x) => x > v); }
    case 'GTE': { const v = need(); return has((x) => x >= v); }
    case 'BETWEEN': {
      const lo = need();
      if (f.highValue === undefined) throw validationError(`Operator BETWEEN on ${name} requires a highValue`);
      const hi = parse(f.highValue);
      return has((x) => x >= lo && x <= hi);
    }
    case 'IN':
    case 'NOT_IN': {
      if (!f.values || f.values.length === 0) throw validationError(`Operator ${f.operator} on ${name} requires values`);
      const set = new Set(f.values.map(parse));
      return f.operator === 'IN' ? has((x) => set.has(x)) : (r) => { const v = get(r); return v === undefined || !set.has(v); };
    }
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const token = (f.value ?? '').toLowerCase().replace(/\*/g, '');
      const match = has((x) => String(x).toLowerCase().includes(token));
      return f.operator === 'CONTAINS_TOKEN' ? match : (r) => !match(r);
    }
  }
}

function search(ctx: SandboxContext, type: CrmObjectType, body: SearchBody): { total: number; results: CrmObjectRecord[]; nextAfter: string | null } {
  const groups = body.filterGroups ?? [];
  if (groups.length > SEARCH_LIMITS.groups) throw validationError(`Too many filter groups: ${groups.length}. The maximum is ${SEARCH_LIMITS.groups}.`);
  let filters = 0;
  for (const g of groups) {
    if (g.filters.length > SEARCH_LIMITS.filtersPerGroup) throw validationError(`Too many filters in a filter group: ${g.filters.length}. The maximum is ${SEARCH_LIMITS.filtersPerGroup} per group.`);
    filters += g.filters.length;
  }
  if (filters > SEARCH_LIMITS.filtersTotal) throw validationError(`Too many filters: ${filters}. The maximum is ${SEARCH_LIMITS.filtersTotal} across all filter groups.`);
  const sorts = body.sorts ?? [];
  if (sorts.length > 1) throw validationError('Only one sort is allowed per search request.');
  const limit = body.limit ?? 10;
  if (limit > SEARCH_LIMITS.maxLimit) throw validationError(`limit must be at most ${SEARCH_LIMITS.maxLimit}, got ${limit}`, { errors: [{ message: `must be less than or equal to ${SEARCH_LIMITS.maxLimit}`, in: 'limit' }] });
  const after = body.after === undefined || body.after === '' ? 0 : Number(body.after);
  if (!Number.isInteger(after) || after < 0) throw validationError(`after must be a non-negative integer string, got '${body.after}'`);
  if (after + Math.max(limit, 1) > SEARCH_LIMITS.maxResults) {
    throw validationError(`Search results are limited to ${SEARCH_LIMITS.maxResults} per query: after (${after}) plus limit (${limit}) goes past result ${SEARCH_LIMITS.maxResults}. Narrow the filters to page further.`);
  }
  const compiled = groups.map((g) => g.filters.map((f) => compileFilter(type, f)));
  const match: Predicate = compiled.length === 0 ? () => true : (r) => compiled.some((g) => g.every((p) => p(r)));
  const matches = ctx.objects.all(type).filter((r) => !r.archived && match(r));
  const sort = sorts[0];
  if (sort !== undefined) {
    const spec = typeof sort === 'string' ? { name: sort.replace(/^-/, ''), desc: sort.startsWith('-') } : { name: sort.propertyName, desc: sort.direction === 'DESCENDING' };
    const def = OBJECT_PROPERTIES[type][spec.name];
    if (!def) throw validationError(`Cannot sort on property "${spec.name}": it does not exist`);
    const numeric = def.type === 'number' || def.type === 'datetime';
    const key = (r: CrmObjectRecord): number | string | undefined => (r.props[spec.name] === undefined ? undefined : numeric ? Number(r.props[spec.name]) : String(r.props[spec.name]).toLowerCase());
    matches.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === undefined || kb === undefined) return ka === kb ? a.num - b.num : ka === undefined ? 1 : -1;
      return (ka < kb ? -1 : ka > kb ? 1 : 0) * (spec.desc ? -1 : 1) || a.num - b.num;
    });
  } else matches.sort((a, b) => a.createdAt - b.createdAt || a.num - b.num);
  const results = matches.slice(after, after + limit);
  return { total: matches.length, results, nextAfter: limit > 0 && after + limit < matches.length ? String(after + limit) : null };
}

function nextLink(req: Request, after: string): string {
  const link = new URL(`${baseUrlOf(req)}${req.originalUrl}`);
  link.searchParams.set('after', after);
  return link.toString();
}

export function crmObjectsRouter(ctx: SandboxContext, type: CrmObjectType): Router {
  const router = express.Router();
  const portalId = ctx.credentials.portalId;
  const found = (id: string, archived = false): CrmObjectRecord => {
    const record = /^\d+$/.test(id) ? ctx.objects.get(type, id, archived) : undefined;
    if (!record) throw objectNotFound(id);
    return record;
  };

  router.post('/search', (req, res) => {
    const chars = rawBodyChars(req);
    if (chars > SEARCH_LIMITS.maxBodyChars) throw validationError(`Search request body is ${chars} characters long; the maximum is ${SEARCH_LIMITS.maxBodyChars}.`);
    const body = parseOr400(searchBodySchema, req.body, 'JSON');
    const page = search(ctx, type, body);
    const names = body.properties && body.properties.length > 0 ? body.properties : null;
    const out: Record<string, unknown> = { total: page.total, results: page.results.map((r) => renderObject(r, names)) };
    if (page.nextAfter !== null) out.paging = { next: { after: page.nextAfter } };
    res.json(out);
  });

  router.post('/batch/read', (req, res) => {
    const body = parseOr400(batchReadSchema, req.body, 'JSON');
    if (body.inputs.length > MAX_BATCH) throw validationError(`Too many inputs: ${body.inputs.length}. The maximum number of inputs supported in a batch request is ${MAX_BATCH}.`);
    const archived = req.query.archived === 'true';
    const names = body.properties && body.properties.length > 0 ? body.properties : null;
    const startedAt = new Date(ctx.clock.now()).toISOString();
    const results: Array<Record<string, unknown>> = [];
    const missing: string[] = [];
    for (const input of body.inputs) {
      const record = /^\d+$/.test(input.id) ? ctx.objects.get(type, input.id, archived) : undefined;
      if (record) results.push(renderObject(record, names));
      else missing.push(input.id);
    }
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date(ctx.clock.now()).toISOString() };
    if (missing.length > 0) {
      const label = type === 'deals' ? 'DEAL' : 'COMPANY';
      out.numErrors = 1;
      out.errors = [standardError('OBJECT_NOT_FOUND', `Could not get some ${label} objects, they may be deleted or not exist. Check that ids are valid.`, { context: { ids: missing } })];
      res.status(207).json(out);
      return;
    }
    res.json(out);
  });

  router.get('/', (req, res) => {
    const q = parseOr400(listQuerySchema, req.query, 'query');
    const limit = q.limit === undefined ? 10 : Number(q.limit);
    if (limit < 1 || limit > MAX_PAGE) throw validationError(`limit must be between 1 and ${MAX_PAGE}, got ${limit}`, { errors: [{ message: `must be less than or equal to ${MAX_PAGE}`, in: 'limit' }] });
    const afterNum = q.after === undefined || q.after === '' ? 0 : Number(q.after);
    if (!Number.isInteger(afterNum)) throw validationError(`Invalid paging cursor: after=${q.after ?? ''}`, { errors: [{ message: 'invalid cursor', in: 'after' }] });
    const archived = q.archived === 'true';
    const all = ctx.objects.all(type).filter((r) => r.archived === archived && r.num >= afterNum);
    const page = all.slice(0, limit);
    const body: Record<string, unknown> = { results: page.map((r) => renderObject(r, listParam(q.properties))) };
    const next = all[limit];
    if (next) body.paging = { next: { after: next.id, link: nextLink(req, next.id) } };
    res.json(body);
  });

  router.get('/:id', (req, res) => {
    const q = parseOr400(getQuerySchema, req.query, 'query');
    res.json(renderObject(found(String(req.params.id), q.archived === 'true'), listParam(q.properties)));
  });

  router.post('/', (req, res) => {
    const body = parseOr400(createBodySchema, req.body, 'JSON');
    const checked = ctx.objects.check(type, toStringMap(body.properties));
    if (checked.errors.length > 0) throw propertyValuesError(checked.errors, portalId);
    const links: Array<{ to: AssociatedType; id: string; typeId: number }> = [];
    for (const a of body.associations ?? []) {
      for (const t of a.types) {
        const to = t.associationCategory === 'HUBSPOT_DEFINED' ? targetOf(type, t.associationTypeId) : undefined;
        if (!to) throw validationError(`${t.associationCategory} ${t.associationTypeId} is not a valid association type from ${type}.`);
        if (!exists(ctx, to, a.to.id)) throw new HubSpotApiError(400, 'VALIDATION_ERROR', `One or more associations are invalid: ${to} ${a.to.id} does not exist.`, { context: { ids: [a.to.id] } });
        links.push({ to, id: a.to.id, typeId: t.associationTypeId });
      }
    }
    const record = ctx.objects.create(type, checked.values);
    for (const l of links) {
      ctx.objects.associate(type, record.id, l.to, l.id, l.typeId);
      if (isPrimaryCompanyLink(type, l.to, l.typeId)) syncPrimaryCompany(ctx, l.id, record.id);
    }
    res.status(201).json(renderObject(record, null));
  });

  router.patch('/:id', (req, res) => {
    const body = parseOr400(updateBodySchema, req.body, 'JSON');
    const record = found(String(req.params.id));
    const checked = ctx.objects.check(type, toStringMap(body.properties));
    if (checked.errors.length > 0) throw propertyValuesError(checked.errors, portalId);
    ctx.objects.update(record, checked.values);
    res.json(renderObject(record, Object.keys(body.properties)));
  });

  router.delete('/:id', (req, res) => {
    const record = /^\d+$/.test(String(req.params.id)) ? ctx.objects.get(type, String(req.params.id)) : undefined;
    if (record) ctx.objects.archive(record);
    res.status(204).end();
  });

  return router;
}
