/**
 * The dashboard's reports, as pure functions of stored leads and audit events: the funnel (with
 * conversion between stages, by source and campaign), SLA compliance (by owner, with the median
 * time to first touch), and sales' feedback on lead quality (by source, with reject reasons).
 * `ReportBuilder` takes leads one page at a time, so a large store is never held in memory whole.
 */
import type { Lead, SlaStatus, Stage } from '../model/lead.js';
import { STAGES } from '../model/lead.js';
import type { TargetsConfig } from '../rules/config.js';
import { mqlProgress } from '../rules/targets.js';
import type { AuditEvent } from '../store/events.js';

export const FUNNEL_STEPS = ['leads', 'mql', 'sal', 'sql', 'opportunity', 'customer'] as const;
export type FunnelStepName = (typeof FUNNEL_STEPS)[number];
export type FunnelCounts = Record<FunnelStepName, number>;

export interface FunnelStep {
  step: FunnelStepName;
  label: string;
  count: number;
  /** count / the previous step's count, 4 places; null for the first step or an empty previous step. */
  conversion: number | null;
}

export interface FunnelRow extends FunnelCounts {
  key: string;
}

export interface FunnelReport {
  steps: FunnelStep[];
  /** Overall: customers / leads. */
  overallConversion: number | null;
  bySource: FunnelRow[];
  byCampaign: FunnelRow[];
}

export interface SlaBucket {
  running: number;
  met: number;
  breached: number;
  /** met / (met + breached), 4 places; null until an SLA has finished. */
  compliance: number | null;
  /** Median of metAt - handoffAt over met SLAs, in ms. */
  medianFirstTouchMs: number | null;
}

export interface SlaReport extends SlaBucket {
  byOwner: Array<SlaBucket & { ownerId: string }>;
  /** Escalations so far, from the leads' SLA state. */
  escalations: number;
  /** Counts from the audit trail. */
  events: EventCounts;
}

export interface ReasonCount {
  reason: string;
  count: number;
}

export interface FeedbackBucket {
  /** Leads handed to sales (an SLA started or a decision exists). */
  handedOff: number;
  accepted: number;
  rejected: number;
  /** Handed off, no decision yet. */
  pending: number;
  /** accepted / (accepted + rejected), 4 places. */
  acceptRate: number | null;
  rejectRate: number | null;
  /** Mean of sales' lead quality ratings, 2 places. */
  averageQuality: number | null;
  rated: number;
  reasons: ReasonCount[];
}

export interface FeedbackReport extends FeedbackBucket {
  bySource: Array<FeedbackBucket & { source: string }>;
}

export const TRACKED_EVENTS = ['mql', 'handoff', 'sla_met', 'sla_breached', 'sla_late_touch', 'sla_escalated', 'no_owner'] as const;
export type EventCounts = Record<(typeof TRACKED_EVENTS)[number], number>;

export const NO_SOURCE = '(none)';
export const UNASSIGNED = '(unassigned)';
export const NO_REASON = '(no reason given)';

const STEP_LABELS: Record<FunnelStepName, string> = { leads: 'Leads', mql: 'MQL', sal: 'SAL', sql: 'SQL', opportunity: 'Opportunity', customer: 'Customer' };
/** The forward path; recycled and disqualified are side exits, judged by their history. */
const PATH_RANK: Partial<Record<Stage, number>> = { mql: 1, sal: 2, sql: 3, opportunity: 4, customer: 5 };

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : round(part / whole, 4);
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The furthest step of the path a lead has reached: its current stage or any stage in its history.
 * A lead that went from MQL straight to SQL has passed SAL too, so the funnel never widens.
 */
export function furthestRank(lead: Lead): number {
  let rank = 0;
  const consider = (stage: Stage) => {
    rank = Math.max(rank, PATH_RANK[stage] ?? 0);
  };
  if (lead.stage) {
    consider(lead.stage.current);
    for (const h of lead.stage.history) consider(h.stage);
  }
  return rank;
}

function emptyCounts(): FunnelCounts {
  return { leads: 0, mql: 0, sal: 0, sql: 0, opportunity: 0, customer: 0 };
}

function addToCounts(counts: FunnelCounts, rank: number): void {
  FUNNEL_STEPS.forEach((step, i) => {
    if (rank >= i) counts[step] += 1;
  });
}

function emptySla(): { running: number; met: number; breached: number; touchMs: number[] } {
  return { running: 0, met: 0, breached: 0, touchMs: [] };
}

function finishSla(b: ReturnType<typeof emptySla>): SlaBucket {
  return { running: b.running, met: b.met, breached: b.breached, compliance: ratio(b.met, b.met + b.breached), medianFirstTouchMs: median(b.touchMs) };
}

