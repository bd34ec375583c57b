/**
 * `smk rules backtest`: does the score predict anything? Each lead is scored as of its last
 * handoff (or now) and put in a score band; per band, how many closed leads converted (reached SQL
 * or an opportunity, won or lost) and how many opportunities were won against lost: the real
 * outcomes the CRMs report. With few outcomes, rates are noise, so `judgeBacktest` says when there
 * are too few to judge, with the number and the threshold.
 */
import type { Lead } from '../model/lead.js';
import type { RulesConfig } from './config.js';
import { scoreLead } from './scoring.js';
import { statusEffect } from './stages.js';
import { parseInstant } from './time.js';
import { foldAll } from './fold.js';
import type { Fold } from './fold.js';

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
  const stage = lead.stage?.current;
  // A customer was won, even when its newest opportunity is open or lost.
  if (sales.opportunityWon === true || stage === 'customer') return 'won';
  if (sales.opportunityWon === false) return 'lost';
  // An opportunity, open or not, means sales took the lead on: converted.
  const opportunity = Boolean(sales.opportunityId) || typeof sales.opportunityWon === 'boolean';
  if (sales.converted === true || opportunity || stage === 'sql' || stage === 'opportunity') return 'converted';
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
  return foldAll(backtestFold(config, now, options), leads);
}

/** backtest as a fold, for leads given a page at a time. */
export function backtestFold(config: RulesConfig, now: Date, options: BacktestOptions = {}): Fold<Lead, BacktestRow[]> {
  const edges = [...(options.bands ?? [0, 20, 40, 60, 80, 100])].sort((a, b) => a - b);
  if (edges.length < 2) throw new RangeError('backtest needs at least two band edges');
  const rows: BacktestRow[] = [];
  for (let i = 0; i < edges.length - 1; i += 1) {
    rows.push({
      band: `${edges[i]}-${edges[i + 1]}`,
      leads: 0, closed: 0, converted: 0, won: 0, lost: 0, disqualified: 0, conversionRate: null, winRate: null,
    });
  }
  return {
    add(leads) {
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
    },
    result() {
      return rows.map((row) => ({ ...row, conversionRate: rate(row.converted, row.closed), winRate: rate(row.won, row.won + row.lost) }));
    },
  };
}

/** Below these, a rate is noise: 30 won or lost opportunities overall, 10 in a band. */
export const MIN_OUTCOMES = 30;
export const MIN_BAND_OUTCOMES = 10;

export interface BacktestVerdict {
  /** Won plus lost opportunities over every band. */
  outcomes: number;
  /** Whether there are enough outcomes overall to judge the score. */
  enough: boolean;
  /** What to be wary of, each with the number and the threshold. */
  warnings: string[];
}

const opportunities = (n: number) => `${n} won or lost ${n === 1 ? 'opportunity' : 'opportunities'}`;

export function judgeBacktest(rows: readonly BacktestRow[], thresholds: { minOutcomes?: number; minPerBand?: number } = {}): BacktestVerdict {
  const minOutcomes = thresholds.minOutcomes ?? MIN_OUTCOMES;
  const minPerBand = thresholds.minPerBand ?? MIN_BAND_OUTCOMES;
  const outcomes = rows.reduce((sum, row) => sum + row.won + row.lost, 0);
  if (outcomes < minOutcomes) {
    return { outcomes, enough: false, warnings: [`Too few outcomes to judge the score: ${opportunities(outcomes)}; at least ${minOutcomes} are needed.`] };
  }
  const warnings = rows
    .filter((row) => row.won + row.lost > 0 && row.won + row.lost < minPerBand)
    .map((row) => `Band ${row.band} has only ${opportunities(row.won + row.lost)} (at least ${minPerBand} to judge a band).`);
  return { outcomes, enough: true, warnings };
}
