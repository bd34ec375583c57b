/**
 * Probes: `/healthz` says the process answers (liveness: restart me if not); `/readyz` says the
 * service can do its work: Redis answers PING and each CRM answers its connector's `ping()`.
 * A failing dependency is named with a short reason (an error code, never a token or a payload).
 */
import express from 'express';
import type { Router } from 'express';
import { isCrmError } from '../../connectors/errors.js';
import type { SyncContext } from '../../jobs/context.js';
import { CRM_NAMES } from '../model/lead.js';
import { requestIdOf } from './http-errors.js';
import { withTimeout } from './snapshot.js';

export const READY_TIMEOUT_MS = 5000;

export type CheckResult = { ok: true } | { ok: false; error: string };

function describe(err: unknown): string {
  if (isCrmError(err)) return `${err.code}: ${err.message}`.slice(0, 300);
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

async function check(fn: () => Promise<unknown>, what: string): Promise<CheckResult> {
  try {
    await withTimeout(fn(), READY_TIMEOUT_MS, what);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

export async function readiness(ctx: SyncContext): Promise<{ ok: boolean; checks: Record<string, CheckResult> }> {
  const entries = await Promise.all([
    check(async () => {
      const answer = await ctx.redis.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
    }, 'redis').then((r) => ['redis', r] as const),
    ...CRM_NAMES.map((crm) => check(() => ctx.connectors[crm].ping(), crm).then((r) => [crm, r] as const)),
  ]);
  const checks = Object.fromEntries(entries) as Record<string, CheckResult>;
  return { ok: entries.every(([, r]) => r.ok), checks };
}

export function healthRouter(ctx: SyncContext): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const result = await readiness(ctx);
    if (!result.ok) {
      const failed = Object.entries(result.checks).filter(([, r]) => !r.ok).map(([name]) => name);
      ctx.logger.warn({ requestId: requestIdOf(res), failed }, 'not ready');
      res.status(503).json({ ...result, failed });
      return;
    }
    res.json(result);
  });
  return router;
}
