/**
 * Probes: `/healthz` says the process answers (liveness: restart me if not); `/readyz` says the
 * service can do its work, from local facts only: Redis answers PING, and each CRM's connection
 * status as the pipeline last saw it (src/store/connection-status.ts). A probe never spends a CRM
 * API call (the CRMs' budgets are shared and counted daily), and a CRM that is down or refuses us
 * does not take the service out of rotation: webhooks are still taken and work waits in Redis.
 * The status is in the body, with its fix; `smk doctor` checks the CRMs themselves.
 */
import express from 'express';
import type { Router } from 'express';
import type { SyncContext } from '../../jobs/context.js';
import { rebuildingSince } from '../../jobs/redis-loss.js';
import { CRM_NAMES } from '../model/lead.js';
import type { ConnectionStatus } from '../store/connection-status.js';
import { requestIdOf } from './http-errors.js';
import { withTimeout } from './snapshot.js';

export const READY_TIMEOUT_MS = 5000;

export type CheckResult = { ok: true } | { ok: false; error: string };
export type ConnectionCheck = { ok: boolean; state: ConnectionStatus['state'] | 'unknown' } & Partial<Pick<ConnectionStatus, 'message' | 'fix' | 'since'>>;

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

export async function readiness(ctx: SyncContext): Promise<{ ok: boolean; checks: Record<string, CheckResult | ConnectionCheck> }> {
  let redis: CheckResult;
  const statuses: Partial<Record<string, ConnectionStatus | null>> = {};
  try {
    await withTimeout((async () => {
      const answer = await ctx.redis.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
      for (const crm of CRM_NAMES) statuses[crm] = await ctx.connections.get(crm);
    })(), READY_TIMEOUT_MS, 'redis');
    redis = { ok: true };
  } catch (err) {
    redis = { ok: false, error: describe(err) };
  }
  const checks: Record<string, CheckResult | ConnectionCheck> = { redis };
  for (const crm of CRM_NAMES) {
    const status = statuses[crm];
    checks[crm] = status
      ? { ok: status.state === 'connected', state: status.state, since: status.since, ...(status.message ? { message: status.message } : {}), ...(status.fix ? { fix: status.fix } : {}) }
      : { ok: true, state: 'unknown' };
  }
  // A rebuild after Redis came back empty: the lead store is not whole yet.
  let rebuilding: string | null = null;
  if (redis.ok) rebuilding = await rebuildingSince(ctx).catch(() => null);
  if (rebuilding) checks.rebuilding = { ok: false, error: `rebuilding the lead store from both CRMs since ${rebuilding} (Redis came back empty)` };
  // Only what this process can fix by being restarted or replaced, and a rebuild, make it unready.
  return { ok: redis.ok && !rebuilding, checks };
}

export function healthRouter(ctx: SyncContext): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const result = await readiness(ctx);
    const failed = Object.entries(result.checks).filter(([, r]) => !r.ok).map(([name]) => name);
    if (!result.ok) {
      ctx.logger.warn({ requestId: requestIdOf(res), failed }, 'not ready');
      res.status(503).json({ ...result, failed });
      return;
    }
    res.json(failed.length > 0 ? { ...result, failed } : result);
  });
  return router;
}
