/**
 * sla: SLA timers are BullMQ delayed jobs at each due, reminder and escalation time; when one
 * fires, the lead is evaluated and the rules decide (met, breached, escalated). A sweep also
 * evaluates every running SLA whose due time has passed, for clocks that jump (tests, the demo)
 * and for timers lost with a Redis that kept nothing.
 */
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';

export async function evaluateDueSlas(ctx: SyncContext): Promise<number> {
  await ctx.clock.sync();
  const now = ctx.clock.now();
  const due: string[] = [];
  for await (const page of ctx.leads.all(500)) {
    for (const { lead } of page) {
      if (lead.sla?.status === 'running' && lead.sla.dueAt && Date.parse(lead.sla.dueAt) <= now) due.push(lead.id);
    }
  }
  await enqueueEvaluate(ctx, due, 'SLA due');
  return due.length;
}
