/**
 * Conversion by likelihood band, for the dashboard: per band of the published model's likelihood,
 * how many leads sit there now, and of the leads with a closed outcome (read as of its start, as
 * the model learnt), how many converted. Closed outcomes include those the model learnt from: the
 * held-out figures are the model's evaluation.
 */
import type { Lead } from '../../model/lead.js';
import { likelihoodOf } from './explain.js';
import type { LikelihoodModel } from './model.js';
import { readOutcome } from './outcomes.js';
import { foldAll } from '../fold.js';
import type { Fold } from '../fold.js';

export interface LikelihoodBand {
  /** `0-20`, ..., `80-100` (the upper bound included in the last band only). */
  band: string;
  /** Leads whose likelihood now falls in the band. */
  leads: number;
  /** Leads with a closed outcome whose likelihood as of its start fell in the band. */
  outcomes: number;
  converted: number;
  /** converted / outcomes, 4 places; null without outcomes. */
  rate: number | null;
}

const EDGES = [0, 20, 40, 60, 80, 100];

function bandIndex(likelihood: number): number {
  for (let i = 1; i < EDGES.length - 1; i += 1) if (likelihood < (EDGES[i] as number)) return i - 1;
  return EDGES.length - 2;
}

export function likelihoodBands(leads: Iterable<Lead>, model: LikelihoodModel, now: Date): LikelihoodBand[] {
  return foldAll(likelihoodBandsFold(model, now), leads);
}

/** likelihoodBands as a fold, for leads given a page at a time. */
export function likelihoodBandsFold(model: LikelihoodModel, now: Date): Fold<Lead, LikelihoodBand[]> {
  const rows: LikelihoodBand[] = EDGES.slice(0, -1).map((from, i) => ({ band: `${from}-${EDGES[i + 1]}`, leads: 0, outcomes: 0, converted: 0, rate: null }));
  return {
    add(leads) {
      for (const lead of leads) {
        (rows[bandIndex(likelihoodOf(lead, model, now).likelihood)] as LikelihoodBand).leads += 1;
        const reading = readOutcome(lead, model.target);
        if (reading.kind !== 'outcome') continue;
        // As of just before the start: likelihoodOf counts what happened up to its `now`, inclusive.
        const row = rows[bandIndex(likelihoodOf(lead, model, new Date(reading.outcome.at - 1)).likelihood)] as LikelihoodBand;
        row.outcomes += 1;
        row.converted += reading.outcome.label;
      }
    },
    result() {
      return rows.map((row) => ({ ...row, rate: row.outcomes === 0 ? null : Math.round((row.converted / row.outcomes) * 10_000) / 10_000 }));
    },
  };
}
