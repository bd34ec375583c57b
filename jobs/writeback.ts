/**
 * writeback:<crm>: drains the pending writes, creates and tasks of one CRM in the largest batches
 * the API allows (HubSpot 100, Salesforce 200), records what was written so that its echo causes
 * nothing, and handles each record's failure on its own: retried with back-off, then reported in
 * sync errors with the CRM's own message. A batch-wide failure (rate limit, outage) reschedules
 * the batch; nothing is dropped.
 */
import { backoffMs, CrmError, isCrmError, isRetryable } from '../connectors/errors.js';
import type { CrmName } from '../src/model/lead.js';
import type { PendingEntry, PendingStore } from '../src/store/pending.js';
import { asHeld } from '../src/sync/field-plan.js';
import type { SmkValues } from '../src/sync/plan.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { markAuthFailed } from './connection.js';
import type { CreatePayload } from './queues.js';
import { burstTailSettledBy, noteFullBatch, releaseDeferredTask, scheduleWriteback } from './schedule-writeback.js';

export const MAX_RECORD_ATTEMPTS = 5;

export interface WritebackResult {
  written: number;
  failed: number;
  created: number;
  tasks: number;
  rescheduled: number;
}

async function failEntry<T>(
  ctx: SyncContext,
  store: PendingStore<T>,
  entry: PendingEntry<T>,
  error: CrmError,
  report: { crm: CrmName; object: string | null; recordId: string | null; stage: 'write' | 'create' | 'task' },
): Promise<'retry' | 'reported'> {
  const now = ctx.clock.now();
  // A rate limit answered for one record is the CRM's pace, not the record's fault: retried without
  // spending an attempt.
  if (error.code === 'RATE_LIMITED') {
    await store.retryLater(entry, now + backoffMs(entry.taken, error), now, false);
    return 'retry';
  }
  if (isRetryable(error.code) && entry.attempts + 1 < MAX_RECORD_ATTEMPTS) {
    await store.retryLater(entry, now + backoffMs(entry.attempts + 1, error), now);
    return 'retry';
  }
  await ctx.errors.record({
    crm: report.crm, object: report.object, recordId: report.recordId, leadId: entry.leadId,
    code: error.code === 'VALIDATION' && error.vendorCode ? error.vendorCode : error.code,
    message: error.message, field: error.field ?? null, stage: report.stage,
  }, now);
  await store.ack(entry, now);
  return 'reported';
}

/**
 * A spent budget is checked again this often: the gate refuses locally at no API cost, and a
 * budget that was raised (or a daily window that reset) lets the parked work go within a minute.
 */
export const QUOTA_RECHECK_MS = 60_000;

function quotaParkedKey(ctx: SyncContext, crm: CrmName): string {
  return ctx.keys.meta(`quota-parked:${crm}`);
}

/**
 * A failure of the whole call: every entry of the batch waits and is tried again. A spent budget
 * parks every due entry of the CRM (not only this batch) without counting it as an attempt, and
 * remembers where, so that a worker that finds the budget allowing again can let them go at once.
 */
async function rescheduleAll<T>(ctx: SyncContext, store: PendingStore<T>, entries: Array<PendingEntry<T>>, error: CrmError): Promise<void> {
  if (error.code === 'QUOTA_EXHAUSTED') {
    await parkForQuota(ctx, store, entries, error);
    return;
  }
  // The whole call failed (an outage, a rate limit): nobody's record is at fault, so no record's
  // attempts are spent on it (they stay for the record's own errors), and the batch waits longer
  // each time it is taken and fails, instead of hitting the outage every second.
  const now = ctx.clock.now();
  const taken = Math.max(1, ...entries.map((e) => e.taken));
  const at = now + Math.max(error.retryAfterMs ?? 0, backoffMs(taken, error));
  for (const entry of entries) await store.retryLater(entry, at, now, false);
}

async function parkForQuota<T>(ctx: SyncContext, store: PendingStore<T>, entries: Array<PendingEntry<T>>, error: CrmError): Promise<void> {
  const now = ctx.clock.now();
  const crm = store.crm;
  const at = now + Math.min(Math.max(error.retryAfterMs ?? QUOTA_RECHECK_MS, 1000), QUOTA_RECHECK_MS);
  await ctx.redis.multi().sadd(quotaParkedKey(ctx, crm), String(at)).expire(quotaParkedKey(ctx, crm), 2 * 86_400).exec();
  for (const entry of entries) await store.retryLater(entry, at, now, false);
  for (const kind of ['write', 'create', 'task'] as const) await ctx.pending[crm][kind].deferDue(at, now);
}

