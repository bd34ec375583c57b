/**
 * Single-record contact endpoints (reference H1): list with paging, read by id or `idProperty`,
 * create, update, archive, and the API merge. Mounted under `/crm/v3/objects/:objectType`.
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { renderContact } from './contact-model.js';
import {
  baseUrlOf,
  booleanParamSchema,
  duplicateEmailError,
  idSchema,
  listParam,
  listParamSchema,
  lookupContact,
  propertyMapSchema,
  propertyValuesError,
  toStringMap,
  writtenNames,
} from './contact-writes.js';
import type { SandboxContext } from './context.js';
import { HubSpotApiError, objectNotFound, parseOr400, validationError } from './errors.js';

const listQuerySchema = z.object({
  limit: z.string().regex(/^\d+$/, 'limit must be an integer').optional(),
  after: z.string().optional(),
  properties: listParamSchema,
  propertiesWithHistory: listParamSchema,
  associations: listParamSchema,
  archived: booleanParamSchema,
});

const getQuerySchema = z.object({
  properties: listParamSchema,
  propertiesWithHistory: listParamSchema,
  associations: listParamSchema,
  archived: booleanParamSchema,
  idProperty: z.string().min(1).optional(),
});

const createBodySchema = z.object({
  properties: propertyMapSchema,
  associations: z.array(z.unknown()).optional(),
});

const updateBodySchema = z.object({ properties: propertyMapSchema });
const updateQuerySchema = z.object({ idProperty: z.string().min(1).optional() });
const mergeBodySchema = z.object({ primaryObjectId: idSchema, objectIdToMerge: idSchema });

export const MAX_PAGE_LIMIT = 100;

export function contactsRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;
  const portalId = ctx.credentials.portalId;

  router.get('/', (req, res) => {
    const q = parseOr400(listQuerySchema, req.query, 'query');
    const limit = q.limit === undefined ? 10 : Number(q.limit);
    if (limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw validationError(`limit must be between 1 and ${MAX_PAGE_LIMIT}, got ${limit}`, {
        errors: [{ message: `must be less than or equal to ${MAX_PAGE_LIMIT}`, in: 'limit' }],
      });
    }
    let afterNum = 0;
    if (q.after !== undefined && q.after !== '') {
      if (!/^\d+$/.test(q.after)) throw validationError(`Invalid paging cursor: after=${q.after}`, { errors: [{ message: 'invalid cursor', in: 'after' }] });
      afterNum = Number(q.after);
    }
    const properties = listParam(q.properties);
    const propertiesWithHistory = listParam(q.propertiesWithHistory) ?? [];
    if (propertiesWithHistory.length > 0 && limit > 50) {
      throw validationError(`limit must be at most 50 when propertiesWithHistory is requested, got ${limit}`);
    }
    const { records, next } = store.page(afterNum, limit, q.archived === 'true');
    const body: Record<string, unknown> = {
      results: records.map((c) => renderContact(store.registry, c, { properties, propertiesWithHistory })),
    };
    if (next) {
      const link = new URL(`${baseUrlOf(req)}${req.originalUrl}`);
      link.searchParams.set('after', next.id);
      body.paging = { next: { after: next.id, link: link.toString() } };
    }
    res.json(body);
  });

  router.post('/', (req, res) => {
    const body = parseOr400(createBodySchema, req.body, 'JSON');
    const input = toStringMap(body.properties);
    const check = store.checkWrite(input);
    if (check.errors.length > 0) throw propertyValuesError(check.errors, portalId);
    const holder = store.emailOwner(check.values);
    if (holder) throw duplicateEmailError(holder);
    const c = store.create(check.values, ctx.apiSource);
    res.status(201).json(renderContact(store.registry, c, { properties: writtenNames(input) }));
  });

  // POST /crm/v3/objects/contacts/merge: the primary keeps its id (SDK `basicApi.merge`).
  router.post('/merge', (req, res) => {
    const body = parseOr400(mergeBodySchema, req.body, 'JSON');
    if (body.primaryObjectId === body.objectIdToMerge) throw validationError('Cannot merge a contact with itself');
    const primary = store.findById(body.primaryObjectId, false);
    if (!primary) throw objectNotFound(body.primaryObjectId);
    const merged = store.findById(body.objectIdToMerge, false);
    if (!merged) throw objectNotFound(body.objectIdToMerge);
    if (merged === primary) throw validationError(`Contacts ${body.primaryObjectId} and ${body.objectIdToMerge} are already merged`);
    store.merge(primary, merged, ctx.apiSource);
    res.json(renderContact(store.registry, primary, { properties: null }));
  });

  router.get('/:contactId', (req, res) => {
    const q = parseOr400(getQuerySchema, req.query, 'query');
    const id = String(req.params.contactId);
    const c = lookupContact(store, id, q.idProperty, q.archived === 'true');
    if (!c) throw objectNotFound(id);
    res.json(
      renderContact(store.registry, c, {
        properties: listParam(q.properties),
        propertiesWithHistory: listParam(q.propertiesWithHistory) ?? [],
      }),
    );
  });

  router.patch('/:contactId', (req, res) => {
    const q = parseOr400(updateQuerySchema, req.query, 'query');
    const body = parseOr400(updateBodySchema, req.body, 'JSON');
    const id = String(req.params.contactId);
    const c = lookupContact(store, id, q.idProperty, false);
    if (!c) throw objectNotFound(id);
    const input = toStringMap(body.properties);
    const check = store.checkWrite(input, { existing: c });
    if (check.errors.length > 0) throw propertyValuesError(check.errors, portalId);
    const holder = store.emailOwner(check.values, c);
    if (holder) throw duplicateEmailError(holder);
    store.update(c, check.values, ctx.apiSource);
    res.json(renderContact(store.registry, c, { properties: writtenNames(input) }));
  });

  // Archiving a missing, merged-away or already archived contact is still a 204, as HubSpot answers;
  // a merged-away id does not archive its survivor.
  router.delete('/:contactId', (req, res) => {
    const c = store.getRecord(String(req.params.contactId));
    if (c && c.mergedInto === null) store.archive(c, ctx.apiSource);
    res.status(204).end();
  });

  return router;
}

/** Guards `/crm/v3/objects/:objectType`: only contacts live in this sandbox. */
export function contactObjectTypeGuard(objectType: string): void {
  if (!['contacts', 'contact', '0-1'].includes(objectType)) {
    throw new HubSpotApiError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${objectType}`);
  }
}
