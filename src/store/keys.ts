/**
 * Every Redis key the service writes, in one place. Keys share the configured prefix (tests use
 * their own), and keys that a MULTI, a Lua script or a multi-key command touch together share a
 * hash tag (the part in braces decides the Redis Cluster slot), so that the service runs on Redis
 * Cluster: a lead's own keys carry its id as their tag, each BullMQ queue its name, each CRM's
 * pending writes, quota and accounts the CRM's. Keys read together across many slots (many leads'
 * snapshots) go through `mgetAcross`/`execBySlot` (src/store/redis-slots.ts).
 *
 * The layout changed twice (src/store/layout.ts moves the keys of older layouts at start): layout 2
 * gave keys their hash tags; layout 3 put the email index and the record links in hash buckets and
 * a lead's two counters in one hash.
 */
import { indexBucket } from './index-buckets.js';

/** Where one entry of a bucketed index lives: the bucket (a small Redis hash) and its field. */
export interface IndexEntry {
  readonly key: string;
  readonly field: string;
}

/** The fields of a lead's counters hash (`Keys.leadCounters`): short, as Redis stores them per lead. */
export const LEAD_COUNTER = { version: 'v', evaluated: 'e' } as const;

export interface Keys {
  readonly prefix: string;
  /**
   * BullMQ's prefix for one queue: the queue's name is its hash tag, so each queue's keys (which
   * BullMQ's Lua scripts touch together) share a slot and the queues spread over the cluster.
   */
  queuePrefix(queue: string): string;
  token(crm: string): string;
  quotaWindow(crm: string, kind: string): string;
  quotaDay(crm: string, day: string): string;
  quotaObserved(crm: string): string;
  quotaPause(crm: string): string;
  /** A lead's snapshot and its counters share the lead id as their hash tag. */
  lead(id: string): string;
  /**
   * A lead's counters, one hash (a key per counter cost about 100 bytes of Redis's own per-key
   * overhead each): its version (LEAD_COUNTER.version), bumped by every ingest that changes it; the
   * version its last evaluation saw (LEAD_COUNTER.evaluated; a pass of `smk sync --once` waits on it).
   */
  leadCounters(id: string): string;
  leadIndex(): string;
  /**
   * The lead a CRM record belongs to, and the lead holding a normalised email: entries of hash
   * buckets (src/store/index-buckets.ts), not a key each, because Redis spends about 100 bytes per
   * key on its own bookkeeping, several times the entry itself.
   */
  link(crm: string, object: string, id: string): IndexEntry;
  emailIndex(email: string): IndexEntry;
  cursor(crm: string): string;
  written(crm: string, leadId: string): string;
  pendingWrites(crm: string): string;
  pendingWriteData(crm: string): string;
  syncErrors(): string;
  syncError(id: string): string;
  /** The report's (crm, code) pairs that have entries: `<crm>:<code>`. */
  syncErrorCategories(): string;
  /** One (crm, code) pair's entry ids, by when last seen. */
  syncErrorCategory(crm: string, code: string): string;
  /** Every entry id, ordered by name (score 0), so that one record's entries are a range. */
  syncErrorIds(): string;
  events(): string;
  webhookSeen(): string;
  oauthState(state: string): string;
  poolState(): string;
  metrics(): string;
  created(crm: string, leadId: string): string;
  lock(name: string): string;
  /** Per-owner open leads and who holds each lead (src/store/open-leads.ts): one hash tag. */
  openLeads(ownerId: string): string;
  openLeadsHolder(): string;
  meta(name: string): string;
  /** Accounts of one CRM (src/store/accounts.ts): one hash tag per CRM, so a page's writes share a slot. */
  accounts(crm: string): string;
  accountDomain(crm: string, domain: string): string;
  accountName(crm: string, nameKey: string): string;
  /** The leads last matched to an account (re-evaluated when it changes). */
  accountLeads(crm: string, id: string): string;
  /** The calls and emails logged on one Salesforce record (src/store/activities.ts). */
  activities(recordId: string): string;
  /** Likelihood models by version, the version counter, and the publish history (newest last). */
  likelihoodModels(): string;
  likelihoodModelSeq(): string;
  likelihoodPublished(): string;
  /** An alert's delivery mark (jobs/alerts.ts): set while it is being sent, then once it was sent. */
  alertSent(key: string): string;
}

