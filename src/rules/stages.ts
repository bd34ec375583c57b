/**
 * The funnel: subscriber, lead, MQL, SAL, SQL, opportunity, customer, plus the side states
 * recycled and disqualified. Marketing moves a lead to MQL by score; sales facts from Salesforce
 * (decision, lead status, conversion, opportunity) move it on, back, or out; a lead that makes no
 * progress is recycled. Every transition is kept with its time and cause.
 *
 * Sales facts are level values (a decision stays "rejected" in Salesforce long after it was made),
 * so each fact acts once: its cause text is recorded in the history, and a fact whose cause is
 * already there is spent. It acts again only when it changed since the `previous` snapshot, which
 * is how a rep's second rejection after a re-handoff is told from the stale first one. Without
 * that, a recycled lead with a stale "rejected" decision would bounce between MQL and recycled.
 */
import type { Lead, Stage, StageState, StageTransition } from '../model/lead.js';
import type { StagesConfig, StatusEffect } from './config.js';
import { DAY_MS, parseInstant } from './time.js';

export { HUBSPOT_LIFECYCLE_ORDER, lifecycleFor, planLifecycleWrite } from './lifecycle.js';
export type { HubspotLifecycle, LifecycleWrite } from './lifecycle.js';

export interface StageScore {
  fit: number;
  total: number;
}

export interface StageResult {
  stage: Stage;
  /** The last transition of this evaluation, if any. */
  transition?: StageTransition;
  /** All transitions of this evaluation, oldest first (usually zero or one). */
  transitions: StageTransition[];
  /** The stage state to store: current stage and history (the most recent entries). */
  state: StageState;
  /** A sales fact moved the lead in this evaluation (it also counts as a touch for the SLA). */
  salesActed: boolean;
}

export const HISTORY_LIMIT = 100;

/** Funnel order; the side states have no rank. */
const RANK: Record<Stage, number> = {
  subscriber: 0,
  lead: 1,
  mql: 2,
  sal: 3,
  sql: 4,
  opportunity: 5,
  customer: 6,
  recycled: -1,
  disqualified: -1,
};

const LABEL: Record<Stage, string> = {
  subscriber: 'subscriber',
  lead: 'lead',
  mql: 'MQL',
  sal: 'SAL',
  sql: 'SQL',
  opportunity: 'opportunity',
  customer: 'customer',
  recycled: 'recycled',
  disqualified: 'disqualified',
};

export function stageLabel(stage: Stage): string {
  return LABEL[stage];
}

function isSide(stage: Stage): boolean {
  return stage === 'recycled' || stage === 'disqualified';
}

/** Stages from which a move to `target` is a step forward (or out of a side state). */
function appliesFrom(target: Stage, current: Stage, lost: boolean): boolean {
  if (!isSide(target)) return isSide(current) || RANK[target] > RANK[current];
  if (current === 'customer' || current === 'disqualified') return false;
  if (lost) return true;
  if (target === 'disqualified') return current === 'recycled' || RANK[current] <= RANK.sal;
  return !isSide(current) && RANK[current] <= RANK.sal;
}

interface CompiledStages {
  status: ReadonlyMap<string, StatusEffect>;
  rejectOutcome: ReadonlyMap<string, 'recycled' | 'disqualified'>;
  cooldownDays: ReadonlyMap<string, number>;
}

const compiledByConfig = new WeakMap<StagesConfig, CompiledStages>();

function compiledStages(config: StagesConfig): CompiledStages {
  let compiled = compiledByConfig.get(config);
  if (compiled === undefined) {
    const rejectOutcome = new Map<string, 'recycled' | 'disqualified'>();
    const cooldownDays = new Map<string, number>();
    for (const reason of config.rejectReasons) {
      rejectOutcome.set(reason.code.toLowerCase(), reason.then);
      if (reason.label !== undefined) rejectOutcome.set(reason.label.toLowerCase(), reason.then);
      const days = reason.cooldownDays ?? 0;
      cooldownDays.set(reason.code.toLowerCase(), days);
      if (reason.label !== undefined) cooldownDays.set(reason.label.toLowerCase(), days);
    }
    compiled = {
      status: new Map(Object.entries(config.salesforceStatus).map(([status, effect]) => [status.trim().toLowerCase(), effect])),
      rejectOutcome,
      cooldownDays,
    };
    compiledByConfig.set(config, compiled);
  }
  return compiled;
}

