/**
 * Batched contact I/O: batch read, update and create of at most 100 inputs per call (reference H1:
 * "Batch operations are limited to 100 records at a time").
 *
 * Partial failure: each write input carries a unique `objectWriteTraceId`, which makes HubSpot
 * answer 207 with one StandardError per failed input, its `context.objectWriteTraceId` naming the
 * input (reference H1; HubSpot error-handling docs). The SDK does not throw on a 207: it returns a
 * `BatchResponse…WithErrors` (`errors[]`, `numErrors`) from the same method (codegen BatchApi.js
 * `isCodeInRange("207")`). A batch refused as a whole for one bad input (400/404/409 without
 * multi-status) is bisected, so one bad record costs one record and a handful of calls, not the batch.
 * Errors about the whole call (auth, permission, quota, HubSpot down) are thrown: the job retries.
 */
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CrmError, isCrmError } from '../errors.js';
import type { CrmErrorCode } from '../errors.js';
import type { CreateOutcome, CreateRequest, ReadResult, RecordRef, RecordUpdate, WriteOutcome } from '../types.js';
import { normaliseEmail } from '../../src/model/lead.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';
import type { MappedContacts } from './mapping.js';
import { mergedIdsOf } from './mapping.js';
import { STANDARD_PROPERTIES as P } from './properties.js';
import type { Picklists } from './picklists.js';
import { createToProperties, updateToProperties } from './write-mapping.js';
import { fieldProperties } from './field-values.js';
import type { PropertyDefinitions } from './field-values.js';
import type { SyncField } from '../../src/model/field-sync.js';

export const BATCH_LIMIT = 100;

const standardErrorSchema = z.looseObject({
  status: z.string().optional(),
  id: z.string().optional(),
  category: z.string().optional(),
  subCategory: z.unknown().optional(),
  message: z.string().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});
type StandardError = z.infer<typeof standardErrorSchema>;

const batchResponseSchema = z.looseObject({
  status: z.string().optional(),
  results: z.array(z.unknown()).default([]),
  errors: z.array(standardErrorSchema).optional(),
  numErrors: z.number().optional(),
});
type BatchResponse = z.infer<typeof batchResponseSchema>;

const resultKeySchema = z.looseObject({
  id: z.string(),
  objectWriteTraceId: z.string().optional(),
  properties: z.record(z.string(), z.string().nullable()).optional(),
});

function parseBatch(op: string, answer: unknown): BatchResponse {
  const parsed = batchResponseSchema.safeParse(answer);
  if (!parsed.success) throw unexpectedAnswer(op, parsed.error.issues[0]?.message ?? 'not a batch response');
  return parsed.data;
}

export function chunk<T>(items: readonly T[], size = BATCH_LIMIT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function contextValues(e: StandardError, key: string): string[] {
  const v = e.context?.[key];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

const CATEGORY_CODES: Record<string, CrmErrorCode> = {
  OBJECT_NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  VALIDATION_ERROR: 'VALIDATION',
  INVALID_EMAIL: 'VALIDATION',
  RATE_LIMITS: 'RATE_LIMITED',
  MISSING_SCOPES: 'PERMISSION',
  INTERNAL_ERROR: 'TRANSIENT',
};

/** One input's StandardError (from a 207) as a CrmError about that record. */
export function crmErrorFromStandardError(e: StandardError, recordId?: string): CrmError {
  const category = e.category ?? 'UNKNOWN';
  return new CrmError({
    crm: 'hubspot',
    code: CATEGORY_CODES[category] ?? 'VALIDATION',
    message: e.message ?? `HubSpot refused the record (${category})`,
    vendorCode: category,
    recordId,
  });
}

/** "Contact already exists. Existing ID: 123" (HubSpot's duplicate-email conflict). */
export function existingIdOf(message: string | undefined, context?: Record<string, unknown>): string | null {
  const m = message ? /Existing ID:\s*(\d+)/i.exec(message) : null;
  if (m?.[1]) return m[1];
  const fromContext = context?.existingId ?? context?.existingObjectId;
  if (Array.isArray(fromContext) && typeof fromContext[0] === 'string') return fromContext[0];
  return null;
}

/** Errors that belong to one record; anything else is about the call and is thrown. */
function isRecordError(err: unknown): err is CrmError {
  return isCrmError(err) && (err.code === 'VALIDATION' || err.code === 'NOT_FOUND' || err.code === 'CONFLICT');
}

// ---- read ---------------------------------------------------------------------------------------

export interface ReadDeps {
  client: HubSpotClient;
  properties: readonly string[];
  map(raw: readonly unknown[]): MappedContacts;
}

async function batchRead(deps: ReadDeps, ids: string[], archived: boolean): Promise<BatchResponse> {
  try {
    // batch/read with `?archived=`: missing ids come back as 207 errors, not as a failed call.
    const answer = await deps.client.call('read', archived ? 'contacts.batch.read.archived' : 'contacts.batch.read', (sdk, o) =>
      sdk.crm.contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: [...deps.properties], propertiesWithHistory: [] }, archived, o),
    );
    return parseBatch('contacts batch read', answer);
  } catch (err) {
    // Some portals answer 404 when no id of the batch exists.
    if (isCrmError(err) && err.code === 'NOT_FOUND') return { results: [] };
    throw err;
  }
}

