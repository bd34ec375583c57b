/**
 * Enqueuing evaluations: one job per lead (deduplicated by BullMQ, see evaluateJobOptions), or
 * many-lead jobs for large sets (a full sync, a reconcile, a large page).
 */
import type { SyncContext } from './context.js';
import { evaluateJobOptions } from './queues.js';

/** From this many leads on, evaluations go in many-lead jobs of this size (BullMQ's cost is per job). */
export const EVALUATE_BATCH = 50;

export async function enqueueEvaluate(ctx: SyncContext, leadIds: Iterable<string>, cause: string): Promise<void> {
  const ids = [...new Set(leadIds)];
  if (ids.length === 0) return;
  if (ids.length >= EVALUATE_BATCH) {
    // Every lead of a many-lead job is evaluated when it runs (under its lock, with its version
    // check): nothing to deduplicate against.
    const batches: Array<{ name: string; data: { leadIds: string[]; cause: string } }> = [];
    for (let i = 0; i < ids.length; i += EVALUATE_BATCH) batches.push({ name: 'evaluate-many', data: { leadIds: ids.slice(i, i + EVALUATE_BATCH), cause } });
    await ctx.queues.evaluate.addBulk(batches);
    return;
  }
  await ctx.queues.evaluate.addBulk(ids.map((leadId) => ({ name: 'evaluate', data: { leadId, cause }, opts: evaluateJobOptions(leadId) })));
}
