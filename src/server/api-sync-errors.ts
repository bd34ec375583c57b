/**
 * The sync-errors part of the admin API: list (filters, paging, counts by category), CSV export,
 * and retry. Retrying an entry re-runs what failed: the lead's evaluation when the entry names a
 * lead, else a re-read of the record, else a poll of that CRM; then the entry is removed (it comes
 * back, with the CRM's new message, if the retry fails again).
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { enqueueEvaluate } from '../../jobs/enqueue.js';
import type { IngestJob } from '../../jobs/queues.js';
import type { CrmName } from '../model/lead.js';
import { crmNameSchema } from '../model/lead.js';
import { syncErrorsToCsv } from '../store/sync-errors.js';
import type { SyncError } from '../store/sync-errors.js';
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

export interface ErrorCategory {
  crm: CrmName;
  code: string;
  count: number;
}

export function categorise(errors: readonly SyncError[]): ErrorCategory[] {
  const counts = new Map<string, ErrorCategory>();
  for (const e of errors) {
    const key = `${e.crm}\u0000${e.code}`;
    const entry = counts.get(key) ?? { crm: e.crm, code: e.code, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

async function allErrors(ctx: SyncContext, filter: z.infer<typeof filterSchema>): Promise<SyncError[]> {
  return (await ctx.errors.list({ ...filter, limit: Number.MAX_SAFE_INTEGER })).errors;
}

export type RetryAction = 'evaluate' | 'reread' | 'poll';

interface RetryPlan {
  leads: Set<string>;
  reads: Map<CrmName, Map<string, { object: 'contact' | 'Lead' | 'Contact'; id: string }>>;
  polls: Set<CrmName>;
}

const READABLE_OBJECTS = new Set(['contact', 'Lead', 'Contact']);

/** Decides what retrying one entry means and adds it to the plan. */
async function planRetry(ctx: SyncContext, entry: SyncError, plan: RetryPlan): Promise<RetryAction> {
  const leadId = entry.leadId ?? (entry.object && entry.recordId ? await ctx.leads.linkOf(entry.crm, entry.object, entry.recordId) : null);
  if (leadId && (await ctx.leads.get(leadId))) {
    plan.leads.add(leadId);
    return 'evaluate';
  }
  if (entry.object && entry.recordId && READABLE_OBJECTS.has(entry.object)) {
    const reads = plan.reads.get(entry.crm) ?? new Map();
    reads.set(`${entry.object}:${entry.recordId}`, { object: entry.object as 'contact' | 'Lead' | 'Contact', id: entry.recordId });
    plan.reads.set(entry.crm, reads);
    return 'reread';
  }
  plan.polls.add(entry.crm);
  return 'poll';
}

async function runPlan(ctx: SyncContext, plan: RetryPlan): Promise<void> {
  await enqueueEvaluate(ctx, plan.leads, 'retry from the sync-errors report');
  for (const [crm, reads] of plan.reads) {
    if (reads.size === 0) continue;
    const job: IngestJob = { crm, readAt: ctx.clock.now(), refs: [...reads.values()] };
    await ctx.queues.ingest.add('retry', job);
  }
  for (const crm of plan.polls) await ctx.queues.poll.add('poll', { crm });
}

const emptyPlan = (): RetryPlan => ({ leads: new Set(), reads: new Map(), polls: new Set() });

export function syncErrorsRouter(ctx: SyncContext): Router {
  const router = express.Router();

  router.get('/sync-errors', async (req, res) => {
    const query = parseInput(listQuerySchema, req.query, 'query');
    const every = await allErrors(ctx, {});
    const matching = every.filter((e) => (!query.crm || e.crm === query.crm) && (!query.code || e.code === query.code));
    res.json({
      total: matching.length,
      limit: query.limit,
      offset: query.offset,
      errors: matching.slice(query.offset, query.offset + query.limit),
      categories: categorise(every),
    });
  });

  router.get('/sync-errors.csv', async (req, res) => {
    const filter = parseInput(filterSchema, req.query, 'query');
    const errors = await allErrors(ctx, filter);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="smk-sync-errors.csv"');
    res.send(syncErrorsToCsv(errors));
  });

  router.post('/sync-errors/retry-all', express.json({ limit: '10kb' }), async (req, res) => {
    const filter = parseInput(retryAllBodySchema, req.body ?? {}, 'body');
    const errors = await allErrors(ctx, filter);
    const plan = emptyPlan();
    const actions: Record<RetryAction, number> = { evaluate: 0, reread: 0, poll: 0 };
    for (const entry of errors) actions[await planRetry(ctx, entry, plan)] += 1;
    await runPlan(ctx, plan);
    await ctx.errors.remove(errors.map((e) => e.id));
    ctx.logger.info({ requestId: requestIdOf(res), retried: errors.length, ...actions }, 'sync errors retried');
    res.json({ retried: errors.length, actions });
  });

  router.post('/sync-errors/:id/retry', async (req, res) => {
    const { id } = parseInput(idParamsSchema, req.params, 'path');
    const entry = await ctx.errors.get(id);
    if (!entry) throw new HttpError(404, 'no such sync error (it may have been resolved or retried already)');
    const plan = emptyPlan();
    const action = await planRetry(ctx, entry, plan);
    await runPlan(ctx, plan);
    await ctx.errors.remove([entry.id]);
    ctx.logger.info({ requestId: requestIdOf(res), errorId: entry.id, action }, 'sync error retried');
    res.json({ id: entry.id, action, leadId: action === 'evaluate' ? [...plan.leads][0] ?? null : null });
  });

  return router;
}
