/**
 * The scale-out measurement (`npm run bench -- --scale-out 1,2,4`): the full sync of a freshly
 * seeded world with limits off, once per number of worker processes, and the duplicate checks the
 * sandboxes make after each (no person created twice in either CRM, no write repeated).
 *
 * The pure parts live here: the option, the sandbox's write log and its report, the checks read from
 * that report, and the summary key. The sandbox child (bench/sandbox-child.ts) feeds the log and
 * counts people by email; bench/run.ts runs the syncs.
 */
import type { CrmName } from '../../src/model/lead.js';

/** The most worker processes the bench starts (as `--workers`). */
export const MAX_WORKERS = 8;
/** Examples of repeated writes a report keeps, per CRM. */
const EXAMPLES = 5;

/** `--scale-out 1,2,4`: the worker counts, in the order given; a bad list names what is wrong. */
export function parseWorkerCounts(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error('--scale-out takes a list of worker counts, e.g. 1,2,4');
  const out: number[] = [];
  for (const part of parts) {
    const n = Number(part);
    if (!/^\d+$/.test(part) || n < 1 || n > MAX_WORKERS) throw new Error(`--scale-out: "${part}" is not a worker count (a whole number from 1 to ${MAX_WORKERS})`);
    if (out.includes(n)) throw new Error(`--scale-out: ${n} twice`);
    out.push(n);
  }
  return out;
}

