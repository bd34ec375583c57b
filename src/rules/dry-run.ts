/**
 * Testing a rule change before it goes live: `smk rules test` compares the current and a
 * candidate rule set over stored leads, and `smk rules backtest` shows how closed leads converted
 * by score band. Pure summaries; the CLI reads the leads and prints these.
 */
import type { Grade, Lead, Stage } from '../model/lead.js';
import type { RulesConfig } from './config.js';
import { scoreLead } from './scoring.js';
import { nextStage, statusEffect } from './stages.js';
import { parseInstant } from './time.js';

export interface RuleSnapshot {
  total: number;
  grade: Grade;
  stage: Stage;
  reasons: string[];
}

export interface DryRunExample {
  leadId: string;
  before: RuleSnapshot;
  after: RuleSnapshot;
}

export interface ChangeCount<T extends string> {
  from: T;
  to: T;
  count: number;
}

export interface DryRunSummary {
  leads: number;
  /** Leads whose total, grade or stage differs. */
  changed: number;
  gradeChanges: ChangeCount<Grade>[];
  stageChanges: ChangeCount<Stage>[];
  scoreDelta: { mean: number; min: number; max: number; up: number; down: number; unchanged: number };
  /** Up to `examples` leads, grade or stage changes first, then by the size of the score change. */
  examples: DryRunExample[];
}

function snapshot(lead: Lead, config: RulesConfig, now: Date): RuleSnapshot {
  const score = scoreLead(lead, config.scoring, now);
  const stage = nextStage(lead, score, config.stages, now).stage;
  return { total: score.total, grade: score.grade, stage, reasons: score.reasons };
}

function tally<T extends string>(counts: Map<string, ChangeCount<T>>, from: T, to: T): void {
  const key = `${from}>${to}`;
  const entry = counts.get(key);
  if (entry === undefined) counts.set(key, { from, to, count: 1 });
  else entry.count += 1;
}

function sorted<T extends string>(counts: Map<string, ChangeCount<T>>): ChangeCount<T>[] {
  return [...counts.values()].sort(
    (a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
  );
}

export function compareRuleSets(
  leads: Iterable<Lead>,
  currentConfig: RulesConfig,
  candidateConfig: RulesConfig,
  now: Date,
  options: { examples?: number } = {},
): DryRunSummary {
  const gradeChanges = new Map<string, ChangeCount<Grade>>();
  const stageChanges = new Map<string, ChangeCount<Stage>>();
  const candidates: Array<DryRunExample & { weight: number; delta: number }> = [];
  let count = 0;
  let changed = 0;
  let sum = 0;
  let min = 0;
  let max = 0;
  let up = 0;
  let down = 0;

  for (const lead of leads) {
    const before = snapshot(lead, currentConfig, now);
    const after = snapshot(lead, candidateConfig, now);
    const delta = after.total - before.total;
    count += 1;
    sum += delta;
    if (count === 1 || delta < min) min = delta;
    if (count === 1 || delta > max) max = delta;
    if (delta > 0) up += 1;
    if (delta < 0) down += 1;
    const gradeMoved = before.grade !== after.grade;
    const stageMoved = before.stage !== after.stage;
    if (gradeMoved) tally(gradeChanges, before.grade, after.grade);
    if (stageMoved) tally(stageChanges, before.stage, after.stage);
    if (gradeMoved || stageMoved || delta !== 0) {
      changed += 1;
      candidates.push({ leadId: lead.id, before, after, delta, weight: (gradeMoved || stageMoved ? 1 : 0) });
    }
  }

  const limit = options.examples ?? 10;
  candidates.sort(
    (a, b) => b.weight - a.weight || Math.abs(b.delta) - Math.abs(a.delta) || a.leadId.localeCompare(b.leadId),
  );
  return {
    leads: count,
    changed,
    gradeChanges: sorted(gradeChanges),
    stageChanges: sorted(stageChanges),
    scoreDelta: {
      mean: count === 0 ? 0 : Math.round((sum / count) * 100) / 100,
      min,
      max,
      up,
      down,
      unchanged: count - up - down,
    },
    examples: candidates.slice(0, limit).map(({ leadId, before, after }) => ({ leadId, before, after })),
  };
}

export interface BacktestRow {
  /** `0-20`, `20-40`, ...: lower bound included, upper bound excluded except in the last band. */
  band: string;
  leads: number;
  /** Leads with a closed outcome: converted (incl. won and lost) or disqualified. */
  closed: number;
  converted: number;
  won: number;
  lost: number;
  disqualified: number;
  /** converted / closed, rounded to 4 places; null when no lead in the band is closed. */
  conversionRate: number | null;
  /** won / (won + lost); null when no opportunity closed. */
  winRate: number | null;
}

export interface BacktestOptions {
  /** Band edges, ascending; default 0, 20, 40, 60, 80, 100. */
  bands?: readonly number[];
  /** Score each lead as of its last handoff (default, falling back to now) or as of now. */
  scoreAt?: 'handoff' | 'now';
}

type Outcome = 'won' | 'lost' | 'converted' | 'disqualified' | 'open';

function outcomeOf(lead: Lead, config: RulesConfig): Outcome {
  const sales = lead.sales ?? {};
  if (sales.opportunityWon === true) return 'won';
  if (sales.opportunityWon === false) return 'lost';
  const stage = lead.stage?.current;
  if (sales.converted === true || stage === 'sql' || stage === 'opportunity' || stage === 'customer') return 'converted';
  if (stage === 'disqualified' || (sales.disqualifyReason ?? '').trim() !== '') return 'disqualified';
  if (statusEffect(sales.status, config.stages) === 'disqualified') return 'disqualified';
  return 'open';
}

function scoringTime(lead: Lead, now: Date, scoreAt: 'handoff' | 'now'): Date {
  if (scoreAt === 'now') return now;
  const history = lead.stage?.history ?? [];
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i];
    if (entry?.stage === 'mql') {
      const at = parseInstant(entry.at);
      if (!Number.isNaN(at) && at <= now.getTime()) return new Date(at);
    }
  }
  return now;
}

function rate(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

export function backtest(leads: Iterable<Lead>, config: RulesConfig, now: Date, options: BacktestOptions = {}): BacktestRow[] {
  const edges = [...(options.bands ?? [0, 20, 40, 60, 80, 100])].sort((a, b) => a - b);
  if (edges.length < 2) throw new RangeError('backtest needs at least two band edges');
  const rows: BacktestRow[] = [];
  for (let i = 0; i < edges.length - 1; i += 1) {
    rows.push({
      band: `${edges[i]}-${edges[i + 1]}`,
      leads: 0, closed: 0, converted: 0, won: 0, lost: 0, disqualified: 0, conversionRate: null, winRate: null,
    });
  }
  for (const lead of leads) {
    const total = scoreLead(lead, config.scoring, scoringTime(lead, now, options.scoreAt ?? 'handoff')).total;
    let index = rows.length - 1;
    for (let i = 1; i < edges.length - 1; i += 1) {
      if (total < (edges[i] as number)) {
        index = i - 1;
        break;
      }
    }
    const row = rows[index] as BacktestRow;
    row.leads += 1;
    const outcome = outcomeOf(lead, config);
    if (outcome === 'open') continue;
    row.closed += 1;
    if (outcome === 'disqualified') row.disqualified += 1;
    else {
      row.converted += 1;
      if (outcome === 'won') row.won += 1;
      if (outcome === 'lost') row.lost += 1;
    }
  }
  for (const row of rows) {
    row.conversionRate = rate(row.converted, row.closed);
    row.winRate = rate(row.won, row.won + row.lost);
  }
  return rows;
}
