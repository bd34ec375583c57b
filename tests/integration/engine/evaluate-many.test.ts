/**
 * A many-lead evaluation job (a full sync's, a reconcile's) schedules its write-back drains per
 * handful of leads, not per lead: each scheduling is about seven Redis commands (due counts, next
 * due times, the burst marks, the timer), and they were a sixth of the full sync's commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEvaluateMany } from '../../../jobs/evaluate.js';
import type { Harness } from '../../helpers/pipeline.js';
import { watchCommands } from '../../helpers/redis-monitor.js';
import { syncedHarness } from './setup.js';

describe('a many-lead evaluation job', () => {
  let h: Harness;
  beforeAll(async () => { h = await syncedHarness({ people: 48, seed: 29, label: 'evaluate-many' }); }, 180_000);
  afterAll(async () => { await h?.close(); });

  it('plans every lead\'s writes and schedules the drains a few times, not once per lead', async () => {
    const ctx = h.runtime.ctx;
    const ids: string[] = [];
    for await (const page of ctx.leads.ids()) ids.push(...page);
    const linked = [...(await ctx.leads.getMany(ids)).values()].filter((s) => s.lead.links.hubspot).map((s) => s.lead.id);
    expect(linked.length).toBeGreaterThan(30);
    // What the contacts hold is forgotten: every evaluation must write it again.
    for (const id of linked) await ctx.held.forget('hubspot', id);
    const watch = await watchCommands(ctx.redis, ctx.keys.prefix);
    const result = await processEvaluateMany(ctx, linked, 'test');
    const seen = await watch.stop();
    expect(result.failed).toBe(0);
    expect(await ctx.pending.hubspot.write.size()).toBe(linked.length);
    // The drain is scheduled (a timer waits in the queue) ...
    const counts = await ctx.queues.writeback.hubspot.getJobCounts('delayed', 'waiting', 'prioritized');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // ... by a few schedulings: each reads the due count of the CRM's pending writes once.
    const dueCounts = seen.filter((args) => args[0]?.toLowerCase() === 'zcount' && (args[1] ?? '').includes('pending:{hubspot}:write:ids')).length;
    expect(dueCounts).toBeGreaterThan(0);
    expect(dueCounts).toBeLessThanOrEqual(Math.ceil(linked.length / 8) + 1);
  }, 180_000);
});