/**
 * Work parked behind a spent budget goes at once when the CRM's budget allows again (a raised
 * budget after a restart, a new daily window). Returns how many entries were let go.
 */
export async function releaseQuotaParked(ctx: SyncContext, crm: CrmName): Promise<number> {
  const key = quotaParkedKey(ctx, crm);
  const scores = (await ctx.redis.smembers(key)).map(Number).filter((n) => Number.isFinite(n));
  if (scores.length === 0) return 0;
  if ((await ctx.connectors[crm].quota()).paused) return 0;
  const now = ctx.clock.now();
  let released = 0;
  for (const kind of ['write', 'create', 'task'] as const) released += await ctx.pending[crm][kind].promoteParked(scores, now);
  await ctx.redis.srem(key, ...scores.map(String));
  if (released > 0) ctx.logger.info({ crm, released }, 'the API budget allows again: parked writes go now');
  return released;
}

/**
 * The one batching loop: take up to `size` due entries, make one call, settle each entry. A
 * failure of the whole call reschedules the batch (nothing is dropped); a spent budget or a dead
 * session stops the drain until the entries fall due again.
 */
async function drainBatches<T, O extends { ok: boolean; error?: unknown }>(
  ctx: SyncContext,
  store: PendingStore<T>,
  size: number,
  result: WritebackResult,
  call: (payloads: T[], entries: Array<PendingEntry<T>>) => Promise<O[]>,
  settle: (entries: Array<PendingEntry<T>>, outcomes: O[], now: number) => Promise<void>,
): Promise<void> {
  for (;;) {
    // Full batches go at once; a partial one once its oldest entry has waited the batching wait,
    // or, while a burst is under way, once nothing new has joined it for a moment (its tail).
    const now = ctx.clock.now();
    const settledBy = await burstTailSettledBy(ctx, store.crm, store.kind, now);
    const entries = await store.take(size, ctx.config.file.sync.writeLease, now, now - ctx.config.file.sync.batchWait, settledBy);
    if (entries.length === 0) return;
    if (entries.length === size) await noteFullBatch(ctx, store.crm, store.kind, now);
    let outcomes: O[];
    try {
      outcomes = await call(entries.map((e) => e.payload), entries);
    } catch (err) {
      if (!isCrmError(err)) throw err;
      await rescheduleAll(ctx, store, entries, err);
      result.rescheduled += entries.length;
      if (err.code === 'AUTH_INVALID') await markAuthFailed(ctx, store.crm, err.message);
      if (err.code === 'QUOTA_EXHAUSTED' || err.code === 'AUTH_INVALID') return;
      continue;
    }
    // Records refused for a spent budget (a later chunk of the call) are nobody's fault: they are
    // parked with every due entry, without an attempt counted, and the drain stops there.
    const spent = (o: O | undefined): CrmError | null => (o && !o.ok && isCrmError(o.error) && o.error.code === 'QUOTA_EXHAUSTED' ? o.error : null);
    const refused = entries.filter((_, i) => spent(outcomes[i]));
    const quotaError = outcomes.map(spent).find((e) => e !== null);
    if (quotaError) await parkForQuota(ctx, store, refused, quotaError);
    await settle(entries.filter((_, i) => !spent(outcomes[i])), outcomes.filter((_, i) => !spent(outcomes[i])), ctx.clock.now());
    if (quotaError) return;
  }
}

