/**
 * Scheduling write-back drains, and placing a rep's task that waited for its Salesforce record.
 * Evaluation, ingest and write-back all call these; they depend on the queues and stores only.
 */
import type { CrmName } from '../src/model/lead.js';
import type { PendingKind } from '../src/store/pending.js';
import { mgetAcross } from '../src/store/redis.js';
import type { SyncContext } from './context.js';
import type { TaskPayload } from './queues.js';

/**
 * How long a burst's tail waits for more: once a full batch has gone (a burst is under way), the
 * writes left behind go as soon as nothing new has been planned for this long, instead of waiting
 * the whole batching wait for a batch the burst will not fill. An eighth of the wait: a steady
 * stream (a full sync plans a write every few milliseconds) keeps filling batches, while the
 * burst's remainder leaves well within the wait (in the bench's burst of 372 Salesforce write-backs,
 * the 172 after the first collection of 200 waited the full 2 s before).
 */
export function burstSettleMs(batchWait: number): number {
  return Math.max(1, Math.round(batchWait / 8));
}

function fullBatchKey(ctx: SyncContext, crm: CrmName, kind: PendingKind): string {
  return ctx.keys.meta(`full-batch-at:${crm}:${kind}`);
}

/** A full batch of `crm`'s `kind` just went: for the batching wait that follows, a burst is under way. */
export async function noteFullBatch(ctx: SyncContext, crm: CrmName, kind: PendingKind, now: number): Promise<void> {
  await ctx.redis.set(fullBatchKey(ctx, crm, kind), String(now), 'EX', 3600);
}

/**
 * While a burst is under way (a full batch of `crm`'s `kind` went within the batching wait) and
 * nothing more is on its way (no poll, ingest or evaluation waiting or running), the time by which
 * a partial batch's newest entry must have been planned for the batch to go without waiting for
 * more; otherwise undefined (a partial batch waits the batching wait). The queues are looked at
 * only when a burst is under way: a full sync keeps them busy, so its batches keep filling. An
 * evaluation still running when the tail's timer fires asks for another as it ends (evaluate.ts).
 */
export async function burstTailSettledBy(ctx: SyncContext, crm: CrmName, kind: PendingKind, now: number): Promise<number | undefined> {
  const { batchWait } = ctx.config.file.sync;
  const at = Number((await ctx.redis.get(fullBatchKey(ctx, crm, kind))) ?? Number.NaN);
  if (!Number.isFinite(at) || now - at > batchWait) return undefined;
  if (!(await nothingOnItsWay(ctx))) return undefined;
  return now - burstSettleMs(batchWait);
}

/** No poll, ingest or evaluation waiting or running: nothing that could plan another write. */
async function nothingOnItsWay(ctx: SyncContext): Promise<boolean> {
  const counts = await Promise.all([ctx.queues.poll, ctx.queues.ingest, ctx.queues.evaluate].map((queue) => queue.getJobCounts('wait', 'prioritized', 'active')));
  return counts.every((c) => Object.values(c).every((n) => n === 0));
}

/**
 * After a poll, ingest or evaluation job is done, while a burst is under way: the burst's tail may
 * have settled while the job still ran (the drain that found it settled left it, the job being on
 * its way), and an evaluation's own last request came while it was still running. Asked again now,
 * the tail goes if nothing else is on its way (armWritebackTimers). In a burst the webhook echoes
 * of our own HubSpot writes are ingest jobs that plan nothing, and the last of them used to leave
 * the tail to the batching wait. One Redis call per CRM when no burst is under way.
 */
export async function afterUpstreamJob(ctx: SyncContext): Promise<void> {
  const now = ctx.clock.now();
  for (const crm of ['hubspot', 'salesforce'] as const) {
    if ((await kindsBursting(ctx, crm, now)).length > 0) await scheduleWriteback(ctx, crm);
  }
}

/** The kinds of `crm` of which a full batch went within the batching wait (one Redis call). */
async function kindsBursting(ctx: SyncContext, crm: CrmName, now: number): Promise<PendingKind[]> {
  const kinds = ['write', 'create', 'task'] as const;
  const times = await mgetAcross(ctx.redis, kinds.map((kind) => fullBatchKey(ctx, crm, kind)));
  return kinds.filter((_, i) => {
    const at = Number(times[i] ?? Number.NaN);
    return Number.isFinite(at) && now - at <= ctx.config.file.sync.batchWait;
  });
}

/**
 * Schedules a drain: at once when a full batch waits, and in any case a timer for when the oldest
 * entry will have waited the batching wait (a partial batch goes then), or, while a burst is under
 * way, for when its tail will have stopped growing for `burstSettleMs`. Timer ids carry their slot
 * of time, so a drain that is still running cannot swallow the timer meant for entries it will not
 * see.
 */
