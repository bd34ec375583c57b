/**
 * Associations v4 between contacts, companies and deals (type ids in crm-objects.ts).
 *
 * - `GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}?limit&after`: one
 *   record's associations, `{results:[{toObjectId, associationTypes:[{category, typeId, label}]}],
 *   paging?}`, up to 500 a page. [C SDK `codegen/crm/associations/v4/apis/BasicApi.ts` getPage,
 *   model CollectionResponseMultiAssociatedObjectWithLabelForwardPaging]
 * - `POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read` with
 *   `{inputs:[{id, after?}]}`: `{status, results:[{from:{id}, to:[...], paging?}], startedAt,
 *   completedAt}`; `paging` "will only be present if there are more pages". [C API reference
 *   "Batch read associations" https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations]
 *   An input with no associations has no result; it is reported in a 207's `errors`. [U: the
 *   stricter of the two answers seen; a client must not expect a result for every input]
 *   At most 1,000 inputs. [U]
 * - `toObjectId` is typed a string in the reference and the SDK, and documented examples show
 *   numbers; the sandbox sends the reference's string. [C reference; S examples]
 * - `PUT .../associations/{toObjectType}/{toObjectId}` with `[{associationCategory,
 *   associationTypeId}]` creates labelled associations and answers 201 LabelsBetweenObjectPair;
 *   `DELETE` on the same path removes them (204). [C SDK BasicApi create / archive]
 * - Object types are named in the path by name (`contacts`, `contact`) or id (`0-1` contacts,
 *   `0-2` companies, `0-3` deals). [C Associations v4 guide]
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SandboxContext } from './context.js';
import { associationTypes } from './crm-objects.js';
import type { AssociatedType } from './crm-objects.js';
import { objectNotFound, parseOr400, standardError, validationError } from './errors.js';
import { isPrimaryCompanyLink, syncPrimaryCompany } from './primary-company.js';

const PAGE = 500;
const MAX_INPUTS = 1000;

const TYPE_IDS: Record<AssociatedType, string> = { contacts: '0-1', companies: '0-2', deals: '0-3' };

function objectType(raw: string): AssociatedType {
  const name = raw.toLowerCase();
  if (name === 'contacts' || name === 'contact' || name === '0-1') return 'contacts';
  if (name === 'companies' || name === 'company' || name === '0-2') return 'companies';
  if (name === 'deals' || name === 'deal' || name === '0-3') return 'deals';
  throw validationError(`Unable to infer object type from: ${raw}`);
}

const batchReadSchema = z.object({ inputs: z.array(z.object({ id: z.union([z.string().min(1), z.number().int()]).transform(String), after: z.string().optional() })) });
const labelsSchema = z.array(z.object({ associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']), associationTypeId: z.number().int() })).min(1);

export function associationsRouter(ctx: SandboxContext): Router {
  const router = express.Router();

  const exists = (type: AssociatedType, id: string): boolean =>
    /^\d+$/.test(id) && (type === 'contacts' ? ctx.store.findById(id, false) !== undefined : ctx.objects.get(type, id) !== undefined);

  /** One record's associations from `after` on: the page and the next cursor. */
  const page = (from: AssociatedType, id: string, to: AssociatedType, after: string | undefined) => {
    const all = ctx.objects.associated(from, id, to);
    const start = after === undefined ? 0 : Number(Buffer.from(after, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw validationError(`Invalid paging cursor: after=${after ?? ''}`);
    const slice = all.slice(start, start + PAGE);
    const types = associationTypes(from, to);
    const results = slice.map((a) => ({
      toObjectId: a.toId,
      associationTypes: a.typeIds.map((typeId) => {
        const t = types.find((x) => x.typeId === typeId);
        return { category: t?.category ?? 'HUBSPOT_DEFINED', typeId, label: t?.label ?? null };
      }),
    }));
    const next = start + PAGE < all.length ? Buffer.from(String(start + PAGE), 'utf8').toString('base64url') : null;
    return { results, next, total: all.length };
  };

  router.get('/crm/v4/objects/:fromType/:id/associations/:toType', (req, res) => {
    const from = objectType(String(req.params.fromType));
    const to = objectType(String(req.params.toType));
    const after = typeof req.query.after === 'string' ? req.query.after : undefined;
    const p = page(from, String(req.params.id), to, after);
    const body: Record<string, unknown> = { results: p.results };
    if (p.next) body.paging = { next: { after: p.next, link: `?after=${p.next}` } };
    res.json(body);
  });

  router.post('/crm/v4/associations/:fromType/:toType/batch/read', (req, res) => {
    const from = objectType(String(req.params.fromType));
    const to = objectType(String(req.params.toType));
    const body = parseOr400(batchReadSchema, req.body, 'JSON');
    if (body.inputs.length > MAX_INPUTS) throw validationError(`Too many inputs: ${body.inputs.length}. The maximum is ${MAX_INPUTS}.`);
    const startedAt = new Date(ctx.clock.now()).toISOString();
    const results: Array<Record<string, unknown>> = [];
    const none: string[] = [];
    for (const input of body.inputs) {
      const p = page(from, input.id, to, input.after);
      if (p.total === 0) {
        none.push(input.id);
        continue;
      }
      results.push({ from: { id: input.id }, to: p.results, ...(p.next ? { paging: { next: { after: p.next, link: null } } } : {}) });
    }
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date(ctx.clock.now()).toISOString() };
    if (none.length > 0) {
      out.numErrors = none.length;
      out.errors = none.map((id) => standardError('OBJECT_NOT_FOUND', `No ${to} is associated with ${from} ${id}.`, { context: { fromObjectId: [id] } }));
      res.status(207).json(out);
      return;
    }
    res.json(out);
  });

  router.put('/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId', (req, res) => {
    const from = objectType(String(req.params.fromType));
    const to = objectType(String(req.params.toType));
    const fromId = String(req.params.fromId);
    const toId = String(req.params.toId);
    const labels = parseOr400(labelsSchema, req.body, 'JSON');
    if (!exists(from, fromId)) throw objectNotFound(fromId);
    if (!exists(to, toId)) throw objectNotFound(toId);
    for (const l of labels) {
      if (l.associationCategory !== 'HUBSPOT_DEFINED' || !ctx.objects.associate(from, fromId, to, toId, l.associationTypeId)) {
        throw validationError(`${l.associationCategory} ${l.associationTypeId} is not a valid association type between ${from} and ${to}.`);
      }
    }
    // A primary company link moves the contact's associatedcompanyid (primary-company.ts).
    const primary = labels.find((l) => isPrimaryCompanyLink(from, to, l.associationTypeId));
    if (primary) syncPrimaryCompany(ctx, from === 'contacts' ? fromId : toId, from === 'contacts' ? toId : fromId);
    const labelNames = labels.map((l) => associationTypes(from, to).find((t) => t.typeId === l.associationTypeId)?.label).filter((x): x is string => !!x);
    res.status(201).json({ fromObjectTypeId: TYPE_IDS[from], fromObjectId: fromId, toObjectTypeId: TYPE_IDS[to], toObjectId: toId, labels: labelNames });
  });

  router.delete('/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId', (req, res) => {
    const from = objectType(String(req.params.fromType));
    const to = objectType(String(req.params.toType));
    const fromId = String(req.params.fromId);
    const toId = String(req.params.toId);
    const contactId = from === 'contacts' && to === 'companies' ? fromId : from === 'companies' && to === 'contacts' ? toId : null;
    const wasPrimary = contactId !== null && ctx.objects.primaryCompanyOf(contactId) === (from === 'contacts' ? toId : fromId);
    ctx.objects.dissociate(from, fromId, to, toId);
    if (contactId !== null && wasPrimary) syncPrimaryCompany(ctx, contactId);
    res.status(204).end();
  });

  return router;
}