/** People per email (lower-cased), records without an email left out. */
export function emailCounts(emails: Iterable<string | null | undefined>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const email of emails) {
    if (!email) continue;
    const key = email.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** An email held by more than one live person record now, with how many the seeded world gave it. */
export interface CrowdedEmail {
  email: string;
  seeded: number;
  now: number;
}

/** Every email with two or more person records now (the sandbox child's report). */
export function crowdedEmails(seeded: Map<string, number>, now: Map<string, number>): CrowdedEmail[] {
  const out: CrowdedEmail[] = [];
  for (const [email, n] of now) if (n >= 2) out.push({ email, seeded: seeded.get(email) ?? 0, now: n });
  return out;
}

export interface WriteSummary {
  /** Connector writes of one record (a batch of 100 is 100 writes). */
  writes: number;
  /** Records written at least once. */
  records: number;
  /** Writes that changed no value of their record. */
  unchanged: number;
  /** Of those, writes to a record the connector had created (its create carried the values already). */
  unchangedOnCreated: number;
  /** Writes whose values had already been written to the same record earlier (each repeat once). */
  repeated: number;
  examples: Array<{ id: string; values: Record<string, unknown>; times: number }>;
  unchangedExamples: Array<{ id: string; values: Record<string, unknown> }>;
}

type WriteValue = string | number | boolean | null;

/** Keys sorted, so that the same values sent in another order are the same write. */
function canonical(values: Record<string, WriteValue>): string {
  return JSON.stringify(Object.keys(values).sort().map((k) => [k, values[k]]));
}

function valuesOf(key: string): Record<string, unknown> {
  return Object.fromEntries(JSON.parse(key) as Array<[string, unknown]>);
}

/** A record's values in a line of output: cut short after 120 characters. */
function brief(values: Record<string, unknown>): string {
  const text = JSON.stringify(values);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/**
 * Every connector write of a record the sandbox applied, since the sandbox started: per record, how
 * often each set of values was written, and how many writes changed nothing.
 */
export class WriteLog {
  private readonly crms: Record<CrmName, {
    writes: number; unchanged: number; unchangedOnCreated: number; unchangedExamples: WriteSummary['unchangedExamples'];
    byRecord: Map<string, Map<string, number>>; created: Set<string>;
  }> = {
    hubspot: { writes: 0, unchanged: 0, unchangedOnCreated: 0, unchangedExamples: [], byRecord: new Map(), created: new Set() },
    salesforce: { writes: 0, unchanged: 0, unchangedOnCreated: 0, unchangedExamples: [], byRecord: new Map(), created: new Set() },
  };

  /** A record the connector created. */
  created(crm: CrmName, id: string): void {
    this.crms[crm].created.add(id);
  }

  add(crm: CrmName, id: string, values: Record<string, WriteValue>, changed: boolean): void {
    const c = this.crms[crm];
    c.writes += 1;
    const key = canonical(values);
    if (!changed) {
      c.unchanged += 1;
      if (c.created.has(id)) c.unchangedOnCreated += 1;
      if (c.unchangedExamples.length < EXAMPLES) c.unchangedExamples.push({ id, values: valuesOf(key) });
    }
    const seen = c.byRecord.get(id) ?? new Map<string, number>();
    c.byRecord.set(id, seen);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }

  report(): Record<CrmName, WriteSummary> {
    const one = (crm: CrmName): WriteSummary => {
      const c = this.crms[crm];
      let repeated = 0;
      const examples: WriteSummary['examples'] = [];
      for (const [id, seen] of c.byRecord) {
        for (const [key, times] of seen) {
          if (times < 2) continue;
          repeated += times - 1;
          if (examples.length < EXAMPLES) examples.push({ id, values: valuesOf(key), times });
        }
      }
      return { writes: c.writes, records: c.byRecord.size, unchanged: c.unchanged, unchangedOnCreated: c.unchangedOnCreated, repeated, examples, unchangedExamples: [...c.unchangedExamples] };
    };
    return { hubspot: one('hubspot'), salesforce: one('salesforce') };
  }
}

/** What the sandbox child's side port answers on GET /duplicates. */
export interface DuplicateReport {
  people: Record<CrmName, CrowdedEmail[]>;
  writes: Record<CrmName, WriteSummary>;
}

export interface DuplicateChecks {
  /** People (emails) with more live records than the seeded world gave them (at least one). */
  duplicatePeople: Record<CrmName, number>;
  /** The records beyond those. */
  extraRecords: Record<CrmName, number>;
  repeatedWrites: Record<CrmName, number>;
  unchangedWrites: Record<CrmName, number>;
  writes: Record<CrmName, number>;
  /** The report's examples of repeated and of no-op writes, in full (for the results file). */
  examples: Record<CrmName, Pick<WriteSummary, 'examples' | 'unchangedExamples'>>;
  /** One line per non-zero count. */
  failures: string[];
}

const CRM_LABEL: Record<CrmName, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce' };

/**
 * The checks from a sandbox report. A person the sync created twice shows as an email with more
 * records than the seeded world gave it (a person the world knew only in the other CRM has 0 and
 * may get 1); the world's own duplicates (its case-differing Leads) are not the sync's.
 */
export function duplicateChecks(report: DuplicateReport): DuplicateChecks {
  const out: DuplicateChecks = {
    duplicatePeople: { hubspot: 0, salesforce: 0 },
    extraRecords: { hubspot: 0, salesforce: 0 },
    repeatedWrites: { hubspot: 0, salesforce: 0 },
    unchangedWrites: { hubspot: 0, salesforce: 0 },
    writes: { hubspot: 0, salesforce: 0 },
    examples: {
      hubspot: { examples: report.writes.hubspot.examples, unchangedExamples: report.writes.hubspot.unchangedExamples },
      salesforce: { examples: report.writes.salesforce.examples, unchangedExamples: report.writes.salesforce.unchangedExamples },
    },
    failures: [],
  };
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const label = CRM_LABEL[crm];
    const crowded = report.people[crm].filter((e) => e.now > Math.max(e.seeded, 1));
    out.duplicatePeople[crm] = crowded.length;
    out.extraRecords[crm] = crowded.reduce((n, e) => n + e.now - Math.max(e.seeded, 1), 0);
    const first = crowded[0];
    if (first) {
      const people = crowded.length === 1 ? '1 person has' : `${crowded.length} people have`;
      const records = out.extraRecords[crm] === 1 ? '1 record' : `${out.extraRecords[crm]} records`;
      out.failures.push(`${label}: ${people} ${records} more than the seeded world gave (e.g. ${first.email}: ${first.now}, seeded ${first.seeded})`);
    }
  }
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const label = CRM_LABEL[crm];
    const w = report.writes[crm];
    out.writes[crm] = w.writes;
    out.repeatedWrites[crm] = w.repeated;
    out.unchangedWrites[crm] = w.unchanged;
    const plural = (n: number) => (n === 1 ? '1 write' : `${n} writes`);
    const example = w.examples[0];
    if (w.repeated > 0) {
      out.failures.push(`${label}: ${plural(w.repeated)} repeated values already written to its record` +
        (example ? ` (e.g. ${example.id} ${brief(example.values)} ${example.times} times)` : ''));
    }
    const noop = w.unchangedExamples[0];
    const onCreated = w.unchangedOnCreated > 0 ? `, ${w.unchangedOnCreated} of them to a record the connector had created` : '';
    if (w.unchanged > 0) out.failures.push(`${label}: ${plural(w.unchanged)} changed nothing${onCreated}${noop ? ` (e.g. ${noop.id} ${brief(noop.values)})` : ''}`);
  }
  return out;
}

/** `scaleOut` of the last-line JSON: worker count -> full-sync leads/s (null: that sync failed); null when not run. */
export function scaleOutSummary(runs: Array<{ workers: number; leadsPerSec: number | null }> | null): Record<string, number | null> | null {
  if (!runs || runs.length === 0) return null;
  return Object.fromEntries(runs.map((r) => [String(r.workers), r.leadsPerSec === null || !Number.isFinite(r.leadsPerSec) ? null : Math.round(r.leadsPerSec)]));
}