/**
 * Reads contacts by id. A merged-away id comes back as its survivor (whose `hs_merged_object_ids`
 * lists it): reported as removed `merged` with the survivor's id. Ids not returned are looked up
 * once among archived contacts (one more call only when something is missing).
 */
export async function readContacts(deps: ReadDeps, refs: readonly RecordRef[]): Promise<ReadResult> {
  const result: ReadResult = { fragments: [], missing: [], removed: [], problems: [] };
  const ids: string[] = [];
  for (const ref of refs) {
    if (ref.object !== 'contact') {
      result.problems.push({ ref, code: 'VALIDATION', message: `HubSpot holds contacts only, not ${ref.object}` });
    } else if (!ids.includes(ref.id)) ids.push(ref.id);
  }
  const found = new Set<string>();
  const survivorOf = new Map<string, string>();
  for (const part of chunk(ids)) {
    const answer = await batchRead(deps, part, false);
    const mapped = deps.map(answer.results);
    result.fragments.push(...mapped.fragments);
    result.removed.push(...mapped.removed);
    result.problems.push(...mapped.problems);
    for (const c of mapped.contacts) {
      found.add(c.id);
      for (const merged of mergedIdsOf(c)) survivorOf.set(merged, c.id);
    }
  }
  const notFound = ids.filter((id) => !found.has(id) && !survivorOf.has(id));
  for (const id of ids) if (!found.has(id) && survivorOf.has(id)) result.missing.push({ object: 'contact', id });
  for (const part of chunk(notFound)) {
    const answer = await batchRead(deps, part, true);
    const archivedAt = new Map<string, string>();
    for (const raw of answer.results) {
      const parsed = z.object({ id: z.string(), archivedAt: z.union([z.date(), z.string()]).optional(), updatedAt: z.union([z.date(), z.string()]).optional() }).safeParse(raw);
      if (!parsed.success) continue;
      const when = parsed.data.archivedAt ?? parsed.data.updatedAt;
      archivedAt.set(parsed.data.id, when instanceof Date ? when.toISOString() : (when ?? new Date().toISOString()));
    }
    for (const id of part) {
      result.missing.push({ object: 'contact', id });
      const at = archivedAt.get(id);
      if (at !== undefined) result.removed.push({ ref: { object: 'contact', id }, reason: 'archived', at });
    }
  }
  return result;
}

// ---- update -------------------------------------------------------------------------------------

interface UpdateInput {
  id: string;
  properties: Record<string, string>;
}

/** Sends updates in batches of 100 and says, per id, whether HubSpot took it (null) or why not. */
export async function updateContacts(client: HubSpotClient, inputs: readonly UpdateInput[]): Promise<Map<string, CrmError | null>> {
  const outcome = new Map<string, CrmError | null>();
  for (const part of chunk(inputs)) for (const [id, e] of await updateChunk(client, part)) outcome.set(id, e);
  return outcome;
}

async function updateChunk(client: HubSpotClient, part: readonly UpdateInput[]): Promise<Map<string, CrmError | null>> {
  const nonce = randomUUID().slice(0, 8);
  const traced = part.map((input, i) => ({ ...input, objectWriteTraceId: `${nonce}-${i}` }));
  let answer: BatchResponse;
  try {
    // POST .../batch/update: 200, or 207 with a StandardError per refused input naming its trace id.
    answer = parseBatch(
      'contacts batch update',
      await client.call('write', 'contacts.batch.update', (sdk, o) => sdk.crm.contacts.batchApi.update({ inputs: traced }, o)),
    );
  } catch (err) {
    if (!isRecordError(err)) throw err;
    if (part.length === 1 && part[0]) {
      const only = part[0];
      return new Map([[only.id, new CrmError({ ...err.toJSON(), recordId: only.id }, { cause: err })]]);
    }
    const mid = Math.ceil(part.length / 2);
    return new Map([...(await updateChunk(client, part.slice(0, mid))), ...(await updateChunk(client, part.slice(mid)))]);
  }
  return attribute(traced, answer);
}

