/**
 * Record I/O by id: read (SOQL by Id, deleted rows included), write (checked updates through
 * collections or Bulk 2.0) and create (idempotent by the connector's lead id; Contact under a
 * matching Account or Lead).
 */
import { z } from 'zod';
import { normaliseEmail } from '../../src/model/lead.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import { CrmError } from '../errors.js';
import type { CreateOutcome, CreateRequest, ReadResult, RecordRef, RecordUpdate, WriteOutcome } from '../types.js';
import type { AccountLookup } from './accounts.js';
import type { AccountMatch } from './accounts.js';
import { chunk, saveMixedByCollections, updateByBulk } from './batch.js';
import type { RecordResult } from './batch.js';
import type { FeedDeps } from './change-feed.js';
import { parseOrThrow } from './client.js';
import { readFields } from './fields.js';
import { mapRow, normaliseDomain } from './mapping.js';
import { byFieldValuesQuery, byIdsQuery, isSalesforceId } from './soql.js';
import { refusal, toSalesforceCreate, toSalesforceUpdate } from './validation.js';
import { syncedSObjectFields } from './field-values.js';
import type { SyncField } from '../../src/model/field-sync.js';
import type { CreateTarget, SObjectFields } from './validation.js';

export interface RecordDeps extends FeedDeps {
  /** Account look-ups by domain, remembered for a few minutes. */
  accounts: AccountLookup;
  /** Above this many updates of one object, one Bulk API 2.0 job instead of collections. */
  bulkThreshold: number;
  bulkPollTimeoutMs: number;
  bulkPollIntervalMs?: number;
  /** Synced fields by name (for their Salesforce columns). */
  syncFieldSpecs?: ReadonlyMap<string, SyncField>;
}

/** Ids per `WHERE Id IN (...)`: 300 18-character ids keep the query URL near 7 KB. */
export const IDS_PER_QUERY = 300;

const LEAD_ID_FIELD = 'Smk_Lead_Id__c';

function isSalesforceObject(object: string): object is SalesforceObject {
  return object === 'Lead' || object === 'Contact';
}

/** Salesforce ids compare case-sensitively on their first 15 characters (18 adds a checksum). */
const idKey = (id: string) => id.slice(0, 15);

export async function readRecords(deps: RecordDeps, refs: readonly RecordRef[]): Promise<ReadResult> {
  const result: ReadResult = { fragments: [], missing: [], removed: [], problems: [] };
  const byObject = new Map<SalesforceObject, RecordRef[]>();
  for (const ref of refs) {
    if (!isSalesforceObject(ref.object) || !isSalesforceId(ref.id)) {
      result.problems.push({ ref, code: 'VALIDATION', message: `${ref.object} ${ref.id} is not a Salesforce Lead or Contact id`, field: 'Id', value: ref.id });
      continue;
    }
    byObject.set(ref.object, [...(byObject.get(ref.object) ?? []), ref]);
  }
  const translations = await deps.translations();
  for (const [object, list] of byObject) {
    const meta = await deps.metadata.object(object);
    const fields = readFields(object, new Set(meta.fields.keys()), { relationships: deps.relationships, syncFields: deps.syncFields, salesNotesField: deps.salesNotesField });
    for (const part of chunk(list, IDS_PER_QUERY)) {
      // queryAll: a record deleted since it was queued comes back with IsDeleted = true (a removal,
      // not a mystery); ids that come back not at all are missing (hard-deleted or merged away).
      const page = await deps.client.queryPage(`read ${object} x${part.length}`, byIdsQuery(object, fields, part.map((r) => r.id)), { scanAll: true });
      const seen = new Set<string>();
      for (const raw of page.records) {
        const mapped = mapRow(object, raw, translations, deps.syncFields, deps.salesNotesField);
        if (mapped.position) seen.add(idKey(mapped.position.id));
        if (mapped.fragment) result.fragments.push(mapped.fragment);
        if (mapped.removed) result.removed.push(mapped.removed);
        if (mapped.problem) {
          result.problems.push(mapped.problem);
          if (mapped.problem.ref) seen.add(idKey(mapped.problem.ref.id));
        }
      }
      for (const ref of part) if (!seen.has(idKey(ref.id))) result.missing.push(ref);
    }
  }
  return result;
}

