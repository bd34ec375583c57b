/**
 * Echo recognition: a HubSpot webhook names the properties that changed and their new values. When
 * every one of them is a value the contact is known to hold (what we are writing or wrote, or what
 * we last read), the change is our own write-back seen again, and reading the record would only
 * confirm it (DESIGN.md invariant: echo-free).
 */
import { normaliseSmkValue, SMK_FIELDS } from '../model/fields.js';
import { canonicalFieldValue, fieldValueDigest, sameFieldValue } from '../model/field-sync.js';
import type { SyncField } from '../model/field-sync.js';
import type { SmkValues } from './plan.js';

export interface KnownValues {
  smk: SmkValues;
  /** HubSpot's lifecycle stage, when known. */
  lifecycle?: string;
  /** The owner, when known (null: none). */
  ownerId?: string | null;
  /** Synced fields (model/field-sync.ts) by field name, canonical. */
  fields?: Record<string, string | null>;
}

export interface NamedChange {
  property: string;
  /** The new value; null also when it was withheld (a synced field's: see `digest`). */
  value: string | null;
  /** A synced field's new value as fieldValueDigest of its canonical form (the value itself is withheld). */
  digest?: string;
}

const SMK_BY_HUBSPOT_PROPERTY = new Map(SMK_FIELDS.flatMap((f) => (f.hubspot ? [[f.hubspot, f] as const] : [])));

function known(change: NamedChange, values: KnownValues, syncFields: readonly SyncField[]): boolean {
  if (change.property === 'lifecyclestage') return values.lifecycle !== undefined && values.lifecycle === change.value;
  if (change.property === 'hubspot_owner_id') return values.ownerId !== undefined && (values.ownerId ?? null) === (change.value || null);
  const synced = syncFields.find((f) => f.hubspot === change.property);
  if (synced && values.fields && Object.prototype.hasOwnProperty.call(values.fields, synced.name)) {
    const held = values.fields[synced.name] ?? null;
    if (change.digest !== undefined) return fieldValueDigest(synced, held) === change.digest;
    return sameFieldValue(synced, canonicalFieldValue(synced, change.value), held);
  }
  const field = SMK_BY_HUBSPOT_PROPERTY.get(change.property);
  return field !== undefined && Object.prototype.hasOwnProperty.call(values.smk, field.key)
    && normaliseSmkValue(field, values.smk[field.key]) === normaliseSmkValue(field, change.value);
}

/** Whether every named change is a value one of the known sources holds (an empty list is not an echo). */
export function isHubSpotEcho(changes: readonly NamedChange[], sources: readonly KnownValues[], syncFields: readonly SyncField[] = []): boolean {
  return changes.length > 0 && sources.length > 0 && changes.every((change) => sources.some((values) => known(change, values, syncFields)));
}
