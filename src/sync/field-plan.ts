/**
 * Field sync decisions, pure. For each synced field, the direction picks the winning CRM from the
 * two records' views (the same rule as the ownership merge: `two-way` takes the value changed most
 * recently, by the CRMs' own modification times); the winning value is translated into the other
 * CRM's vocabulary and planned there when that record does not hold it already (nor has a write of
 * it pending). Comparing in the target's own terms is what makes the sync echo-free: a value we
 * wrote and read back equals what is wanted, so nothing is planned again.
 */
import { canonicalFieldValue, sameFieldValue, salesforceFieldOf } from '../model/field-sync.js';
import type { SyncField } from '../model/field-sync.js';
import type { CrmName, LeadFragment } from '../model/lead.js';
import type { OwnershipPolicy } from '../model/ownership.js';
import { foldAll } from '../rules/fold.js';
import type { Fold } from '../rules/fold.js';

/** Field name -> canonical value, as one record holds it (only the fields its object carries). */
export type FieldValues = Record<string, string | null>;

/** What the planner needs of one CRM's view of a person. */
export interface FieldView {
  ref: { object: LeadFragment['object'] };
  modifiedAt: string;
  fields?: FieldValues;
  /** When each field's value was first seen as it is now. */
  fieldChangedAt?: Record<string, string>;
}

/** The key under which a synced field's value is kept beside the smk values in held memory. */
export const HELD_FIELD_PREFIX = 'field:';

/** Whether a record of this object carries the field at all. */
export function carries(field: SyncField, crm: CrmName, object: LeadFragment['object']): boolean {
  if (crm === 'hubspot') return field.hubspot !== null;
  return object === 'Lead' || object === 'Contact' ? salesforceFieldOf(field, object) !== null : false;
}

/** The CRM-side column of a field on a record (HubSpot property or Salesforce field), or null. */
export function columnOf(field: SyncField, crm: CrmName, object: LeadFragment['object']): string | null {
  if (crm === 'hubspot') return field.hubspot;
  return object === 'Lead' || object === 'Contact' ? salesforceFieldOf(field, object) : null;
}

/** Whether the connector may write the field into this CRM under its direction. */
export function writableIn(field: SyncField, crm: CrmName): boolean {
  if (field.direction === 'none') return false;
  if (crm === 'hubspot') return !field.hubspotReadOnly && field.direction !== 'hubspot';
  return field.direction !== 'salesforce';
}

/** The value in the other CRM's vocabulary: the first pair naming it, else the value itself. */
export function translateFieldValue(field: SyncField, value: string | null, from: CrmName, to: CrmName): string | null {
  if (value === null || from === to || field.type !== 'enum' || field.values.length === 0) return value;
  const lower = value.toLowerCase();
  const pair = field.values.find((p) => p[from].toLowerCase() === lower);
  return pair ? pair[to] : value;
}

function blank(value: string | null | undefined): boolean {
  return value === null || value === undefined;
}

function changedAt(view: FieldView, name: string): number {
  return Date.parse(view.fieldChangedAt?.[name] ?? view.modifiedAt);
}

/** The CRM whose value a field takes, by its direction; null when neither record can give one. */
export function winningCrm(policy: OwnershipPolicy, field: SyncField, views: Partial<Record<CrmName, FieldView>>): CrmName | null {
  const h = views.hubspot && carries(field, 'hubspot', views.hubspot.ref.object) ? views.hubspot : undefined;
  const s = views.salesforce && carries(field, 'salesforce', views.salesforce.ref.object) ? views.salesforce : undefined;
  const hv = h?.fields?.[field.name];
  const sv = s?.fields?.[field.name];
  switch (policy) {
    case 'none':
      return null;
    case 'hubspot':
      return h ? 'hubspot' : null;
    case 'salesforce':
      return s ? 'salesforce' : null;
    case 'hubspot-unless-blank':
      if (h && !blank(hv)) return 'hubspot';
      return s && !blank(sv) ? 'salesforce' : h ? 'hubspot' : null;
    case 'salesforce-unless-blank':
      if (s && !blank(sv)) return 'salesforce';
      return h && !blank(hv) ? 'hubspot' : s ? 'salesforce' : null;
    case 'two-way': {
      if (!h) return s ? 'salesforce' : null;
      if (!s) return 'hubspot';
      if (blank(hv)) return blank(sv) ? null : 'salesforce';
      if (blank(sv)) return 'hubspot';
      // The value changed most recently wins; on a tie HubSpot's is kept so the result does not flip.
      return changedAt(s, field.name) > changedAt(h, field.name) ? 'salesforce' : 'hubspot';
    }
  }
}

