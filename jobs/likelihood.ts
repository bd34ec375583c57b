/**
 * The shell around the likelihood learner (src/rules/learn): train on the stored leads' outcomes,
 * keep the model as a new version with its figures, publish it when it passes the checks, and
 * report what was done. Used by `smk model`, the retraining schedule and the admin API.
 */
import type { LikelihoodConfig } from '../src/rules/config.js';
import { durationToMs, parseDuration } from '../src/rules/duration.js';
import { judgeLikelihoodModel, likelihoodTraining, NotEnoughOutcomesError } from '../src/rules/learn/model.js';
import type { LikelihoodModel, PublishVerdict } from '../src/rules/learn/model.js';
import type { LikelihoodTarget } from '../src/rules/learn/outcomes.js';
import type { SyncContext } from './context.js';
import { foldStoredLeads } from './store-pass.js';

export interface TrainRequest {
  target?: LikelihoodTarget;
  /** Keep the model as a new version (evaluate alone keeps nothing). */
  save: boolean;
  /** Publish it when it passes the checks. */
  publish: boolean;
}

export interface TrainResult {
  /** Without a version when it was not saved. */
  model: LikelihoodModel | Omit<LikelihoodModel, 'version'>;
  verdict: PublishVerdict;
  published: boolean;
}

export async function trainModel(ctx: SyncContext, request: TrainRequest): Promise<TrainResult> {
  const settings = ctx.config.file.likelihood;
  const trained = await foldStoredLeads(ctx, likelihoodTraining(ctx.config.file, {
    target: request.target ?? settings.target,
    holdout: settings.holdout,
    now: new Date(ctx.clock.now()),
  }));
  const verdict = judgeLikelihoodModel(trained);
  if (!request.save) return { model: trained, verdict, published: false };
  const model = await ctx.models.save(trained);
  let published = false;
  if (request.publish && verdict.publishable) {
    published = await ctx.models.publish(model.version);
    if (published) await refreshLikelihoods(ctx, `likelihood model ${model.version} published`);
  }
  ctx.logger.info({ version: model.version, target: model.target, auc: model.evaluation.model.auc, rulesAuc: model.evaluation.rules.auc, published }, 'likelihood model trained');
  return { model, verdict, published };
}

export class PublishRefusedError extends Error {}

/** Publishes a stored version (default: the newest) when it passes the checks; says why not otherwise. */
export async function publishModel(ctx: SyncContext, version?: number): Promise<LikelihoodModel> {
  const model = version === undefined ? await ctx.models.latest() : await ctx.models.get(version);
  if (!model) throw new PublishRefusedError(version === undefined ? 'No model has been trained yet: run smk model train first.' : `There is no model version ${version} (smk model list shows them).`);
  const verdict = judgeLikelihoodModel(model);
  if (!verdict.publishable) throw new PublishRefusedError(`Model version ${model.version} was not published: ${verdict.reasons.join(' ')}`);
  await ctx.models.publish(model.version);
  await refreshLikelihoods(ctx, `likelihood model ${model.version} published`);
  return model;
}

/** Back to the model published before the current one (or none); null when none is published. */
export async function rollbackModel(ctx: SyncContext): Promise<{ from: number; to: number | null } | null> {
  const result = await ctx.models.rollback();
  if (result) await refreshLikelihoods(ctx, `likelihood model ${result.from} rolled back`);
  return result;
}

const loaded = new WeakMap<SyncContext, { version: number | null; model: LikelihoodModel | null }>();

/**
 * The published model, as evaluation uses it: its version is read on every call (one Redis
 * command, so that a publish or rollback from any process is seen by the next evaluation), the
 * model itself only when the version moved. A stored model that does not parse is reported and
 * left out (the rule score alone), rather than failing every evaluation.
 */
export async function publishedModel(ctx: SyncContext): Promise<LikelihoodModel | null> {
  const version = await ctx.models.publishedVersion();
  const held = loaded.get(ctx);
  if (held && held.version === version) return held.model;
  let model: LikelihoodModel | null = null;
  if (version !== null) {
    try {
      model = await ctx.models.get(version);
    } catch (err) {
      ctx.logger.error({ version, err: err instanceof Error ? err.message : String(err) }, 'the published likelihood model cannot be read; the rule score alone is written');
    }
  }
  loaded.set(ctx, { version, model });
  return model;
}

/** After a publish or rollback: every lead is evaluated again, so both CRMs get the new likelihood. */
export async function refreshLikelihoods(ctx: SyncContext, reason: string): Promise<void> {
  await ctx.queues.reconcile.add('reconcile', { reason }, { removeOnComplete: { age: 86_400, count: 100 } });
}

/** `likelihood.retrainEvery` in ms; null when retraining is on demand only. */
export function retrainEveryMs(config: LikelihoodConfig): number | null {
  const every = config.retrainEvery === undefined ? null : parseDuration(config.retrainEvery);
  return every === null ? null : durationToMs(every);
}

export interface RetrainResult {
  version: number | null;
  published: boolean;
  /** Why it was not published (or could not be trained). */
  reasons: string[];
}

/**
 * The retrain job: a new version from the outcomes as they are now, published by itself only with
 * `likelihood.autoPublish` and when it passes the checks. Too few outcomes is an answer, not a
 * failure: it is recorded (audit events) and the job completes.
 */
export async function processRetrain(ctx: SyncContext, reason: string): Promise<RetrainResult> {
  const at = new Date(ctx.clock.now()).toISOString();
  let result: RetrainResult;
  try {
    const trained = await trainModel(ctx, { save: true, publish: ctx.config.file.likelihood.autoPublish });
    result = { version: 'version' in trained.model ? trained.model.version : null, published: trained.published, reasons: trained.verdict.reasons };
  } catch (err) {
    if (!(err instanceof NotEnoughOutcomesError)) throw err;
    result = { version: null, published: false, reasons: [err.message] };
  }
  await ctx.events.append([{ type: 'likelihood_retrained', leadId: '-', at, detail: { reason, version: result.version, published: result.published, why: result.reasons.join(' ') || null } }]);
  return result;
}
