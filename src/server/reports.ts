/**
 * The dashboard's reports, as pure functions of stored leads and audit events: SLA compliance (by
 * owner, with the median time to first touch), sales' feedback on lead quality (by source, with
 * reject reasons), and leads per stage for the metrics. The funnel for a period is its own report
 * (src/rules/funnel.ts), computed per query. `ReportBuilder` takes leads one page at a time, so a
 * large store is never held in memory whole.
 */
import type { Lead, SlaStatus, Stage } from '../model/lead.js';
import { STAGES } from '../model/lead.js';
import { median } from '../rules/funnel.js';
import type { AuditEvent } from '../store/events.js';

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

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : round(part / whole, 4);
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

export interface Reports {
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
  private readonly sla = emptySla();
  private readonly slaByOwner = new Map<string, ReturnType<typeof emptySla>>();
  private escalations = 0;
  private readonly feedback = emptyFeedback();
  private readonly feedbackBySource = new Map<string, ReturnType<typeof emptyFeedback>>();
  private readonly stages = Object.fromEntries([...STAGES, 'none'].map((s) => [s, 0])) as Record<Stage | 'none', number>;
  private readonly slaStatus: Record<SlaStatus, number> = { none: 0, running: 0, met: 0, breached: 0 };
  private events: EventCounts = countEvents([]);
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
    this.stages[lead.stage?.current ?? 'none'] += 1;
    const source = label(lead.marketing.source, NO_SOURCE);

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
    return {
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

export function slaReport(leads: Iterable<Lead>, events: Iterable<Pick<AuditEvent, 'type'>> = []): SlaReport {
  return new ReportBuilder().addLeads(leads).setEvents(countEvents(events)).build().sla;
}

export function feedbackReport(leads: Iterable<Lead>): FeedbackReport {
  return new ReportBuilder().addLeads(leads).build().feedback;
}
