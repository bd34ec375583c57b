/**
 * The world of the in-process model: one person, known to HubSpot as a contact and to Salesforce
 * as a Lead that sales may convert into a Contact. A history is a list of user operations and
 * reads; playing it gives every read as the fragment the connector would have mapped (the real
 * fragment shape, parsed by the real schema) with its read time. Salesforce stamps whole seconds,
 * so two changes in one second carry one modification time; HubSpot stamps milliseconds.
 */
import type { CrmName, LeadFragment } from '../../../src/model/lead.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';

export const HS_ID = '501';
export const LEAD_ID = '00Q000000000001AAA';
export const CONTACT_ID = '003000000000001AAA';
export const ACCOUNT_ID = '001000000000001AAA';
export const EMAIL = 'ada@example.com';
export const T0 = Date.parse('2026-03-02T09:00:00.000Z');

export type HsField = 'title' | 'phone' | 'city' | 'source' | 'domain';
export type SfField = 'title' | 'phone' | 'city' | 'company' | 'status';
export type ReadTarget = 'hubspot' | 'salesforce' | 'salesforce-lead';

/** Every operation first moves the clock on by `dt` ms. */
export type Op =
  | { kind: 'hsEdit'; dt: number; field: HsField; value: string | null }
  | { kind: 'sfEdit'; dt: number; field: SfField; value: string | null }
  | { kind: 'pageViews'; dt: number; n: number }
  | { kind: 'resetCounters'; dt: number }
  /** Our own write-back of smk fields: the record's modification time moves, no owned value does. */
  | { kind: 'echo'; dt: number; crm: CrmName }
  | { kind: 'convert'; dt: number }
  /** The email re-typed with other case and spaces: the same person. */
  | { kind: 'emailCase'; dt: number; crm: CrmName; upper: boolean }
  /** A read of the HubSpot contact, of the Salesforce record sales works on, or of the Lead even once converted. */
  | { kind: 'read'; dt: number; target: ReadTarget };

interface HsRecord {
  email: string;
  title: string | null;
  phone: string | null;
  city: string | null;
  source: string | null;
  domain: string | null;
  pageViews: number;
  lastVisitAt: number | null;
  modifiedAt: number;
}

interface SfRecord {
  id: string;
  object: 'Lead' | 'Contact';
  email: string;
  title: string | null;
  phone: string | null;
  city: string | null;
  company: string | null;
  status: string | null;
  converted: boolean;
  modifiedAt: number;
}

export interface World {
  now: number;
  lastReadAt: number;
  hs: HsRecord;
  lead: SfRecord;
  contact: SfRecord | null;
  /** Counter resets seen (page views going down). */
  resets: number;
  /** Every page view there ever was (the truth engagement may approach, never pass). */
  totalPageViews: number;
}

/** One read as the connector hands it on: the fragment and our clock when it was read. */
export interface Read {
  seq: number;
  target: ReadTarget;
  fragment: LeadFragment;
  readAt: number;
}

export interface Played {
  world: World;
  reads: Read[];
  /** Our clock after the last operation. */
  end: number;
  /** Index in `reads` of the first of the final reads (reads.length when there are none). */
  finalFrom: number;
}

