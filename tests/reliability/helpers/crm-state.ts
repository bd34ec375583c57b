/**
 * What a user sees in both CRMs, read through the official clients, in a form two runs of the same
 * seed can be compared by: every `smk` value of every record, keyed by the person (email), not by
 * ids that depend on the order records were created in.
 *
 * Left out of the exact comparison, each for a reason that is about time, not correctness:
 * - `handoffAt`, `slaDueAt`, `slaBreachedAt` are the wall-clock moment the lead was handed off
 *   (and times derived from it): two runs minutes apart give different instants by design. Their
 *   presence is still compared (a lead handed off in one run and not the other is a difference).
 * - In `scoreReasons`, the age of an event ("latest 34 days ago", "today") is counted from the
 *   moment of evaluation: runs minutes apart can fall on either side of a day boundary. The age
 *   words are compared as "N days ago"; the points in front of them are compared exactly (scores
 *   are quantised to the day, and `score` itself is compared as is).
 * - `leadId` is the connector's hash of whichever record of a person was ingested first, which is
 *   a race in any concurrent run. What must hold is the grouping: the same records share one lead
 *   id. Each lead id is therefore replaced by the sorted list of the records that carry it.
 */
import type { Client } from '@hubspot/api-client';
import type jsforce from 'jsforce';
import { SMK_FIELDS, normaliseSmkValue } from '../../../src/model/fields.js';
import type { SmkField } from '../../../src/model/fields.js';

const TIME_FIELDS = new Set(['handoffAt', 'slaDueAt', 'slaBreachedAt']);

export const HUBSPOT_SMK = SMK_FIELDS.filter((f) => f.hubspot !== null);
export const SALESFORCE_SMK = SMK_FIELDS.filter((f) => f.salesforce !== null);

export interface RecordState {
  /** `hubspot:<email lower-cased>` or `salesforce:<object>:<email as held>`. */
  key: string;
  values: Record<string, string | null>;
}

export interface CrmState {
  records: RecordState[];
  /** Salesforce tasks per `<record key> <subject>`. */
  tasks: Record<string, number>;
  /** CRM record id → its key (to place a sync error, which names the record by id). */
  keyById: Record<string, string>;
}

/** The person a key or a difference is about: the email, lower-cased. */
export function personOf(key: string): string {
  return (key.split(':').pop() ?? key).toLowerCase();
}

function comparable(field: SmkField, raw: unknown): string | null {
  const value = normaliseSmkValue(field, raw === null || raw === undefined ? null : (raw as string | number | boolean));
  if (value === null) return null;
  if (TIME_FIELDS.has(field.key)) return '(set)';
  if (field.key === 'scoreReasons') return value.replace(/\b(today|\d+ days? ago)/g, 'N days ago');
  return value;
}

