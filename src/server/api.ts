/**
 * The admin JSON API under `/api` (the caller mounts it behind the admin guard): status, reports,
 * sync errors, rule dry-runs and reconcile. Every body, query and path parameter goes through zod.
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { foldStoredLeads } from '../../jobs/store-pass.js';
import type { ReconcileJob } from '../../jobs/queues.js';
import { ConfigError, parseConfigData, parseConfigText } from '../config.js';
import type { FileConfig } from '../config.js';
import { CRM_NAMES } from '../model/lead.js';
import { ruleSetComparison } from '../rules/index.js';
import { funnelQuerySchema } from '../rules/periods.js';
import { syncErrorsRouter } from './api-sync-errors.js';
import { modelRouter } from './api-model.js';
import { timeOffRouter } from './api-time-off.js';
import { HttpError, parseInput, requestIdOf } from './http-errors.js';
import type { ServerData } from './snapshot.js';

export const API_JSON_LIMIT = '1mb';

const rulesQuerySchema = z.object({ examples: z.coerce.number().int().min(0).max(100).default(10) });
const reconcileBodySchema = z
  .strictObject({
    reason: z.string().trim().min(1).max(200).default('requested from the admin API'),
    reread: z.boolean().default(false),
  })
  .default({ reason: 'requested from the admin API', reread: false });
const jobIdParamsSchema = z.object({ id: z.string().regex(/^[\w:.-]{1,100}$/, 'expected a job id') });

/** A candidate config as YAML/JSON text or as an already-parsed JSON object; problems come back like the loader's. */
export function parseCandidateConfig(body: unknown): FileConfig {
  try {
    return typeof body === 'string' ? parseConfigText(body, 'the candidate rules') : parseConfigData(body, 'the candidate rules');
  } catch (err) {
    if (err instanceof ConfigError) throw new HttpError(400, 'the candidate rules are invalid', { problems: err.problems });
    throw err;
  }
}

export function apiRouter(ctx: SyncContext, data: ServerData): Router {
  const router = express.Router();
  const json = express.json({ limit: API_JSON_LIMIT });
  // YAML arrives as text; JSON through the json parser (both limited to 1 MB).
  const text = express.text({ type: ['text/*', 'application/yaml', 'application/x-yaml'], limit: API_JSON_LIMIT });

  router.get('/status', async (_req, res) => {
    res.json(await data.status());
  });

  router.get('/reports/funnel', async (req, res) => {
    // The same object as `smk report funnel --json`; marketing's MQL target sits with the funnel it feeds.
    const query = parseInput(funnelQuerySchema, req.query, 'query');
    res.json(await data.funnel(query));
  });

  router.get('/reports/sla', async (_req, res) => {
    const sla = (await data.reports()).sla;
    // Owner names for the table: the directory's copy in Redis, which workers keep fresh; a web
    // process without workers lists the owners itself, at most once in the directory's period.
    await ctx.owners.refresh();
    const names = new Map(CRM_NAMES.flatMap((crm) => ctx.owners.list(crm).map((o) => [o.id, o.name] as const)));
    res.json({ ...sla, byOwner: sla.byOwner.map((row) => ({ ...row, ownerName: names.get(row.ownerId) ?? null })) });
  });

  router.get('/reports/feedback', async (_req, res) => {
    res.json((await data.reports()).feedback);
  });

  router.use(syncErrorsRouter(ctx));
  router.use(modelRouter(ctx));
  router.use(timeOffRouter(ctx));

  router.post('/rules/test', json, text, async (req, res) => {
    const query = parseInput(rulesQuerySchema, req.query, 'query');
    if (req.body === undefined || (typeof req.body === 'string' && req.body.trim() === '')) {
      throw new HttpError(400, 'send the candidate rules as YAML (Content-Type: application/yaml) or JSON');
    }
    const candidate = parseCandidateConfig(req.body);
    const summary = await foldStoredLeads(ctx, ruleSetComparison(ctx.config.file, candidate, new Date(ctx.clock.now()), { examples: query.examples }));
    ctx.logger.info({ requestId: requestIdOf(res), leads: summary.leads, changed: summary.changed }, 'rules dry-run');
    res.json(summary);
  });

  router.post('/reconcile', json, async (req, res) => {
    const body = parseInput(reconcileBodySchema, req.body ?? {}, 'body');
    const job: ReconcileJob = { reason: body.reason, reread: body.reread };
    // Kept after completion (the queue default removes it) so that its progress can be read back.
    const added = await ctx.queues.reconcile.add('reconcile', job, { removeOnComplete: { age: 86_400, count: 100 } });
    ctx.logger.info({ requestId: requestIdOf(res), jobId: added.id, reread: body.reread }, 'reconcile enqueued');
    res.status(202).json({ id: added.id });
  });

  router.get('/reconcile/:id', async (req, res) => {
    const { id } = parseInput(jobIdParamsSchema, req.params, 'path');
    const job = await ctx.queues.reconcile.getJob(id);
    if (!job) throw new HttpError(404, 'no such reconcile job');
    const state = await job.getState();
    res.json({
      id: job.id,
      state,
      progress: job.progress,
      result: job.returnvalue ?? null,
      failedReason: job.failedReason ?? null,
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    });
  });

  router.use((_req, _res, next) => next(new HttpError(404, 'no such API route')));
  return router;
}
