/**
 * Scoring: fit rules on Lead fields plus engagement events with exponential decay, bounded,
 * graded, and explained by the top reasons. A pure function of (lead, config, UTC day of `now`):
 * ages are counted in whole UTC days (in steps of `quantiseDays`), so the passing of time alone
 * changes a score at most once a day and never causes a stream of CRM writes.
 *
 * This is the hot path of every evaluation: no luxon, no regex compilation, no per-call maps.
 */
import { ENGAGEMENT_KINDS } from '../model/lead.js';
import type { EngagementEvent, EngagementKind, Grade, Lead } from '../model/lead.js';
import { compileCondition } from './conditions.js';
import type { LeadPredicate } from './conditions.js';
import type { ScoringConfig } from './config.js';
import { DAY_MS, utcDay } from './time.js';

export { utcDay };

export interface ScoreResult {
  fit: number;
  engagement: number;
  total: number;
  grade: Grade;
  /** The top reasons, largest effect first, e.g. `+15 Demo request (3 days ago)`. */
  reasons: string[];
  /** The reasons joined with `; `, cut on a reason boundary to fit a 255-character field. */
  reasonsText: string;
  /** Start of the UTC day of `now`: the score is the same for any `now` on that day. */
  scoredAt: string;
}

export const REASONS_TEXT_MAX = 255;

const DEFAULT_LABELS: Record<EngagementKind, string> = {
  page_view: 'Page view',
  visit: 'Website visit',
  form_submission: 'Form submission',
  email_open: 'Email open',
  email_click: 'Email click',
  demo_request: 'Demo request',
  conversion: 'Conversion',
  meeting: 'Meeting',
  call: 'Call',
  sales_email: 'Email from sales',
};

/** What a reason calls an engagement kind: the rule's own `reason`, else the kind's label. */
export function engagementLabel(kind: EngagementKind, config: ScoringConfig): string {
  return config.engagement.events.find((rule) => rule.kind === kind)?.reason ?? DEFAULT_LABELS[kind];
}

const KIND_INDEX: Readonly<Record<string, number>> = Object.fromEntries(ENGAGEMENT_KINDS.map((kind, i) => [kind, i]));
const KIND_COUNT = ENGAGEMENT_KINDS.length;

interface CompiledFitRule {
  test: LeadPredicate;
  points: number;
  text: string;
}

interface CompiledKind {
  points: number;
  cap: number;
  label: string;
  /** Position in config, the tie-break among reasons of equal weight. */
  order: number;
}

interface CompiledScoring {
  fit: CompiledFitRule[];
  /** Indexed by the kind's position in ENGAGEMENT_KINDS; undefined where config has no rule. */
  kinds: Array<CompiledKind | undefined>;
  halfLifeDays: number;
  quantiseDays: number;
  maxAgeDays: number;
  /** Decay factor by quantised step, filled lazily. */
  decay: number[];
}

const compiledByConfig = new WeakMap<ScoringConfig, CompiledScoring>();

export function signed(points: number): string {
  return points > 0 ? `+${points}` : String(points);
}

function compile(config: ScoringConfig): CompiledScoring {
  const extra = new Set(config.freemailDomains);
  const kinds = new Array<CompiledKind | undefined>(KIND_COUNT).fill(undefined);
  config.engagement.events.forEach((rule, order) => {
    const index = KIND_INDEX[rule.kind];
    if (index === undefined) return;
    kinds[index] = {
      points: rule.points,
      cap: rule.cap ?? Number.POSITIVE_INFINITY,
      label: rule.reason ?? DEFAULT_LABELS[rule.kind],
      order: config.fit.length + order,
    };
  });
  return {
    fit: config.fit.map((rule) => ({
      test: compileCondition(rule, extra),
      points: rule.points,
      text: `${signed(rule.points)} ${rule.reason}`,
    })),
    kinds,
    halfLifeDays: config.engagement.halfLifeDays,
    quantiseDays: config.engagement.quantiseDays,
    maxAgeDays: config.engagement.maxAgeDays ?? Number.POSITIVE_INFINITY,
    decay: [],
  };
}

function compiledScoring(config: ScoringConfig): CompiledScoring {
  let compiled = compiledByConfig.get(config);
  if (compiled === undefined) {
    compiled = compile(config);
    compiledByConfig.set(config, compiled);
  }
  return compiled;
}

function decayFactor(compiled: CompiledScoring, step: number): number {
  if (step < 4096) {
    const hit = compiled.decay[step];
    if (hit !== undefined) return hit;
  }
  const factor = Math.pow(0.5, (step * compiled.quantiseDays) / compiled.halfLifeDays);
  if (step < 4096) compiled.decay[step] = factor;
  return factor;
}

