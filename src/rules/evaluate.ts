/**
 * The one entry point the pipeline calls for a lead: score, stage, handoff routing, SLA and
 * feedback, combined into the desired value of every `smk` field plus the side effects to carry
 * out (owner change, Salesforce Task, SLA timers) and the events to record.
 *
 * Deterministic and idempotent: the result depends only on (lead, config, now, ctx), and
 * evaluating the returned lead again with the same inputs yields the same desired values and no
 * new transitions, events, tasks or owner changes. Time-dependent values are quantised to the UTC
 * day by scoring, so re-evaluating later on the same day writes nothing either.
 */
import type { SmkFieldKey } from '../model/fields.js';
import type { Lead, Sla, Stage, StageTransition } from '../model/lead.js';
import { awayOwners, slaConfigFor } from './availability.js';
import type { TimeOffByRep } from './availability.js';
import { localDate } from './business-time.js';
import type { RulesConfig } from './config.js';
import { feedbackValues } from './feedback.js';
import type { HubspotLifecycle } from './lifecycle.js';
import { planLifecycleWrite } from './lifecycle.js';
import { emptyPoolState, nextOwnerForEscalation, routeLead } from './routing.js';
import type { PoolState, RouteResult } from './routing.js';
import { likelihoodOf } from './learn/explain.js';
import type { Likelihood } from './learn/explain.js';
import type { LikelihoodModel } from './learn/model.js';
import { gradeFor, scoreLead } from './scoring.js';
import type { ScoreResult } from './scoring.js';
import { advanceSla, detectTouch, escalationAt, escalationDecision, slaTimers, startSla } from './sla.js';
import type { SlaEventType, SlaTimers } from './sla.js';
import { nextStage } from './stages.js';
import { parseInstant } from './time.js';

export interface EvaluateContext {
  /** Round-robin and open-count state of the routing pools; empty when absent. */
  poolState?: PoolState | null;
  /** Owner of the Salesforce Account matching the lead's company. */
  accountOwnerId?: string | null;
  /** Owner of the existing Salesforce record; defaults to `lead.sales.ownerId` on a first handoff. */
  existingOwnerId?: string | null;
  /**
   * The stored snapshot before the change being evaluated. Optional; with it, a rep's repeated
   * decision or a status change is recognised as new (see stages.ts) and as a touch for the SLA.
   */
  previous?: Lead | null;
  /** The published likelihood model; none: the likelihood fields are left empty and the grade follows the rules. */
  likelihood?: LikelihoodModel | null;
  /** Reps' time off kept outside the config (admin API, CSV import, mark-away): routing skips them. */
  timeOff?: TimeOffByRep;
}

export type RuleEventType = Stage | 'handoff' | 'no_owner' | SlaEventType | 'sla_escalated';

export interface RuleEvent {
  type: RuleEventType;
  at: string;
  /** Structured for the audit trail: a cause, an owner, a pool... never personal field values. */
  detail: Record<string, string | number | null>;
}

export interface OwnerChange {
  ownerId: string;
  reason: string;
}

export interface RepTask {
  /** Idempotency key: a rerun of the same handoff or escalation yields the same key. */
  key: string;
  ownerId: string;
  subject: string;
  description: string;
  /** The SLA due date (yyyy-MM-dd in the SLA calendar's zone), for the Task's activity date. */
  dueDate?: string;
}

export interface EvaluateResult {
  /** The lead with its new score, stage, SLA (and owner, when routing assigned one). */
  lead: Lead;
  /** Every `smk` value as the CRMs hold strings: decimal numbers, ISO instants, lower-case enums. */
  desired: Record<SmkFieldKey, string | null>;
  score: ScoreResult;
  /** The published model's likelihood and reasons; null without one. */
  likelihood: Likelihood | null;
  ownerChange?: OwnerChange;
  task?: RepTask;
  /** Present while the SLA runs or an escalation is pending, for the scheduler's delayed jobs. */
  slaTimers?: SlaTimers;
  /** How to write HubSpot's lifecycle stage; null when the contact needs no lifecycle write. */
  lifecycle: { value: HubspotLifecycle; clearFirst: boolean } | null;
  events: RuleEvent[];
  /** Problems to show an admin (unknown reject reasons and the like); not events, as they recur. */
  warnings: string[];
  nextPoolState: PoolState;
}

function displayName(lead: Lead): string {
  const name = [lead.person?.firstName, lead.person?.lastName].filter((part) => part != null && part.trim() !== '').join(' ');
  if (name !== '') return lead.company?.name ? `${name} (${lead.company.name})` : name;
  return lead.email ?? lead.company?.name ?? lead.id;
}

