/**
 * reconcile: re-evaluates every lead (on a schedule, and on demand after a rule or mapping change:
 * a backfill). Evaluation writes only differences, so a reconcile with nothing to change writes
 * nothing. Progress is reported on the job and in the returned counts.
 */
import { checkMqlTarget } from './alerts.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { PRIORITY } from './queues.js';
import { processPoll } from './poll.js';

export interface ReconcileResult {
  leads: number;
  reread: boolean;
}

export async function processReconcile(
  ctx: SyncContext,
  options: { reread?: boolean; onProgress?: (done: number, total: number) => Promise<void> | void } = {},
): Promise<ReconcileResult> {
  if (options.reread) {
    await processPoll(ctx, 'hubspot', { full: true });
    await processPoll(ctx, 'salesforce', { full: true });
  }
  const total = await ctx.leads.count();
  let done = 0;
  for await (const ids of ctx.leads.ids(1000)) {
    await enqueueEvaluate(ctx, ids, 'reconcile', { priority: PRIORITY.bulk });
    done += ids.length;
    await options.onProgress?.(done, total);
  }
  await checkMqlTarget(ctx);
  await ctx.events.append([{ type: 'reconcile', leadId: '-', at: new Date(ctx.clock.now()).toISOString(), detail: { leads: done, reread: !!options.reread } }]);
  return { leads: done, reread: !!options.reread };
}
