/**
 * Write planning: the desired `smk` values of a lead minus what each linked record already holds.
 * When nothing differs, nothing is planned, which is what keeps a quiet cycle at zero writes and
 * makes an echo of our own write cause nothing.
 */
import type { RecordRef, RecordUpdate } from '../../connectors/types.js';
import { SMK_FIELDS, normaliseSmkValue } from '../model/fields.js';
import type { SmkField, SmkFieldKey } from '../model/fields.js';
import type { CrmName } from '../model/lead.js';

export type SmkValues = Partial<Record<SmkFieldKey, string | null>>;

/** Whether the connector writes this field into this CRM (sales' own inputs are not written back to Salesforce). */
export function writesTo(field: SmkField, crm: CrmName): boolean {
  if (crm === 'hubspot') return field.hubspot !== null;
  return field.salesforce !== null && field.writtenBy === 'connector';
}

/**
 * The fields to write: those whose desired value differs from what the record holds, and those a
 * pending (not yet written) plan would set to anything else. A newer plan supersedes an older
 * pending one field by field, so a value that went A -> B -> A before the batch left is written
 * as A (or not at all), never as the stale B.
 */
export function diffSmk(crm: CrmName, desired: SmkValues, held: SmkValues, pending: SmkValues = {}): SmkValues {
  const changes: SmkValues = {};
  for (const field of SMK_FIELDS) {
    if (!writesTo(field, crm)) continue;
    if (!Object.prototype.hasOwnProperty.call(desired, field.key)) continue;
    const want = normaliseSmkValue(field, desired[field.key]);
    const have = normaliseSmkValue(field, held[field.key]);
    const queued = Object.prototype.hasOwnProperty.call(pending, field.key) ? normaliseSmkValue(field, pending[field.key]) : want;
    if (want !== have || queued !== want) changes[field.key] = want;
  }
  return changes;
}

export interface PlannedWrite {
  crm: CrmName;
  update: RecordUpdate;
}

/**
 * Plans one update per linked record that differs. `ownerIds` are already translated to each
 * CRM's own owner id; an owner is written only where it differs from the record's current one.
 */
export function planWrites(input: {
  desired: SmkValues;
  targets: Partial<Record<CrmName, { ref: RecordRef; held: SmkValues; pending?: SmkValues; ownerId?: string | null; writable: boolean }>>;
  owner?: Partial<Record<CrmName, string | null>>;
  lifecycleStage?: { value: string; clearFirst: boolean } | null;
  /** Synced field values to write per CRM, already planned against what each record holds (field-plan.ts). */
  fields?: Partial<Record<CrmName, Record<string, string | null>>>;
}): PlannedWrite[] {
  const plans: PlannedWrite[] = [];
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const target = input.targets[crm];
    if (!target || !target.writable) continue;
    const smk = diffSmk(crm, input.desired, target.held, target.pending);
    const update: RecordUpdate = { ref: target.ref, smk };
    const owner = input.owner?.[crm];
    if (owner && owner !== target.ownerId) update.ownerId = owner;
    if (crm === 'hubspot' && input.lifecycleStage) update.lifecycleStage = input.lifecycleStage;
    const fields = input.fields?.[crm];
    if (fields && Object.keys(fields).length > 0) update.fields = fields;
    if (Object.keys(smk).length > 0 || update.ownerId || update.lifecycleStage || update.fields) plans.push({ crm, update });
  }
  return plans;
}

/** Merges a newer planned update for the same record into a pending one (newest value wins). */
export function coalesceUpdates(older: RecordUpdate, newer: RecordUpdate): RecordUpdate {
  const merged: RecordUpdate = { ref: newer.ref, smk: { ...older.smk, ...newer.smk } };
  const ownerId = newer.ownerId ?? older.ownerId;
  if (ownerId) merged.ownerId = ownerId;
  const lifecycleStage = newer.lifecycleStage ?? older.lifecycleStage;
  if (lifecycleStage) merged.lifecycleStage = lifecycleStage;
  const status = newer.status ?? older.status;
  if (status) merged.status = status;
  if (older.fields || newer.fields) merged.fields = { ...older.fields, ...newer.fields };
  return merged;
}
