/**
 * sla: SLA timers are BullMQ delayed jobs at each due, reminder and escalation time; when one
 * fires, the lead is evaluated and the rules decide (met, breached, escalated), and a reminder
 * that finds the SLA still running tells the owner. A sweep also evaluates every running SLA whose
 * due time has passed and every breach whose escalation has come, and sends the reminders whose
 * time has come, for clocks that jump (tests, the demo) and for timers lost with a Redis that kept
 * nothing.
 */
import type { Lead } from '../src/model/lead.js';
import { reminderEvent } from '../src/rules/alerts.js';
import { slaConfigFor } from '../src/rules/availability.js';
import type { TimeOffByRep } from '../src/rules/availability.js';
import { reminderTimes, slaTimers } from '../src/rules/sla.js';
import { parseInstant } from '../src/rules/time.js';
import { queueAlerts } from './alerts.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { processEvaluate } from './evaluate.js';
import type { EvaluateResult } from './evaluate.js';
import type { SlaJob } from './queues.js';

/** The reminders of a running SLA whose time has come, while the lead is not yet due. */
function remindersDue(lead: Lead, ctx: SyncContext, now: number, timeOff: TimeOffByRep): string[] {
  const sla = lead.sla;
  if (sla?.status !== 'running' || !sla.dueAt || now >= parseInstant(sla.dueAt)) return [];
  return reminderTimes(sla, slaConfigFor(ctx.config.file, lead.sales?.ownerId, timeOff)).filter((at) => parseInstant(at) <= now);
}

/** A breached lead whose next escalation has come (its timer may be lost, or the clock jumped). */
function escalationDue(lead: Lead, ctx: SyncContext, now: number, timeOff: TimeOffByRep): boolean {
  if (lead.sla?.status !== 'breached') return false;
  const at = slaTimers(lead.sla, slaConfigFor(ctx.config.file, lead.sales?.ownerId, timeOff))?.escalateAt;
  return at != null && parseInstant(at) <= now;
}

async function queueReminders(ctx: SyncContext, lead: Lead, times: readonly string[]): Promise<number> {
  const events = times.flatMap((at) => reminderEvent(lead, at) ?? []);
  return events.length === 0 ? 0 : queueAlerts(ctx, lead, events);
}

/** One SLA timer: evaluate the lead; a reminder then tells the owner if the SLA still runs. */
export async function processSlaTimer(ctx: SyncContext, job: SlaJob): Promise<EvaluateResult & { reminded?: number }> {
  const result = await processEvaluate(ctx, job.leadId);
  if (job.kind !== 'reminder') return result;
  const found = await ctx.leads.get(job.leadId);
  if (!found) return result;
  const now = ctx.clock.now();
  const sla = found.lead.sla;
  if (sla?.status !== 'running' || !sla.dueAt || now >= parseInstant(sla.dueAt)) return result;
  return { ...result, reminded: await queueReminders(ctx, found.lead, [job.dueAt]) };
}

export async function evaluateDueSlas(ctx: SyncContext): Promise<number> {
  await ctx.clock.sync();
  const now = ctx.clock.now();
  const due: string[] = [];
  const timeOff = await ctx.timeOff.all();
  const remind = ctx.config.file.alerts.routes.some((route) => route.events.includes('reminder')) && ctx.config.file.sla.reminders.length > 0;
  for await (const page of ctx.leads.all(500)) {
    for (const { lead } of page) {
      if (lead.sla?.status === 'running' && lead.sla.dueAt && Date.parse(lead.sla.dueAt) <= now) due.push(lead.id);
      else if (escalationDue(lead, ctx, now, timeOff)) due.push(lead.id);
      else if (remind) {
        const times = remindersDue(lead, ctx, now, timeOff);
        if (times.length > 0) await queueReminders(ctx, lead, times);
      }
    }
  }
  await enqueueEvaluate(ctx, due, 'SLA due');
  return due.length;
}
