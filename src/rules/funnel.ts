/**
 * The funnel to revenue for a reporting period: Lead -> MQL -> SAL -> SQL -> Opportunity -> Won.
 *
 * A step counts the leads that *reached* it within the period (the RevOps convention: "MQLs in
 * March" are the leads that became MQLs in March, whenever they were created). Its conversion is
 * the share of those same leads that have reached the next step since (by now, in or after the
 * period), so a rate is never above 100 % and each period's rate says what became of its own
 * leads; the median days are from the previous step to this one, over those leads.
 *
 * When a lead reached each step: its first entry of that stage in the stage history; the lead step
 * is the person's creation in the CRM (the earliest of their records; without it, the first entry
 * of any stage, when the connector first saw them); the opportunity step is the
 * opportunity's creation time in the CRM, and the won step its close date. A lead that skipped a
 * step (straight from MQL to SQL) passed it at the time it reached the later one, and no step is
 * dated after a later one (an opportunity opened before the connector first saw the person dates
 * all of that person's earlier steps from then): the date of a step is the earliest of its own
 * date and every later step's date. A skipped step has no days of its own and is left out of the
 * medians. Pipeline is the open opportunities' amounts with a close date in the period (what is
 * expected to close in it; one without a close date counts where it was opened), won revenue the
 * won amounts with a close date in the period.
 */
import type { Lead, Stage } from '../model/lead.js';
import type { TargetsConfig } from './config.js';
import { DEFAULT_TREND_PERIODS, dayStartMs, resolveRange, trendRanges } from './periods.js';
import type { FunnelQuery, PeriodKind, ReportRange } from './periods.js';
import { rangeTarget } from './targets.js';
import type { RangeTarget } from './targets.js';
import { DAY_MS, parseInstant } from './time.js';

export const FUNNEL_STAGES = ['lead', 'mql', 'sal', 'sql', 'opportunity', 'won'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];
export const FUNNEL_LABELS: Readonly<Record<FunnelStage, string>> = { lead: 'Lead', mql: 'MQL', sal: 'SAL', sql: 'SQL', opportunity: 'Opportunity', won: 'Won' };
/** The breakdown's name for a lead without a source or campaign. */
export const NO_KEY = '(none)';

const OPPORTUNITY = 4;
const WON = 5;
/** Where each stage of the lead model sits on the path; recycled and disqualified are side exits. */
const STEP_OF: Partial<Record<Stage, number>> = { subscriber: 0, lead: 0, mql: 1, sal: 2, sql: 3, opportunity: OPPORTUNITY, customer: WON };

export type FunnelCounts = Record<FunnelStage, number>;

export interface FunnelStepReport {
  stage: FunnelStage;
  label: string;
  /** Leads that reached the step in the period. */
  count: number;
  /** Of those, the share that reached the next step by now (4 places); null for won or when count is 0. */
  conversion: number | null;
  /** Median days from the previous step (1 place); null for the lead step or without data. */
  medianDays: number | null;
}

export interface Revenue {
  /** Open opportunities' amounts with a close date in the period. */
  pipeline: number;
  /** Won amounts with a close date in the period. */
  won: number;
  pipelineDeals: number;
  wonDeals: number;
}

export interface BreakdownRow {
  key: string;
  counts: FunnelCounts;
  revenue: Revenue;
}

export interface TrendPoint {
  from: string;
  to: string;
  label: string;
  counts: FunnelCounts;
  revenue: Revenue;
}

export interface PeriodFunnel {
  from: string;
  to: string;
  steps: FunnelStepReport[];
  revenue: Revenue;
  mqlTarget: RangeTarget;
  period: PeriodKind | 'custom';
  label: string;
  /** The reporting zone (targets.tz) whose calendar days the period follows. */
  tz: string;
  bySource: BreakdownRow[];
  byCampaign: BreakdownRow[];
  /** The last periods, oldest first, the chosen one last. */
  trend: TrendPoint[];
}

export interface FunnelDates {
  /** When the lead reached each step (epoch ms), null where it has not. */
  at: Array<number | null>;
  /** Whether that time is the step's own (false for a skipped step, or one dated by a later step). */
  observed: boolean[];
}

function hasOpportunity(sales: Lead['sales']): boolean {
  return Boolean(sales.opportunityId) || Boolean(sales.opportunityCreatedAt) || typeof sales.opportunityWon === 'boolean' || typeof sales.opportunityAmount === 'number';
}

