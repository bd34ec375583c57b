/**
 * The writing direction: RecordUpdate / CreateRequest → sObject fields, checked against what the
 * org would refuse before anything is sent. A restricted picklist value it does not have, text
 * over the field's length, or a number that is not one fails that record alone, with an error that
 * names the record, the field and the value, instead of failing inside a batch of 200.
 * Limits come from the org's describe (metadata.ts), and from SMK_FIELDS where describe is silent.
 */
import { SMK_FIELD_BY_KEY } from '../../src/model/fields.js';
import type { SmkField, SmkFieldKey } from '../../src/model/fields.js';
import { CrmError } from '../errors.js';
import type { CreateRequest, RecordUpdate } from '../types.js';
import type { FieldMeta, ObjectMeta } from './metadata.js';
import { normaliseDomain, NOT_PROVIDED } from './mapping.js';
import type { Translations } from './picklists.js';
import { isSalesforceId, parseSalesforceDateTime } from './soql.js';

export type SObjectValue = string | number | boolean | null;
export type SObjectFields = Record<string, SObjectValue>;
export type Checked<T> = { ok: true; value: T } | { ok: false; error: CrmError };

const NUMERIC_TYPES = new Set(['double', 'int', 'currency', 'percent']);
const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'url', 'encryptedstring']);

/** A value for a message: long values are cut, so one bad record cannot flood the report. */
function shown(value: string): string {
  return value.length > 80 ? `"${value.slice(0, 77)}..." (${value.length} characters)` : `"${value}"`;
}

export function refusal(recordLabel: string, recordId: string | undefined, field: string, value: string, reason: string): CrmError {
  return new CrmError({
    crm: 'salesforce',
    code: 'VALIDATION',
    message: `${recordLabel}: ${field} ${shown(value)} ${reason}`,
    vendorCode: 'PRE_WRITE_CHECK',
    recordId,
    field,
  });
}

/** `Lead 00Q...` for updates, `new Lead for lead <leadId>` for creates. */
export interface RecordContext {
  label: string;
  recordId?: string;
}

export function checkText(ctx: RecordContext, field: string, value: string, limit: number | null): Checked<SObjectValue> {
  if (limit !== null && limit > 0 && value.length > limit) {
    return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, `is ${value.length} characters; the field holds ${limit}`) };
  }
  return { ok: true, value };
}

export function checkNumber(ctx: RecordContext, field: string, value: string, precision: number, scale: number): Checked<SObjectValue> {
  const trimmed = value.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) {
    return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, 'is not a number') };
  }
  const n = Number(trimmed);
  // Salesforce rounds to the field's scale itself; rounding here keeps what we record as written
  // equal to what the CRM will hold.
  const rounded = Number(n.toFixed(scale));
  const integerDigits = Math.trunc(Math.abs(rounded)).toString().length;
  if (!Number.isFinite(n) || integerDigits > Math.max(1, precision - scale)) {
    return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, `has more than ${precision - scale} digits before the decimal point`) };
  }
  return { ok: true, value: rounded };
}

function checkDateTime(ctx: RecordContext, field: string, value: string): Checked<SObjectValue> {
  const ms = parseSalesforceDateTime(value);
  if (!Number.isFinite(ms)) return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, 'is not a date-time') };
  return { ok: true, value: new Date(ms).toISOString() };
}

/** The org's active value matching one of `candidates` (case-insensitive), e.g. `hot` or `Hot`. */
export function picklistHit(meta: FieldMeta, candidates: readonly string[]): string | undefined {
  const active = meta.picklist.filter((p) => p.active);
  for (const c of candidates) {
    const hit = active.find((p) => p.value === c) ?? active.find((p) => p.value.toLowerCase() === c.toLowerCase() || p.label.toLowerCase() === c.toLowerCase());
    if (hit) return hit.value;
  }
  return undefined;
}