/** The configured effect of a Salesforce lead status, if any. */
export function statusEffect(status: string | null | undefined, config: StagesConfig): StatusEffect | undefined {
  if (typeof status !== 'string') return undefined;
  return compiledStages(config).status.get(status.trim().toLowerCase());
}

/** How long a lead rejected (and recycled) for its current reason stays out of the funnel. */
function rejectCooldownMs(lead: Lead, config: StagesConfig): number {
  if (lead.sales?.decision !== 'rejected') return 0;
  const reason = typeof lead.sales.rejectReason === 'string' ? lead.sales.rejectReason.trim().toLowerCase() : '';
  return (compiledStages(config).cooldownDays.get(reason) ?? 0) * 86_400_000;
}

/** Where a rejection with this reason sends the lead, and whether the reason is a known one. */
export function rejectOutcome(reason: string | null | undefined, config: StagesConfig): { then: 'recycled' | 'disqualified'; known: boolean } {
  const key = typeof reason === 'string' ? reason.trim().toLowerCase() : '';
  const then = compiledStages(config).rejectOutcome.get(key);
  return then === undefined ? { then: config.unknownRejectReason, known: false } : { then, known: true };
}

interface Fact {
  target: Stage;
  cause: string;
  priority: number;
  /** The fact changed since the previous snapshot. */
  changed: boolean;
  /** A lost opportunity may recycle from any stage before customer. */
  lost: boolean;
}

const STATUS_PRIORITY: Record<Exclude<StatusEffect, 'touch'>, number> = {
  customer: 0,
  opportunity: 2,
  sql: 3,
  disqualified: 4,
  recycled: 5,
  sal: 6,
};

/** Cause texts are joined with `; ` in the history, so a value from a CRM must not contain one. */
function clean(text: string): string {
  return text.replace(/;/g, ',').replace(/\s+/g, ' ').trim().slice(0, 120);
}