async function armWritebackTimers(ctx: SyncContext, crm: CrmName): Promise<void> {
  const queue = ctx.queues.writeback[crm];
  const now = ctx.clock.now();
  const { batchWait } = ctx.config.file.sync;
  const sizes = ctx.connectors[crm].batchSizes;
  const stores = ctx.pending[crm];
  const [writes, creates] = await Promise.all([stores.write.dueCount(now), stores.create.dueCount(now)]);
  if (writes >= sizes.write || creates >= sizes.create) {
    await queue.add('drain', { crm }, { jobId: `drain-${crm}-now` });
  }
  const nexts = await Promise.all([stores.write.nextDueAt(), stores.create.nextDueAt(), stores.task.nextDueAt()]);
  const next = Math.min(...nexts.map((v) => v ?? Infinity));
  if (next === Infinity) return;
  const memo = `${ctx.keys.prefix}:${crm}`;
  // A burst's tail: a timer for when it will have stopped growing (the drain then checks that
  // nothing more is on its way). One already settled is left to the evaluations still queued
  // (each asks again as it ends) and to the batching wait's timer: no drain loop while they run.
  const bursting = await Promise.all((await kindsBursting(ctx, crm, now)).map((kind) => stores[kind].newestDueAt(now)));
  const newest = Math.max(...bursting.map((v) => v ?? -Infinity));
  if (newest !== -Infinity) {
    const slotMs = Math.max(1, Math.round(burstSettleMs(batchWait) / 2));
    const slot = Math.ceil((newest + burstSettleMs(batchWait)) / slotMs);
    if (slot * slotMs > now) {
      if (slot * slotMs < next + batchWait && tailTimersAdded.get(memo) !== slot) {
        await queue.add('drain', { crm }, { jobId: `drain-${crm}-tail-${slot}`, delay: Math.max(0, slot * slotMs - now) });
        tailTimersAdded.set(memo, slot);
      }
    } else {
      // Settled already. While work is on its way it may still grow (that work asks again when it
      // is done: workers call afterUpstreamJob); with nothing on its way it goes now. A
      // drain that finds work on its way takes nothing and adds nothing here: no drain loop.
      const nowSlot = Math.ceil(now / slotMs);
      if (tailTimersAdded.get(memo) !== nowSlot && (await nothingOnItsWay(ctx))) {
        await queue.add('drain', { crm }, { jobId: `drain-${crm}-tail-${nowSlot}` });
        tailTimersAdded.set(memo, nowSlot);
      }
    }
  }
  // The timer fires at its time, and its id names its slot of `gap`: a drain re-arming from inside
  // its own timer asks for a time at least `gap` later, so for a later slot (an id still held by
  // the running job would be ignored by BullMQ, and the timer lost).
  const gap = Math.min(batchWait, 1000);
  const at = Math.max(now + gap, next + batchWait);
  const slot = Math.ceil(at / gap);
  // Evaluations in a burst all ask for the same timer: one add per slot and process is enough
  // (a timer still in the future has not run yet, so it is still there to drain).
  const last = timersAdded.get(memo);
  if (last && last.slot === slot && last.at > now && last.at <= at && Date.now() - last.addedAt < 1000) return;
  await queue.add('drain', { crm }, { jobId: `drain-${crm}-at-${slot * gap}`, delay: Math.max(0, at - now) });
  timersAdded.set(memo, { slot, at, addedAt: Date.now() });
}

interface Flight {
  running: Promise<void> | null;
  queued: Promise<void> | null;
}
const flights = new WeakMap<SyncContext, Partial<Record<CrmName, Flight>>>();

/**
 * Makes sure a drain of `crm`'s pending batches is due (now when a batch is full, else when the
 * oldest entry has waited batchWait). Concurrent callers in one process share the work: a caller
 * waits for a run that starts after its call (so it sees the entries it added), and while one run
 * is going at most one more is queued behind it for everybody who came meanwhile.
 */
export function scheduleWriteback(ctx: SyncContext, crm: CrmName): Promise<void> {
  const byCrm = flights.get(ctx) ?? {};
  flights.set(ctx, byCrm);
  const flight = (byCrm[crm] ??= { running: null, queued: null });
  const start = (): Promise<void> => {
    const run = armWritebackTimers(ctx, crm).finally(() => {
      if (flight.running === run) flight.running = null;
    });
    flight.running = run;
    return run;
  };
  if (flight.queued) return flight.queued;
  if (!flight.running) return start();
  const queued = flight.running.catch(() => undefined).then(() => {
    flight.queued = null;
    return start();
  });
  flight.queued = queued;
  return queued;
}

/** The drain timer this process added last, per service prefix and CRM (when it fires, and when it was added, in real time). */
const timersAdded = new Map<string, { slot: number; at: number; addedAt: number }>();
/** The burst-tail timer slot this process added last, per service prefix and CRM. */
const tailTimersAdded = new Map<string, number>();

/**
 * A handoff that happened before the lead had a Salesforce record left the rep's task waiting; it
 * goes now that the lead has one (created by the connector, or found by a read). Returns whether
 * a task was waiting.
 */
export async function releaseDeferredTask(ctx: SyncContext, leadId: string, whoId: string, now: number): Promise<boolean> {
  const deferred = await ctx.redis.getdel(ctx.keys.meta(`deferred-task:${leadId}`));
  if (!deferred) return false;
  const task = JSON.parse(deferred) as Omit<TaskPayload, 'whoId'>;
  await ctx.pending.salesforce.task.add(`task:${task.key}`, leadId, { ...task, whoId }, now);
  return true;
}
