/**
 * The mark-away rule's shell (sla.escalate.markAway, src/rules/availability.ts markAwayFor): each
 * rep's recent breaches are kept in a sorted set; when they reach the threshold the rep gets a range
 * of time off (source `breaches`, shown and removable in the admin API) and the count starts over.
 */
import type { AlertEvent } from '../src/rules/alerts.js';
import { markAwayFor } from '../src/rules/availability.js';
import type { SyncContext } from './context.js';

const DAY_MS = 86_400_000;

/** Counts the breaches among these events; idempotent (a breach is one member, whatever reruns). */
export async function recordBreaches(ctx: SyncContext, events: readonly AlertEvent[]): Promise<void> {
  const rule = ctx.config.file.sla.escalate?.markAway;
  if (!rule) return;
  for (const event of events) {
    if (event.kind !== 'breach' || !event.ownerId) continue;
    const at = Date.parse(event.at);
    if (!Number.isFinite(at)) continue;
    const key = ctx.keys.meta(`breaches:${event.ownerId}`);
    await ctx.redis
      .multi()
      .zadd(key, at, `${event.leadId}|${event.at}`)
      .zremrangebyscore(key, '-inf', at - (rule.withinDays + 1) * DAY_MS)
      .expire(key, (rule.withinDays + 1) * 86_400)
      .exec();
    const scored = await ctx.redis.zrange(key, 0, -1, 'WITHSCORES');
    const times: string[] = [];
    for (let i = 1; i < scored.length; i += 2) times.push(new Date(Number(scored[i])).toISOString());
    const range = markAwayFor(ctx.config.file, event.ownerId, times);
    if (range === null) continue;
    await ctx.timeOff.add(event.ownerId, [{ ...range, source: 'breaches' }]);
    await ctx.redis.del(key);
    await ctx.events.append([{ type: 'rep_marked_away', leadId: event.leadId, at: event.at, detail: { ownerId: event.ownerId, from: range.from, to: range.to, reason: range.reason ?? null } }]);
    ctx.logger.info({ ownerId: event.ownerId, from: range.from, to: range.to }, 'rep marked away after repeated SLA breaches');
  }
}