function nonEmpty(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

type SalesKey = keyof NonNullable<Lead['sales']>;

/** Whether a sales field changed since the previous snapshot (false without one). */
function differs(lead: Lead, previous: Lead | null | undefined, key: SalesKey): boolean {
  if (previous == null) return false;
  return (previous.sales?.[key] ?? null) !== (lead.sales?.[key] ?? null);
}

function salesFacts(lead: Lead, config: StagesConfig, previous: Lead | null | undefined): Fact[] {
  const sales = lead.sales ?? {};
  const facts: Fact[] = [];
  // Written without per-call closures: this runs on every evaluation.
  if (sales.opportunityWon === true) {
    facts.push({ target: 'customer', cause: 'opportunity won', priority: 0, changed: differs(lead, previous, 'opportunityWon'), lost: false });
  }
  const lost = sales.opportunityWon === false;
  if (lost && config.opportunityLost === 'recycled') {
    facts.push({ target: 'recycled', cause: 'opportunity lost', priority: 1, changed: differs(lead, previous, 'opportunityWon'), lost: true });
  }
  if (nonEmpty(sales.opportunityStage) && (!lost || config.opportunityLost === 'opportunity')) {
    facts.push({
      target: 'opportunity',
      cause: `opportunity "${clean(sales.opportunityStage)}"`,
      priority: 2,
      changed: differs(lead, previous, 'opportunityStage') || differs(lead, previous, 'opportunityWon'),
      lost: false,
    });
  }
  if (sales.converted === true) {
    facts.push({ target: 'sql', cause: 'converted in Salesforce', priority: 3, changed: differs(lead, previous, 'converted'), lost: false });
  }
  const effect = statusEffect(sales.status, config);
  if (effect !== undefined && effect !== 'touch' && nonEmpty(sales.status)) {
    facts.push({
      target: effect,
      cause: `Salesforce status "${clean(sales.status)}"`,
      priority: STATUS_PRIORITY[effect],
      changed: differs(lead, previous, 'status'),
      lost: false,
    });
  }
  if (nonEmpty(sales.disqualifyReason)) {
    facts.push({
      target: 'disqualified',
      cause: `disqualified: ${clean(sales.disqualifyReason)}`,
      priority: 4,
      changed: differs(lead, previous, 'disqualifyReason'),
      lost: false,
    });
  }
  if (sales.decision === 'rejected') {
    const reason = nonEmpty(sales.rejectReason) ? clean(sales.rejectReason) : 'no reason given';
    const outcome = rejectOutcome(sales.rejectReason, config).then;
    facts.push({
      target: outcome,
      cause: `rejected by sales: ${reason}`,
      priority: outcome === 'disqualified' ? 4 : 5,
      changed: differs(lead, previous, 'decision') || differs(lead, previous, 'rejectReason'),
      lost: false,
    });
  }
  if (sales.decision === 'accepted') {
    facts.push({ target: 'sal', cause: 'accepted by sales', priority: 6, changed: differs(lead, previous, 'decision'), lost: false });
  }
  if (facts.length > 1) facts.sort(byPriority);
  return facts;
}

function byPriority(a: Fact, b: Fact): number {
  return a.priority - b.priority;
}

function causeHas(cause: string, part: string): boolean {
  return cause === part || (cause.includes(part) && cause.split('; ').includes(part));
}

/**
 * A fact is fresh when no history entry names it yet, or when it changed since the previous
 * snapshot and every entry naming it is older than that snapshot (and than `now`, so that a rerun
 * with the same inputs finds the entry it wrote and stays idempotent).
 */
function isFresh(fact: Fact, history: readonly StageTransition[], edgeBefore: number): boolean {
  let consumedAt = Number.NEGATIVE_INFINITY;
  for (const entry of history) {
    if (causeHas(entry.cause, fact.cause)) consumedAt = Math.max(consumedAt, parseInstant(entry.at));
  }
  if (consumedAt === Number.NEGATIVE_INFINITY) return true;
  return fact.changed && consumedAt < edgeBefore;
}

function lastEntry(history: readonly StageTransition[], stage?: Stage): StageTransition | undefined {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i] as StageTransition;
    if (stage === undefined || entry.stage === stage) return entry;
  }
  return undefined;
}

function engagedAfter(lead: Lead, sinceMs: number, nowMs: number): boolean {
  for (const event of lead.marketing?.engagement ?? []) {
    const at = parseInstant(event.at);
    if (at > sinceMs && at <= nowMs) return true;
  }
  return false;
}

function initialStage(lead: Lead): Stage {
  const lifecycle = lead.marketing?.lifecycleStage?.trim().toLowerCase();
  return lifecycle === 'subscriber' && lead.links.salesforce === undefined ? 'subscriber' : 'lead';
}

interface Step {
  transition: StageTransition;
  sales: boolean;
  causes: string[];
}