/** One smk value, in the common string form, as the value this org's field takes. */
export function checkSmkValue(ctx: RecordContext, def: SmkField, meta: FieldMeta, value: string | null): Checked<SObjectValue> {
  const field = meta.name;
  if (value === null || value === '') return { ok: true, value: null };
  switch (def.type) {
    case 'number':
      if (!NUMERIC_TYPES.has(meta.type)) break;
      return checkNumber(ctx, field, value, meta.precision || def.precision || 18, meta.scale ?? 0);
    case 'text':
    case 'longtext':
      if (!TEXT_TYPES.has(meta.type)) break;
      return checkText(ctx, field, value, meta.length || def.maxLength || null);
    case 'datetime':
      if (meta.type !== 'datetime') break;
      return checkDateTime(ctx, field, value);
    case 'enum': {
      if (meta.type !== 'picklist' && meta.type !== 'multipicklist') break;
      const option = def.options?.find((o) => o.value === value.toLowerCase() || o.label.toLowerCase() === value.toLowerCase());
      if (!option) {
        const allowed = (def.options ?? []).map((o) => o.value).join(', ');
        return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, `is not one of the allowed values (${allowed})`) };
      }
      const hit = picklistHit(meta, [option.value, option.label]);
      if (hit) return { ok: true, value: hit };
      if (meta.restricted || meta.picklist.length > 0) {
        const allowed = meta.picklist.filter((p) => p.active).map((p) => p.value).join(', ');
        return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, `is not a value of this org's picklist (allowed: ${allowed}); run \`smk install\``) };
      }
      return { ok: true, value: option.value };
    }
  }
  return {
    ok: false,
    error: refusal(ctx.label, ctx.recordId, field, value, `cannot be written: the org's field is of type ${meta.type}, the connector expects ${def.type}; fix the field or run \`smk install\``),
  };
}

/** The smk part of a write: every value checked; fields without a Salesforce name are skipped. */
function smkFields(ctx: RecordContext, object: ObjectMeta, smk: Partial<Record<SmkFieldKey, string | null>>): Checked<SObjectFields> {
  const out: SObjectFields = {};
  for (const [key, value] of Object.entries(smk) as Array<[SmkFieldKey, string | null | undefined]>) {
    if (value === undefined) continue;
    const def = SMK_FIELD_BY_KEY.get(key);
    if (!def) return { ok: false, error: refusal(ctx.label, ctx.recordId, key, String(value), 'is not an smk field') };
    // HubSpot-only fields (salesNotes: notes live in Salesforce's own activity) have no column here.
    if (def.salesforce === null) continue;
    const meta = object.fields.get(def.salesforce);
    if (!meta) {
      return {
        ok: false,
        error: refusal(ctx.label, ctx.recordId, def.salesforce, String(value), `cannot be written: ${object.object}.${def.salesforce} does not exist in this org; run \`smk install\``),
      };
    }
    const checked = checkSmkValue(ctx, def, meta, value);
    if (!checked.ok) return checked;
    out[def.salesforce] = checked.value;
  }
  return { ok: true, value: out };
}

function checkOwner(ctx: RecordContext, ownerId: string): Checked<string> {
  if (!isSalesforceId(ownerId)) return { ok: false, error: refusal(ctx.label, ctx.recordId, 'OwnerId', ownerId, 'is not a Salesforce user or queue id') };
  return { ok: true, value: ownerId };
}

/** The sObject fields of one update (`Id` included), or the reason it must not be sent. */
export function toSalesforceUpdate(update: RecordUpdate, object: ObjectMeta, translations: Translations): Checked<SObjectFields> {
  const { ref } = update;
  const ctx: RecordContext = { label: `${ref.object} ${ref.id}`, recordId: ref.id };
  if (ref.object !== 'Lead' && ref.object !== 'Contact') {
    return { ok: false, error: refusal(ctx.label, ref.id, 'object', ref.object, 'is not a Salesforce object') };
  }
  if (!isSalesforceId(ref.id)) return { ok: false, error: refusal(ctx.label, undefined, 'Id', ref.id, 'is not a Salesforce record id') };
  const smk = smkFields(ctx, object, update.smk);
  if (!smk.ok) return smk;
  const record: SObjectFields = { Id: ref.id, ...smk.value };
  if (update.ownerId) {
    const owner = checkOwner(ctx, update.ownerId);
    if (!owner.ok) return owner;
    record.OwnerId = owner.value;
  }
  if (update.status !== undefined) {
    if (ref.object !== 'Lead') return { ok: false, error: refusal(ctx.label, ref.id, 'Status', update.status, 'cannot be set: a Contact has no Lead Status') };
    const status = translations.status.toSalesforce(update.status);
    if (!status.ok) return { ok: false, error: refusal(ctx.label, ref.id, 'Status', update.status, status.reason) };
    record.Status = status.value;
  }
  return { ok: true, value: record };
}

