/**
 * Checks and converts one record's fields for a create or an update, the way Salesforce's DML
 * does, producing its per-record errors (statusCode + message + fields): INVALID_FIELD,
 * INVALID_FIELD_FOR_INSERT_UPDATE, REQUIRED_FIELD_MISSING, STRING_TOO_LONG,
 * INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_EMAIL_ADDRESS, INVALID_TYPE_ON_FIELD_IN_RECORD,
 * NUMBER_OUTSIDE_VALID_RANGE, MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY; and the update targets'
 * MISSING_ARGUMENT, MALFORMED_ID, ENTITY_IS_DELETED, CANNOT_UPDATE_CONVERTED_LEAD.
 */
import { noSuchColumnOnSObject, recordError } from './errors.js';
import type { RecordError } from './errors.js';
import type { FieldDef, SObjectSchema } from './objects.js';
import { opportunityStage } from './opportunity-objects.js';
import { checkSetupRecord } from './security.js';
import type { SalesforceStore } from './store.js';
import { isIdShaped, parseDate, parseDateTime, startOfUtcDay } from './values.js';
import type { SfRecord, SfValue } from './values.js';

export type WriteMode = 'create' | 'update';

/**
 * `unique`: a key no two records of one call may share (the setup objects' unique pairs, which
 * the store alone cannot see before the call commits).
 */
export type Validated = { ok: true; values: Record<string, SfValue>; unique?: string } | { ok: false; errors: RecordError[] };

