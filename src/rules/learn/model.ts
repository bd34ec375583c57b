/**
 * A likelihood model: trained on the org's own outcomes (older ones), measured on the newer ones
 * against the rule score on the same leads, and kept with those figures. `judgeLikelihoodModel`
 * says whether it may be published, and why not.
 */
import { z } from 'zod';
import { isoDateTime } from '../../model/lead.js';
import type { Lead } from '../../model/lead.js';
import type { RulesConfig } from '../config.js';
import { scoreLead } from '../scoring.js';
import { featureSchema, featuresFor, leadAsOf, readFeatures } from './features.js';
import type { Feature } from './features.js';
import { fitLogistic, predictLogistic } from './logistic.js';
import type { LogisticFit } from './logistic.js';
import { foldAll } from '../fold.js';
import type { Fold } from '../fold.js';
import { auc, calibration } from './metrics.js';
import { LIKELIHOOD_TARGETS, readOutcome } from './outcomes.js';
import type { LikelihoodTarget, Outcome, OutcomeReading } from './outcomes.js';

const calibrationBinSchema = z.object({ decile: z.number().int(), count: z.number().int(), predicted: z.number(), actual: z.number() });
const scoreFiguresSchema = z.object({ auc: z.number().nullable(), calibration: z.array(calibrationBinSchema) });
const partSchema = z.object({ outcomes: z.number().int(), positives: z.number().int(), from: isoDateTime.nullable(), to: isoDateTime.nullable() });

export const evaluationSchema = z.object({
  /** Outcomes the model learnt from (the older ones) and those it was tested on (the newer). */
  train: partSchema,
  test: partSchema,
  /** Outcomes left out: no date to read the lead as of. */
  undated: z.number().int(),
  model: scoreFiguresSchema,
  /** The rule score on the same held-out leads, as of the same moments (calibrated on the training part). */
  rules: scoreFiguresSchema,
});
export type LikelihoodEvaluation = z.infer<typeof evaluationSchema>;

export const likelihoodModelSchema = z.object({
  version: z.number().int().positive(),
  target: z.enum(LIKELIHOOD_TARGETS),
  trainedAt: isoDateTime,
  features: z.array(featureSchema),
  intercept: z.number(),
  weights: z.array(z.number()),
  freemailDomains: z.array(z.string()),
  topReasons: z.number().int().positive(),
  evaluation: evaluationSchema,
});
export type LikelihoodModel = z.infer<typeof likelihoodModelSchema>;

export interface TrainOptions {
  target: LikelihoodTarget;
  /** Share of the newest outcomes held out for the test (default 0.25). */
  holdout?: number;
  l2?: number;
  now: Date;
  /**
   * The outcomes to learn from, when the caller knows them otherwise than from the leads' own
   * records (the benchmark's seeded world); default: `readOutcome` of each lead.
   */
  outcomes?: ReadonlyMap<string, Outcome>;
}

interface Row {
  leadId: string;
  label: 0 | 1;
  at: number;
  x: number[];
  rule: number;
}

export class NotEnoughOutcomesError extends Error {}

/**
 * The time split every evaluation uses: outcomes by their start (then lead id, so that outcomes
 * of one moment split the same way every time), the newest `holdout` share for the test.
 */