/** Which inputs of a 200/207 answer succeeded: by objectWriteTraceId, else by id. */
function attribute(inputs: ReadonlyArray<{ id: string; objectWriteTraceId: string }>, answer: BatchResponse): Map<string, CrmError | null> {
  const okTrace = new Set<string>();
  const okId = new Set<string>();
  for (const raw of answer.results) {
    const r = resultKeySchema.safeParse(raw);
    if (!r.success) continue;
    okId.add(r.data.id);
    if (r.data.objectWriteTraceId) okTrace.add(r.data.objectWriteTraceId);
  }
  const out = new Map<string, CrmError | null>();
  for (const e of answer.errors ?? []) {
    const traces = contextValues(e, 'objectWriteTraceId');
    const ids = [...contextValues(e, 'ids'), ...contextValues(e, 'id'), ...(e.id ? [e.id] : [])];
    for (const input of inputs) {
      if (traces.includes(input.objectWriteTraceId) || ids.includes(input.id)) out.set(input.id, crmErrorFromStandardError(e, input.id));
    }
  }
  for (const input of inputs) {
    if (out.has(input.id)) continue;
    if (okTrace.has(input.objectWriteTraceId) || okId.has(input.id)) out.set(input.id, null);
    else out.set(input.id, new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'HubSpot did not confirm this write', recordId: input.id }));
  }
  return out;
}

/**
 * Writes RecordUpdates. Values are checked first (write-mapping.ts); updates of one record are
 * merged into one input (HubSpot refuses duplicate ids in a batch). A lifecycle stage moved back
 * (`clearFirst`) is cleared in a batch update of its own before the new value, because the API only
 * moves `lifecyclestage` forward unless it is empty.
 */
/** What writing synced fields needs: their specs by name and the portal's property definitions. */
export interface FieldSupport {
  specs: ReadonlyMap<string, SyncField>;
  definitions: PropertyDefinitions;
}

export async function writeContacts(client: HubSpotClient, updates: readonly RecordUpdate[], picklists: Picklists, fieldSupport?: FieldSupport): Promise<WriteOutcome[]> {
  const outcomes: Array<WriteOutcome | undefined> = new Array(updates.length);
  const merged = new Map<string, { properties: Record<string, string>; clearFirst: boolean; indexes: number[] }>();
  const withFields = updates.some((u) => u.fields && Object.keys(u.fields).length > 0);
  const definitions = withFields && fieldSupport ? await fieldSupport.definitions.get() : new Map();
  const refusedAt = new Map<number, Array<{ field: string; error: CrmError }>>();
  updates.forEach((update, index) => {
    const mapped = updateToProperties(update, picklists);
    if (!mapped.ok) {
      outcomes[index] = { ref: update.ref, ok: false, error: mapped.error };
      return;
    }
    const entry = merged.get(update.ref.id) ?? { properties: {}, clearFirst: false, indexes: [] };
    if (update.fields && Object.keys(update.fields).length > 0) {
      // Synced fields first: the connector's own values (smk, owner, lifecycle) win a clash.
      const fields = fieldProperties(update.fields, fieldSupport?.specs ?? new Map(), definitions, update.ref.id);
      Object.assign(entry.properties, fields.properties);
      if (fields.refused.length > 0) refusedAt.set(index, fields.refused);
    }
    Object.assign(entry.properties, mapped.value.properties);
    entry.clearFirst ||= mapped.value.clearLifecycleFirst;
    entry.indexes.push(index);
    merged.set(update.ref.id, entry);
  });
  const failed = new Map<string, CrmError>();
  const clears = [...merged].filter(([, e]) => e.clearFirst).map(([id]) => ({ id, properties: { [P.lifecycleStage]: '' } }));
  if (clears.length > 0) {
    for (const [id, e] of await updateContacts(client, clears)) if (e) failed.set(id, e);
  }
  const inputs = [...merged]
    .filter(([id, e]) => !failed.has(id) && Object.keys(e.properties).length > 0)
    .map(([id, e]) => ({ id, properties: e.properties }));
  for (const [id, e] of await updateContacts(client, inputs)) if (e) failed.set(id, e);
  for (const [id, entry] of merged) {
    const error = failed.get(id);
    for (const index of entry.indexes) {
      const ref = updates[index]?.ref ?? { object: 'contact', id };
      const refused = refusedAt.get(index);
      outcomes[index] = error ? { ref, ok: false, error } : { ref, ok: true, ...(refused ? { refused } : {}) };
    }
  }
  return outcomes.map((o, i) => o ?? { ref: updates[i]?.ref ?? { object: 'contact', id: '' }, ok: true });
}

