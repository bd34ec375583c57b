/**
 * Which open leads each owner holds, for routing's member caps: one sorted set per owner (lead id,
 * scored by its handoff time) and one hash saying which owner's set holds a lead. Placing a lead
 * again is harmless, so every evaluation places its lead (routing under its lock, at once).
 */
import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';

export class OpenLeadIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  // One hash tag for both (src/store/keys.ts): a placement moves a lead between them in one MULTI.
  private ownerKey(ownerId: string): string {
    return this.keys.openLeads(ownerId);
  }

  private holderKey(): string {
    return this.keys.openLeadsHolder();
  }

  /** The lead is held by `holding.ownerId` since its handoff, or by nobody (null). */
  async place(leadId: string, holding: { ownerId: string; since: string } | null): Promise<void> {
    const holder = await this.redis.hget(this.holderKey(), leadId);
    const multi = this.redis.multi();
    if (holder && holder !== holding?.ownerId) multi.zrem(this.ownerKey(holder), leadId);
    if (holding) {
      const since = Date.parse(holding.since);
      multi.zadd(this.ownerKey(holding.ownerId), Number.isFinite(since) ? since : 0, leadId).hset(this.holderKey(), leadId, holding.ownerId);
    } else if (holder) {
      multi.hdel(this.holderKey(), leadId);
    }
    await multi.exec();
  }

  /** Open leads per owner handed off at or after `sinceMs` (all of them with null). */
  async counts(owners: readonly string[], sinceMs: number | null): Promise<Record<string, number>> {
    if (owners.length === 0) return {};
    const multi = this.redis.multi();
    for (const owner of owners) multi.zcount(this.ownerKey(owner), sinceMs === null ? '-inf' : sinceMs, '+inf');
    const results = (await multi.exec()) ?? [];
    const out: Record<string, number> = {};
    owners.forEach((owner, i) => {
      const value = results[i]?.[1];
      out[owner] = typeof value === 'number' ? value : 0;
    });
    return out;
  }
}