function emptyFeedback(): { handedOff: number; accepted: number; rejected: number; qualitySum: number; rated: number; reasons: Map<string, number> } {
  return { handedOff: 0, accepted: 0, rejected: 0, qualitySum: 0, rated: 0, reasons: new Map() };
}

function sortedReasons(reasons: Map<string, number>): ReasonCount[] {
  return [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

function finishFeedback(b: ReturnType<typeof emptyFeedback>): FeedbackBucket {
  const decided = b.accepted + b.rejected;
  return {
    handedOff: b.handedOff,
    accepted: b.accepted,
    rejected: b.rejected,
    pending: Math.max(0, b.handedOff - decided),
    acceptRate: ratio(b.accepted, decided),
    rejectRate: ratio(b.rejected, decided),
    averageQuality: b.rated === 0 ? null : round(b.qualitySum / b.rated, 2),
    rated: b.rated,
    reasons: sortedReasons(b.reasons),
  };
}

function label(value: string | null | undefined, fallback: string): string {
  const text = value?.trim();
  return text ? text : fallback;
}

function bucket<T>(map: Map<string, T>, key: string, make: () => T): T {
  let b = map.get(key);
  if (b === undefined) {
    b = make();
    map.set(key, b);
  }
  return b;
}

/**
 * Marketing's side of the agreement for the month under way (in the targets' zone): the MQLs so
 * far against the month's target, and the pace: the target pro rata to the share of the month gone.
 */
export interface MqlTargetReport {
  month: string;
  /** null when smarketing.yaml sets no target. */
  target: number | null;
  actual: number;
  expectedByNow: number | null;
  remaining: number | null;
  /** The month's MQLs if the pace so far continues. */
  projected: number;
  pace: 'on-track' | 'behind' | 'no-target';
  /** MQLs short of the pro-rata target (0 on track); null without a target. */
  behindBy: number | null;
}

export interface Reports {
  funnel: FunnelReport;
  mqlTarget: MqlTargetReport;
  sla: SlaReport;
  feedback: FeedbackReport;
  /** Leads per current stage (`none` = not evaluated yet), for metrics. */
  stages: Record<Stage | 'none', number>;
  slaStatus: Record<SlaStatus, number>;
  leads: number;
}

/** Accumulates leads (in any number of pages) and events, then builds every report in one pass. */
export class ReportBuilder {
  private leads = 0;
  private readonly funnel = emptyCounts();
  private readonly bySource = new Map<string, FunnelCounts>();
  private readonly byCampaign = new Map<string, FunnelCounts>();
  private readonly sla = emptySla();
  private readonly slaByOwner = new Map<string, ReturnType<typeof emptySla>>();
  private escalations = 0;
  private readonly feedback = emptyFeedback();
  private readonly feedbackBySource = new Map<string, ReturnType<typeof emptyFeedback>>();
  private readonly stages = Object.fromEntries([...STAGES, 'none'].map((s) => [s, 0])) as Record<Stage | 'none', number>;
  private readonly slaStatus: Record<SlaStatus, number> = { none: 0, running: 0, met: 0, breached: 0 };
  private events: EventCounts = countEvents([]);
  /** MQL dates of the month under way only: a large store's whole history is never held. */
  private readonly mqlDates: string[] = [];
  private readonly targets: TargetsConfig;
  private readonly now: Date;
  private readonly month: { from: number; to: number };

  constructor(options: { targets?: TargetsConfig; now?: Date } = {}) {
    this.targets = options.targets ?? { months: {}, tz: 'UTC' };
    this.now = options.now ?? new Date();
    const month = mqlProgress([], this.targets, this.now);
    const start = Date.parse(`${month.month}-01T00:00:00Z`);
    // A day either side of the UTC month covers every zone; mqlProgress judges each date exactly.
    this.month = { from: start - 86_400_000, to: start + 32 * 86_400_000 };
  }

  addLeads(leads: Iterable<Lead>): this {
    for (const lead of leads) this.addLead(lead);
    return this;
  }

  setEvents(counts: EventCounts): this {
    this.events = { ...counts };
    return this;
  }

  addLead(lead: Lead): void {
    this.leads += 1;
    for (const entry of lead.stage?.history ?? []) {
      if (entry.stage !== 'mql') continue;
      const at = Date.parse(entry.at);
      if (at >= this.month.from && at < this.month.to) this.mqlDates.push(entry.at);
    }
    this.stages[lead.stage?.current ?? 'none'] += 1;
    const source = label(lead.marketing.source, NO_SOURCE);
    const rank = furthestRank(lead);
    addToCounts(this.funnel, rank);
    addToCounts(bucket(this.bySource, source, emptyCounts), rank);
    addToCounts(bucket(this.byCampaign, label(lead.marketing.campaign, NO_SOURCE), emptyCounts), rank);

    const sla = lead.sla;
    this.slaStatus[sla?.status ?? 'none'] += 1;
    this.escalations += sla?.escalations ?? 0;
    if (sla && sla.status !== 'none') {
      const owner = bucket(this.slaByOwner, label(lead.sales.ownerId, UNASSIGNED), emptySla);
      for (const b of [this.sla, owner]) b[sla.status] += 1;
      if (sla.status === 'met' && sla.metAt) {
        const start = Date.parse(sla.handoffAt ?? sla.startedAt ?? '');
        const touch = Date.parse(sla.metAt) - start;
        if (Number.isFinite(touch) && touch >= 0) for (const b of [this.sla, owner]) b.touchMs.push(touch);
      }
    }

    const decision = lead.sales.decision ?? null;
    const handedOff = Boolean(sla?.handoffAt ?? sla?.startedAt) || decision !== null;
    if (handedOff) {
      const bySource = bucket(this.feedbackBySource, source, emptyFeedback);
      for (const b of [this.feedback, bySource]) {
        b.handedOff += 1;
        if (decision === 'accepted') b.accepted += 1;
        if (decision === 'rejected') {
          b.rejected += 1;
          const reason = label(lead.sales.rejectReason, NO_REASON);
          b.reasons.set(reason, (b.reasons.get(reason) ?? 0) + 1);
        }
        const quality = lead.sales.qualityRating;
        if (typeof quality === 'number' && Number.isFinite(quality)) {
          b.qualitySum += quality;
          b.rated += 1;
        }
      }
    }
  }

  build(): Reports {
    const steps: FunnelStep[] = FUNNEL_STEPS.map((step, i) => {
      const previous = i === 0 ? undefined : FUNNEL_STEPS[i - 1];
      return { step, label: STEP_LABELS[step], count: this.funnel[step], conversion: previous === undefined ? null : ratio(this.funnel[step], this.funnel[previous]) };
    });
    const rows = (map: Map<string, FunnelCounts>): FunnelRow[] =>
      [...map].map(([key, counts]) => ({ key, ...counts })).sort((a, b) => b.leads - a.leads || a.key.localeCompare(b.key));
    const progress = mqlProgress(this.mqlDates, this.targets, this.now);
    const mqlTarget: MqlTargetReport = {
      month: progress.month,
      target: progress.target,
      actual: progress.count,
      expectedByNow: progress.expectedByNow,
      remaining: progress.remaining,
      projected: progress.projected,
      pace: progress.onTrack === null ? 'no-target' : progress.onTrack ? 'on-track' : 'behind',
      behindBy: progress.expectedByNow === null ? null : Math.max(0, progress.expectedByNow - progress.count),
    };
    return {
      mqlTarget,
      funnel: { steps, overallConversion: ratio(this.funnel.customer, this.funnel.leads), bySource: rows(this.bySource), byCampaign: rows(this.byCampaign) },
      sla: {
        ...finishSla(this.sla),
        byOwner: [...this.slaByOwner]
          .map(([ownerId, b]) => ({ ownerId, ...finishSla(b) }))
          .sort((a, b) => b.met + b.breached + b.running - (a.met + a.breached + a.running) || a.ownerId.localeCompare(b.ownerId)),
        escalations: this.escalations,
        events: { ...this.events },
      },
      feedback: {
        ...finishFeedback(this.feedback),
        bySource: [...this.feedbackBySource]
          .map(([source, b]) => ({ source, ...finishFeedback(b) }))
          .sort((a, b) => b.handedOff - a.handedOff || a.source.localeCompare(b.source)),
      },
      stages: { ...this.stages },
      slaStatus: { ...this.slaStatus },
      leads: this.leads,
    };
  }
}

/** Counts the tracked event types; pass the previous counts to add a newer slice of the trail. */
export function countEvents(events: Iterable<Pick<AuditEvent, 'type'>>, previous?: EventCounts): EventCounts {
  const counts = Object.fromEntries(TRACKED_EVENTS.map((t) => [t, previous?.[t] ?? 0])) as EventCounts;
  for (const e of events) {
    if ((TRACKED_EVENTS as readonly string[]).includes(e.type)) counts[e.type as keyof EventCounts] += 1;
  }
  return counts;
}

export function funnelReport(leads: Iterable<Lead>): FunnelReport {
  return new ReportBuilder().addLeads(leads).build().funnel;
}

export function slaReport(leads: Iterable<Lead>, events: Iterable<Pick<AuditEvent, 'type'>> = []): SlaReport {
  return new ReportBuilder().addLeads(leads).setEvents(countEvents(events)).build().sla;
}

export function feedbackReport(leads: Iterable<Lead>): FeedbackReport {
  return new ReportBuilder().addLeads(leads).build().feedback;
}