/** Keys that travel with a record but are not fields. */
const META_KEYS = new Set(['attributes']);
const EMAIL_RE = /^[^@\s"(),:;<>[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const NUMERIC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'url', 'picklist', 'combobox']);

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Converts one value to the field's stored form, or returns the error it earns. */
function convert(f: FieldDef, raw: unknown, store: SalesforceStore): { value: SfValue } | { error: RecordError } {
  const fields = [f.name];
  const wrongType = () => ({ error: recordError('INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label}: value not of required type: ${display(raw)}`, fields) });
  if (raw === null || raw === undefined || (raw === '' && f.type !== 'boolean')) {
    if (f.type === 'boolean') return { value: false };
    return { value: null };
  }
  if (TEXT_TYPES.has(f.type)) {
    if (typeof raw === 'object') return wrongType();
    const text = String(raw);
    if (f.length && text.length > f.length) {
      return { error: recordError('STRING_TOO_LONG', `${f.label}: data value too large: ${text} (max length=${f.length})`, fields) };
    }
    if (f.type === 'email' && !EMAIL_RE.test(text)) {
      return { error: recordError('INVALID_EMAIL_ADDRESS', `${f.label}: invalid email address: ${text}`, fields) };
    }
    if (f.type === 'picklist' && f.restrictedPicklist && !f.picklistValues.some((p) => p.active && p.value === text)) {
      return { error: recordError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${f.label}: bad value for restricted picklist field: ${text}`, fields) };
    }
    return { value: text };
  }
  switch (f.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw)) return { value: raw.toLowerCase() === 'true' };
      return wrongType();
    case 'int':
    case 'double':
    case 'currency':
    case 'percent': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && NUMERIC_RE.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!Number.isFinite(n) || (f.type === 'int' && !Number.isInteger(n))) return wrongType();
      const integerDigits = f.type === 'int' ? (f.digits || 9) : (f.precision || 18) - f.scale;
      if (Math.abs(Math.trunc(n)) >= 10 ** integerDigits) {
        return { error: recordError('NUMBER_OUTSIDE_VALID_RANGE', `${f.label}: value outside of valid range on numeric field: ${display(raw)}`, fields) };
      }
      const factor = 10 ** f.scale;
      return { value: f.type === 'int' ? n : Math.round(n * factor) / factor };
    }
    case 'date': {
      if (typeof raw !== 'string') return wrongType();
      const day = parseDate(raw) ?? parseDateTime(raw);
      return day === null ? wrongType() : { value: startOfUtcDay(day) };
    }
    case 'datetime': {
      if (typeof raw !== 'string') return wrongType();
      const ms = parseDateTime(raw) ?? parseDate(raw);
      return ms === null ? wrongType() : { value: ms };
    }
    case 'id':
    case 'reference': {
      if (typeof raw !== 'string' || !isIdShaped(raw)) {
        return { error: recordError('MALFORMED_ID', `${f.label}: id value of incorrect type: ${display(raw)}`, fields) };
      }
      const target = store.find(raw);
      if (target && !f.referenceTo.includes(target.table.schema.name)) {
        return { error: recordError('FIELD_INTEGRITY_EXCEPTION', `${f.label}: id value of incorrect type: ${raw}`, fields) };
      }
      if (!target || target.record.IsDeleted === true) {
        return { error: recordError('INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, []) };
      }
      return { value: target.record.Id as string };
    }
    default:
      return wrongType();
  }
}

/**
 * Validates one record's fields. Unknown fields fail the record at once (Salesforce rejects them
 * while reading the JSON); other problems are collected so that a caller sees them all. `schema`
 * is the object as the session's user sees it (security.ts): a field they cannot read is unknown,
 * one they cannot edit is not updateable. `target` is the record an update changes.
 */
export function validateFields(schema: SObjectSchema, input: Record<string, unknown>, mode: WriteMode, store: SalesforceStore, target?: SfRecord): Validated {
  const entries = Object.entries(input).filter(([k]) => !META_KEYS.has(k) && !(mode === 'update' && k.toLowerCase() === 'id'));
  const unknown = entries.filter(([k]) => !schema.field(k));
  if (unknown.length) return { ok: false, errors: unknown.map(([k]) => noSuchColumnOnSObject(k, schema.name)) };

  const errors: RecordError[] = [];
  const values: Record<string, SfValue> = {};
  const locked: string[] = [];
  /** Fields whose value was refused: reported for that, not again as missing. */
  const refused = new Set<string>();
  for (const [key, raw] of entries) {
    const f = schema.field(key) as FieldDef;
    if (f.name === 'Id' && mode === 'create') {
      errors.push(recordError('INVALID_FIELD', 'cannot specify Id in an insert call', ['Id']));
      continue;
    }
    if (mode === 'create' ? !f.createable : !f.updateable) {
      locked.push(f.name);
      continue;
    }
    const result = convert(f, raw, store);
    if ('error' in result) {
      errors.push(result.error);
      refused.add(f.name);
    } else values[f.name] = result.value;
  }
  if (locked.length) {
    errors.push(recordError(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to ${mode} fields: ${locked.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      locked,
    ));
  }
  const missing = schema.fields.filter((f) => {
    if (!f.createable || f.nillable || f.type === 'boolean' || refused.has(f.name)) return false;
    if (f.name in values) return values[f.name] === null;
    return mode === 'create' && !f.defaultedOnCreate;
  });
  if (missing.length) {
    const names = missing.map((f) => f.name);
    errors.push(recordError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${names.join(', ')}]`, names));
  }
  if (errors.length) return { ok: false, errors };
  const setup = checkSetupRecord(store, schema.name, values, mode === 'update' ? target : undefined);
  if (setup.errors.length) return { ok: false, errors: setup.errors };
  deriveFields(schema, values, input);
  return { ok: true, values, ...(setup.unique ? { unique: setup.unique } : {}) };
}

/**
 * Fields Salesforce derives from others on save. A new StageName sets IsClosed, IsWon, and (unless
 * the same write sets them) Probability and ForecastCategoryName from the stage (opportunity-objects.ts).
 */
function deriveFields(schema: SObjectSchema, values: Record<string, SfValue>, input: Record<string, unknown>): void {
  if (schema.name === 'Task' && 'Status' in values) values.IsClosed = values.Status === 'Completed';
  if (schema.name === 'Opportunity' && 'StageName' in values) {
    const stage = opportunityStage(values.StageName);
    values.IsClosed = stage?.closed ?? false;
    values.IsWon = stage?.won ?? false;
    const given = new Set(Object.keys(input).map((k) => k.toLowerCase()));
    if (stage && !given.has('probability')) values.Probability = stage.probability;
    if (stage && !given.has('forecastcategoryname')) values.ForecastCategoryName = stage.forecastCategory;
  }
}

/** Resolves the record an update or delete names, or the per-record error Salesforce gives. */
export function resolveTarget(
  store: SalesforceStore,
  schema: SObjectSchema | null,
  id: unknown,
  mode: 'update' | 'delete',
): { record: SfRecord; schema: SObjectSchema } | { error: RecordError } {
  if (id === undefined || id === null || id === '') {
    return { error: recordError('MISSING_ARGUMENT', `Id not specified in an ${mode} call`) };
  }
  const text = String(id);
  const found = isIdShaped(text) ? store.find(text) : undefined;
  const label = schema ? `${schema.label} ID` : 'Record ID';
  if (!isIdShaped(text) || (schema && text.slice(0, 3) !== schema.keyPrefix)) {
    return { error: recordError('MALFORMED_ID', `${label}: id value of incorrect type: ${text}`, ['Id']) };
  }
  if (!found) {
    const knownPrefix = store.tableForId(text) !== undefined;
    return {
      error: knownPrefix
        ? recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')
        : recordError('MALFORMED_ID', `malformed id ${text}`, ['Id']),
    };
  }
  if (found.record.IsDeleted === true) return { error: recordError('ENTITY_IS_DELETED', 'entity is deleted') };
  if (mode === 'update' && found.table.schema.name === 'Lead' && found.record.IsConverted === true) {
    return { error: recordError('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead') };
  }
  if (mode === 'delete' && !found.table.schema.flags.deletable) {
    return { error: recordError('INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights on object id') };
  }
  return { record: found.record, schema: found.table.schema };
}