export interface FieldTarget {
  object: LeadFragment['object'];
  /** What the record holds of each field (its last read, overlaid by our writes since). */
  held: FieldValues;
  /** Values a write not yet sent would set. */
  pending?: FieldValues;
}

/**
 * The field values to write into each linked record: the winning value, translated, where the
 * record holds something else or a pending write would set something else. A value equal to what
 * is held is still re-planned when a pending write would change it (the newest plan wins).
 * `email` is only ever written as the lead's own email (`leadEmail`): an address that belongs to
 * another lead (an EMAIL_CONFLICT) is reported, never copied.
 */
export function planFieldWrites(input: {
  fields: readonly SyncField[];
  views: Partial<Record<CrmName, FieldView>>;
  targets: Partial<Record<CrmName, FieldTarget>>;
  leadEmail?: string | null;
}): Partial<Record<CrmName, FieldValues>> {
  const out: Partial<Record<CrmName, FieldValues>> = {};
  for (const field of input.fields) {
    const winner = winningCrm(field.direction, field, input.views);
    if (winner === null) continue;
    const source = input.views[winner]?.fields?.[field.name];
    if (source === undefined) continue; // the winning record was read before this field was mapped
    for (const crm of ['hubspot', 'salesforce'] as const) {
      if (crm === winner || !writableIn(field, crm)) continue;
      const target = input.targets[crm];
      if (!target || !carries(field, crm, target.object)) continue;
      const want = canonicalFieldValue(field, translateFieldValue(field, source, winner, crm));
      if (field.type === 'email' && (want === null || want !== (input.leadEmail ?? null))) continue;
      const have = target.held[field.name] ?? null;
      const queued = target.pending && Object.prototype.hasOwnProperty.call(target.pending, field.name) ? (target.pending[field.name] ?? null) : undefined;
      // Several values of one CRM can mean one of the other's (HubSpot NEW and OPEN are both
      // "Open - Not Contacted"): a record already holding one that translates back to the winning
      // value holds it, and is not rewritten.
      const stale = !sameFieldValue(field, want, have) && !(have !== null && sameFieldValue(field, translateFieldValue(field, have, crm, winner), source));
      const superseded = queued !== undefined && !sameFieldValue(field, want, queued);
      if (stale || superseded) (out[crm] ??= {})[field.name] = want;
    }
  }
  return out;
}

/** The synced fields' values of a held map (keys under HELD_FIELD_PREFIX). */
export function heldFields(values: Record<string, string | null> | undefined): FieldValues {
  const out: FieldValues = {};
  if (!values) return out;
  for (const [key, value] of Object.entries(values)) if (key.startsWith(HELD_FIELD_PREFIX)) out[key.slice(HELD_FIELD_PREFIX.length)] = value;
  return out;
}

/** Field values as held-map entries. */
export function asHeld(fields: FieldValues | undefined): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(fields ?? {})) out[`${HELD_FIELD_PREFIX}${name}`] = value;
  return out;
}

/** What a mapping would write, for a dry run (`smk rules test`): counts per field and CRM, and examples. */
export interface FieldChangeSummary {
  /** Records that would get at least one field written, per CRM. */
  records: Record<CrmName, number>;
  byField: Array<{ field: string; crm: CrmName; count: number }>;
  examples: Array<{ leadId: string; crm: CrmName; field: string; from: string | null; to: string | null }>;
  /** Mapped fields no stored view holds yet: their values come with the back-fill read after the change. */
  unread: string[];
}