export async function writeRecords(deps: RecordDeps, updates: readonly RecordUpdate[]): Promise<WriteOutcome[]> {
  const outcomes: Array<WriteOutcome | undefined> = new Array(updates.length);
  // One record per object and id: two updates of one record in a batch merge (later values win),
  // since a collection must not name a record twice.
  const groups = new Map<SalesforceObject, Map<string, { record: SObjectFields; indexes: number[] }>>();
  // The org's Lead Status values come with the translations (one cached LeadStatus query).
  const translations = await deps.translations();
  const refusedAt = new Map<number, Array<{ field: string; error: CrmError }>>();
  for (const [i, update] of updates.entries()) {
    const object = update.ref.object;
    if (!isSalesforceObject(object)) {
      outcomes[i] = { ref: update.ref, ok: false, error: refusal(`${object} ${update.ref.id}`, update.ref.id, 'object', object, 'is not a Salesforce object') };
      continue;
    }
    const meta = await deps.metadata.object(object);
    const checked = toSalesforceUpdate(update, meta, translations);
    if (!checked.ok) {
      outcomes[i] = { ref: update.ref, ok: false, error: checked.error };
      continue;
    }
    if (update.fields && Object.keys(update.fields).length > 0) {
      // Synced fields first: the connector's own values (smk, owner, status) win a clash.
      const synced = syncedSObjectFields({ label: `${object} ${update.ref.id}`, recordId: update.ref.id }, object, meta, update.fields, deps.syncFieldSpecs ?? new Map());
      checked.value = { ...synced.values, ...checked.value };
      if (synced.refused.length > 0) refusedAt.set(i, synced.refused);
    }
    if (Object.keys(checked.value).length <= 1) {
      const refused = refusedAt.get(i);
      outcomes[i] = { ref: update.ref, ok: true, ...(refused ? { refused } : {}) }; // nothing to write
      continue;
    }
    const group = groups.get(object) ?? new Map<string, { record: SObjectFields; indexes: number[] }>();
    groups.set(object, group);
    const key = idKey(update.ref.id);
    const existing = group.get(key);
    if (existing) {
      existing.record = { ...existing.record, ...checked.value };
      existing.indexes.push(i);
    } else group.set(key, { record: checked.value, indexes: [i] });
  }
  const settle = (object: SalesforceObject, entries: Array<{ indexes: number[] }>, results: RecordResult[]) => {
    entries.forEach((entry, n) => {
      const res = results[n];
      for (const i of entry.indexes) {
        const ref = updates[i]?.ref ?? { object, id: '' };
        const refused = refusedAt.get(i);
        outcomes[i] = res?.ok ? { ref, ok: true, ...(refused ? { refused } : {}) } : { ref, ok: false, error: res && !res.ok ? res.error : missingResult(ref.id) };
      }
    });
  };
  // Above the bulk threshold an object goes by Bulk API 2.0; the rest share collections (mixed types).
  const mixed: Array<{ object: SalesforceObject; record: SObjectFields; indexes: number[] }> = [];
  for (const [object, group] of groups) {
    const entries = [...group.values()];
    if (entries.length > deps.bulkThreshold) {
      settle(object, entries, await updateByBulk(deps.client, object, entries.map((e) => e.record), { pollTimeoutMs: deps.bulkPollTimeoutMs, pollIntervalMs: deps.bulkPollIntervalMs, ...(deps.logger ? { logger: deps.logger } : {}) }));
    } else for (const e of entries) mixed.push({ object, ...e });
  }
  if (mixed.length > 0) {
    const results = await saveMixedByCollections(deps.client, 'update', mixed);
    mixed.forEach((entry, n) => settle(entry.object, [entry], [results[n] as RecordResult]));
  }
  return outcomes.map((o, i) => o ?? { ref: updates[i]?.ref ?? { object: 'Lead', id: '' }, ok: false, error: missingResult(updates[i]?.ref.id) });
}

function missingResult(recordId: string | undefined): CrmError {
  return new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'no result for this record', recordId });
}

const leadIdRowSchema = z.looseObject({ Id: z.string().refine(isSalesforceId), [LEAD_ID_FIELD]: z.string().nullable().optional() });

/** Records a previous try already created, by the connector's lead id (`Smk_Lead_Id__c`). */
async function findCreated(deps: RecordDeps, leadIds: readonly string[]): Promise<Map<string, RecordRef>> {
  const found = new Map<string, RecordRef>();
  for (const object of ['Lead', 'Contact'] as const) {
    const meta = await deps.metadata.object(object);
    if (!meta.fields.has(LEAD_ID_FIELD)) continue;
    for (const part of chunk(leadIds, 200)) {
      const rows = await deps.client.queryAll(`find created ${object}`, byFieldValuesQuery(object, ['Id', LEAD_ID_FIELD], LEAD_ID_FIELD, part));
      for (const raw of rows) {
        const row = parseOrThrow(leadIdRowSchema, raw, object);
        const leadId = row[LEAD_ID_FIELD];
        if (typeof leadId === 'string' && !found.has(leadId)) found.set(leadId, { object, id: row.Id });
      }
    }
  }
  return found;
}

/** The company domain of a person: the company's own, else the email's. */
function personDomain(request: CreateRequest): string | null {
  return normaliseDomain(request.company.domain) ?? normaliseDomain(normaliseEmail(request.email)?.split('@')[1]);
}

