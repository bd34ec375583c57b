/**
 * `smk sync --once`: run both change feeds, then evaluation and write-back until every queue and
 * every pending batch is empty, then return. For cron, tests and admins.
 */
import type { CrmName } from '../src/model/lead.js';
import type { SyncContext } from './context.js';
import { processPoll } from './poll.js';
import type { PollResult } from './poll.js';
import type { QueueName } from './queues.js';
import { startWorkers } from './workers.js';
import { writeCount } from './writeback.js';

export interface SyncOnceResult {
  polls: Record<CrmName, PollResult>;
  ms: number;
  syncErrors: number;
}

export interface SyncProgress {
  phase: 'read' | 'drain';
  crm?: CrmName;
  records?: number;
  remaining?: number;
}

const DRAINED_QUEUES: QueueName[] = ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce', 'reconcile'];

/** Jobs still to run and writes still pending, SLA timers excepted (they may be days away), by where they wait. */
export async function outstandingByPlace(ctx: SyncContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const pendingByCrm: Record<string, number> = {};
  for (const crm of ['hubspot', 'salesforce'] as const) {
    pendingByCrm[crm] = 0;
    for (const kind of ['write', 'create', 'task'] as const) {
      const n = await ctx.pending[crm][kind].size();
      pendingByCrm[crm] += n;
      if (n > 0) out[`${crm} pending ${kind}s`] = n;
    }
  }
  const queues = [
    { queue: ctx.queues.ingest, timersMatter: true },
    { queue: ctx.queues.evaluate, timersMatter: true },
    // A drain timer with nothing pending for its CRM has nothing left to do.
    { queue: ctx.queues.writeback.hubspot, timersMatter: (pendingByCrm.hubspot ?? 0) > 0 },
    { queue: ctx.queues.writeback.salesforce, timersMatter: (pendingByCrm.salesforce ?? 0) > 0 },
    { queue: ctx.queues.reconcile, timersMatter: true },
  ];
  await Promise.all(queues.map(async ({ queue, timersMatter }) => {
    const states = timersMatter ? (['waiting', 'active', 'delayed', 'prioritized', 'paused'] as const) : (['waiting', 'active', 'prioritized', 'paused'] as const);
    const counts = await queue.getJobCounts(...states);
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    if (n > 0) out[`queue ${queue.name}`] = n;
  }));
  return out;
}

export async function outstandingWork(ctx: SyncContext): Promise<number> {
  return Object.values(await outstandingByPlace(ctx)).reduce((a, b) => a + b, 0);
}

export async function waitUntilIdle(ctx: SyncContext, options: { timeoutMs?: number; onProgress?: (remaining: number) => void } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let quietRounds = 0;
  while (quietRounds < 2) {
    const remaining = await outstandingWork(ctx);
    options.onProgress?.(remaining);
    quietRounds = remaining === 0 ? quietRounds + 1 : 0;
    if (Date.now() > deadline) {
      const where = Object.entries(await outstandingByPlace(ctx)).map(([k, n]) => `${n} in ${k}`).join(', ');
      throw new Error(`sync did not finish within ${Math.round((options.timeoutMs ?? 30 * 60_000) / 1000)} s; still waiting: ${where || 'nothing (it just finished)'}`);
    }
    await new Promise((r) => setTimeout(r, remaining === 0 ? 50 : 150));
  }
}

/**
 * Reads both CRMs, drains every queue, and reads again while the previous round wrote anything:
 * the echo of a write or a newly created record is read back and may carry facts of its own (a
 * created Contact's Account), so one pass ends only once a read round plans no write.
 */
export async function syncOnce(
  ctx: SyncContext,
  options: { full?: boolean; workers?: boolean; timeoutMs?: number; maxRounds?: number; onProgress?: (p: SyncProgress) => void } = {},
): Promise<SyncOnceResult> {
  const started = Date.now();
  const workers = options.workers === false ? null : startWorkers(ctx, { queues: [...DRAINED_QUEUES, 'sla'] });
  try {
    const polls = {} as Record<CrmName, PollResult>;
    const maxRounds = options.maxRounds ?? 3;
    for (let round = 1; round <= maxRounds; round += 1) {
      const writesBefore = await writeCount(ctx);
      for (const crm of ['hubspot', 'salesforce'] as const) {
        let records = 0;
        const poll = await processPoll(ctx, crm, {
          full: round === 1 ? options.full : false,
          onPage: (n) => {
            records += n;
            options.onProgress?.({ phase: 'read', crm, records });
          },
        });
        const before = polls[crm];
        polls[crm] = before ? { ...poll, pages: before.pages + poll.pages, records: before.records + poll.records, removed: before.removed + poll.removed, full: before.full || poll.full } : poll;
      }
      await waitUntilIdle(ctx, { timeoutMs: options.timeoutMs, onProgress: (remaining) => options.onProgress?.({ phase: 'drain', remaining }) });
      if ((await writeCount(ctx)) === writesBefore) break;
    }
    return { polls, ms: Date.now() - started, syncErrors: await ctx.errors.count() };
  } finally {
    await workers?.close();
  }
}