const stamp = (ms: number) => Math.floor(ms / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

export function initialWorld(): World {
  return {
    now: T0,
    lastReadAt: 0,
    hs: { email: EMAIL, title: 'Analyst', phone: '+1 555 0100', city: 'Berlin', source: 'ORGANIC_SEARCH', domain: 'example.com', pageViews: 3, lastVisitAt: T0 - 86_400_000, modifiedAt: T0 - 3_600_123 },
    lead: { id: LEAD_ID, object: 'Lead', email: EMAIL, title: 'Engineer', phone: null, city: 'Paris', company: 'Example GmbH', status: 'Open', converted: false, modifiedAt: stamp(T0 - 7_200_000) },
    contact: null,
    resets: 0,
    totalPageViews: 3,
  };
}

/** The Salesforce record sales works on now: the Contact once the Lead is converted. */
export function currentSalesforce(world: World): SfRecord {
  return world.contact ?? world.lead;
}

function hubspotFragment(hs: HsRecord): LeadFragment {
  return leadFragmentSchema.parse({
    source: 'hubspot', recordId: HS_ID, object: 'contact', email: hs.email, modifiedAt: iso(hs.modifiedAt),
    person: { title: hs.title, phone: hs.phone, city: hs.city },
    company: { name: null, domain: hs.domain },
    marketing: { source: hs.source, counters: { pageViews: hs.pageViews, ...(hs.lastVisitAt !== null ? { lastVisitAt: hs.lastVisitAt } : {}) } },
    sales: { ownerId: null },
  });
}

function salesforceFragment(r: SfRecord, world: World): LeadFragment {
  const isLead = r.object === 'Lead';
  return leadFragmentSchema.parse({
    source: 'salesforce', recordId: r.id, object: r.object, email: r.email, modifiedAt: iso(r.modifiedAt),
    person: { title: r.title, phone: r.phone, city: r.city },
    company: { name: r.company, domain: null },
    marketing: { source: null },
    sales: isLead ? { ownerId: null, status: r.status, converted: r.converted } : { ownerId: null },
    identity: isLead
      ? { convertedContactId: r.converted ? world.contact?.id ?? null : null, convertedAccountId: r.converted ? ACCOUNT_ID : null }
      : { accountId: ACCOUNT_ID },
  });
}

/** Applies one operation to the world; a read returns what it read. */
export function step(world: World, op: Op, seq: number): Read | null {
  world.now += op.dt;
  switch (op.kind) {
    case 'hsEdit':
      world.hs[op.field] = op.value;
      world.hs.modifiedAt = world.now;
      return null;
    case 'sfEdit': {
      const r = currentSalesforce(world);
      // A Contact has no lead status: sales' status edit only exists on an open Lead.
      if (op.field === 'status' && r.object === 'Contact') return null;
      r[op.field] = op.value;
      r.modifiedAt = stamp(world.now);
      return null;
    }
    case 'pageViews':
      world.hs.pageViews += op.n;
      world.totalPageViews += op.n;
      world.hs.lastVisitAt = world.now;
      world.hs.modifiedAt = world.now;
      return null;
    case 'resetCounters':
      if (world.hs.pageViews === 0) return null;
      world.hs.pageViews = 0;
      world.hs.modifiedAt = world.now;
      world.resets += 1;
      return null;
    case 'echo':
      if (op.crm === 'hubspot') world.hs.modifiedAt = world.now;
      else currentSalesforce(world).modifiedAt = stamp(world.now);
      return null;
    case 'convert': {
      if (world.contact) return null;
      const at = stamp(world.now);
      // Salesforce copies the Lead's person onto the new Contact; the Lead stops changing.
      world.contact = { ...world.lead, id: CONTACT_ID, object: 'Contact', status: null, converted: false, modifiedAt: at };
      world.lead.converted = true;
      world.lead.modifiedAt = at;
      return null;
    }
    case 'emailCase': {
      const email = op.upper ? ` ${EMAIL.toUpperCase()}` : EMAIL;
      if (op.crm === 'hubspot') {
        world.hs.email = email;
        world.hs.modifiedAt = world.now;
      } else {
        const r = currentSalesforce(world);
        r.email = email;
        r.modifiedAt = stamp(world.now);
      }
      return null;
    }
    case 'read': {
      // Reads start one after another on our clock.
      world.now = Math.max(world.now, world.lastReadAt + 1);
      world.lastReadAt = world.now;
      const fragment = op.target === 'hubspot'
        ? hubspotFragment(world.hs)
        : salesforceFragment(op.target === 'salesforce-lead' ? world.lead : currentSalesforce(world), world);
      return { seq, target: op.target, fragment, readAt: world.now };
    }
  }
}

/**
 * Plays a history. `finalReads` appends what the next poll eventually reads: every record as it
 * is at the end (the HubSpot contact, the Salesforce Lead, and the Contact if there is one).
 */
export function play(ops: readonly Op[], options: { finalReads?: boolean } = {}): Played {
  const world = initialWorld();
  const reads: Read[] = [];
  for (const op of ops) {
    const read = step(world, op, reads.length);
    if (read) reads.push(read);
  }
  const finalFrom = reads.length;
  if (options.finalReads ?? true) {
    const finals: ReadTarget[] = world.contact ? ['hubspot', 'salesforce-lead', 'salesforce'] : ['hubspot', 'salesforce'];
    for (const target of finals) {
      const read = step(world, { kind: 'read', dt: 1, target }, reads.length);
      if (read) reads.push(read);
    }
  }
  return { world, reads, end: world.now, finalFrom };
}