export function splitByTime<T extends { at: number; leadId: string }>(outcomes: readonly T[], holdout: number): { train: T[]; test: T[] } {
  const sorted = [...outcomes].sort((a, b) => a.at - b.at || (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
  const cut = Math.round(sorted.length * (1 - holdout));
  return { train: sorted.slice(0, cut), test: sorted.slice(cut) };
}

/** Company size's center is its mean over the training part; unknown sizes (NaN so far) take it. */
function centerEmployees(features: Feature[], train: readonly Row[], rows: Row[]): void {
  const j = features.findIndex((f) => f.kind === 'employees');
  if (j < 0) return;
  const known = train.map((r) => r.x[j] as number).filter((v) => !Number.isNaN(v));
  const center = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 0;
  features[j] = { ...(features[j] as Extract<Feature, { kind: 'employees' }>), center };
  for (const row of rows) if (Number.isNaN(row.x[j] as number)) row.x[j] = center;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function part(rows: readonly Row[]): z.infer<typeof partSchema> {
  return { outcomes: rows.length, positives: rows.filter((r) => r.label === 1).length, from: iso(rows[0]?.at), to: iso(rows.at(-1)?.at) };
}

/**
 * Trains on the older outcomes and tests on the newer (`holdout`): the split is by the outcome's
 * start, so the test asks what deployment asks, whether the past predicts what came after.
 * Throws NotEnoughOutcomesError when the training part lacks either kind of outcome.
 */
export function trainLikelihoodModel(leads: Iterable<Lead>, config: RulesConfig, options: TrainOptions): Omit<LikelihoodModel, 'version'> {
  return foldAll(likelihoodTraining(config, options), leads);
}

/**
 * trainLikelihoodModel as a fold, for leads given a page at a time: each lead with an outcome
 * leaves one row (its features, label and rule score), and the fit runs on the rows at the end.
 */
export function likelihoodTraining(config: RulesConfig, options: TrainOptions): Fold<Lead, Omit<LikelihoodModel, 'version'>> {
  const features = featuresFor(config.scoring);
  const freemail = new Set(config.scoring.freemailDomains);
  const rows: Row[] = [];
  let undated = 0;
  return {
    add(leads) {
      for (const lead of leads) {
        const given = options.outcomes?.get(lead.id);
        const reading: OutcomeReading = options.outcomes ? (given ? { kind: 'outcome', outcome: given } : { kind: 'open' }) : readOutcome(lead, options.target);
        if (reading.kind === 'undated') undated += 1;
        if (reading.kind !== 'outcome') continue;
        const { at, label } = reading.outcome;
        const x = readFeatures(lead, features, at, freemail).map((f) => f.value);
        // The rule score as of the same moment: scoreLead counts no event after its `now`, and the lead
        // carries only the events before the start.
        const rule = scoreLead(leadAsOf(lead, at), config.scoring, new Date(at)).total;
        rows.push({ leadId: lead.id, label, at, x, rule });
      }
    },
    result() {
      const { train, test } = splitByTime(rows, options.holdout ?? 0.25);
      centerEmployees(features, train, rows);
      const trainPositives = train.filter((r) => r.label === 1).length;
      if (trainPositives === 0 || trainPositives === train.length) {
        throw new NotEnoughOutcomesError(
          `Nothing to learn from: the ${train.length} older outcomes (of ${rows.length}) hold ${trainPositives} ${options.target === 'won' ? 'won' : 'converted'} and ${train.length - trainPositives} not; a model needs both.`,
        );
      }
      const fit = fitLogistic(train.map((r) => r.x), train.map((r) => r.label), { l2: options.l2 ?? 1 });
      // The rule score as a probability: one-feature logistic fit on the training part (Platt
      // scaling), so that its calibration compares with the model's; its ranking (AUC) is the score's own.
      const platt: LogisticFit = fitLogistic(train.map((r) => [r.rule]), train.map((r) => r.label), { l2: 0 });
      const labels = test.map((r) => r.label);
      const modelProbabilities = test.map((r) => predictLogistic(fit, r.x));
      const ruleProbabilities = test.map((r) => predictLogistic(platt, [r.rule]));
      const round4 = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
      return {
        target: options.target,
        trainedAt: options.now.toISOString(),
        features,
        intercept: fit.intercept,
        weights: fit.weights,
        freemailDomains: [...config.scoring.freemailDomains],
        topReasons: config.scoring.topReasons,
        evaluation: {
          train: part(train),
          test: part(test),
          undated,
          model: { auc: round4(auc(modelProbabilities, labels)), calibration: calibration(modelProbabilities, labels) },
          rules: { auc: round4(auc(test.map((r) => r.rule), labels)), calibration: calibration(ruleProbabilities, labels) },
        },
      };
    },
  };
}

/** Below these a model is not published: outcomes of each kind to learn from, and to test on. */
export const MIN_TRAIN_OUTCOMES = 30;
export const MIN_TEST_OUTCOMES = 10;

export interface PublishVerdict {
  publishable: boolean;
  /** Why not, each with its numbers and the threshold. */
  reasons: string[];
}

export function judgeLikelihoodModel(model: Pick<LikelihoodModel, 'target' | 'evaluation'>, thresholds: { minTrain?: number; minTest?: number } = {}): PublishVerdict {
  const minTrain = thresholds.minTrain ?? MIN_TRAIN_OUTCOMES;
  const minTest = thresholds.minTest ?? MIN_TEST_OUTCOMES;
  const { train, test, model: m, rules } = model.evaluation;
  const yes = model.target === 'won' ? 'won' : 'converted';
  const no = model.target === 'won' ? 'lost' : 'not converted';
  const reasons: string[] = [];
  const trainNo = train.outcomes - train.positives;
  if (train.positives < minTrain || trainNo < minTrain) {
    reasons.push(`Too few outcomes to learn from: ${train.positives} ${yes} and ${trainNo} ${no} in the training part; at least ${minTrain} of each are needed.`);
  }
  const testNo = test.outcomes - test.positives;
  if (test.positives < minTest || testNo < minTest) {
    reasons.push(`Too few newer outcomes to test on: ${test.positives} ${yes} and ${testNo} ${no}; at least ${minTest} of each are needed.`);
  } else if (m.auc === null || rules.auc === null || m.auc <= rules.auc) {
    reasons.push(`No better than the rules: AUC ${m.auc?.toFixed(3) ?? '-'} against the rule score's ${rules.auc?.toFixed(3) ?? '-'} on the ${test.outcomes} newest outcomes.`);
  }
  return { publishable: reasons.length === 0, reasons };
}