export function createKeys(prefix = 'smk'): Keys {
  const p = prefix.replace(/:+$/, '');
  return {
    prefix: p,
    queuePrefix: (queue) => `${p}:{${queue}}`,
    token: (crm) => `${p}:token:${crm}`,
    quotaWindow: (crm, kind) => `${p}:quota:{${crm}}:window:${kind}`,
    quotaDay: (crm, day) => `${p}:quota:{${crm}}:day:${day}`,
    quotaObserved: (crm) => `${p}:quota:{${crm}}:observed`,
    quotaPause: (crm) => `${p}:quota:{${crm}}:pause`,
    lead: (id) => `${p}:lead:{${id}}`,
    leadCounters: (id) => `${p}:lead-counters:{${id}}`,
    leadIndex: () => `${p}:leads`,
    // The bucket's number is its hash tag: buckets spread over the cluster's slots, and the CRM's
    // name in it keeps the two CRMs' link buckets of one number apart.
    link: (crm, object, id) => {
      const field = `${object}:${id}`;
      return { key: `${p}:link:${crm}:{link-${crm}-${indexBucket(field)}}`, field };
    },
    emailIndex: (email) => ({ key: `${p}:email:{email-${indexBucket(email)}}`, field: email }),
    cursor: (crm) => `${p}:cursor:${crm}`,
    written: (crm, leadId) => `${p}:held:${crm}:${leadId}`,
    pendingWrites: (crm) => `${p}:pending:{${crm}}:ids`,
    pendingWriteData: (crm) => `${p}:pending:{${crm}}:data`,
    syncErrors: () => `${p}:{sync-errors}:index`,
    syncError: (id) => `${p}:{sync-errors}:${id}`,
    // An entry's id starts with its CRM's name, so none of these three is an entry's key.
    syncErrorCategories: () => `${p}:{sync-errors}:categories`,
    syncErrorCategory: (crm, code) => `${p}:{sync-errors}:category:${crm}:${code}`,
    syncErrorIds: () => `${p}:{sync-errors}:ids`,
    events: () => `${p}:events`,
    webhookSeen: () => `${p}:webhook-seen`,
    oauthState: (state) => `${p}:oauth-state:${state}`,
    poolState: () => `${p}:routing-pools`,
    metrics: () => `${p}:metrics`,
    created: (crm, leadId) => `${p}:created:${crm}:${leadId}`,
    lock: (name) => `${p}:lock:${name}`,
    openLeads: (ownerId) => `${p}:meta:{open-leads}:owner:${ownerId}`,
    openLeadsHolder: () => `${p}:meta:{open-leads}:holder`,
    meta: (name) => `${p}:meta:${name}`,
    accounts: (crm) => `${p}:acct:{acct-${crm}}:records`,
    accountDomain: (crm, domain) => `${p}:acct:{acct-${crm}}:domain:${domain}`,
    accountName: (crm, nameKey) => `${p}:acct:{acct-${crm}}:name:${nameKey}`,
    accountLeads: (crm, id) => `${p}:acct:{acct-${crm}}:leads:${id}`,
    activities: (recordId) => `${p}:activity:${recordId}`,
    likelihoodModels: () => `${p}:{likelihood}:models`,
    likelihoodModelSeq: () => `${p}:{likelihood}:seq`,
    likelihoodPublished: () => `${p}:{likelihood}:published`,
    alertSent: (key) => `${p}:alert-sent:${key}`,
  };
}
