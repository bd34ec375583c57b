/**
 * The sync-errors part of the admin API: list (filters, paging, counts by category), CSV export,
 * and retry. Retrying an entry re-runs what failed: the lead's evaluation when the entry names a
 * lead, else a re-read of the record, else a poll of that CRM; then the entry is removed (it comes
 * back, with the CRM's new message, if the retry fails again).
 */
import { once } from 'node:events';
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { retrySyncErrors } from '../../jobs/retry.js';
import type { RetryAction } from '../../jobs/retry.js';
import { crmNameSchema } from '../model/lead.js';
import { syncErrorsCsvChunks } from '../store/sync-errors.js';
import { HttpError, parseInput, requestIdOf } from './http-errors.js';

const filterSchema = z.object({
  crm: crmNameSchema.optional(),
  code: z.string().min(1).max(100).optional(),
});
const listQuerySchema = filterSchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const idParamsSchema = z.object({ id: z.string().min(1).max(500) });
const retryAllBodySchema = filterSchema.strict().default({});

export function syncErrorsRouter(ctx: SyncContext): Router {
  const router = express.Router();

  router.get('/sync-errors', async (req, res) => {
    const query = parseInput(listQuerySchema, req.query, 'query');
    const [page, categories] = await Promise.all([ctx.errors.list({ crm: query.crm, code: query.code, limit: query.limit, offset: query.offset }), ctx.errors.categories()]);
    res.json({ total: page.total, limit: query.limit, offset: query.offset, errors: page.errors, categories });
  });

  router.get('/sync-errors.csv', async (req, res) => {
    const filter = parseInput(filterSchema, req.query, 'query');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="smk-sync-errors.csv"');
    // A page at a time.
    for await (const chunk of syncErrorsCsvChunks(ctx.errors.pages(filter))) {
      if (res.destroyed) return;
      // A client that went away closes instead of draining.
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    res.end();
  });

  router.post('/sync-errors/retry-all', express.json({ limit: '10kb' }), async (req, res) => {
    const filter = parseInput(retryAllBodySchema, req.body ?? {}, 'body');
    const errors = await ctx.errors.all(filter);
    if (errors.length === 0) throw new HttpError(404, 'no sync error matches this filter: nothing was queued');
    const outcome = await retrySyncErrors(ctx, errors);
    ctx.logger.info({ requestId: requestIdOf(res), retried: errors.length, ...outcome.actions }, 'sync errors retried');
    res.json({ retried: errors.length, actions: outcome.actions, queued: outcome.queued });
  });

  router.post('/sync-errors/:id/retry', async (req, res) => {
    const { id } = parseInput(idParamsSchema, req.params, 'path');
    const entry = await ctx.errors.get(id);
    if (!entry) throw new HttpError(404, 'no such sync error (it may have been resolved or retried already): nothing was queued');
    const outcome = await retrySyncErrors(ctx, [entry]);
    const action = (Object.entries(outcome.actions).find(([, n]) => n > 0)?.[0] ?? 'poll') as RetryAction;
    const leadId = action === 'evaluate' ? (entry.leadId ?? (entry.object && entry.recordId ? await ctx.leads.linkOf(entry.crm, entry.object, entry.recordId) : null)) : null;
    ctx.logger.info({ requestId: requestIdOf(res), errorId: entry.id, action }, 'sync error retried');
    res.json({ id: entry.id, action, leadId, queued: outcome.queued });
  });

  return router;
}
