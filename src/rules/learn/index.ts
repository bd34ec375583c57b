/** Learning a likelihood to convert from the org's own outcomes: pure, no I/O. */
export { LIKELIHOOD_TARGETS, readOutcome } from './outcomes.js';
export type { LikelihoodTarget, Outcome, OutcomeReading } from './outcomes.js';
export { featuresFor, readFeatures, leadAsOf, isOutcomeField, featureSchema } from './features.js';
export type { Feature, FeatureValue } from './features.js';
export { fitLogistic, predictLogistic, sigmoid } from './logistic.js';
export { auc, calibration } from './metrics.js';
export type { CalibrationBin } from './metrics.js';
export {
  trainLikelihoodModel,
  splitByTime,
  judgeLikelihoodModel,
  likelihoodModelSchema,
  evaluationSchema,
  NotEnoughOutcomesError,
  MIN_TRAIN_OUTCOMES,
  MIN_TEST_OUTCOMES,
} from './model.js';
export type { LikelihoodModel, LikelihoodEvaluation, PublishVerdict, TrainOptions } from './model.js';
export { likelihoodOf } from './explain.js';
export type { Likelihood } from './explain.js';
export { likelihoodBands } from './bands.js';
export type { LikelihoodBand } from './bands.js';