function step(
  lead: Lead,
  score: StageScore,
  config: StagesConfig,
  current: Stage,
  history: readonly StageTransition[],
  facts: readonly Fact[],
  nowMs: number,
  edgeBefore: number,
  spent: ReadonlySet<string>,
  at: string,
): Step | null {
  const fresh = facts.filter((fact) => !spent.has(fact.cause) && isFresh(fact, history, edgeBefore));
  const chosen = fresh.find((fact) => fact.target === current || appliesFrom(fact.target, current, fact.lost));
  if (chosen !== undefined) {
    // Every fresh fact is recorded with the move, the deciding one first: they were all known
    // when sales moved the lead, so none may act again later on its own (a conversion flag
    // left behind by a lost deal must not lift the recycled lead back to SQL).
    const causes = [chosen.cause];
    for (const fact of fresh) if (fact !== chosen) causes.push(fact.cause);
    return { transition: { stage: chosen.target, at, cause: causes.join('; ') }, sales: true, causes };
  }

  if ((current === 'mql' || current === 'sal') && config.recycleAfterDays !== null) {
    const last = lastEntry(history);
    const due = last === undefined ? Number.NaN : parseInstant(last.at) + config.recycleAfterDays * DAY_MS;
    if (due <= nowMs) {
      // Dated when it became due, not when it was noticed: the history does not depend on timing.
      const cause = `no progress for ${config.recycleAfterDays} days in ${LABEL[current]}`;
      return { transition: { stage: 'recycled', at: new Date(due).toISOString(), cause }, sales: false, causes: [] };
    }
  }

  const { minTotal, minFit } = config.mql;
  if (score.total >= minTotal && score.fit >= minFit) {
    const why = `score ${score.total} ≥ ${minTotal}, fit ${score.fit} ≥ ${minFit}`;
    if (current === 'subscriber' || current === 'lead') {
      return { transition: { stage: 'mql', at, cause: why }, sales: false, causes: [] };
    }
    const recycledAt = current === 'recycled' ? lastEntry(history, 'recycled') : undefined;
    // A rejection whose reason has a cooldown ("bad timing": not now) keeps the lead recycled for it.
    const coolsUntil = recycledAt !== undefined ? parseInstant(recycledAt.at) + rejectCooldownMs(lead, config) : 0;
    if (recycledAt !== undefined && nowMs >= coolsUntil && engagedAfter(lead, Math.max(parseInstant(recycledAt.at), coolsUntil - 1), nowMs)) {
      return { transition: { stage: 'mql', at, cause: `re-engaged: ${why}` }, sales: false, causes: [] };
    }
  }

  if (current === 'subscriber') {
    if (lead.links.salesforce !== undefined) {
      return { transition: { stage: 'lead', at, cause: 'Salesforce record' }, sales: false, causes: [] };
    }
    if (initialStage(lead) === 'lead') {
      return { transition: { stage: 'lead', at, cause: 'HubSpot lifecycle stage past subscriber' }, sales: false, causes: [] };
    }
  }
  return null;
}

/**
 * The next stage of a lead. `previous` is the stored snapshot before the change being evaluated;
 * it lets a sales fact that changed act again (see the module comment) and may be omitted.
 */
export function nextStage(
  lead: Lead,
  score: StageScore,
  config: StagesConfig,
  now: Date,
  previous?: Lead | null,
): StageResult {
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const initial = initialStage(lead);
  let current: Stage = lead.stage?.current ?? initial;
  let history: readonly StageTransition[] = lead.stage?.history ?? [];
  const facts = salesFacts(lead, config, previous);
  const edgeSince = previous == null ? Number.NEGATIVE_INFINITY : parseInstant(previous.updatedAt);
  const edgeBefore = Math.min(Number.isNaN(edgeSince) ? Number.NEGATIVE_INFINITY : edgeSince, nowMs);
  const spent = new Set<string>();
  const transitions: StageTransition[] = [];
  let salesActed = false;

  // A few steps reach a fixed point (for example recycled by the timer, then re-engaged since):
  // evaluating the result again must find nothing more to do.
  for (let i = 0; i < 5; i += 1) {
    const next = step(lead, score, config, current, history, facts, nowMs, edgeBefore, spent, nowIso);
    if (next === null) break;
    for (const cause of next.causes) spent.add(cause);
    transitions.push(next.transition);
    history = [...history, next.transition];
    current = next.transition.stage;
    salesActed ||= next.sales;
  }
  if (lead.stage === undefined && transitions.length === 0) {
    const first: StageTransition = { stage: initial, at: nowIso, cause: 'first seen' };
    transitions.push(first);
    history = [first];
  }

  if (transitions.length === 0 && lead.stage !== undefined) {
    return { stage: current, transitions, state: lead.stage, salesActed };
  }
  const last = transitions[transitions.length - 1];
  return {
    stage: current,
    ...(last === undefined ? {} : { transition: last }),
    transitions,
    state: { current, history: history.length > HISTORY_LIMIT ? history.slice(-HISTORY_LIMIT) : [...history] },
    salesActed,
  };
}
