/**
 * Redis that comes back empty (a restart without persistence, a failover to an empty replica, a
 * flush): the service keeps a marker in Redis and checks it; when it is gone, everything the
 * service kept is gone too (schedules, cursors, lead store, pending writes). It then says so,
 * re-creates its schedules, and rebuilds: with no cursors, the next polls read both CRMs in full,
 * and writes only what differs from what the CRMs hold. Until both CRMs were read again and every
 * lead evaluated, it reports `rebuilding` (/readyz 503, the dashboard, /metrics).
 */
import type { SyncContext } from './context.js';

function aliveKey(ctx: SyncContext): string {
  return ctx.keys.meta('alive');
}

function rebuildingKey(ctx: SyncContext): string {
  return ctx.keys.meta('rebuilding');
}

/** Sets the marker when it is missing (a fresh install or a process start). */
export async function markAlive(ctx: SyncContext): Promise<void> {
  await ctx.redis.set(aliveKey(ctx), new Date(ctx.clock.now()).toISOString(), 'NX');
}

/** When the running rebuild began, or null. */
export async function rebuildingSince(ctx: SyncContext): Promise<string | null> {
  return ctx.redis.get(rebuildingKey(ctx));
}

/**
 * Checks the marker; when it is gone, sets it again, records the rebuild and calls `onLost` once.
 * Returns whether Redis had lost its data.
 */
export async function checkRedisLoss(ctx: SyncContext, onLost: () => Promise<void>): Promise<boolean> {
  if (await ctx.redis.exists(aliveKey(ctx))) return false;
  // Whoever sets the marker first (of every process sharing this Redis) starts the rebuild.
  const first = await ctx.redis.set(aliveKey(ctx), new Date(ctx.clock.now()).toISOString(), 'NX');
  if (first !== 'OK') return false;
  await ctx.redis.set(rebuildingKey(ctx), new Date(ctx.clock.now()).toISOString());
  ctx.logger.warn({}, 'redis came back empty: re-creating the schedules and rebuilding the lead store from both CRMs (only differences will be written)');
  await onLost();
  return true;
}

/** Ends the rebuild once both CRMs were read in full again and no evaluation of every lead is pending. */
export async function finishRebuildIfDone(ctx: SyncContext): Promise<void> {
  const since = await rebuildingSince(ctx);
  if (!since) return;
  const [hubspot, salesforce, evaluateAll] = await Promise.all([
    ctx.cursors.lastSyncAt('hubspot'),
    ctx.cursors.lastSyncAt('salesforce'),
    ctx.redis.exists(ctx.keys.meta('evaluate-all-pending')),
  ]);
  if (hubspot === null || salesforce === null || evaluateAll) return;
  const counts = await ctx.queues.evaluate.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  if (Object.values(counts).some((n) => n > 0)) return;
  if ((await ctx.redis.del(rebuildingKey(ctx))) === 1) {
    ctx.logger.info({ since, leads: await ctx.leads.count() }, 'the lead store is rebuilt from both CRMs');
  }
}

/**
 * Watches for a Redis that lost its data: on every reconnection, and every `everyMs` (a flush
 * does not drop the connection). Returns a stop function.
 */
export function watchRedisLoss(ctx: SyncContext, onLost: () => Promise<void>, everyMs = 10_000): () => void {
  let running = false;
  const check = () => {
    if (running) return;
    running = true;
    checkRedisLoss(ctx, onLost)
      .catch((err: unknown) => ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not check whether redis kept its data'))
      .finally(() => {
        running = false;
      });
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  ctx.redis.on('ready', check);
  return () => {
    clearInterval(timer);
    ctx.redis.off('ready', check);
  };
}
