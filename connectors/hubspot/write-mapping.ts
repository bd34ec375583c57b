/**
 * RecordUpdate / CreateRequest -> HubSpot contact properties, with every value checked before the
 * write against what HubSpot would refuse (reference H1, H4: property values are strings; an
 * enumeration value must be one of its options, case-sensitively; a number must parse; text is at
 * most 65,536 characters, and our own fields keep the tighter limits of SMK_FIELDS so that both CRMs
 * can hold them). A refusal is a VALIDATION CrmError naming the record, the field and the value, so
 * that one bad value costs one record, not a failed batch.
 */
import { CrmError } from '../errors.js';
import type { CreateRequest, RecordUpdate } from '../types.js';
import { SMK_FIELD_BY_KEY } from '../../src/model/fields.js';
import type { SmkField, SmkFieldKey } from '../../src/model/fields.js';
import { STANDARD_PROPERTIES as P } from './properties.js';
import type { Picklists } from './picklists.js';
import { parseTimestamp } from './mapping.js';

/** HubSpot's limit for a string property value. */
export const HUBSPOT_MAX_TEXT = 65_536;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export function validationError(record: string, field: string, value: string, why: string): CrmError {
  return new CrmError({
    crm: 'hubspot',
    code: 'VALIDATION',
    message: `HubSpot contact ${record}: ${field} ${why}; got ${shown(value)}`,
    vendorCode: 'PRE_WRITE_VALIDATION',
    recordId: record,
    field,
  });
}

type Checked = { ok: true; value: string } | { ok: false; error: CrmError };

/** One `smk` value in HubSpot's wire form ("" clears), or why HubSpot would refuse it. */
export function smkValueToHubSpot(field: SmkField, value: string | null, record: string): Checked {
  const name = field.hubspot;
  if (name === null) {
    return { ok: false, error: validationError(record, field.key, value ?? '', 'has no HubSpot property (it lives in Salesforce only)') };
  }
  if (value === null || value === '') return { ok: true, value: '' };
  switch (field.type) {
    case 'number': {
      const t = value.trim();
      if (!NUMBER.test(t) || !Number.isFinite(Number(t))) return { ok: false, error: validationError(record, name, value, 'must be a number') };
      return { ok: true, value: String(Number(t)) };
    }
    case 'enum': {
      const allowed = (field.options ?? []).map((o) => o.value);
      if (!allowed.includes(value)) {
        return { ok: false, error: validationError(record, name, value, `must be one of ${allowed.join(', ')}`) };
      }
      return { ok: true, value };
    }
    case 'datetime': {
      const ms = parseTimestamp(value);
      if (ms === null) return { ok: false, error: validationError(record, name, value, 'must be an ISO-8601 date-time or epoch milliseconds') };
      // Epoch-ms strings are the form HubSpot's own examples write (reference H1).
      return { ok: true, value: String(ms) };
    }
    case 'text':
    case 'longtext': {
      const max = Math.min(field.maxLength ?? HUBSPOT_MAX_TEXT, HUBSPOT_MAX_TEXT);
      if (value.length > max) {
        return { ok: false, error: validationError(record, name, value, `is ${value.length} characters long; at most ${max} fit`) };
      }
      return { ok: true, value };
    }
  }
}

function smkProperties(
  smk: Partial<Record<SmkFieldKey, string | null>>,
  record: string,
  properties: Record<string, string>,
): CrmError | null {
  for (const [key, value] of Object.entries(smk) as Array<[SmkFieldKey, string | null | undefined]>) {
    if (value === undefined) continue;
    const field = SMK_FIELD_BY_KEY.get(key);
    if (!field) return validationError(record, key, value ?? '', 'is not a known smk field');
    const checked = smkValueToHubSpot(field, value, record);
    if (!checked.ok) return checked.error;
    properties[field.hubspot as string] = checked.value;
  }
  return null;
}

