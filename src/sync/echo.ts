/**
 * Echo recognition: a HubSpot webhook names the properties that changed and their new values. When
 * every one of them is a value the contact is known to hold (what we are writing or wrote, or what
 * we last read), the change is our own write-back seen again, and reading the record would only
 * confirm it (DESIGN.md invariant: echo-free).
 */
import { normaliseSmkValue, SMK_FIELDS } from '../model/fields.js';
import { canonicalFieldValue, fieldValueDigest, sameFieldValue } from '../model/field-sync.js';
import type { SyncField } from '../model/field-sync.js';
import type { CrmName } from '../model/lead.js';
import { sameHubSpotLifecycle } from '../rules/lifecycle.js';
import type { SourceView } from './compose.js';
import { sameValue } from './equality.js';
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

/**
 * The view paths that follow a synced field which names no `path` of its own: the CRM's lead status
 * and lead source are read into these (connectors' mapping), and a copy we write moves them too.
 */
const FIELD_VIEW_PATHS: Readonly<Record<string, Partial<Record<CrmName, string>>>> = {
  leadStatus: { hubspot: 'marketing.leadStatus', salesforce: 'sales.status' },
  leadSource: { hubspot: 'marketing.source', salesforce: 'marketing.source' },
};

function differingKeys(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !sameValue(a[k] ?? null, b[k] ?? null));
}

/**
 * Whether a polled record differs from the lead's last view of it only by values we wrote there
 * ourselves (`held`: what the record is known to hold, our writes included): the lifecycle stage,
 * the owner, and the fields we copied (with the view values that follow them). The feeds' catch-up
 * after a sync reads back every record the sync wrote; the evaluation that planned those writes
 * already decided with these values, so evaluating again would only find nothing to do.
 * Anything else changed, or nothing known of the record, is a change (false).
 */
export function isReadBackOfOwnWrites(
  crm: CrmName,
  previous: SourceView | undefined,
  next: SourceView,
  held: KnownValues | null,
  syncFields: readonly SyncField[],
): boolean {
  if (!previous || !held || previous.ref.id !== next.ref.id || previous.ref.object !== next.ref.object) return false;
  const changedFields = differingKeys(previous.fields ?? {}, next.fields ?? {});
  const changedPaths = differingKeys(previous.values, next.values);
  if (changedFields.length === 0 && changedPaths.length === 0) return false;
  const copied = new Set<string>();
  for (const name of changedFields) {
    const field = syncFields.find((f) => f.name === name);
    if (!field || !held.fields || !Object.prototype.hasOwnProperty.call(held.fields, name)) return false;
    if (!sameFieldValue(field, next.fields?.[name] ?? null, held.fields[name] ?? null)) return false;
    copied.add(name);
  }
  return changedPaths.every((path) => {
    const value = next.values[path as keyof SourceView['values']] ?? null;
    if (crm === 'hubspot' && path === 'marketing.lifecycleStage') return held.lifecycle !== undefined && sameHubSpotLifecycle(held.lifecycle, typeof value === 'string' ? value : null);
    if (path === 'sales.ownerId') return held.ownerId !== undefined && (held.ownerId ?? null) === value;
    return syncFields.some((f) => copied.has(f.name) && (f.path === path || FIELD_VIEW_PATHS[f.name]?.[crm] === path));
  });
}
