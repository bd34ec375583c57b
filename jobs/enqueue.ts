/**
 * Enqueuing evaluations: one job per lead (deduplicated by BullMQ, see evaluateJobOptions), or
 * many-lead jobs for large sets (a full sync, a reconcile, a large page).
 */
import type { SyncContext } from './context.js';
import type { JobsOptions } from 'bullmq';
import { evaluateJobOptions, PRIORITY } from './queues.js';
import type { IngestJob } from './queues.js';

/** From this many leads on, evaluations go in many-lead jobs of this size (BullMQ's cost is per job). */
export const EVALUATE_BATCH = 50;

export interface EnqueueOptions {
  /** A BullMQ priority (queues.ts PRIORITY); none: ahead of every prioritized job. */
  priority?: number;
  /** The `smk sync --once` pass that asks: it waits until each lead is evaluated at its version of now. */
  pass?: string;
}

export async function enqueueEvaluate(ctx: SyncContext, leadIds: Iterable<string>, cause: string, options: EnqueueOptions = {}): Promise<void> {
  const ids = [...new Set(leadIds)];
  if (ids.length === 0) return;
  // Watched before the jobs exist: an evaluation that runs at once still counts for the pass.
  if (options.pass) await ctx.passes.watch(options.pass, ids, await ctx.leads.versions(ids));
  const priority = options.priority !== undefined ? { priority: options.priority } : {};
  if (ids.length >= EVALUATE_BATCH) {
    // Every lead of a many-lead job is evaluated when it runs (under its lock, with its version
    // check): nothing to deduplicate against.
    const batches: Array<{ name: string; data: { leadIds: string[]; cause: string }; opts: JobsOptions }> = [];
    for (let i = 0; i < ids.length; i += EVALUATE_BATCH) batches.push({ name: 'evaluate-many', data: { leadIds: ids.slice(i, i + EVALUATE_BATCH), cause }, opts: priority });
    await ctx.queues.evaluate.addBulk(batches);
    return;
  }
  await ctx.queues.evaluate.addBulk(ids.map((leadId) => ({ name: 'evaluate', data: { leadId, cause }, opts: evaluateJobOptions(leadId, priority) })));
}

/**
 * A webhook delivery's ingest job (ids only): behind feed pages, SLA work and retries, so that a
 * flood of deliveries never holds back what reps and the clock are waiting for.
 */
export async function enqueueWebhookIngest(ctx: SyncContext, job: IngestJob): Promise<string | null> {
  return (await ctx.queues.ingest.add('webhook', job, { priority: PRIORITY.webhook })).id ?? null;
}
