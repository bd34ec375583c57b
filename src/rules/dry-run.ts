/**
 * Testing a rule change before it goes live: `smk rules test` compares the current and a
 * candidate rule set over stored leads (`smk rules backtest` is in backtest.ts). Pure summaries;
 * the CLI reads the leads and prints these.
 */
import type { Grade, Lead, Stage } from '../model/lead.js';
import type { RulesConfig } from './config.js';
import { scoreLead } from './scoring.js';
import { nextStage } from './stages.js';
import { foldAll } from './fold.js';
import type { Fold } from './fold.js';

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
  return foldAll(ruleSetComparison(currentConfig, candidateConfig, now, options), leads);
}

type Example = DryRunExample & { weight: number; delta: number };

const byWeight = (a: Example, b: Example) =>
  b.weight - a.weight || Math.abs(b.delta) - Math.abs(a.delta) || a.leadId.localeCompare(b.leadId);

/**
 * compareRuleSets as a fold, for leads given a page at a time. Of the changed leads only the best
 * examples so far are kept (the order is total, so the examples are those of one sort of them all).
 */
export function ruleSetComparison(
  currentConfig: RulesConfig,
  candidateConfig: RulesConfig,
  now: Date,
  options: { examples?: number } = {},
): Fold<Lead, DryRunSummary> {
  const limit = options.examples ?? 10;
  const gradeChanges = new Map<string, ChangeCount<Grade>>();
  const stageChanges = new Map<string, ChangeCount<Stage>>();
  let examples: Example[] = [];
  let count = 0;
  let changed = 0;
  let sum = 0;
  let min = 0;
  let max = 0;
  let up = 0;
  let down = 0;

  return {
    add(leads) {
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
          examples.push({ leadId: lead.id, before, after, delta, weight: (gradeMoved || stageMoved ? 1 : 0) });
        }
      }
      examples = examples.sort(byWeight).slice(0, limit);
    },
    result() {
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
        examples: examples.map(({ leadId, before, after }) => ({ leadId, before, after })),
      };
    },
  };
}
