/**
 * The reference of the in-process model, written from the design's words rather than from the
 * code: what a lead must hold after a history of reads applied in read order, and the delivery
 * of the same reads with duplicates, reordering and late retries.
 */
import type { OwnedPath, OwnershipPolicy } from '../../../src/config.js';
import { DEFAULT_OWNERSHIP } from '../../../src/config.js';
import type { Lead } from '../../../src/model/lead.js';
import type { Snapshot } from '../../../src/sync/merge.js';
import type { Applied, ShellEnv, ShellState } from './shell.js';
import { applyFragment, emptyShell } from './shell.js';
import type { Played, Read, World } from './world.js';
import { ACCOUNT_ID, CONTACT_ID, EMAIL, HS_ID, LEAD_ID } from './world.js';

/** The owned paths the world's operations move. */
export const MODEL_PATHS = ['person.title', 'person.phone', 'person.city', 'company.name', 'company.domain', 'marketing.source', 'sales.status'] as const satisfies readonly OwnedPath[];
export type ModelPath = (typeof MODEL_PATHS)[number];

export function ownershipWith(overrides: Partial<Record<ModelPath, OwnershipPolicy>>): Record<OwnedPath, OwnershipPolicy> {
  return { ...DEFAULT_OWNERSHIP, ...overrides };
}

export function shellEnv(world: World, ownership: Record<OwnedPath, OwnershipPolicy>): ShellEnv {
  return {
    ownership,
    // Ingest reads the Lead when it checks a conversion: it sees the world as it is by then.
    convertedContactOf: (id) => (id === LEAD_ID && world.lead.converted ? CONTACT_ID : null),
  };
}

export interface Delivery {
  read: Read;
  /** A copy delivered again (a duplicated webhook, a page retried). */
  copy: number;
}

/** What can befall read `i`: delivered `delay` places late, and `copies` more times later still. */
export interface Fault {
  delay: number;
  copies: number;
  copyDelay: number;
}

/**
 * The reads in delivery order under `faults` (fault i befalls read i), the final reads included:
 * the poll that reads every record after its last change may deliver before an older page's retry.
 */
export function deliveryOrder(played: Played, faults: readonly Fault[]): Delivery[] {
  const slots: Array<{ at: number; tie: number; delivery: Delivery }> = [];
  played.reads.forEach((read, i) => {
    const f = faults[i] ?? { delay: 0, copies: 0, copyDelay: 0 };
    slots.push({ at: i + f.delay, tie: i * 10, delivery: { read, copy: 0 } });
    for (let c = 1; c <= f.copies; c += 1) slots.push({ at: i + f.delay + f.copyDelay * c, tie: i * 10 + c, delivery: { read, copy: c } });
  });
  slots.sort((a, b) => a.at - b.at || a.tie - b.tie);
  return slots.map((s) => s.delivery);
}

export interface StepCheck {
  index: number;
  delivery: Delivery;
  before: ShellState;
  applied: Applied;
  after: ShellState;
}

/** Delivers reads one by one through the shell; `onStep` sees each application. */
export function deliver(played: Played, deliveries: readonly Delivery[], env: ShellEnv, onStep?: (s: StepCheck) => void): ShellState {
  let state = emptyShell();
  deliveries.forEach((delivery, index) => {
    const before = state;
    const after: ShellState = { leads: new Map(before.leads), links: new Map(before.links), emails: new Map(before.emails), errors: new Map(before.errors) };
    const nowIso = new Date(played.end + 1000 + index).toISOString();
    const applied = applyFragment(after, delivery.read.fragment, delivery.read.readAt, nowIso, env);
    onStep?.({ index, delivery, before, applied, after });
    state = after;
  });
  return state;
}

export const inOrder = (played: Played): Delivery[] => played.reads.map((read) => ({ read, copy: 0 }));

// -------------------------------------------------------------------------------------------
// The expected lead after the reads in order

type Values = Partial<Record<OwnedPath, unknown>>;

