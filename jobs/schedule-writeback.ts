/**
 * Scheduling write-back drains, and placing a rep's task that waited for its Salesforce record.
 * Evaluation, ingest and write-back all call these; they depend on the queues and stores only.
 */
import type { CrmName } from '../src/model/lead.js';
import type { SyncContext } from './context.js';
import type { TaskPayload } from './queues.js';

/**
 * Schedules a drain: at once when a full batch waits, and in any case a timer for when the oldest
 * entry will have waited the batching wait (a partial batch goes then). Timer ids carry their
 * second, so a drain that is still running cannot swallow the timer meant for entries it will not see.
 */
async function armWritebackTimers(ctx: SyncContext, crm: CrmName): Promise<void> {
  const queue = ctx.queues.writeback[crm];
  const now = ctx.clock.now();
  const { batchWait } = ctx.config.file.sync;
  const sizes = ctx.connectors[crm].batchSizes;
  const [writes, creates] = await Promise.all([ctx.pending[crm].write.dueCount(now), ctx.pending[crm].create.dueCount(now)]);
  if (writes >= sizes.write || creates >= sizes.create) {
    await queue.add('drain', { crm }, { jobId: `drain-${crm}-now` });
  }
  const nexts = await Promise.all([ctx.pending[crm].write.nextDueAt(), ctx.pending[crm].create.nextDueAt(), ctx.pending[crm].task.nextDueAt()]);
  const next = Math.min(...nexts.map((v) => v ?? Infinity));
  if (next === Infinity) return;
  const at = Math.max(now + Math.min(batchWait, 1000), next + batchWait);
  const second = Math.ceil(at / 1000);
  // Evaluations in a burst all ask for the same timer: one add per second and process is enough
  // (a timer still in the future has not run yet, so it is still there to drain).
  const memo = `${ctx.keys.prefix}:${crm}`;
  const last = timersAdded.get(memo);
  if (last && last.second === second && second * 1000 > now && Date.now() - last.addedAt < 1000) return;
  await queue.add('drain', { crm }, { jobId: `drain-${crm}-at-${second}`, delay: Math.max(0, second * 1000 - now) });
  timersAdded.set(memo, { second, addedAt: Date.now() });
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

/** The drain timer this process added last, per service prefix and CRM (and when, in real time). */
const timersAdded = new Map<string, { second: number; addedAt: number }>();

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
