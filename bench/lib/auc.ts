/**
 * The benchmark's "measured against the truth" (DESIGN.md `auc`): on the people the seeded world
 * could give an opportunity, the AUC of the learned likelihood, of the rule score and of the
 * world's own ground-truth chance, all on the same held-out people.
 *
 * The seeded world has no timeline for outcomes: it draws each person's opportunity from their
 * fit and engagement as they are at the world's `now`, and a person it gave none has no date
 * they were "closed" on. So here every outcome is read as of the moment of the measurement (the
 * leads as synced), not as of the opportunity's creation, and the held-out half is the people
 * whose lead ids sort last (the split the learner makes of outcomes of one moment). The product's
 * training on real histories reads each lead as of its outcome's start (src/rules/learn).
 */
import type { Lead } from '../../src/model/lead.js';
import { normaliseEmail } from '../../src/model/lead.js';
import type { RulesConfig } from '../../src/rules/config.js';
import { auc } from '../../src/rules/learn/metrics.js';
import { NotEnoughOutcomesError, splitByTime, trainLikelihoodModel } from '../../src/rules/learn/model.js';
import type { Outcome } from '../../src/rules/learn/outcomes.js';

export interface TruthRow {
  email: string;
  /** The world's chance that an opportunity opens for the person. */
  open: number;
  /** Whether the world drew one. */
  opportunity: boolean;
}

export interface AucFigures {
  model: number | null;
  rules: number | null;
  truth: number | null;
  /** Held-out people the three are measured on, and how many got an opportunity. */
  people: number;
  positives: number;
  /** People the model learnt from. */
  trainedOn: number;
  /** Why there are no figures (too few people with an outcome of each kind). */
  note?: string;
}

/** Share of the people held out: half, as the population is small (a few percent of the world). */
export const AUC_HOLDOUT = 0.5;

export function measureAuc(leads: readonly Lead[], truth: readonly TruthRow[], config: RulesConfig, now: Date): AucFigures {
  const byEmail = new Map(truth.map((t) => [normaliseEmail(t.email), t]));
  const outcomes = new Map<string, Outcome>();
  const chance = new Map<string, number>();
  for (const lead of leads) {
    const t = byEmail.get(normaliseEmail(lead.email));
    if (!t) continue;
    // The label is what the connector read from the CRMs: the person's lead carries an opportunity.
    const converted = Boolean(lead.sales?.opportunityId) || typeof lead.sales?.opportunityWon === 'boolean';
    outcomes.set(lead.id, { leadId: lead.id, label: converted ? 1 : 0, at: now.getTime() });
    chance.set(lead.id, t.open);
  }
  const { test } = splitByTime([...outcomes.values()], AUC_HOLDOUT);
  const base = { people: test.length, positives: test.filter((o) => o.label === 1).length, trainedOn: outcomes.size - test.length };
  const truthAuc = auc(test.map((o) => chance.get(o.leadId) as number), test.map((o) => o.label));
  try {
    const model = trainLikelihoodModel(leads, config, { target: 'opportunity', holdout: AUC_HOLDOUT, now, outcomes });
    const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
    return { model: model.evaluation.model.auc, rules: model.evaluation.rules.auc, truth: round(truthAuc), ...base };
  } catch (err) {
    if (!(err instanceof NotEnoughOutcomesError)) throw err;
    return { model: null, rules: null, truth: truthAuc === null ? null : Math.round(truthAuc * 10_000) / 10_000, ...base, note: err.message };
  }
}
