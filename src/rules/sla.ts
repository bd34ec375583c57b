/**
 * Sales' first-touch SLA: it starts at handoff, is due after a working-time duration on the
 * configured calendar, is met when the rep touches the lead (a status change, a logged activity,
 * a decision) and is breached otherwise. The delayed job that fires at the due time belongs to the
 * pipeline; these functions only decide. Outcomes are dated by the facts (the due time, the
 * activity time), not by when a job happened to run, so a late or repeated run decides the same.
 */
import type { Lead, Sla, SlaStatus } from '../model/lead.js';
import { addBusinessDuration, businessDurationMs } from './business-time.js';
import type { SlaConfig, StagesConfig } from './config.js';
import { parseDuration } from './duration.js';
import { statusEffect } from './stages.js';
import { parseInstant } from './time.js';

export interface SlaTouch {
  at: string;
  cause: string;
}

export interface SlaTimers {
  dueAt: string;
  /** Reminder times before the due time (all of them; the scheduler skips past ones). */
  reminders: string[];
  /** When the next escalation is due, if one is configured and pending. */
  escalateAt: string | null;
}

export type SlaEventType = 'sla_met' | 'sla_breached' | 'sla_late_touch';

export interface SlaEvent {
  type: SlaEventType;
  at: string;
  detail: string;
}

export const NO_SLA: Sla = { status: 'none', escalations: 0 };

function workingMs(text: string, config: SlaConfig): number {
  const duration = parseDuration(text);
  if (duration === null) throw new RangeError(`invalid duration "${text}"`);
  return businessDurationMs(duration, config.firstTouch.calendar);
}

/** The SLA of a lead handed off at `now`. With the SLA disabled only the handoff time is kept. */
export function startSla(_lead: Lead, now: Date, config: SlaConfig): Sla {
  const at = now.toISOString();
  if (!config.enabled) return { ...NO_SLA, handoffAt: at };
  const dueAt = addBusinessDuration(at, workingMs(config.firstTouch.within, config), config.firstTouch.calendar);
  return { startedAt: at, handoffAt: at, dueAt, status: 'running', metAt: null, breachedAt: null, escalations: 0 };
}

/** Reminder instants: `1h` is one working hour before the due time. */
export function reminderTimes(sla: Sla, config: SlaConfig): string[] {
  if (!sla.startedAt) return [];
  const within = workingMs(config.firstTouch.within, config);
  return config.reminders.map((before) =>
    addBusinessDuration(sla.startedAt as string, Math.max(0, within - workingMs(before, config)), config.firstTouch.calendar),
  );
}

/** When escalation number `index` (1-based) falls due: `after` x index of working time, never before the due time. */
export function escalationAt(sla: Sla, config: SlaConfig, index: number): string | null {
  if (config.escalate === undefined || !sla.startedAt || !sla.dueAt) return null;
  const step = workingMs(config.escalate.after ?? config.firstTouch.within, config);
  const at = addBusinessDuration(sla.startedAt, step * index, config.firstTouch.calendar);
  return parseInstant(at) < parseInstant(sla.dueAt) ? new Date(parseInstant(sla.dueAt)).toISOString() : at;
}

function escalationPending(sla: Sla, config: SlaConfig): boolean {
  return (
    config.escalate !== undefined &&
    sla.status === 'breached' &&
    !sla.metAt &&
    sla.escalations < config.escalate.maxTimes
  );
}

/** Timers the scheduler should hold for this SLA, or null when nothing is pending. */
export function slaTimers(sla: Sla | undefined, config: SlaConfig): SlaTimers | null {
  if (sla === undefined || !sla.dueAt) return null;
  if (sla.status === 'running') {
    return { dueAt: sla.dueAt, reminders: reminderTimes(sla, config), escalateAt: escalationAt(sla, config, 1) };
  }
  if (escalationPending(sla, config)) {
    return { dueAt: sla.dueAt, reminders: [], escalateAt: escalationAt(sla, config, sla.escalations + 1) };
  }
  return null;
}

/** The SLA status as of `now`, without a touch: a running SLA past its due time is breached. */
export function checkSla(lead: Lead, now: Date): SlaStatus {
  const sla = lead.sla;
  if (sla === undefined || sla.status === 'none') return 'none';
  if (sla.status === 'running' && sla.dueAt && now.getTime() >= parseInstant(sla.dueAt)) return 'breached';
  return sla.status;
}

/**
 * What in a change from `previous` to `lead` counts as the rep touching the lead, or null.
 * With the stages config, a status change counts only when the new status is mapped (to `touch`
 * or a stage), so that a reassignment back to "Open - Not Contacted" is not taken for a touch.
 */