interface ExpectedView {
  recordId: string;
  modifiedAt: string;
  values: Values;
  /** When each value was first seen as it is (the record's time at the first read showing it). */
  since: Partial<Record<OwnedPath, string>>;
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** The design's ownership policies, path by path. */
export function expectedValue(policy: OwnershipPolicy, hs: ExpectedView | null, sf: ExpectedView | null, path: OwnedPath): unknown {
  const h = hs?.values[path];
  const s = sf?.values[path];
  switch (policy) {
    case 'hubspot': return hs ? h : undefined;
    case 'salesforce': return sf ? s : undefined;
    case 'hubspot-unless-blank': return !blank(h) ? h : sf ? s : h;
    case 'salesforce-unless-blank': return !blank(s) ? s : hs ? h : s;
    case 'none': return undefined;
    case 'two-way': {
      if (!hs || !sf) return hs ? h : s;
      if (blank(h) || blank(s)) return blank(h) ? s : h;
      // The value that changed last wins; HubSpot's on a tie.
      return Date.parse(sf.since[path] ?? sf.modifiedAt) > Date.parse(hs.since[path] ?? hs.modifiedAt) ? s : h;
    }
  }
}

function flat(read: Read): Values {
  const f = read.fragment;
  const out: Values = { email: f.email };
  for (const path of MODEL_PATHS) {
    const [section, key] = path.split('.') as ['person' | 'company' | 'marketing' | 'sales', string];
    const container = f[section] as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(container, key) && container[key] !== undefined) out[path] = container[key];
  }
  if (f.source === 'salesforce' && f.object === 'Lead') out['sales.converted'] = f.sales.converted;
  return out;
}

function nextExpected(previous: ExpectedView | null, read: Read): ExpectedView {
  const values = flat(read);
  const since: ExpectedView['since'] = {};
  for (const path of Object.keys(values) as OwnedPath[]) {
    const kept = previous && previous.recordId === read.fragment.recordId && previous.values[path] === values[path];
    since[path] = kept ? (previous.since[path] ?? previous.modifiedAt) : read.fragment.modifiedAt;
  }
  return { recordId: read.fragment.recordId, modifiedAt: read.fragment.modifiedAt, values, since };
}

export interface Expected {
  values: Partial<Record<ModelPath | 'sales.converted', unknown>>;
  links: Lead['links'];
  email: string;
  /** Page views counted as engagement: every increase seen between reads, once. */
  pageViewWeight: number;
  pageViews: number;
}

/** What the lead holds after `reads` applied in read order, by the design's rules. */
export function expectedInOrder(reads: readonly Read[], ownership: Record<OwnedPath, OwnershipPolicy>): Expected {
  let hs: ExpectedView | null = null;
  let sf: ExpectedView | null = null;
  let salesforceLink: Lead['links']['salesforce'];
  let pageViews: number | null = null;
  let weight = 0;
  for (const read of reads) {
    const f = read.fragment;
    if (f.source === 'hubspot') {
      hs = nextExpected(hs, read);
      const pv = f.marketing.counters?.pageViews ?? 0;
      weight += Math.max(0, pv - (pageViews ?? 0));
      pageViews = pv;
      continue;
    }
    const converted = f.object === 'Contact' || !!f.identity.convertedContactId;
    // The Contact a Lead became is the person's record from then on; a converted Lead read after it is history.
    if (!(f.object === 'Lead' && sf?.recordId === CONTACT_ID)) sf = nextExpected(sf, read);
    salesforceLink = converted
      ? { object: 'Contact', id: CONTACT_ID, convertedFrom: LEAD_ID, accountId: ACCOUNT_ID }
      : { object: 'Lead', id: LEAD_ID };
  }
  const values: Expected['values'] = {};
  for (const path of MODEL_PATHS) values[path] = expectedValue(ownership[path], hs, sf, path);
  const convertedPolicy = ownership['sales.converted'];
  values['sales.converted'] = salesforceLink?.convertedFrom && convertedPolicy !== 'none' ? true : expectedValue(convertedPolicy, hs, sf, 'sales.converted');
  return {
    values,
    links: { ...(hs ? { hubspot: { id: HS_ID } } : {}), ...(salesforceLink ? { salesforce: salesforceLink } : {}) },
    email: EMAIL,
    pageViewWeight: weight,
    pageViews: pageViews ?? 0,
  };
}

/** A path of the lead, as composed. */
export function leadValue(lead: Lead, path: OwnedPath): unknown {
  const [section, key] = path.split('.') as ['person' | 'company' | 'marketing' | 'sales', string];
  return (lead[section] as Record<string, unknown>)[key];
}

export function pageViewWeight(lead: Lead): number {
  return lead.marketing.engagement.filter((e) => e.kind === 'page_view').reduce((n, e) => n + (e.weight ?? 1), 0);
}

