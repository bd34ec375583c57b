/**
 * Every Redis key the service writes, in one place. Keys share the configured prefix (tests use
 * their own), and keys that a MULTI, a Lua script or a multi-key command touch together share a
 * hash tag (the part in braces decides the Redis Cluster slot), so that the service runs on Redis
 * Cluster: a lead's own keys carry its id as their tag, each BullMQ queue its name, each CRM's
 * pending writes, quota and accounts the CRM's. Keys read together across many slots (many leads'
 * snapshots) go through `mgetAcross`/`execBySlot` (src/store/redis-slots.ts).
 *
 * The layout changed once (LAYOUT_VERSION 2 in src/store/layout.ts moves the keys of version 1).
 */
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
  /** A lead's snapshot, version and evaluated version share the lead id as their hash tag. */
  lead(id: string): string;
  leadVersion(id: string): string;
  /** The lead version its last evaluation saw (a pass of `smk sync --once` waits on it). */
  leadEvaluated(id: string): string;
  leadIndex(): string;
  link(crm: string, object: string, id: string): string;
  emailIndex(email: string): string;
  cursor(crm: string): string;
  written(crm: string, leadId: string): string;
  pendingWrites(crm: string): string;
  pendingWriteData(crm: string): string;
  syncErrors(): string;
  syncError(id: string): string;
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
    leadVersion: (id) => `${p}:lead-version:{${id}}`,
    leadEvaluated: (id) => `${p}:lead-evaluated:{${id}}`,
    leadIndex: () => `${p}:leads`,
    link: (crm, object, id) => `${p}:link:${crm}:${object}:${id}`,
    emailIndex: (email) => `${p}:email:${email}`,
    cursor: (crm) => `${p}:cursor:${crm}`,
    written: (crm, leadId) => `${p}:held:${crm}:${leadId}`,
    pendingWrites: (crm) => `${p}:pending:{${crm}}:ids`,
    pendingWriteData: (crm) => `${p}:pending:{${crm}}:data`,
    syncErrors: () => `${p}:{sync-errors}:index`,
    syncError: (id) => `${p}:{sync-errors}:${id}`,
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