/** A standard text field of a create: checked against the org's length, left out if the org lacks it. */
function putText(out: SObjectFields, ctx: RecordContext, object: ObjectMeta, field: string, value: string | null | undefined): CrmError | null {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!v) return null;
  const meta = object.fields.get(field);
  if (!meta) return null;
  const checked = checkText(ctx, field, v, meta.length);
  if (!checked.ok) return checked.error;
  out[field] = v;
  return null;
}

function putNumber(out: SObjectFields, ctx: RecordContext, object: ObjectMeta, field: string, value: number | null | undefined): CrmError | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const meta = object.fields.get(field);
  if (!meta) return null;
  const digits = meta.type === 'int' ? 9 : meta.precision || 18;
  const checked = checkNumber(ctx, field, String(value), digits, meta.type === 'int' ? 0 : meta.scale ?? 0);
  if (!checked.ok) return checked.error;
  out[field] = checked.value;
  return null;
}

export interface CreateTarget {
  object: 'Lead' | 'Contact';
  accountId?: string;
  accountOwnerId?: string;
}

/**
 * The sObject fields of one create. LastName (and a Lead's Company) are required by Salesforce;
 * a person without one gets `[not provided]`, the placeholder Salesforce's own web-to-lead uses
 * and that mapping.ts reads back as no value. LeadSource is a picklist: a source the org does
 * not have is left out rather than failing the create, since it is context, not the connector's value.
 */
export function toSalesforceCreate(request: CreateRequest, target: CreateTarget, object: ObjectMeta, translations: Translations): Checked<SObjectFields> {
  const ctx: RecordContext = { label: `new ${target.object} for lead ${request.leadId}` };
  const out: SObjectFields = {};
  const { person, company } = request;
  const errors = [
    putText(out, ctx, object, 'FirstName', person.firstName),
    putText(out, ctx, object, 'LastName', person.lastName || NOT_PROVIDED),
    putText(out, ctx, object, 'Email', request.email),
    putText(out, ctx, object, 'Title', person.title),
    putText(out, ctx, object, 'Phone', person.phone),
  ];
  if (target.object === 'Lead') {
    errors.push(
      putText(out, ctx, object, 'Company', company.name || company.domain || NOT_PROVIDED),
      putText(out, ctx, object, 'Website', normaliseDomain(company.domain)),
      putText(out, ctx, object, 'Industry', company.industry),
      putText(out, ctx, object, 'Country', person.country),
      putText(out, ctx, object, 'State', person.state),
      putText(out, ctx, object, 'City', person.city),
      putNumber(out, ctx, object, 'NumberOfEmployees', company.employees),
      putNumber(out, ctx, object, 'AnnualRevenue', company.annualRevenue),
    );
    // Industry is a picklist in Salesforce: keep it only when the org has the value.
    const industry = object.fields.get('Industry');
    if (typeof out.Industry === 'string' && industry && industry.picklist.length > 0) {
      const hit = picklistHit(industry, [out.Industry]);
      if (hit) out.Industry = hit;
      else delete out.Industry;
    }
  } else {
    errors.push(
      putText(out, ctx, object, 'MailingCountry', person.country),
      putText(out, ctx, object, 'MailingState', person.state),
      putText(out, ctx, object, 'MailingCity', person.city),
    );
    if (target.accountId) out.AccountId = target.accountId;
  }
  const firstError = errors.find((e): e is CrmError => e !== null);
  if (firstError) return { ok: false, error: firstError };

  const source = request.marketing?.source;
  const leadSource = object.fields.get('LeadSource');
  if (source && leadSource) {
    const hit = picklistHit(leadSource, [translations.leadSource[source] ?? source, source]);
    if (hit) out.LeadSource = hit;
  }

  const owner = request.ownerId ?? target.accountOwnerId;
  if (owner) {
    const checked = checkOwner(ctx, owner);
    if (!checked.ok) return checked;
    out.OwnerId = checked.value;
  }

  // The lead id goes in with the record, so a retried create finds its first try.
  const smk = smkFields(ctx, object, { ...request.smk, leadId: request.leadId });
  if (!smk.ok) return smk;
  return { ok: true, value: { ...out, ...smk.value } };
}