/**
 * A snapshot as the model compares two runs: everything but bookkeeping (the lead's id, which is
 * whichever record was applied first; `updatedAt`; read times) and the dates of engagement events
 * (an event is dated when it is seen); engagement is compared as weight per kind. `twoWay` leaves
 * out the two-way paths and the views' change times, which depend on which reads were not stale
 * (see KNOWN_LIMITATION_TWO_WAY in core.model.test.ts); `checkTwoWay` checks those on their own.
 */
export function comparable(s: Snapshot, options: { twoWay?: 'exact' | 'apart'; ownership?: Record<OwnedPath, OwnershipPolicy>; engagement?: boolean } = {}): unknown {
  const { id: _id, updatedAt: _u, ...lead } = s.lead;
  const weights: Record<string, number> = {};
  for (const e of lead.marketing.engagement) weights[e.kind] = (weights[e.kind] ?? 0) + (e.weight ?? 1);
  const views: Record<string, unknown> = {};
  for (const [crm, v] of Object.entries(s.views)) {
    if (!v) continue;
    const { readAt: _r, changedAt, ...rest } = v;
    views[crm] = options.twoWay === 'apart' ? rest : { ...rest, changedAt };
  }
  const out = { ...lead, person: { ...lead.person }, company: { ...lead.company }, marketing: { ...lead.marketing, engagement: options.engagement === false ? {} : weights }, sales: { ...lead.sales } };
  if (options.twoWay === 'apart') {
    for (const path of MODEL_PATHS) {
      if (options.ownership?.[path] !== 'two-way') continue;
      const [section, key] = path.split('.') as ['person' | 'company' | 'marketing' | 'sales', string];
      delete (out[section] as Record<string, unknown>)[key];
    }
  }
  return { lead: out, views };
}

/**
 * The two-way paths of a run whose reads were delivered out of order. A view's change time is
 * "first seen as it is now", so it depends on which reads were applied and which came too late
 * (stale): it may be later or earlier than in read order (see KNOWN_LIMITATION_TWO_WAY in
 * core.model.test.ts). What must hold: it is the time of a read of that same record that showed
 * that same value, never past the record's own time, and the value is the one the policy picks
 * by the run's own times.
 */
export function checkTwoWay(faulty: Snapshot, delivered: readonly Delivery[], ownership: Record<OwnedPath, OwnershipPolicy>): string[] {
  const problems: string[] = [];
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const f = faulty.views[crm];
    if (!f) continue;
    for (const [path, at] of Object.entries(f.changedAt ?? {}) as Array<[OwnedPath, string]>) {
      if (!MODEL_PATHS.includes(path as ModelPath)) continue;
      if (Date.parse(at) > Date.parse(f.modifiedAt)) problems.push(`${crm} ${path} changed at ${at}, after its record (${f.modifiedAt})`);
      const seen = delivered.some(({ read }) => read.fragment.recordId === f.ref.id && read.fragment.modifiedAt === at && flat(read)[path] === f.values[path]);
      if (!seen) problems.push(`${crm} ${path} changed at ${at}: no read of ${f.ref.id} at that time showed ${JSON.stringify(f.values[path])}`);
    }
  }
  const view = (crm: 'hubspot' | 'salesforce'): ExpectedView | null => {
    const v = faulty.views[crm];
    return v ? { recordId: v.ref.id, modifiedAt: v.modifiedAt, values: v.values, since: v.changedAt ?? {} } : null;
  };
  for (const path of MODEL_PATHS) {
    if (ownership[path] !== 'two-way') continue;
    const want = expectedValue('two-way', view('hubspot'), view('salesforce'), path);
    const got = leadValue(faulty.lead, path);
    if (!sameValueLoose(want, got)) problems.push(`${path} is ${JSON.stringify(got)}, the policy picks ${JSON.stringify(want)} by the run's own change times`);
  }
  return problems;
}

const sameValueLoose = (a: unknown, b: unknown) => a === b || (a === undefined && b === undefined);

export function onlyLead(state: ShellState): Snapshot {
  const leads = [...state.leads.values()];
  if (leads.length !== 1) throw new Error(`expected one lead for the one person, found ${leads.length}: ${leads.map((l) => l.lead.id).join(', ')}`);
  return leads[0] as Snapshot;
}
