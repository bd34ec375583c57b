/**
 * Batch contact endpoints (reference H1). At most 100 inputs (50 with propertiesWithHistory).
 * Partial failure: with an `objectWriteTraceId` on every input the call answers 207 with one
 * StandardError per failed input and applies the others; without, any failure fails the whole
 * batch and nothing is written. Batch read reports missing ids in a 207.
 */
import express from 'express';
import type { Response, Router } from 'express';
import { z } from 'zod';
import { isoOf } from './properties.js';
import { renderContact, type ContactRecord, type SimplePublicObjectJson } from './contact-model.js';
import {
  NOT_FOUND_BATCH_MESSAGE,
  batchCapCheck,
  booleanParamSchema,
  duplicateEmailError,
  duplicateEmailMessage,
  idSchema,
  lookupContact,
  propertyMapSchema,
  propertyValuesError,
  propertyValuesStandardError,
  toStringMap,
  writtenNames,
} from './contact-writes.js';
import type { SandboxContext } from './context.js';
import { associationTypes } from './crm-objects.js';
import type { AssociatedType } from './crm-objects.js';
import { isPrimaryCompanyLink, syncPrimaryCompany } from './primary-company.js';
import { HubSpotApiError, parseOr400, standardError, validationError, type StandardError } from './errors.js';
import type { PropertyValueError } from './properties.js';