export async function readCrmState(hubspot: Client, salesforce: jsforce.Connection): Promise<CrmState> {
  const records: Array<RecordState & { leadId: string | null; sfId?: string; hsId?: string }> = [];
  const contacts = await hubspot.crm.contacts.getAll(100, undefined, ['email', ...HUBSPOT_SMK.map((f) => f.hubspot as string)]);
  for (const c of contacts) {
    const values: Record<string, string | null> = {};
    for (const f of HUBSPOT_SMK) if (f.key !== 'leadId') values[f.key] = comparable(f, c.properties[f.hubspot as string]);
    records.push({ key: `hubspot:${(c.properties.email ?? `(no email) ${c.id}`).toLowerCase()}`, values, leadId: c.properties.smk_lead_id ?? null, hsId: c.id });
  }
  const fields = SALESFORCE_SMK.map((f) => f.salesforce as string);
  for (const object of ['Lead', 'Contact'] as const) {
    const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
    const result = await salesforce.query<Record<string, unknown>>(`SELECT Id, Email, ${fields.join(', ')} FROM ${object}${where}`, { autoFetch: true, maxFetch: 10_000_000 });
    for (const r of result.records) {
      const values: Record<string, string | null> = {};
      for (const f of SALESFORCE_SMK) if (f.key !== 'leadId') values[f.key] = comparable(f, r[f.salesforce as string]);
      const email = typeof r.Email === 'string' ? r.Email : `(no email) ${String(r.Id)}`;
      records.push({ key: `salesforce:${object}:${email}`, values, leadId: (r.Smk_Lead_Id__c as string | null) ?? null, sfId: String(r.Id) });
    }
  }
  // The lead id as the group of records that share it (see the header).
  const groups = new Map<string, string[]>();
  for (const r of records) if (r.leadId) groups.set(r.leadId, [...(groups.get(r.leadId) ?? []), r.key]);
  for (const r of records) r.values.leadId = r.leadId ? (groups.get(r.leadId) ?? []).sort().join(' + ') : null;

  const keyBySfId = new Map(records.filter((r) => r.sfId).map((r) => [r.sfId as string, r.key]));
  const tasks: Record<string, number> = {};
  const taskRows = await salesforce.query<{ WhoId: string | null; Subject: string | null }>('SELECT Id, WhoId, Subject FROM Task', { autoFetch: true, maxFetch: 10_000_000 });
  for (const t of taskRows.records) {
    const who = t.WhoId ? (keyBySfId.get(t.WhoId) ?? `(other record) ${t.WhoId}`) : '(nobody)';
    const key = `${who} ${t.Subject ?? ''}`;
    tasks[key] = (tasks[key] ?? 0) + 1;
  }
  const keyById: Record<string, string> = {};
  for (const r of records) keyById[(r.sfId ?? r.hsId) as string] = r.key;
  return { records: records.map(({ key, values }) => ({ key, values })), tasks, keyById };
}

export interface StateDifference {
  key: string;
  what: string;
  expected: string;
  actual: string;
}

function groupByKey(records: RecordState[]): Map<string, RecordState[]> {
  const out = new Map<string, RecordState[]>();
  for (const r of records) out.set(r.key, [...(out.get(r.key) ?? []), r]);
  return out;
}

function tuple(r: RecordState): string {
  return JSON.stringify(Object.keys(r.values).sort().map((k) => [k, r.values[k]]));
}

/**
 * Every difference between a run and its reference: records missing or duplicated (count per key),
 * differing smk values, and tasks missing or duplicated. Zero differences is the goal.
 */
export function diffCrmStates(reference: CrmState, actual: CrmState): StateDifference[] {
  const out: StateDifference[] = [];
  const ref = groupByKey(reference.records);
  const act = groupByKey(actual.records);
  for (const key of [...new Set([...ref.keys(), ...act.keys()])].sort()) {
    const a = ref.get(key) ?? [];
    const b = act.get(key) ?? [];
    if (a.length !== b.length) {
      out.push({ key, what: 'record count', expected: String(a.length), actual: String(b.length) });
      continue;
    }
    if (a.length === 1 && b.length === 1) {
      const [x, y] = [a[0] as RecordState, b[0] as RecordState];
      for (const field of [...new Set([...Object.keys(x.values), ...Object.keys(y.values)])].sort()) {
        if (x.values[field] !== y.values[field]) out.push({ key, what: field, expected: String(x.values[field]), actual: String(y.values[field]) });
      }
      continue;
    }
    // Several records under one key (a duplicate the seed holds on purpose): compare as multisets.
    const left = a.map(tuple).sort();
    const right = b.map(tuple).sort();
    if (JSON.stringify(left) !== JSON.stringify(right)) out.push({ key, what: 'values of the records under this key', expected: left.join(' | '), actual: right.join(' | ') });
  }
  for (const key of [...new Set([...Object.keys(reference.tasks), ...Object.keys(actual.tasks)])].sort()) {
    const a = reference.tasks[key] ?? 0;
    const b = actual.tasks[key] ?? 0;
    if (a !== b) out.push({ key, what: 'task count', expected: String(a), actual: String(b) });
  }
  return out;
}

export function describeDifferences(diffs: StateDifference[], limit = 20): string {
  const lines = diffs.slice(0, limit).map((d) => `  ${d.key} ${d.what}: expected ${d.expected}, got ${d.actual}`);
  if (diffs.length > limit) lines.push(`  ... and ${diffs.length - limit} more`);
  return lines.join('\n');
}
