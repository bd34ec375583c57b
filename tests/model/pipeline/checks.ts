/**
 * What the layer-2 model checks at the end of a sequence, beside the two sides' CRMs being equal:
 * that every record is synced (it carries its lead id) or stands in sync errors with a reason, and
 * that no write carried a value older than one the connector had already written.
 */
import { SMK_FIELDS, normaliseSmkValue } from '../../../src/model/fields.js';
import type { SmkField, SmkFieldKey } from '../../../src/model/fields.js';
import type { Side } from './side.js';

/** Records that carry no lead id and no sync error says why. */
export async function unsyncedRecords(side: Side): Promise<string[]> {
  const { errors } = await side.ctx.errors.list({ limit: 100_000 });
  const explained = new Set(errors.filter((e) => e.recordId && e.message.trim().length > 0).map((e) => e.recordId as string));
  const out: string[] = [];
  const contacts = await side.hubspot.crm.contacts.getAll(100, undefined, ['email', 'smk_lead_id']);
  for (const c of contacts) if (!c.properties.smk_lead_id && !explained.has(c.id)) out.push(`HubSpot contact ${c.id} <${c.properties.email ?? ''}>`);
  for (const object of ['Lead', 'Contact'] as const) {
    const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
    const rows = await side.salesforce.query<{ Id: string; Email: string | null; Smk_Lead_Id__c: string | null }>(`SELECT Id, Email, Smk_Lead_Id__c FROM ${object}${where}`, { autoFetch: true, maxFetch: 100_000 });
    for (const r of rows.records) if (!r.Smk_Lead_Id__c && !explained.has(r.Id)) out.push(`Salesforce ${object} ${r.Id} <${r.Email ?? ''}>`);
  }
  return out;
}


/**
 * Sync errors by `crm stage code`, with a line per error. (`stale` once set apart a write's
 * NOT_FOUND about a deleted record, KNOWN_BUG_STALE_NOT_FOUND; fixed, so nothing is set apart now
 * and the runs are compared on every error. `knownBugs` is kept for the next open bug.)
 */
export async function errorTally(side: Side, _options: { knownBugs?: boolean } = {}): Promise<{ tally: Record<string, number>; samples: string[]; stale: string[] }> {
  const { errors } = await side.ctx.errors.list({ limit: 100_000 });
  const tally: Record<string, number> = {};
  const samples: string[] = [];
  const stale: string[] = [];
  for (const e of errors) {
    const key = `${e.crm} ${e.stage} ${e.code}`;
    const line = `${key} ${e.object ?? ''} ${e.recordId ?? ''} (lead ${e.leadId ?? '-'}): ${e.message.slice(0, 200)}`;
    tally[key] = (tally[key] ?? 0) + 1;
    samples.push(line);
  }
  return { tally, samples, stale };
}

const BY_PROPERTY = new Map(SMK_FIELDS.flatMap((f) => (f.hubspot ? [[f.hubspot, f] as const] : [])));

interface Plan {
  seq: number;
  at: number;
  leadId: string;
  values: Partial<Record<SmkFieldKey, string | null>>;
}

interface Written {
  at: number;
  contactId: string;
  field: SmkField;
  value: string | null;
}

/**
 * Watches one side: every plan the evaluations hand to HubSpot's pending writes and creates
 * (PendingStore.add, wrapped on this context's instances), and every `smk_*` value the HubSpot
 * sandbox took from the connector (its change events).
 */
export class WriteOrderWatch {
  private readonly plans: Plan[] = [];
  private readonly written: Written[] = [];
  private readonly leadOf = new Map<string, string>();
  private seq = 0;

  constructor(side: Side) {
    const watch = (store: { add: (key: string, leadId: string, payload: never, now?: number) => Promise<boolean> }) => {
      const add = store.add.bind(store);
      store.add = async (key, leadId, payload, now) => {
        const smk = (payload as { smk?: Plan['values'] }).smk ?? {};
        this.plans.push({ seq: (this.seq += 1), at: Date.now(), leadId, values: { ...smk } });
        return add(key, leadId, payload, now);
      };
    };
    watch(side.ctx.pending.hubspot.write as never);
    watch(side.ctx.pending.hubspot.create as never);
    side.sandboxes.hubspot.store.onEvent((e) => {
      if (e.kind !== 'propertyChange' || e.source.changeSource !== 'INTEGRATION') return;
      if (e.propertyName === 'smk_lead_id' && e.propertyValue) this.leadOf.set(e.objectId, e.propertyValue);
      const field = BY_PROPERTY.get(e.propertyName);
      if (field && field.key !== 'leadId') this.written.push({ at: Date.now(), contactId: e.objectId, field, value: e.propertyValue === '' ? null : e.propertyValue });
    });
  }

  /**
   * For each contact and field, the writes in the order HubSpot took them, each matched to the
   * latest plan (made before it) of that value for that lead: the plans so matched must never go
   * back. A value with no such plan is left out (values moved by a HubSpot merge, say).
   */
  regressions(): string[] {
    const out: string[] = [];
    const last = new Map<string, { seq: number; value: string | null }>();
    for (const w of this.written) {
      const leadId = this.leadOf.get(w.contactId);
      if (!leadId) continue;
      const norm = normaliseSmkValue(w.field, w.value);
      const match = [...this.plans].reverse().find((p) => p.leadId === leadId && p.at <= w.at && Object.prototype.hasOwnProperty.call(p.values, w.field.key)
        && normaliseSmkValue(w.field, p.values[w.field.key]) === norm);
      if (!match) continue;
      const key = `${w.contactId} ${w.field.key}`;
      const before = last.get(key);
      if (before && match.seq < before.seq) {
        out.push(`HubSpot contact ${w.contactId} ${w.field.hubspot}: wrote ${JSON.stringify(norm)} (planned at #${match.seq}) after ${JSON.stringify(before.value)} (planned at #${before.seq})`);
      }
      last.set(key, { seq: match.seq, value: norm });
    }
    return out;
  }

  /** The lead each contact already carries (written before the watch began). */
  async init(side: Side): Promise<this> {
    const contacts = await side.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    for (const c of contacts) if (c.properties.smk_lead_id && !this.leadOf.has(c.id)) this.leadOf.set(c.id, c.properties.smk_lead_id);
    return this;
  }

  get counts(): { plans: number; written: number } {
    return { plans: this.plans.length, written: this.written.length };
  }
}