// Most evaluations in a run share one day: keep its ISO text rather than format it per lead.
let cachedDay = Number.NaN;
let cachedDayIso = '';

function dayStartIso(day: number): string {
  if (day !== cachedDay) {
    cachedDayIso = new Date(day * DAY_MS).toISOString();
    cachedDay = day;
  }
  return cachedDayIso;
}

export function ago(days: number): string {
  if (days <= 0) return 'today';
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

export function gradeFor(total: number, grades: ScoringConfig['grades']): Grade {
  if (total >= grades.hot) return 'hot';
  if (total >= grades.warm) return 'warm';
  return 'cold';
}

/** Adds decayed points per kind into the scratch sums (see scoreLead). */
function addEvents(events: readonly EngagementEvent[], compiled: CompiledScoring, today: number): void {
  for (const event of events) {
    const index = KIND_INDEX[event.kind];
    if (index === undefined) continue;
    const rule = compiled.kinds[index];
    if (rule === undefined) continue;
    const day = utcDay(event.at);
    if (Number.isNaN(day)) continue;
    // An event dated on a later day than `now` has not happened yet from this point of view
    // (backtests score as of a past date); a same-day clock skew between CRMs still counts.
    if (day > today) continue;
    const age = today - day;
    if (age > compiled.maxAgeDays) continue;
    const weight = event.weight ?? 1;
    sums[index] = (sums[index] as number) + rule.points * weight * decayFactor(compiled, Math.floor(age / compiled.quantiseDays));
    counts[index] = (counts[index] as number) + weight;
    if (day > (latestDay[index] as number)) latestDay[index] = day;
  }

}

/** Joins reasons with `; ` and stops before the first one that would pass `max` characters. */
export function joinReasons(reasons: readonly string[], max = REASONS_TEXT_MAX): string {
  let text = '';
  for (const reason of reasons) {
    const next = text === '' ? reason : `${text}; ${reason}`;
    if (next.length > max) break;
    text = next;
  }
  return text;
}

// Scratch space reused across calls: evaluation is synchronous, so one set per process suffices
// and the hot path allocates nothing per event.
const sums = new Float64Array(KIND_COUNT);
const counts = new Float64Array(KIND_COUNT);
const latestDay = new Float64Array(KIND_COUNT);

interface Reason {
  points: number;
  order: number;
  text: string;
}

function byWeight(a: Reason, b: Reason): number {
  return Math.abs(b.points) - Math.abs(a.points) || a.order - b.order;
}

export function scoreLead(lead: Lead, config: ScoringConfig, now: Date): ScoreResult {
  const compiled = compiledScoring(config);
  const today = Math.floor(now.getTime() / DAY_MS);
  const reasons: Reason[] = [];

  let fit = 0;
  for (let i = 0; i < compiled.fit.length; i += 1) {
    const rule = compiled.fit[i] as CompiledFitRule;
    if (rule.points !== 0 && rule.test(lead)) {
      fit += rule.points;
      reasons.push({ points: rule.points, order: i, text: rule.text });
    }
  }

  sums.fill(0);
  counts.fill(0);
  latestDay.fill(Number.NEGATIVE_INFINITY);
  // Marketing's events, then the calls and emails sales logged (lead.activity, when configured).
  addEvents(lead.marketing?.engagement ?? [], compiled, today);
  if (lead.activity?.events?.length) addEvents(lead.activity.events, compiled, today);

  let engagement = 0;
  for (let index = 0; index < KIND_COUNT; index += 1) {
    const count = counts[index] as number;
    if (count === 0) continue;
    const rule = compiled.kinds[index] as CompiledKind;
    const raw = sums[index] as number;
    const capped = raw > rule.cap ? rule.cap : raw < -rule.cap ? -rule.cap : raw;
    const points = Math.round(capped);
    if (points === 0) continue;
    engagement += points;
    const shown = Math.round(count);
    const when = ago(today - (latestDay[index] as number));
    const note = capped !== raw ? ', capped' : '';
    const text =
      shown <= 1
        ? `${signed(points)} ${rule.label} (${when}${note})`
        : `${signed(points)} ${rule.label} ×${shown} (latest ${when}${note})`;
    reasons.push({ points, order: rule.order, text });
  }

  const { min, max } = config.bounds;
  const total = Math.min(max, Math.max(min, fit + engagement));
  reasons.sort(byWeight);
  const top = reasons.length > config.topReasons ? reasons.slice(0, config.topReasons) : reasons;
  const texts = top.map((reason) => reason.text);
  return {
    fit,
    engagement,
    total,
    grade: gradeFor(total, config.grades),
    reasons: texts,
    reasonsText: joinReasons(texts),
    scoredAt: dayStartIso(today),
  };
}