/** What summariseFieldChanges reads of one lead: its views and what each record is known to hold. */
export interface FieldChangeInput {
  leadId: string;
  email: string | null;
  views: Partial<Record<CrmName, FieldView>>;
  held: Partial<Record<CrmName, FieldValues>>;
}

export function summariseFieldChanges(leads: Iterable<FieldChangeInput>, fields: readonly SyncField[], options: { examples?: number } = {}): FieldChangeSummary {
  return foldAll(fieldChanges(fields, options), leads);
}

/** summariseFieldChanges as a fold, for leads given a page at a time. */
export function fieldChanges(fields: readonly SyncField[], options: { examples?: number } = {}): Fold<FieldChangeInput, FieldChangeSummary> {
  const records = { hubspot: 0, salesforce: 0 };
  const counts = new Map<string, { field: string; crm: CrmName; count: number }>();
  const examples: FieldChangeSummary['examples'] = [];
  const seen = new Set<string>();
  return {
    add(leads) {
      for (const lead of leads) {
        for (const view of Object.values(lead.views)) for (const name of Object.keys(view?.fields ?? {})) seen.add(name);
        const targets: Partial<Record<CrmName, FieldTarget>> = {};
        for (const crm of ['hubspot', 'salesforce'] as const) {
          const view = lead.views[crm];
          if (view) targets[crm] = { object: view.ref.object, held: lead.held[crm] ?? view.fields ?? {} };
        }
        const plan = planFieldWrites({ fields, views: lead.views, targets, leadEmail: lead.email });
        for (const crm of ['hubspot', 'salesforce'] as const) {
          const changes = plan[crm];
          if (!changes) continue;
          records[crm] += 1;
          for (const [field, to] of Object.entries(changes)) {
            const key = `${crm}:${field}`;
            const entry = counts.get(key) ?? { field, crm, count: 0 };
            entry.count += 1;
            counts.set(key, entry);
            if (examples.length < (options.examples ?? 5)) examples.push({ leadId: lead.leadId, crm, field, from: targets[crm]?.held[field] ?? null, to });
          }
        }
      }
    },
    result() {
      const byField = [...counts.values()].sort((a, b) => b.count - a.count || a.field.localeCompare(b.field));
      const unread = fields.filter((f) => f.direction !== 'none' && !seen.has(f.name)).map((f) => f.name);
      return { records: { ...records }, byField, examples: [...examples], unread };
    },
  };
}

export function describeFieldChanges(summary: FieldChangeSummary): string {
  const lines = [`field sync: ${summary.records.hubspot} HubSpot contacts and ${summary.records.salesforce} Salesforce records would be written`];
  for (const f of summary.byField) lines.push(`  ${f.field} -> ${f.crm}: ${f.count}`);
  for (const e of summary.examples) lines.push(`  lead ${e.leadId}: ${e.crm} ${e.field} ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)}`);
  if (summary.unread.length > 0) lines.push(`  not read yet (values come with the full read after the change): ${summary.unread.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The synced values a new record in `target` starts with: the source record's values of every
 * field its direction lets into `target`, translated; blanks are left to the create's own mapping.
 */
export function createFieldValues(fields: readonly SyncField[], source: { crm: CrmName; view: FieldView | undefined }, target: CrmName): FieldValues {
  const out: FieldValues = {};
  const view = source.view;
  if (!view || source.crm === target) return out;
  for (const field of fields) {
    if (!writableIn(field, target) || !carries(field, source.crm, view.ref.object)) continue;
    const value = view.fields?.[field.name];
    if (value === undefined || value === null) continue;
    const want = canonicalFieldValue(field, translateFieldValue(field, value, source.crm, target));
    if (want !== null) out[field.name] = want;
  }
  return out;
}