async function drainWrites(ctx: SyncContext, crm: CrmName, result: WritebackResult): Promise<void> {
  const store = ctx.pending[crm].write;
  const connector = ctx.connectors[crm];
  await drainBatches(ctx, store, connector.batchSizes.write, result, (updates) => connector.write(updates), async (entries, outcomes, now) => {
    // Written: whatever the report said of these records' earlier writes is no longer true.
    await ctx.errors.resolveWritten(crm, entries.filter((_, i) => outcomes[i]?.ok).map((e) => e.payload.ref));
    // Each entry in order (held before acknowledged), the entries side by side: they are other records.
    await Promise.all(entries.map(async (entry, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) {
        // Synced field values the CRM refused were not written: they are reported, not held.
        const refused = outcome.refused ?? [];
        const fields = { ...entry.payload.fields };
        for (const r of refused) delete fields[r.field];
        await ctx.held.recordWritten(crm, entry.leadId, { ...entry.payload.smk, ...asHeld(fields) } as SmkValues, now, entry.payload.ownerId ?? undefined, entry.payload.lifecycleStage?.value);
        for (const r of refused) {
          await ctx.errors.record({
            crm,
            object: entry.payload.ref.object,
            recordId: entry.payload.ref.id,
            leadId: entry.leadId,
            code: r.error.code,
            message: r.error.message,
            field: r.error.field ?? r.field,
            value: entry.payload.fields?.[r.field] ?? null,
            stage: 'write',
          }, now);
        }
        await store.ack(entry, now);
        // A write whose every value was refused before it was sent wrote nothing.
        const p = entry.payload;
        const sentNothing = refused.length > 0 && Object.keys(fields).length === 0 && Object.keys(p.smk).length === 0 && !p.ownerId && !p.lifecycleStage && p.status === undefined;
        if (!sentNothing) result.written += 1;
        return;
      }
      // A connector that answered nothing for this record: treat it as a passing fault.
      const error = outcome?.error ?? new CrmError({ crm, code: 'TRANSIENT', message: 'the CRM returned no result for this record', recordId: entry.payload.ref.id });
      // A write planned before the record's deletion was read: the deletion has unlinked it since,
      // so no lead follows the record and there is nothing to report (the person's other record
      // carries on). While it is still linked, the error is reported, and the removal clears it.
      if (isCrmError(error) && error.code === 'NOT_FOUND' && !(await ctx.leads.linkOf(crm, entry.payload.ref.object, entry.payload.ref.id))) {
        await store.ack(entry, now);
        return;
      }
      const verdict = await failEntry(ctx, store, entry, error, { crm, object: entry.payload.ref.object, recordId: entry.payload.ref.id, stage: 'write' });
      if (verdict === 'reported') result.failed += 1;
    }));
  });
}

async function drainCreates(ctx: SyncContext, crm: CrmName, result: WritebackResult): Promise<void> {
  const store = ctx.pending[crm].create;
  const connector = ctx.connectors[crm];
  await drainBatches(ctx, store, connector.batchSizes.create, result, (requests, entries) => connector.create(requests.map((r, i) => ({ ...r, firstTry: entries[i]?.taken === 1 }))), async (entries, outcomes, now) => {
    const linked: string[] = [];
    const byLead = new Map(outcomes.map((o) => [o.leadId, o]));
    await Promise.all(entries.map(async (entry, i) => {
      const outcome = byLead.get(entry.leadId) ?? outcomes[i];
      if (outcome?.ok) {
        await linkCreated(ctx, crm, entry.leadId, outcome.ref, entry.payload, now, outcome.refused?.map((r) => r.field) ?? []);
        await store.ack(entry, now);
        linked.push(entry.leadId);
        result.created += 1;
        return;
      }
      const error = outcome?.error ?? new CrmError({ crm, code: 'TRANSIENT', message: 'the CRM returned no result for this create' });
      const verdict = await failEntry(ctx, store, entry, error, { crm, object: null, recordId: null, stage: 'create' });
      if (verdict === 'reported') result.failed += 1;
    }));
    await enqueueEvaluate(ctx, linked, `created in ${crm}`);
  });
}