function taskFor(
  lead: Lead,
  score: ScoreResult,
  ownerId: string,
  route: RouteResult,
  sla: Sla | undefined,
  config: RulesConfig,
  escalation: number,
): RepTask {
  const grade = score.grade.charAt(0).toUpperCase() + score.grade.slice(1);
  const lines = [
    escalation
      ? `Reassigned after the first-touch SLA was breached (${route.reason}).`
      : `Handed off as an MQL (${route.reason}).`,
    `Score ${score.total} (${grade}): fit ${score.fit}, engagement ${score.engagement}.`,
    'Why:',
    ...score.reasons.map((reason) => `- ${reason}`),
  ];
  if (sla?.dueAt) lines.push(escalation ? `The SLA was due ${sla.dueAt}.` : `First touch due by ${sla.dueAt}.`);
  const subject = escalation ? `SLA escalation: ${displayName(lead)}` : `Follow up on MQL: ${displayName(lead)} (${grade}, ${score.total})`;
  const started = sla?.startedAt ?? score.scoredAt;
  const task: RepTask = {
    key: escalation ? `${lead.id}:escalation:${escalation}:${started}` : `${lead.id}:handoff:${started}`,
    ownerId,
    subject: subject.slice(0, 255),
    description: lines.join('\n'),
  };
  if (sla?.dueAt) {
    // The day as the owner reads it (their own calendar when the SLA follows the rep's).
    task.dueDate = localDate(sla.dueAt, slaConfigFor(config, ownerId).firstTouch.calendar);
  }
  return task;
}

/**
 * The grade as `likelihood.grade` says: the rule score's (the default, and always without a
 * model), the likelihood's, or a blend's (the likelihood's share `blend`), each against the same
 * hot and warm thresholds. Only the grade follows it: the score, the stages and handoff stay the rules'.
 */
function graded(score: ScoreResult, likely: Likelihood | null, config: RulesConfig): ScoreResult {
  const { grade: source, blend } = config.likelihood;
  if (likely === null || source === 'rules') return score;
  const value = source === 'model' ? likely.likelihood : Math.round(blend * likely.likelihood + (1 - blend) * score.total);
  const grade = gradeFor(value, config.scoring.grades);
  return grade === score.grade ? score : { ...score, grade };
}

/** The name the pipeline uses for the result. */
export type EvaluateOutput = EvaluateResult;

