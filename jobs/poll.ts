/**
 * poll: follows one CRM's change feed from its saved position and hands each page to ingest.
 * The position moves only after its page was durably enqueued: a crash re-reads, never skips.
 * The first poll (or `sync --full`) reads everything through the cheapest paging the API has,
 * then continues the feed from just before that read began.
 */
import { createHash } from 'node:crypto';
import type { ChangePage, StreamPosition } from '../connectors/types.js';
import type { SyncField } from '../src/model/field-sync.js';
import { isCrmError } from '../connectors/errors.js';
import type { CrmName } from '../src/model/lead.js';
import type { ConnectionStatus } from '../src/store/connection-status.js';
import { cursorHold, releaseCursorHold } from './stream.js';
import type { SyncContext } from './context.js';
import { markAuthFailed, reconnected } from './connection.js';
import { enqueueEvaluate } from './enqueue.js';
import { PRIORITY } from './queues.js';
import { finishRebuildIfDone } from './redis-loss.js';
import { processIngest } from './ingest.js';
import { readAhead } from './read-ahead.js';
import { pollOpportunities } from './opportunities.js';
import { pollAccounts } from './accounts.js';
import { pollActivities } from './activities.js';

export interface PollResult {
  pages: number;
  records: number;
  removed: number;
  full: boolean;
  /** Opportunities (Salesforce) or deals (HubSpot) read. */
  opportunities?: number;
  /** Accounts (Salesforce) or companies (HubSpot) read. */
  accounts?: number;
  /** Calls and emails sales logged (Salesforce Tasks) read. */
  activities?: number;
  /** Another worker was reading this feed: this poll read nothing. */
  busy?: boolean;
  /** The CRM refused our authorisation (still): this poll read nothing. */
  authFailed?: ConnectionStatus;
}

/**
 * A page goes to ingest without being read again: its data waits in Redis (src/store/pages.ts)
 * and the job names the page and its records' ids only, never a person's values.
 */
async function handOn(ctx: SyncContext, crm: CrmName, page: ChangePage, readAt: number, pass?: string): Promise<void> {
  if (page.fragments.length === 0 && page.removed.length === 0 && page.problems.length === 0) return;
  const key = await ctx.pages.put({ fragments: page.fragments, removed: page.removed, problems: page.problems });
  const refs = new Map<string, { object: 'contact' | 'Lead' | 'Contact'; id: string }>();
  for (const f of page.fragments) refs.set(`${f.object}:${f.recordId}`, { object: f.object, id: f.recordId });
  for (const r of page.removed) refs.set(`${r.ref.object}:${r.ref.id}`, { object: r.ref.object, id: r.ref.id });
  const job = await ctx.queues.ingest.add('page', { crm, readAt, page: key, refs: [...refs.values()], ...(pass ? { pass } : {}) });
  if (pass && job.id) await ctx.passes.addJob(pass, job.id);
}