function targetFor(request: CreateRequest, accounts: ReadonlyMap<string, AccountMatch>): CreateTarget {
  const as = request.as ?? 'Lead';
  if (as === 'Lead') return { object: 'Lead' };
  if (request.account) return { object: 'Contact', accountId: request.account.id, accountOwnerId: request.account.ownerId ?? undefined };
  const domain = personDomain(request);
  const account = domain ? accounts.get(domain) : undefined;
  if (account) return { object: 'Contact', accountId: account.id, accountOwnerId: account.ownerId ?? undefined };
  // `auto` with no matching Account: a Lead, for sales to qualify. An explicit Contact stays a
  // Contact, without an Account (Salesforce allows private contacts).
  return as === 'Contact' ? { object: 'Contact' } : { object: 'Lead' };
}

export async function createRecords(deps: RecordDeps, requests: readonly CreateRequest[]): Promise<CreateOutcome[]> {
  const outcomes: Array<CreateOutcome | undefined> = new Array(requests.length);
  const pending: number[] = [];
  for (const [i, request] of requests.entries()) {
    if (!request.leadId || !normaliseEmail(request.email)) {
      const field = request.leadId ? 'Email' : LEAD_ID_FIELD;
      outcomes[i] = { leadId: request.leadId, ok: false, error: refusal(`new record for lead ${request.leadId}`, undefined, field, request.leadId ? request.email : '', 'is required') };
    } else pending.push(i);
  }
  // Only a retry can find its own earlier try (a first try has nothing to find).
  const retried = pending.filter((i) => requests[i]?.firstTry !== true);
  const created = retried.length ? await findCreated(deps, retried.map((i) => requests[i]?.leadId ?? '')) : new Map<string, RecordRef>();
  const fresh = pending.filter((i) => {
    const request = requests[i];
    const ref = request ? created.get(request.leadId) : undefined;
    if (request && ref) outcomes[i] = { leadId: request.leadId, ok: true, ref, created: false };
    return !ref;
  });
  // Two requests for one lead id in a batch: the second waits for the next try (then it is found).
  const firstOfLead = new Map<string, number>();
  for (const i of fresh) {
    const request = requests[i];
    if (request && !firstOfLead.has(request.leadId)) firstOfLead.set(request.leadId, i);
  }

  const placing = fresh.map((i) => requests[i]).filter((r): r is CreateRequest => r !== undefined && (r.as ?? 'Lead') !== 'Lead' && r.account === undefined);
  const domains = placing.map(personDomain).filter((d): d is string => d !== null);
  const accounts = domains.length ? await deps.accounts.byDomain(domains) : new Map<string, AccountMatch>();
  const translations = await deps.translations();

  const batches = new Map<SalesforceObject, Array<{ index: number; record: SObjectFields }>>();
  const createRefused = new Map<number, Array<{ field: string; error: CrmError }>>();
  for (const i of fresh) {
    const request = requests[i];
    if (!request) continue;
    if (firstOfLead.get(request.leadId) !== i) {
      outcomes[i] = { leadId: request.leadId, ok: false, error: new CrmError({ crm: 'salesforce', code: 'CONFLICT', message: `lead ${request.leadId} is created by another request of this batch` }) };
      continue;
    }
    const target = targetFor(request, accounts);
    const meta = await deps.metadata.object(target.object);
    const checked = toSalesforceCreate(request, target, meta, translations);
    if (!checked.ok) {
      outcomes[i] = { leadId: request.leadId, ok: false, error: checked.error };
      continue;
    }
    if (request.fields) {
      // Synced values as the other CRM holds them, over the create's own mapping; blanks never
      // replace what the create filled in (a required field's placeholder), refusals are left out.
      const present = Object.fromEntries(Object.entries(request.fields).filter(([, v]) => v !== null));
      const synced = syncedSObjectFields({ label: `new ${target.object} for lead ${request.leadId}` }, target.object, meta, present, deps.syncFieldSpecs ?? new Map());
      checked.value = { ...checked.value, ...synced.values };
      if (synced.refused.length > 0) createRefused.set(i, synced.refused);
    }
    batches.set(target.object, [...(batches.get(target.object) ?? []), { index: i, record: checked.value }]);
  }
  const toCreate = [...batches].flatMap(([object, entries]) => entries.map((e) => ({ object, ...e })));
  const results = toCreate.length > 0 ? await saveMixedByCollections(deps.client, 'create', toCreate) : [];
  toCreate.forEach((entry, n) => {
    const leadId = requests[entry.index]?.leadId ?? '';
    const res = results[n];
    const refused = createRefused.get(entry.index);
    outcomes[entry.index] = res?.ok ? { leadId, ok: true, ref: { object: entry.object, id: res.id }, created: true, ...(refused ? { refused } : {}) } : { leadId, ok: false, error: res && !res.ok ? res.error : missingResult(undefined) };
  });
  return outcomes.map((o, i) => o ?? { leadId: requests[i]?.leadId ?? '', ok: false, error: missingResult(undefined) });
}