export function evaluateLead(lead: Lead, config: RulesConfig, now: Date, ctx: EvaluateContext = {}): EvaluateResult {
  const previous = ctx.previous ?? null;
  const timeOff = ctx.timeOff ?? {};
  // Reps away today are skipped by routing; the list rides on the pool state and is never stored.
  const away = awayOwners(config, timeOff, now);
  let poolState: PoolState = { ...(ctx.poolState ?? emptyPoolState()), away };
  const slaOf = (owner: string | null | undefined) => slaConfigFor(config, owner, timeOff);
  const events: RuleEvent[] = [];
  const likely = ctx.likelihood ? likelihoodOf(lead, ctx.likelihood, now) : null;
  const score = graded(scoreLead(lead, config.scoring, now), likely, config);
  const staged = nextStage(lead, score, config.stages, now, previous);

  let before: Stage | undefined = lead.stage?.current;
  for (const transition of staged.transitions) {
    if (transition.stage !== before) {
      events.push({ type: transition.stage, at: transition.at, detail: { from: before ?? null, cause: transition.cause } });
    }
    before = transition.stage;
  }

  const ownerId = lead.sales?.ownerId ?? null;
  let ownerChange: OwnerChange | undefined;
  let task: RepTask | undefined;
  let sla: Sla | undefined = lead.sla;
  let handoff: StageTransition | undefined;
  for (let i = staged.transitions.length - 1; i >= 0 && handoff === undefined; i -= 1) {
    if (staged.transitions[i]?.stage === 'mql') handoff = staged.transitions[i];
  }

  if (handoff !== undefined) {
    const firstHandoff = !(lead.stage?.history ?? []).some((entry) => entry.stage === 'mql');
    const route = routeLead(lead, config.routing, poolState, {
      accountOwnerId: ctx.accountOwnerId ?? null,
      // A re-handoff goes to the pool: the previous owner already had the lead and let it go.
      existingOwnerId: firstHandoff ? (ctx.existingOwnerId ?? ownerId) : null,
    });
    poolState = route.nextPoolState;
    // A handoff is a score-driven move, always dated `now`.
    sla = startSla(lead, now, slaOf(route.ownerId ?? ownerId));
    if (route.ownerId === null) {
      events.push({ type: 'no_owner', at: handoff.at, detail: { reason: route.reason } });
    } else {
      if (route.ownerId !== ownerId) ownerChange = { ownerId: route.ownerId, reason: route.reason };
      task = taskFor(lead, score, route.ownerId, route, sla, config, 0);
    }
    events.push({
      type: 'handoff',
      at: handoff.at,
      detail: { ownerId: route.ownerId, via: route.via, pool: route.pool, reason: route.reason, dueAt: sla.dueAt ?? null },
    });
  } else if (sla !== undefined && sla.status !== 'none') {
    // Only a change made after the SLA started can be the rep's touch; the change that caused the
    // handoff itself (and a rerun with the same snapshot) must not count.
    const changedAfterStart = sla.startedAt != null && parseInstant(lead.updatedAt) > parseInstant(sla.startedAt);
    const touch = detectTouch({ ...lead, sla }, changedAfterStart ? previous : null, staged.salesActed, now, config.stages);
    const advanced = advanceSla(sla, now, touch);
    sla = advanced.sla;
    for (const event of advanced.events) events.push({ type: event.type, at: event.at, detail: { cause: event.detail } });

    const decision = escalationDecision(sla, slaOf(ownerId), now);
    if (decision.escalate && (staged.stage === 'mql' || staged.stage === 'sal')) {
      // A late run may find several escalations due: one action covers them all, so that a rerun
      // finds nothing left to do.
      let index = decision.index;
      const max = config.sla.escalate?.maxTimes ?? index;
      while (index < max) {
        const next = escalationAt(sla, slaOf(ownerId), index + 1);
        if (next === null || parseInstant(next) > now.getTime()) break;
        index += 1;
      }
      sla = { ...sla, escalations: index };
      const detail: RuleEvent['detail'] = { index, action: 'notify', fromOwnerId: ownerId, ownerId: null, reason: null };
      if (decision.action === 'reassign') {
        const route = nextOwnerForEscalation(lead, config.routing, poolState, ownerId);
        detail.reason = route.reason;
        if (route.ownerId !== null) {
          poolState = route.nextPoolState;
          ownerChange = { ownerId: route.ownerId, reason: route.reason };
          task = taskFor(lead, score, route.ownerId, route, sla, config, index);
          detail.action = 'reassign';
          detail.ownerId = route.ownerId;
        }
      }
      events.push({ type: 'sla_escalated', at: decision.at, detail });
    }
  }

  const nextLead: Lead = {
    ...lead,
    score: {
      fit: score.fit,
      engagement: score.engagement,
      total: score.total,
      grade: score.grade,
      reasons: score.reasons,
      scoredAt: score.scoredAt,
    },
    stage: staged.state,
    ...(sla === undefined ? {} : { sla }),
    ...(ownerChange === undefined ? {} : { sales: { ...lead.sales, ownerId: ownerChange.ownerId } }),
  };

  const feedback = feedbackValues(nextLead, config.stages);
  const desired: Record<SmkFieldKey, string | null> = {
    score: String(score.total),
    fitScore: String(score.fit),
    engagementScore: String(score.engagement),
    grade: score.grade,
    scoreReasons: score.reasonsText === '' ? null : score.reasonsText,
    stage: staged.stage,
    ...feedback.values,
    leadId: lead.id,
    likelihood: likely ? String(likely.likelihood) : null,
    likelihoodReasons: likely && likely.reasonsText !== '' ? likely.reasonsText : null,
  };

  const timers = slaTimers(sla, slaOf(nextLead.sales?.ownerId));
  const result: EvaluateResult = {
    lead: nextLead,
    desired,
    score,
    likelihood: likely,
    lifecycle: null,
    events,
    warnings: feedback.flags,
    nextPoolState: { wrr: poolState.wrr, open: poolState.open },
  };
  if (lead.links.hubspot !== undefined) {
    const plan = planLifecycleWrite(lead.marketing?.lifecycleStage, staged.stage);
    if (plan.value !== null) result.lifecycle = { value: plan.value, clearFirst: plan.clearFirst };
  }
  if (ownerChange !== undefined) result.ownerChange = ownerChange;
  if (task !== undefined) result.task = task;
  if (timers !== null) result.slaTimers = timers;
  return result;
}