function ownerValue(ownerId: string | null, record: string): Checked {
  if (ownerId === null || ownerId === '') return { ok: true, value: '' };
  // HubSpot owner ids are numeric (crm.owners); a Salesforce 005... id here is a routing mix-up.
  if (!/^\d+$/.test(ownerId.trim())) return { ok: false, error: validationError(record, P.ownerId, ownerId, 'must be a HubSpot owner id (digits)') };
  return { ok: true, value: ownerId.trim() };
}

export interface UpdateProperties {
  properties: Record<string, string>;
  /** `lifecyclestage` must be cleared in a write of its own before the new value (it only moves forward). */
  clearLifecycleFirst: boolean;
}

export function updateToProperties(
  update: RecordUpdate,
  picklists: Picklists,
): { ok: true; value: UpdateProperties } | { ok: false; error: CrmError } {
  const record = update.ref.id;
  const properties: Record<string, string> = {};
  const smkError = smkProperties(update.smk, record, properties);
  if (smkError) return { ok: false, error: smkError };
  if (update.ownerId !== undefined) {
    const owner = ownerValue(update.ownerId, record);
    if (!owner.ok) return owner;
    properties[P.ownerId] = owner.value;
  }
  let clearLifecycleFirst = false;
  if (update.lifecycleStage) {
    const stage = picklists.lifecycleStage.toHubSpot(update.lifecycleStage.value);
    if (stage === null) {
      const allowed = [...picklists.lifecycleStage.allowed].join(', ');
      return { ok: false, error: validationError(record, P.lifecycleStage, update.lifecycleStage.value, `must be one of ${allowed} (or a stage the mapping translates)`) };
    }
    properties[P.lifecycleStage] = stage;
    clearLifecycleFirst = update.lifecycleStage.clearFirst;
  }
  if (update.status !== undefined) {
    return { ok: false, error: validationError(record, 'status', update.status, 'is a Salesforce Lead field; HubSpot contacts have no Status') };
  }
  return { ok: true, value: { properties, clearLifecycleFirst } };
}

function setText(properties: Record<string, string>, name: string, value: string | null | undefined, record: string): CrmError | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  if (value.length > HUBSPOT_MAX_TEXT) return validationError(record, name, value, `is ${value.length} characters long; at most ${HUBSPOT_MAX_TEXT} fit`);
  properties[name] = value;
  return null;
}

/**
 * A new contact's properties. The record is named by the lead id (it has no HubSpot id yet).
 * Not written: employees (the contact property is a picklist of ranges on real portals) and the
 * marketing source/campaign (HubSpot's analytics properties are read-only).
 */
export function createToProperties(
  request: CreateRequest,
): { ok: true; value: Record<string, string> } | { ok: false; error: CrmError } {
  const record = `(new, lead ${request.leadId})`;
  const email = request.email.trim();
  if (!EMAIL.test(email)) return { ok: false, error: validationError(record, P.email, request.email, 'must be an email address') };
  const properties: Record<string, string> = { [P.email]: email };
  const texts: Array<[string, string | null | undefined]> = [
    [P.firstName, request.person.firstName],
    [P.lastName, request.person.lastName],
    [P.title, request.person.title],
    [P.phone, request.person.phone],
    [P.country, request.person.country],
    [P.state, request.person.state],
    [P.city, request.person.city],
    [P.company, request.company.name],
    [P.website, request.company.domain],
    [P.industry, request.company.industry],
  ];
  for (const [name, value] of texts) {
    const error = setText(properties, name, value, record);
    if (error) return { ok: false, error };
  }
  if (typeof request.company.annualRevenue === 'number' && Number.isFinite(request.company.annualRevenue)) {
    properties[P.annualRevenue] = String(request.company.annualRevenue);
  }
  const smkError = smkProperties({ ...request.smk, leadId: request.leadId }, record, properties);
  if (smkError) return { ok: false, error: smkError };
  if (request.ownerId) {
    const owner = ownerValue(request.ownerId, record);
    if (!owner.ok) return owner;
    properties[P.ownerId] = owner.value;
  }
  return { ok: true, value: properties };
}