/** Links the new record to its lead; the lead's next evaluation writes whatever still differs. */
async function linkCreated(ctx: SyncContext, crm: CrmName, leadId: string, ref: { object: 'contact' | 'Lead' | 'Contact'; id: string }, payload: CreatePayload, now: number, refused: readonly string[]): Promise<void> {
  await ctx.leads.setLink(crm, ref.object, ref.id, leadId);
  const kept = await ctx.locks.with(`lead:${leadId}`, async () => {
    const stored = await ctx.leads.get(leadId);
    if (!stored) return true;
    const existing = crm === 'hubspot' ? stored.lead.links.hubspot?.id : stored.lead.links.salesforce?.id;
    // The person reached this CRM another way meanwhile (a rep created them): keep that record.
    if (existing && existing !== ref.id) return false;
    const links = { ...stored.lead.links };
    if (crm === 'hubspot') links.hubspot = { id: ref.id };
    else links.salesforce = { object: ref.object === 'Contact' ? 'Contact' : 'Lead', id: ref.id };
    await ctx.leads.save({ ...stored, lead: { ...stored.lead, links } });
    return true;
  });
  if (!kept) {
    await ctx.leads.removeLink(crm, ref.object, ref.id);
    await ctx.errors.record({
      crm, object: ref.object, recordId: ref.id, leadId, code: 'DUPLICATE_CREATED', stage: 'create',
      message: `the connector created ${ref.object} ${ref.id} while the same person appeared in ${crm} as another record; merge them in ${crm === 'hubspot' ? 'HubSpot' : 'Salesforce'}`,
    }, now);
    return;
  }
  // The record holds what its create wrote: the smk values and the synced fields copied into it
  // (without them, the evaluation after the create wrote the same fields again). Not a blank (the
  // create leaves it out) nor a value the CRM refused: the next evaluation writes those, and a
  // refusal is reported there.
  const createdFields = Object.fromEntries(Object.entries(payload.fields ?? {}).filter(([name, value]) => value !== null && !refused.includes(name)));
  await ctx.held.recordWritten(crm, leadId, { ...payload.smk, ...asHeld(createdFields) } as SmkValues, now, payload.ownerId ?? undefined);
  await ctx.redis.set(ctx.keys.created(crm, leadId), ref.id);
  if (crm === 'salesforce') await releaseDeferredTask(ctx, leadId, ref.id, now);
  await ctx.events.append([{ type: 'created', leadId, at: new Date(now).toISOString(), detail: { crm, object: ref.object, id: ref.id } }]);
}

function taskDoneKey(ctx: SyncContext, key: string): string {
  return ctx.keys.meta(`task-done:${key}`);
}

async function drainTasks(ctx: SyncContext, crm: CrmName, result: WritebackResult): Promise<void> {
  const createTasks = ctx.connectors.salesforceTasks;
  if (crm !== 'salesforce' || !createTasks) return;
  const store = ctx.pending.salesforce.task;
  await drainBatches(ctx, store, 200, result, async (tasks, entries) => {
    // A task key created before (a plan made again after its task went) is looked up, not trusted.
    const done = await Promise.all(tasks.map((t) => ctx.redis.exists(taskDoneKey(ctx, t.key))));
    return createTasks(tasks.map((t, i) => ({ ...t, firstTry: entries[i]?.taken === 1 && done[i] === 0 })));
  }, async (entries, outcomes, now) => {
    const byKey = new Map(outcomes.map((o) => [o.key, o]));
    await Promise.all(entries.map(async (entry) => {
      const outcome = byKey.get(entry.payload.key);
      if (outcome?.ok) {
        await ctx.redis.set(taskDoneKey(ctx, entry.payload.key), outcome.id ?? '1', 'EX', 30 * 86_400);
        await store.ack(entry, now);
        result.tasks += 1;
        return;
      }
      const error = outcome?.error;
      await failEntry(ctx, store, entry, isCrmError(error) ? error : new CrmError({ crm, code: 'TRANSIENT', message: error?.message ?? 'the task was not created' }), { crm, object: 'Task', recordId: null, stage: 'task' });
    }));
  });
}

/** Records written or created so far (all CRMs): `sync --once` reads again while it moves. */
export async function writeCount(ctx: SyncContext): Promise<number> {
  return Number((await ctx.redis.get(ctx.keys.meta('records-written'))) ?? 0);
}

export async function processWriteback(ctx: SyncContext, crm: CrmName): Promise<WritebackResult> {
  await ctx.clock.sync();
  const result: WritebackResult = { written: 0, failed: 0, created: 0, tasks: 0, rescheduled: 0 };
  await releaseQuotaParked(ctx, crm);
  await drainCreates(ctx, crm, result);
  await drainWrites(ctx, crm, result);
  await drainTasks(ctx, crm, result);
  const changed = result.written + result.created + result.tasks;
  if (changed > 0) {
    await ctx.redis.incrby(ctx.keys.meta('records-written'), changed);
    await ctx.counters.add({ [`writes.${crm}`]: result.written, [`created.${crm}`]: result.created, ...(crm === 'salesforce' ? { 'tasks.salesforce': result.tasks } : {}) });
  }
  await scheduleWriteback(ctx, crm);
  return result;
}
