/**
 * The outcomes a likelihood model learns from, each with the moment it started: the lead is
 * looked at as it was just before that moment, so that nothing the outcome caused (or that came
 * after it) teaches the model.
 *
 * - target `opportunity`: did the lead become an opportunity? Yes: it has one (won, lost or open),
 *   started when the opportunity was created (`sales.opportunityCreatedAt`, else the stage
 *   history's `opportunity` entry). No: it was disqualified or recycled without one, started when
 *   it entered that stage (the newest such history entry).
 * - target `won`: was the opportunity won? Yes: won (or the lead is a customer); no: lost. Both
 *   start when the opportunity was created; an open opportunity is no outcome yet.
 *
 * An outcome without a date to start from is left out (and counted), never guessed.
 */
import type { Lead, Stage } from '../../model/lead.js';
import { parseInstant } from '../time.js';

export const LIKELIHOOD_TARGETS = ['opportunity', 'won'] as const;
export type LikelihoodTarget = (typeof LIKELIHOOD_TARGETS)[number];

export interface Outcome {
  leadId: string;
  /** 1: converted (or won); 0: not. */
  label: 0 | 1;
  /** Epoch ms when the outcome started: features are read as of just before it. */
  at: number;
}

export type OutcomeReading = { kind: 'outcome'; outcome: Outcome } | { kind: 'open' } | { kind: 'undated' };

function historyAt(lead: Lead, stages: readonly Stage[]): number {
  const history = lead.stage?.history ?? [];
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i];
    if (entry && stages.includes(entry.stage)) {
      const at = parseInstant(entry.at);
      if (!Number.isNaN(at)) return at;
    }
  }
  return Number.NaN;
}

function opportunityStart(lead: Lead): number {
  const created = lead.sales?.opportunityCreatedAt;
  const at = created ? parseInstant(created) : Number.NaN;
  return Number.isNaN(at) ? historyAt(lead, ['opportunity', 'customer']) : at;
}

const dated = (leadId: string, label: 0 | 1, at: number): OutcomeReading =>
  Number.isNaN(at) ? { kind: 'undated' } : { kind: 'outcome', outcome: { leadId, label, at } };

/** The lead's outcome for a target, open when it has none yet. */
export function readOutcome(lead: Lead, target: LikelihoodTarget): OutcomeReading {
  const sales = lead.sales ?? {};
  const stage = lead.stage?.current;
  const won = sales.opportunityWon === true || stage === 'customer';
  const hasOpportunity = Boolean(sales.opportunityId) || typeof sales.opportunityWon === 'boolean' || stage === 'opportunity' || stage === 'customer';
  if (target === 'won') {
    if (won) return dated(lead.id, 1, opportunityStart(lead));
    if (sales.opportunityWon === false) return dated(lead.id, 0, opportunityStart(lead));
    return { kind: 'open' };
  }
  if (hasOpportunity) return dated(lead.id, 1, opportunityStart(lead));
  if (stage === 'disqualified' || stage === 'recycled') return dated(lead.id, 0, historyAt(lead, [stage]));
  return { kind: 'open' };
}