const readBodySchema = z.object({
  inputs: z.array(z.object({ id: idSchema })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().min(1).optional(),
});
const associationInputSchema = z.object({
  to: z.object({ id: idSchema }),
  types: z.array(z.object({ associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']), associationTypeId: z.number().int() })).min(1),
});
const createBodySchema = z.object({
  inputs: z.array(
    z.object({ properties: propertyMapSchema, associations: z.array(associationInputSchema).optional(), objectWriteTraceId: z.string().min(1).optional() }),
  ),
});
const updateBodySchema = z.object({
  inputs: z.array(
    z.object({ id: idSchema, idProperty: z.string().min(1).optional(), properties: propertyMapSchema, objectWriteTraceId: z.string().min(1).optional() }),
  ),
});
const archiveBodySchema = z.object({ inputs: z.array(z.object({ id: idSchema })) });

type Failure =
  | { kind: 'validation'; errors: PropertyValueError[]; trace: string | undefined }
  | { kind: 'notFound'; id: string; trace: string | undefined }
  | { kind: 'conflict'; holder: ContactRecord; trace: string | undefined }
  | { kind: 'duplicateInBatch'; value: string; trace: string | undefined }
  | { kind: 'association'; message: string; id: string; trace: string | undefined };

function traceContext(trace: string | undefined, extra: Record<string, string[]> = {}): Record<string, string[]> {
  return trace === undefined ? extra : { ...extra, objectWriteTraceId: [trace] };
}

/** Multi-status is on when every input names a trace id (reference H1). */
function multiStatus(inputs: ReadonlyArray<{ objectWriteTraceId?: string | undefined }>): boolean {
  return inputs.length > 0 && inputs.every((i) => i.objectWriteTraceId !== undefined);
}

interface AssociationLink {
  to: AssociatedType;
  id: string;
  typeId: number;
}

/**
 * The associations a contact is created with (HUBSPOT_DEFINED types from contacts, e.g. 1: its
 * primary company), or the error HubSpot gives: an unknown type, or a record that does not exist.
 * [C CRM API "Contacts" guide, create with associations: `associations: [{ to: { id }, types:
 * [{ associationCategory, associationTypeId }] }]`; the type ids of the Associations v4 guide]
 */
function associationLinks(inputs: ReadonlyArray<z.infer<typeof associationInputSchema>>): { links: AssociationLink[] } | { error: string; id: string } {
  const links: AssociationLink[] = [];
  for (const a of inputs) {
    for (const t of a.types) {
      const to = t.associationCategory === 'HUBSPOT_DEFINED'
        ? (['contacts', 'companies', 'deals'] as const).find((type) => associationTypes('contacts', type).some((x) => x.typeId === t.associationTypeId))
        : undefined;
      if (!to) return { error: `${t.associationCategory} ${t.associationTypeId} is not a valid association type from contacts.`, id: a.to.id };
      links.push({ to, id: a.to.id, typeId: t.associationTypeId });
    }
  }
  return { links };
}

export function batchRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;
  const portalId = ctx.credentials.portalId;

  const toStandard = (f: Failure): StandardError => {
    switch (f.kind) {
      case 'validation':
        return propertyValuesStandardError(f.errors, portalId, traceContext(f.trace));
      case 'notFound':
        return standardError('OBJECT_NOT_FOUND', NOT_FOUND_BATCH_MESSAGE, { context: traceContext(f.trace, { ids: [f.id] }) });
      case 'conflict':
        return standardError('CONFLICT', duplicateEmailMessage(f.holder), { context: traceContext(f.trace, { existingId: [f.holder.id] }) });
      case 'duplicateInBatch':
        return standardError('VALIDATION_ERROR', `Duplicate email found in batch input: ${f.value}`, { context: traceContext(f.trace) });
      case 'association':
        return standardError('VALIDATION_ERROR', f.message, { context: traceContext(f.trace, { ids: [f.id] }) });
    }
  };

  /** Without multi-status, the first kind of failure fails the whole call (nothing is written). */
  const wholeBatchError = (failures: Failure[]): HubSpotApiError => {
    const validation = failures.flatMap((f) => (f.kind === 'validation' ? f.errors : []));
    if (validation.length > 0) return propertyValuesError(validation, portalId);
    const conflict = failures.find((f) => f.kind === 'conflict');
    if (conflict?.kind === 'conflict') return duplicateEmailError(conflict.holder);
    const dup = failures.find((f) => f.kind === 'duplicateInBatch');
    if (dup?.kind === 'duplicateInBatch') return validationError(`Duplicate email found in batch input: ${dup.value}`);
    const association = failures.find((f) => f.kind === 'association');
    if (association?.kind === 'association') return new HubSpotApiError(400, 'VALIDATION_ERROR', association.message, { context: { ids: [association.id] } });
    const ids = failures.flatMap((f) => (f.kind === 'notFound' ? [f.id] : []));
    return new HubSpotApiError(404, 'OBJECT_NOT_FOUND', NOT_FOUND_BATCH_MESSAGE, { context: { ids } });
  };

  const reply = (res: Response, okStatus: number, startedAt: number, results: unknown[], errors: StandardError[]): void => {
    const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: isoOf(startedAt), completedAt: isoOf(ctx.clock.now()) };
    if (errors.length > 0) {
      body.numErrors = errors.length;
      body.errors = errors;
    }
    res.status(errors.length > 0 ? 207 : okStatus).json(body);
  };

  router.post('/batch/read', (req, res) => {
    const startedAt = ctx.clock.now();
    const archived = parseOr400(z.object({ archived: booleanParamSchema }), req.query, 'query').archived === 'true';
    const body = parseOr400(readBodySchema, req.body, 'JSON');
    const history = body.propertiesWithHistory ?? [];
    batchCapCheck(body.inputs.length, history.length > 0);
    const properties = body.properties && body.properties.length > 0 ? body.properties : null;
    const results: SimplePublicObjectJson[] = [];
    const seen = new Set<string>();
    const missing: string[] = [];
    for (const { id } of body.inputs) {
      const c = lookupContact(store, id, body.idProperty, archived);
      if (!c) {
        if (!missing.includes(id)) missing.push(id);
        continue;
      }
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      results.push(renderContact(store.registry, c, { properties, propertiesWithHistory: history }));
    }
    const errors = missing.length > 0 ? [standardError('OBJECT_NOT_FOUND', NOT_FOUND_BATCH_MESSAGE, { context: { ids: missing } })] : [];
    reply(res, 200, startedAt, results, errors);
  });

  router.post('/batch/create', (req, res) => {
    const startedAt = ctx.clock.now();
    const body = parseOr400(createBodySchema, req.body, 'JSON');
    batchCapCheck(body.inputs.length, false);
    const multi = multiStatus(body.inputs);
    const failures: Failure[] = [];
    const accepted: Array<{ values: Map<string, string>; input: Record<string, string>; links: AssociationLink[]; trace: string | undefined }> = [];
    const emailsInBatch = new Set<string>();
    for (const item of body.inputs) {
      const trace = item.objectWriteTraceId;
      const input = toStringMap(item.properties);
      const linked = associationLinks(item.associations ?? []);
      if ('error' in linked) {
        failures.push({ kind: 'association', message: linked.error, id: linked.id, trace });
        continue;
      }
      const missing = linked.links.find((l) => (l.to === 'contacts' ? store.findById(l.id, false) : ctx.objects.get(l.to, l.id)) === undefined);
      if (missing) {
        failures.push({ kind: 'association', message: `One or more associations are invalid: ${missing.to} ${missing.id} does not exist.`, id: missing.id, trace });
        continue;
      }
      const check = store.checkWrite(input);
      if (check.errors.length > 0) {
        failures.push({ kind: 'validation', errors: check.errors, trace });
        continue;
      }
      const holder = store.emailOwner(check.values);
      if (holder) {
        failures.push({ kind: 'conflict', holder, trace });
        continue;
      }
      const email = check.values.get('email')?.toLowerCase();
      if (email) {
        if (emailsInBatch.has(email)) {
          failures.push({ kind: 'duplicateInBatch', value: email, trace });
          continue;
        }
        emailsInBatch.add(email);
      }
      accepted.push({ values: check.values, input, links: linked.links, trace });
    }
    if (!multi && failures.length > 0) throw wholeBatchError(failures);
    const results = accepted.map(({ values, input, links, trace }) => {
      const created = store.create(values, ctx.apiSource);
      for (const l of links) {
        ctx.objects.associate('contacts', created.id, l.to, l.id, l.typeId);
        if (isPrimaryCompanyLink('contacts', l.to, l.typeId)) syncPrimaryCompany(ctx, created.id, l.id);
      }
      // Read again: a primary company set the contact's associatedcompanyid.
      const c = store.findById(created.id, false) ?? created;
      return renderContact(store.registry, c, { properties: writtenNames(input), ...(trace !== undefined ? { objectWriteTraceId: trace } : {}) });
    });
    reply(res, 201, startedAt, results, failures.map(toStandard));
  });

  router.post('/batch/update', (req, res) => {
    const startedAt = ctx.clock.now();
    const body = parseOr400(updateBodySchema, req.body, 'JSON');
    batchCapCheck(body.inputs.length, false);
    const multi = multiStatus(body.inputs);
    const failures: Failure[] = [];
    const accepted: Array<{ c: ContactRecord; values: Map<string, string>; input: Record<string, string>; trace: string | undefined }> = [];
    const seen = new Set<string>();
    const duplicates: string[] = [];
    for (const item of body.inputs) {
      const trace = item.objectWriteTraceId;
      const c = lookupContact(store, item.id, item.idProperty, false);
      if (!c) {
        failures.push({ kind: 'notFound', id: item.id, trace });
        continue;
      }
      if (seen.has(c.id)) duplicates.push(item.id);
      seen.add(c.id);
      const input = toStringMap(item.properties);
      const check = store.checkWrite(input, { existing: c });
      if (check.errors.length > 0) {
        failures.push({ kind: 'validation', errors: check.errors, trace });
        continue;
      }
      const holder = store.emailOwner(check.values, c);
      if (holder) {
        failures.push({ kind: 'conflict', holder, trace });
        continue;
      }
      accepted.push({ c, values: check.values, input, trace });
    }
    if (duplicates.length > 0) throw validationError(`Duplicate IDs found in batch input: [${duplicates.join(', ')}]. IDs must be unique`);
    if (!multi && failures.length > 0) throw wholeBatchError(failures);
    const results = accepted.map(({ c, values, input, trace }) => {
      store.update(c, values, ctx.apiSource);
      return renderContact(store.registry, c, { properties: writtenNames(input), ...(trace !== undefined ? { objectWriteTraceId: trace } : {}) });
    });
    reply(res, 200, startedAt, results, failures.map(toStandard));
  });

  // Upsert by email creates a missing contact (with that email); by id it can only update.
  router.post('/batch/upsert', (req, res) => {
    const startedAt = ctx.clock.now();
    const body = parseOr400(updateBodySchema, req.body, 'JSON');
    batchCapCheck(body.inputs.length, false);
    const multi = multiStatus(body.inputs);
    const failures: Failure[] = [];
    const plan: Array<{ c: ContactRecord | null; values: Map<string, string>; input: Record<string, string>; trace: string | undefined }> = [];
    const keys = new Set<string>();
    for (const item of body.inputs) {
      const trace = item.objectWriteTraceId;
      const byEmail = item.idProperty === 'email';
      const key = byEmail ? item.id.toLowerCase() : item.id;
      if (keys.has(key)) throw validationError(`Duplicate IDs found in batch input: [${item.id}]. IDs must be unique`);
      keys.add(key);
      const c = lookupContact(store, item.id, item.idProperty, false) ?? null;
      if (!c && !byEmail) {
        failures.push({ kind: 'notFound', id: item.id, trace });
        continue;
      }
      const input = toStringMap(item.properties);
      if (!c && input.email === undefined) input.email = item.id;
      const check = store.checkWrite(input, c ? { existing: c } : {});
      if (check.errors.length > 0) {
        failures.push({ kind: 'validation', errors: check.errors, trace });
        continue;
      }
      const holder = store.emailOwner(check.values, c ?? undefined);
      if (holder) {
        failures.push({ kind: 'conflict', holder, trace });
        continue;
      }
      plan.push({ c, values: check.values, input, trace });
    }
    if (!multi && failures.length > 0) throw wholeBatchError(failures);
    const results = plan.map(({ c, values, input, trace }) => {
      const record = c ?? store.create(values, ctx.apiSource);
      if (c) store.update(c, values, ctx.apiSource);
      const rendered = renderContact(store.registry, record, { properties: writtenNames(input), ...(trace !== undefined ? { objectWriteTraceId: trace } : {}) });
      return { ...rendered, new: c === null };
    });
    reply(res, 200, startedAt, results, failures.map(toStandard));
  });

  router.post('/batch/archive', (req, res) => {
    const body = parseOr400(archiveBodySchema, req.body, 'JSON');
    batchCapCheck(body.inputs.length, false);
    for (const { id } of body.inputs) {
      const c = store.getRecord(id);
      if (c && c.mergedInto === null) store.archive(c, ctx.apiSource);
    }
    res.status(204).end();
  });

  return router;
}
