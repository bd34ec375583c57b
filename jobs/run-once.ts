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
  const queues = [ctx.queues.ingest, ctx.queues.evaluate, ctx.queues.writeback.hubspot, ctx.queues.writeback.salesforce, ctx.queues.reconcile];
  const out: Record<string, number> = {};
  await Promise.all(queues.map(async (q) => {
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    if (n > 0) out[`queue ${q.name}`] = n;
  }));
  for (const crm of ['hubspot', 'salesforce'] as const) {
    for (const kind of ['write', 'create', 'task'] as const) {
      const n = await ctx.pending[crm][kind].size();
      if (n > 0) out[`${crm} pending ${kind}s`] = n;
    }
  }
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

export async function syncOnce(
  ctx: SyncContext,
  options: { full?: boolean; workers?: boolean; timeoutMs?: number; onProgress?: (p: SyncProgress) => void } = {},
): Promise<SyncOnceResult> {
  const started = Date.now();
  const workers = options.workers === false ? null : startWorkers(ctx, { queues: [...DRAINED_QUEUES, 'sla'] });
  try {
    const polls = {} as Record<CrmName, PollResult>;
    for (const crm of ['hubspot', 'salesforce'] as const) {
      let records = 0;
      polls[crm] = await processPoll(ctx, crm, {
        full: options.full,
        onPage: (n) => {
          records += n;
          options.onProgress?.({ phase: 'read', crm, records });
        },
      });
    }
    await waitUntilIdle(ctx, { timeoutMs: options.timeoutMs, onProgress: (remaining) => options.onProgress?.({ phase: 'drain', remaining }) });
    return { polls, ms: Date.now() - started, syncErrors: await ctx.errors.count() };
  } finally {
    await workers?.close();
  }
}