/** What a mapping change must back-fill: every synced field's columns, type, direction and translation. */
export function fieldMapFingerprint(fields: readonly SyncField[]): string {
  const canonical = [...fields].sort((a, b) => a.name.localeCompare(b.name)).map((f) => [f.name, f.type, f.hubspot, f.salesforce.Lead, f.salesforce.Contact, f.direction, f.values]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}

function evaluateAllKey(ctx: SyncContext): string {
  return ctx.keys.meta('evaluate-all-pending');
}

/** Enqueues every lead once, when the end of the initial read asked for it and it did not finish. */
async function evaluateAllIfPending(ctx: SyncContext, pass?: string): Promise<void> {
  if (!(await ctx.redis.exists(evaluateAllKey(ctx)))) return;
  for await (const ids of ctx.leads.ids(1000)) await enqueueEvaluate(ctx, ids, 'initial sync complete', { pass, priority: PRIORITY.bulk });
  await ctx.redis.del(evaluateAllKey(ctx));
}

export interface PollOptions {
  full?: boolean;
  onPage?: (records: number) => void;
  /**
   * When another worker is reading this CRM's feed: `skip` returns at once (a scheduled poll: the
   * running one reads the same feed), `wait` (the default) waits for it and then reads.
   */
  whenBusy?: 'skip' | 'wait';
  /** The `smk sync --once` pass reading (src/store/passes.ts): it waits for what its pages ask. */
  pass?: string;
  /**
   * Told when a full read is about to begin (`enter`, which may throw to hand the job to another
   * worker before anything is read) and when it has ended (`leave`).
   */
  fullRead?: { enter(): Promise<void>; leave(): void };
}

/** A poll that found the feed being read by another worker. */
export const BUSY_POLL: PollResult = Object.freeze({ pages: 0, records: 0, removed: 0, full: false, busy: true });

/**
 * One poll of a CRM at a time, across every worker: two readers of one feed would apply pages out
 * of order and move the cursor back and forth. The lock is renewed while the read runs (a full
 * read takes minutes) and lapses soon after a worker dies.
 */
export async function processPoll(ctx: SyncContext, crm: CrmName, options: PollOptions = {}): Promise<PollResult> {
  // A CRM whose authorisation failed is not polled (each poll would fail its attempts, forever):
  // its connection is checked at most once a minute, and polling resumes from the cursor when it works.
  const status = await ctx.connections.get(crm);
  if (status?.state === 'auth_failed' && !(await reconnected(ctx, crm))) {
    return { pages: 0, records: 0, removed: 0, full: false, authFailed: (await ctx.connections.get(crm)) ?? status };
  }
  try {
    // A poll owed by the change stream (jobs/stream.ts): this one settles it if it began after it.
    const hold = crm === 'salesforce' ? await cursorHold(ctx) : null;
    const result = await lockedPoll(ctx, crm, options);
    if (!result.busy) {
      await ctx.connections.set(crm, 'connected', ctx.clock.now());
      await ctx.errors.resolvePolled(crm);
      await releaseCursorHold(ctx, hold);
    }
    return result;
  } catch (err) {
    if (isCrmError(err) && err.code === 'AUTH_INVALID') await markAuthFailed(ctx, crm, err.message);
    throw err;
  }
}

async function lockedPoll(ctx: SyncContext, crm: CrmName, options: PollOptions): Promise<PollResult> {
  const ttlMs = Math.max(5_000, ctx.config.file.sync.jobLock);
  if (options.whenBusy === 'skip') {
    return ctx.locks.tryWith(`poll:${crm}`, { ...BUSY_POLL }, () => pollHolding(ctx, crm, options), { ttlMs, renew: true });
  }
  return ctx.locks.with(`poll:${crm}`, () => pollHolding(ctx, crm, options), { ttlMs, renew: true, waitMs: 30 * 60_000 });
}

async function pollHolding(ctx: SyncContext, crm: CrmName, options: PollOptions): Promise<PollResult> {
  await ctx.clock.sync();
  await evaluateAllIfPending(ctx, options.pass);
  const connector = ctx.connectors[crm];
  const result: PollResult = { pages: 0, records: 0, removed: 0, full: false };
  const position = await ctx.cursors.get(crm);
  const initial = (await ctx.cursors.lastSyncAt(crm)) === null;
  // A changed field mapping (or the first poll of a version that syncs fields) is back-filled: the
  // records are read in full for their newly mapped values, and every lead is evaluated against the
  // new directions; evaluation writes only the differences.
  const fieldMap = fieldMapFingerprint(ctx.syncFields);
  const fieldMapKey = ctx.keys.meta(`field-map:${crm}`);
  const remapped = !initial && (await ctx.redis.get(fieldMapKey)) !== fieldMap;

  if (options.full || initial || remapped) {
    // A worker may hand the read to another (jobs/workers.ts): it throws then, having read nothing.
    await options.fullRead?.enter();
    try {
      return await readInFull(ctx, crm, options, { remapped, fieldMap, fieldMapKey });
    } finally {
      options.fullRead?.leave();
    }
  }

  result.accounts = (await pollAccounts(ctx, crm, options.pass ? { pass: options.pass } : {})).accounts;
  for await (const page of connector.changes(position, { now: new Date(ctx.clock.now()), safetyMarginMs: ctx.config.file.sync.searchSafetyMargin })) {
    const readAt = ctx.clock.now();
    await handOn(ctx, crm, page, readAt, options.pass);
    if (page.position) await ctx.cursors.set(crm, page.stream, page.position);
    result.pages += 1;
    result.records += page.fragments.length;
    result.removed += page.removed.length;
    options.onPage?.(page.fragments.length);
  }
  // After the people's pages: a reading for someone not linked yet waits for their ingest (parked).
  const opportunities = await pollOpportunities(ctx, crm, options.pass ? { pass: options.pass } : {});
  result.opportunities = opportunities.opportunities;
  result.activities = (await pollActivities(ctx, crm, options.pass ? { pass: options.pass } : {})).activities;
  await ctx.cursors.markSynced(crm, ctx.clock.now());
  await finishRebuildIfDone(ctx);
  return result;
}

/**
 * Reads the CRM in full, ingesting as it goes, then continues its feed from just before the read
 * began; once both CRMs are read in full, every lead is evaluated.
 */
async function readInFull(ctx: SyncContext, crm: CrmName, options: PollOptions, map: { remapped: boolean; fieldMap: string; fieldMapKey: string }): Promise<PollResult> {
  const { remapped, fieldMap, fieldMapKey } = map;
  const connector = ctx.connectors[crm];
  const result: PollResult = { pages: 0, records: 0, removed: 0, full: true };
  const startedAt = ctx.clock.now();
  // Accounts first: the people read next are matched against them at their first evaluation.
  result.accounts = (await pollAccounts(ctx, crm, { full: true, ...(options.pass ? { pass: options.pass } : {}) })).accounts;
  const streams = new Set<string>();
  // The next page is read while this one is ingested (one read in flight, jobs/read-ahead.ts);
  // each page keeps the time it arrived, which the merge orders reads of a record by.
  for await (const { item: page, at: readAt } of readAhead(connector.readAll(), () => ctx.clock.now())) {
    // A full read is ingested as it goes, so that "read in full" (below) means "known to the
    // snapshot": creating people in the other CRM depends on it. A crash re-reads from the start.
    await processIngest(ctx, { crm, readAt, fragments: page.fragments, removed: page.removed, problems: page.problems, ...(options.pass ? { pass: options.pass } : {}) });
    streams.add(page.stream);
    result.pages += 1;
    result.records += page.fragments.length;
    options.onPage?.(page.fragments.length);
  }
  // Changes made while the full read ran are picked up by the feed from just before it began.
  const from: StreamPosition = { ts: new Date(startedAt - ctx.config.file.sync.searchSafetyMargin).toISOString(), id: '' };
  for (const stream of streams) await ctx.cursors.set(crm, stream, from);
  // Every opportunity, now that the people on them are linked (the full read was ingested as it went).
  const opportunities = await pollOpportunities(ctx, crm, { full: true, ...(options.pass ? { pass: options.pass } : {}) });
  result.opportunities = opportunities.opportunities;
  result.activities = (await pollActivities(ctx, crm, { full: true, ...(options.pass ? { pass: options.pass } : {}) })).activities;
  // Both CRMs are now read in full: every lead is evaluated (nothing was before, see
  // jobs/evaluate.ts). The intent is written before the cursor, so a crash in between is
  // finished by the next poll.
  // After a mapping change, once both CRMs are re-read under it (not after the first: half the
  // views would still lack the newly mapped values).
  // The two CRMs' full reads may end together: each would read the other's marks (synced, field
  // map) before the other set them, and neither would ask for the evaluation. One at a time, the
  // second sees the first's.
  await ctx.locks.with('full-read-end', async () => {
    const otherRead = (await ctx.cursors.lastSyncAt(crm === 'hubspot' ? 'salesforce' : 'hubspot')) !== null;
    const firstTime = (await ctx.cursors.lastSyncAt(crm)) === null;
    const otherMapped = (await ctx.redis.get(ctx.keys.meta(`field-map:${crm === 'hubspot' ? 'salesforce' : 'hubspot'}`))) === fieldMap;
    if ((firstTime && otherRead) || (remapped && otherMapped)) await ctx.redis.set(evaluateAllKey(ctx), String(ctx.clock.now()));
    await ctx.redis.set(fieldMapKey, fieldMap);
    await ctx.cursors.markSynced(crm, ctx.clock.now());
  });
  await evaluateAllIfPending(ctx, options.pass);
  await finishRebuildIfDone(ctx);
  return result;
}