// ---- create -------------------------------------------------------------------------------------

/** Existing contacts by email: batch read with `idProperty: 'email'` (HubSpot matches emails case-insensitively). */
async function findByEmail(client: HubSpotClient, emails: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of chunk(emails)) {
    let answer: BatchResponse;
    try {
      // POST .../batch/read with idProperty=email: unknown emails come back as 207 errors, not a failure.
      answer = parseBatch(
        'contacts batch read by email',
        await client.call('read', 'contacts.batch.read.email', (sdk, o) =>
          sdk.crm.contacts.batchApi.read({ inputs: part.map((id) => ({ id })), idProperty: P.email, properties: [P.email, 'smk_lead_id'], propertiesWithHistory: [] }, false, o),
        ),
      );
    } catch (err) {
      if (isCrmError(err) && err.code === 'NOT_FOUND') continue;
      throw err;
    }
    for (const raw of answer.results) {
      const r = resultKeySchema.safeParse(raw);
      const email = r.success ? normaliseEmail(r.data.properties?.[P.email]) : null;
      if (r.success && email) found.set(email, r.data.id);
    }
  }
  return found;
}

interface CreateInput {
  email: string;
  properties: Record<string, string>;
  /** The matched HubSpot company: the contact is created with it as its primary company. */
  companyId?: string;
}

/**
 * HUBSPOT_DEFINED contact-to-company "Primary" (type 1). [C Associations v4 guide, "Association
 * type id values": contact to company 1 (Primary), 279 (unlabeled)]
 */
const PRIMARY_COMPANY = { associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 1 };

type CreateResult = { ok: true; id: string; created: boolean } | { ok: false; error: CrmError };

async function createChunk(client: HubSpotClient, part: readonly CreateInput[]): Promise<Map<string, CreateResult>> {
  const nonce = randomUUID().slice(0, 8);
  const traced = part.map((input, i) => ({ ...input, objectWriteTraceId: `${nonce}-${i}` }));
  const out = new Map<string, CreateResult>();
  let answer: BatchResponse;
  try {
    // POST .../batch/create: 201, or 207 per input; a duplicate email is CONFLICT "Existing ID: N".
    answer = parseBatch(
      'contacts batch create',
      await client.call('write', 'contacts.batch.create', (sdk, o) =>
        sdk.crm.contacts.batchApi.create({
          inputs: traced.map((t) => ({ properties: t.properties, objectWriteTraceId: t.objectWriteTraceId, associations: t.companyId ? [{ to: { id: t.companyId }, types: [PRIMARY_COMPANY] }] : [] })),
        }, o),
      ),
    );
  } catch (err) {
    if (!isRecordError(err)) throw err;
    if (part.length === 1 && part[0]) {
      // 409 "Contact already exists. Existing ID: N": an earlier try (or someone) created it.
      const existing = err.code === 'CONFLICT' ? existingIdOf(err.message) : null;
      out.set(part[0].email, existing ? { ok: true, id: existing, created: false } : { ok: false, error: err });
      return out;
    }
    const mid = Math.ceil(part.length / 2);
    return new Map([...(await createChunk(client, part.slice(0, mid))), ...(await createChunk(client, part.slice(mid)))]);
  }
  const byTrace = new Map(traced.map((t) => [t.objectWriteTraceId, t.email]));
  for (const raw of answer.results) {
    const r = resultKeySchema.safeParse(raw);
    if (!r.success) continue;
    const email = (r.data.objectWriteTraceId && byTrace.get(r.data.objectWriteTraceId)) || normaliseEmail(r.data.properties?.[P.email]);
    if (email) out.set(email, { ok: true, id: r.data.id, created: true });
  }
  for (const e of answer.errors ?? []) {
    const traces = contextValues(e, 'objectWriteTraceId');
    for (const t of traced) {
      if (!traces.includes(t.objectWriteTraceId)) continue;
      const existing = e.category === 'CONFLICT' ? existingIdOf(e.message, e.context) : null;
      out.set(t.email, existing ? { ok: true, id: existing, created: false } : { ok: false, error: crmErrorFromStandardError(e) });
    }
  }
  for (const t of traced) {
    if (!out.has(t.email)) out.set(t.email, { ok: false, error: new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'HubSpot did not confirm this create' }) });
  }
  return out;
}