/** When a lead reached each step of the funnel; null for a lead with no stage and no opportunity. */
export function funnelDates(lead: Lead, tz: string): FunnelDates | null {
  const own: number[] = FUNNEL_STAGES.map(() => Number.NaN);
  // Keeps the earliest time of each step (a step not seen yet holds NaN, which compares false).
  const note = (step: number, at: number) => {
    const earliest = own[step] as number;
    if (Number.isFinite(at) && !(earliest <= at)) own[step] = at;
  };
  let reached = -1;
  for (const entry of lead.stage?.history ?? []) {
    const at = parseInstant(entry.at);
    note(0, at);
    const step = STEP_OF[entry.stage];
    if (step === undefined) continue;
    reached = Math.max(reached, step);
    if (step > 0) note(step, at);
  }
  if (lead.stage) reached = Math.max(reached, STEP_OF[lead.stage.current] ?? 0);
  // The CRM's own creation date wins over the moment the connector first saw the person.
  const created = lead.createdAt ? parseInstant(lead.createdAt) : Number.NaN;
  if (Number.isFinite(created)) {
    own[0] = created;
    reached = Math.max(reached, 0);
  }
  const sales = lead.sales;
  if (hasOpportunity(sales)) {
    reached = Math.max(reached, OPPORTUNITY);
    // The CRM's own dates win over the moment the connector noticed the change.
    const opened = sales.opportunityCreatedAt ? parseInstant(sales.opportunityCreatedAt) : Number.NaN;
    if (Number.isFinite(opened)) own[OPPORTUNITY] = opened;
  }
  if (sales.opportunityWon === true) {
    reached = WON;
    const closed = sales.opportunityCloseDate ? dayStartMs(sales.opportunityCloseDate, tz) : Number.NaN;
    if (Number.isFinite(closed)) own[WON] = closed;
  }
  if (reached < 0) return null;

  const at: Array<number | null> = FUNNEL_STAGES.map(() => null);
  const observed = FUNNEL_STAGES.map(() => false);
  // Reached with no date anywhere from here on: the last time the lead changed is when it was known.
  let running = Number.isFinite(own[reached]) ? Number.POSITIVE_INFINITY : parseInstant(lead.updatedAt);
  for (let step = reached; step >= 0; step -= 1) {
    const mine = own[step] as number;
    if (Number.isFinite(mine) && !(running < mine)) running = mine;
    at[step] = running;
    observed[step] = Number.isFinite(mine) && mine === running;
  }
  return { at, observed };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Tally {
  counts: number[];
  revenue: Revenue;
}

function emptyTally(): Tally {
  return { counts: FUNNEL_STAGES.map(() => 0), revenue: { pipeline: 0, won: 0, pipelineDeals: 0, wonDeals: 0 } };
}

function countsOf(tally: Tally): FunnelCounts {
  return Object.fromEntries(FUNNEL_STAGES.map((stage, i) => [stage, tally.counts[i] ?? 0])) as FunnelCounts;
}

function keyOf(value: string | null | undefined): string {
  const text = value?.trim();
  return text ? text : NO_KEY;
}

/** What a lead adds to a period: the steps it reached in it, and its deal if that closes in it. */
interface Contribution {
  steps: number[];
  pipeline: number | null;
  won: number | null;
}

function within(at: number | null, range: ReportRange): boolean {
  return at !== null && at >= range.fromMs && at < range.toMs;
}

/**
 * Accumulates leads (in any number of pages, so a large store is never held whole) for a period
 * and the trend periods before it, then builds the report.
 */
export class PeriodFunnelBuilder {
  private readonly chosen: ReportRange;
  private readonly trend: Tally[];
  private readonly total = emptyTally();
  private readonly converted = FUNNEL_STAGES.map(() => 0);
  private readonly days: number[][] = FUNNEL_STAGES.map(() => []);
  private readonly bySource = new Map<string, Tally>();
  private readonly byCampaign = new Map<string, Tally>();
  /** MQL transitions in the chosen period only, for the target. */
  private readonly mqlDates: string[] = [];

  constructor(
    private readonly ranges: readonly ReportRange[],
    private readonly targets: TargetsConfig,
    private readonly now: Date,
  ) {
    const chosen = ranges.at(-1);
    if (chosen === undefined) throw new RangeError('a funnel needs at least one period');
    this.chosen = chosen;
    this.trend = ranges.map(() => emptyTally());
  }

  addLeads(leads: Iterable<Lead>): this {
    for (const lead of leads) this.add(lead);
    return this;
  }

  private contribution(lead: Lead, dates: FunnelDates | null, range: ReportRange): Contribution {
    const steps: number[] = [];
    if (dates) dates.at.forEach((at, step) => within(at, range) && steps.push(step));
    const sales = lead.sales;
    const amount = typeof sales.opportunityAmount === 'number' ? sales.opportunityAmount : 0;
    let pipeline: number | null = null;
    let won: number | null = null;
    if (hasOpportunity(sales) && sales.opportunityWon !== true && sales.opportunityWon !== false) {
      const closes = sales.opportunityCloseDate ? dayStartMs(sales.opportunityCloseDate, this.targets.tz) : Number.NaN;
      const when = Number.isFinite(closes) ? closes : (dates?.at[OPPORTUNITY] ?? null);
      if (within(when, range)) pipeline = amount;
    }
    if (sales.opportunityWon === true && within(dates?.at[WON] ?? null, range)) won = amount;
    return { steps, pipeline, won };
  }

  private static addTo(tally: Tally, c: Contribution): void {
    for (const step of c.steps) tally.counts[step] = (tally.counts[step] ?? 0) + 1;
    if (c.pipeline !== null) {
      tally.revenue.pipeline += c.pipeline;
      tally.revenue.pipelineDeals += 1;
    }
    if (c.won !== null) {
      tally.revenue.won += c.won;
      tally.revenue.wonDeals += 1;
    }
  }

  add(lead: Lead): void {
    for (const entry of lead.stage?.history ?? []) {
      if (entry.stage === 'mql' && within(parseInstant(entry.at), this.chosen)) this.mqlDates.push(entry.at);
    }
    const dates = funnelDates(lead, this.targets.tz);
    this.ranges.forEach((range, i) => PeriodFunnelBuilder.addTo(this.trend[i] as Tally, this.contribution(lead, dates, range)));

    const c = this.contribution(lead, dates, this.chosen);
    if (c.steps.length === 0 && c.pipeline === null && c.won === null) return;
    PeriodFunnelBuilder.addTo(this.total, c);
    for (const [map, key] of [[this.bySource, keyOf(lead.marketing.source)], [this.byCampaign, keyOf(lead.marketing.campaign)]] as const) {
      let tally = map.get(key);
      if (tally === undefined) map.set(key, (tally = emptyTally()));
      PeriodFunnelBuilder.addTo(tally, c);
    }
    if (!dates) return;
    for (const step of c.steps) {
      if (dates.at[step + 1] != null) this.converted[step] = (this.converted[step] ?? 0) + 1;
      const previous = dates.at[step - 1];
      if (step > 0 && previous != null && dates.observed[step] && dates.observed[step - 1]) {
        this.days[step]?.push(((dates.at[step] as number) - previous) / DAY_MS);
      }
    }
  }

  build(): PeriodFunnel {
    const rows = (map: Map<string, Tally>): BreakdownRow[] =>
      [...map]
        .map(([key, tally]) => ({ key, counts: countsOf(tally), revenue: { ...tally.revenue } }))
        .sort((a, b) => b.counts.lead - a.counts.lead || a.key.localeCompare(b.key));
    const range = this.chosen;
    return {
      from: range.from,
      to: range.to,
      steps: FUNNEL_STAGES.map((stage, i) => {
        const count = this.total.counts[i] ?? 0;
        const days = median(this.days[i] ?? []);
        return {
          stage,
          label: FUNNEL_LABELS[stage],
          count,
          conversion: i === WON || count === 0 ? null : round((this.converted[i] ?? 0) / count, 4),
          medianDays: days === null ? null : round(days, 1),
        };
      }),
      revenue: { ...this.total.revenue },
      mqlTarget: rangeTarget(this.mqlDates, this.targets, range, this.now),
      period: range.kind,
      label: range.label,
      tz: this.targets.tz,
      bySource: rows(this.bySource),
      byCampaign: rows(this.byCampaign),
      trend: this.ranges.map((r, i) => {
        const tally = this.trend[i] as Tally;
        return { from: r.from, to: r.to, label: r.label, counts: countsOf(tally), revenue: { ...tally.revenue } };
      }),
    };
  }
}

/** The ranges a query asks for: the trend's periods, the chosen one last. */
export function funnelRanges(query: FunnelQuery, targets: TargetsConfig, now: Date): ReportRange[] {
  return trendRanges(resolveRange(query, targets.tz, now), query.trend ?? DEFAULT_TREND_PERIODS, targets.tz);
}

export function periodFunnel(leads: Iterable<Lead>, query: FunnelQuery, targets: TargetsConfig, now: Date): PeriodFunnel {
  return new PeriodFunnelBuilder(funnelRanges(query, targets, now), targets, now).addLeads(leads).build();
}
