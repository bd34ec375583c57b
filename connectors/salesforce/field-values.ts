/**
 * Synced field values (src/model/field-sync.ts) -> sObject fields, each checked against the org's
 * describe before the write: the field must exist on the record's object and be updateable by the
 * integration user (field-level security), text must fit the field's length, numbers its precision,
 * a date is `YYYY-MM-DD`, and a restricted picklist takes only its active values (Salesforce
 * refuses anything else with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, reference S6). A value that
 * fails is left out and reported with its reason; the rest of the record is written.
 */
import type { SyncField } from '../../src/model/field-sync.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { CrmError } from '../errors.js';
import type { FieldMeta, ObjectMeta } from './metadata.js';
import { checkNumber, checkText, picklistHit, refusal } from './validation.js';
import type { Checked, RecordContext, SObjectFields, SObjectValue } from './validation.js';

const NUMERIC_TYPES = new Set(['double', 'int', 'currency', 'percent']);

/** One synced value as the org's field takes it, or why the org would refuse it. */
export function checkFieldValue(ctx: RecordContext, meta: FieldMeta, value: string | null): Checked<SObjectValue> {
  const field = meta.name;
  if (!meta.updateable) {
    return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value ?? '', 'is not editable by the integration user (field-level security or a read-only field)') };
  }
  if (value === null || value === '') {
    // Salesforce refuses to blank a required field (REQUIRED_FIELD_MISSING), failing the whole record.
    if (!meta.nillable && meta.type !== 'boolean') return { ok: false, error: refusal(ctx.label, ctx.recordId, field, '', 'is required in Salesforce and cannot be blanked') };
    return { ok: true, value: null };
  }
  if (NUMERIC_TYPES.has(meta.type)) {
    return checkNumber(ctx, field, value, meta.type === 'int' ? 9 : meta.precision || 18, meta.type === 'int' ? 0 : (meta.scale ?? 0));
  }
  switch (meta.type) {
    case 'date':
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
        return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, 'is not a date (YYYY-MM-DD)') };
      }
      return { ok: true, value };
    case 'boolean': {
      const t = value.trim().toLowerCase();
      if (t !== 'true' && t !== 'false') return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, 'is not true or false') };
      return { ok: true, value: t === 'true' };
    }
    case 'picklist': {
      const hit = picklistHit(meta, [value]);
      if (hit !== undefined) return { ok: true, value: hit };
      if (meta.restricted) {
        const allowed = meta.picklist.filter((p) => p.active).map((p) => p.value).join(', ');
        return { ok: false, error: refusal(ctx.label, ctx.recordId, field, value, `is not a value of this restricted picklist (allowed: ${allowed}); add a translation in sync.fields values`) };
      }
      return checkText(ctx, field, value, meta.length);
    }
    default:
      return checkText(ctx, field, value, meta.length);
  }
}

/** The sObject fields of a record's synced values: the accepted ones, and the refused ones with reasons. */
export function syncedSObjectFields(
  ctx: RecordContext,
  object: SalesforceObject,
  meta: ObjectMeta,
  fields: Record<string, string | null>,
  specs: ReadonlyMap<string, SyncField>,
): { values: SObjectFields; refused: Array<{ field: string; error: CrmError }> } {
  const values: SObjectFields = {};
  const refused: Array<{ field: string; error: CrmError }> = [];
  for (const [name, value] of Object.entries(fields)) {
    const column = specs.get(name)?.salesforce[object] ?? null;
    if (column === null) {
      refused.push({ field: name, error: refusal(ctx.label, ctx.recordId, name, value ?? '', `has no ${object} field in sync.fields`) });
      continue;
    }
    const fieldMeta = meta.fields.get(column);
    if (!fieldMeta) {
      refused.push({ field: name, error: refusal(ctx.label, ctx.recordId, column, value ?? '', `cannot be written: ${object}.${column} does not exist in this org; create it or fix sync.fields.${name}`) });
      continue;
    }
    const checked = checkFieldValue(ctx, fieldMeta, value);
    if (checked.ok) values[column] = checked.value;
    else refused.push({ field: name, error: checked.error });
  }
  return { values, refused };
}