export function slaTouched(previous: Lead, lead: Lead, stages?: StagesConfig): string | null {
  const before = previous.sales ?? {};
  const after = lead.sales ?? {};
  if ((before.decision ?? null) !== (after.decision ?? null) && after.decision != null) return `decision ${after.decision}`;
  const status = after.status ?? null;
  if ((before.status ?? null) !== status && status !== null) {
    if (stages === undefined || statusEffect(status, stages) !== undefined) return `status changed to "${status}"`;
  }
  const activity = after.lastActivityAt ? parseInstant(after.lastActivityAt) : Number.NaN;
  const priorActivity = before.lastActivityAt ? parseInstant(before.lastActivityAt) : Number.NEGATIVE_INFINITY;
  const logged = lead.activity?.lastTouchAt ? parseInstant(lead.activity.lastTouchAt) : Number.NaN;
  const priorLogged = previous.activity?.lastTouchAt ? parseInstant(previous.activity.lastTouchAt) : Number.NEGATIVE_INFINITY;
  if (logged > priorLogged) return `${lead.activity?.lastTouchKind ?? 'activity'} logged`;
  if (activity > priorActivity) return 'activity logged';
  if ((before.disqualifyReason ?? null) !== (after.disqualifyReason ?? null) && after.disqualifyReason) return 'disqualified';
  return null;
}

/**
 * The touch that applies to a running SLA: an activity logged since the handoff (no snapshot
 * needed), a change since `previous`, a sales fact that moved the stage in this evaluation, or,
 * on a lead's first handoff, a Salesforce status mapped to `touch` once the lead changed after the
 * handoff. That last rule needs no snapshot; it is limited to first handoffs because after a
 * recycle the status may be left over from the previous round.
 */
export function detectTouch(
  lead: Lead,
  previous: Lead | null | undefined,
  salesActed: boolean,
  now: Date,
  stages?: StagesConfig,
): SlaTouch | null {
  const sla = lead.sla;
  if (sla === undefined || !sla.startedAt) return null;
  const started = parseInstant(sla.startedAt);
  // A call or email sales logged, to the minute (a completed Task's CompletedDateTime).
  const logged = lead.activity?.lastTouchAt ? parseInstant(lead.activity.lastTouchAt) : Number.NaN;
  if (logged >= started && logged <= now.getTime()) {
    return { at: new Date(logged).toISOString(), cause: `${lead.activity?.lastTouchKind ?? 'activity'} logged` };
  }
  const activity = lead.sales?.lastActivityAt ? parseInstant(lead.sales.lastActivityAt) : Number.NaN;
  if (activity >= started && activity <= now.getTime()) {
    return { at: new Date(activity).toISOString(), cause: 'activity logged' };
  }
  const nowIso = now.toISOString();
  if (previous != null) {
    const cause = slaTouched(previous, lead, stages);
    if (cause !== null) return { at: nowIso, cause };
  }
  if (salesActed) return { at: nowIso, cause: 'sales decision' };
  const status = lead.sales?.status;
  if (stages !== undefined && typeof status === 'string' && statusEffect(status, stages) === 'touch') {
    const handoffs = (lead.stage?.history ?? []).reduce((count, entry) => count + (entry.stage === 'mql' ? 1 : 0), 0);
    if (handoffs <= 1 && parseInstant(lead.updatedAt) > started) return { at: nowIso, cause: `status "${status.trim()}"` };
  }
  return null;
}

/** Applies a touch (if any) and the passing of time to an SLA. Pure and idempotent. */
export function advanceSla(sla: Sla, now: Date, touch: SlaTouch | null): { sla: Sla; events: SlaEvent[] } {
  if (!sla.dueAt || !sla.startedAt) return { sla, events: [] };
  const dueMs = parseInstant(sla.dueAt);
  const dueAt = new Date(dueMs).toISOString();
  const touchMs =
    touch === null ? Number.NaN : Math.min(now.getTime(), Math.max(parseInstant(touch.at), parseInstant(sla.startedAt)));
  const touchAt = Number.isNaN(touchMs) ? null : new Date(touchMs).toISOString();

  if (sla.status === 'running') {
    if (touchAt !== null && touchMs <= dueMs) {
      return {
        sla: { ...sla, status: 'met', metAt: touchAt },
        events: [{ type: 'sla_met', at: touchAt, detail: touch?.cause ?? '' }],
      };
    }
    if (touchAt !== null || now.getTime() >= dueMs) {
      const events: SlaEvent[] = [{ type: 'sla_breached', at: dueAt, detail: 'no touch by the due time' }];
      if (touchAt !== null) events.push({ type: 'sla_late_touch', at: touchAt, detail: touch?.cause ?? '' });
      return { sla: { ...sla, status: 'breached', breachedAt: dueAt, metAt: touchAt }, events };
    }
    return { sla, events: [] };
  }
  if (sla.status === 'breached' && !sla.metAt && touchAt !== null) {
    return { sla: { ...sla, metAt: touchAt }, events: [{ type: 'sla_late_touch', at: touchAt, detail: touch?.cause ?? '' }] };
  }
  return { sla, events: [] };
}

export type EscalationDecision =
  | { escalate: false }
  | { escalate: true; index: number; action: 'reassign' | 'notify'; at: string };

/** Whether a breached, untouched SLA escalates now (reassign to the next owner, or notify). */
export function escalationDecision(sla: Sla | undefined, config: SlaConfig, now: Date): EscalationDecision {
  if (sla === undefined || config.escalate === undefined || !escalationPending(sla, config)) return { escalate: false };
  const index = sla.escalations + 1;
  const at = escalationAt(sla, config, index);
  if (at === null || now.getTime() < parseInstant(at)) return { escalate: false };
  return { escalate: true, index, action: config.escalate.action, at };
}
