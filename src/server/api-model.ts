/**
 * The likelihood model in the admin API: `GET /model` (the versions with their figures against
 * the rule score, which one is published, conversion by likelihood band) and `POST /model/retrain`
 * (a retrain job, as the schedule runs it). The band report reads every stored lead, so it is kept
 * for a minute per published version: the dashboard asks every few seconds.
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { foldStoredLeads } from '../../jobs/store-pass.js';
import { likelihoodBandsFold } from '../rules/learn/bands.js';
import type { LikelihoodBand } from '../rules/learn/bands.js';
import { judgeLikelihoodModel } from '../rules/learn/model.js';
import type { LikelihoodModel } from '../rules/learn/model.js';
import { parseInput, requestIdOf } from './http-errors.js';

const BANDS_TTL_MS = 60_000;
const retrainBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(200).default('asked from the dashboard') }).default({ reason: 'asked from the dashboard' });

function summary(model: LikelihoodModel, published: number | null) {
  const verdict = judgeLikelihoodModel(model);
  return { version: model.version, target: model.target, trainedAt: model.trainedAt, published: model.version === published, publishable: verdict.publishable, reasons: verdict.reasons, evaluation: model.evaluation };
}

export function modelRouter(ctx: SyncContext): Router {
  const router = express.Router();
  let cached: { version: number; at: number; bands: LikelihoodBand[] } | null = null;

  router.get('/model', async (_req, res) => {
    const [models, published] = await Promise.all([ctx.models.list(), ctx.models.publishedVersion()]);
    const current = models.find((m) => m.version === published) ?? null;
    let bands: LikelihoodBand[] | null = null;
    if (current) {
      const now = ctx.clock.now();
      if (!cached || cached.version !== current.version || now - cached.at > BANDS_TTL_MS) {
        cached = { version: current.version, at: now, bands: await foldStoredLeads(ctx, likelihoodBandsFold(current, new Date(now))) };
      }
      bands = cached.bands;
    }
    res.json({
      published,
      // Newest first, as an admin looks for the latest run.
      models: models.reverse().slice(0, 20).map((m) => summary(m, published)),
      bands,
    });
  });

  router.post('/model/retrain', express.json(), async (req, res) => {
    const body = parseInput(retrainBodySchema, req.body ?? {}, 'body');
    const job = await ctx.queues.retrain.add('retrain', { reason: body.reason }, { removeOnComplete: { age: 86_400, count: 100 } });
    ctx.logger.info({ requestId: requestIdOf(res), jobId: job.id }, 'likelihood retrain enqueued');
    res.status(202).json({ id: job.id });
  });

  return router;
}