/**
 * Creates contacts with `smk_lead_id` = leadId. Idempotent after a crash: for a retry, existing
 * contacts are first looked up by email (one read per 100), and a create that still meets a duplicate (409
 * `Contact already exists. Existing ID: N`, per input in a 207 or for a whole batch) reports that
 * contact as `created: false`. Requests for one email share one contact.
 */
export async function createContacts(client: HubSpotClient, requests: readonly CreateRequest[], fieldSupport?: FieldSupport): Promise<CreateOutcome[]> {
  const outcomes: Array<CreateOutcome | undefined> = new Array(requests.length);
  const byEmail = new Map<string, { properties: Record<string, string>; companyId?: string; indexes: number[] }>();
  const withFields = requests.some((r) => r.fields && Object.keys(r.fields).length > 0);
  const refusedAt = new Map<number, Array<{ field: string; error: CrmError }>>();
  const definitions = withFields && fieldSupport ? await fieldSupport.definitions.get() : new Map();
  requests.forEach((request, index) => {
    const mapped = createToProperties(request);
    if (mapped.ok && request.fields && fieldSupport) {
      // Synced values as Salesforce holds them, over the create's own mapping (blanks and refusals left out).
      const present = Object.fromEntries(Object.entries(request.fields).filter(([, v]) => v !== null));
      const fields = fieldProperties(present, fieldSupport.specs, definitions, `(new, lead ${request.leadId})`);
      Object.assign(mapped.value, fields.properties, { [P.email]: mapped.value[P.email] as string });
      if (fields.refused.length > 0) refusedAt.set(index, fields.refused);
    }
    const email = normaliseEmail(request.email);
    if (!mapped.ok || !email) {
      const error = mapped.ok ? new CrmError({ crm: 'hubspot', code: 'VALIDATION', message: `lead ${request.leadId}: no usable email`, field: P.email }) : mapped.error;
      outcomes[index] = { leadId: request.leadId, ok: false, error };
      return;
    }
    const entry = byEmail.get(email) ?? { properties: mapped.value, ...(request.account ? { companyId: request.account.id } : {}), indexes: [] };
    entry.indexes.push(index);
    byEmail.set(email, entry);
  });
  const results = new Map<string, CreateResult>();
  // A retry looks its contact up first; a first try goes straight to the create, where a contact
  // someone made meanwhile comes back as a per-input 409 "Existing ID: N" (traced inputs, 207).
  const retried = new Set(requests.filter((r) => r.firstTry !== true).map((r) => normaliseEmail(r.email)).filter((e): e is string => e !== null));
  const existing = retried.size > 0 ? await findByEmail(client, [...byEmail.keys()].filter((e) => retried.has(e))) : new Map<string, string>();
  for (const [email, id] of existing) results.set(email, { ok: true, id, created: false });
  const toCreate = [...byEmail].filter(([email]) => !existing.has(email)).map(([email, e]) => ({ email, properties: e.properties, ...(e.companyId ? { companyId: e.companyId } : {}) }));
  for (const part of chunk(toCreate)) for (const [email, r] of await createChunk(client, part)) results.set(email, r);
  for (const [email, entry] of byEmail) {
    const r = results.get(email);
    entry.indexes.forEach((index, n) => {
      const leadId = requests[index]?.leadId ?? '';
      if (!r) outcomes[index] = { leadId, ok: false, error: new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'create not attempted' }) };
      else if (!r.ok) outcomes[index] = { leadId, ok: false, error: r.error };
      // A second request for the same email finds the contact the first one created.
      else {
        const refused = refusedAt.get(index);
        outcomes[index] = { leadId, ok: true, ref: { object: 'contact', id: r.id }, created: r.created && n === 0, ...(refused ? { refused } : {}) };
      }
    });
  }
  return outcomes.map((o, i) => o ?? { leadId: requests[i]?.leadId ?? '', ok: false, error: new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'create not attempted' }) });
}

