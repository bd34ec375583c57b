/**
 * Reps' time off kept outside the config: ranges set through the admin API, imported from a CSV
 * file, or set by the mark-away rule after repeated SLA breaches. One hash, rep -> JSON list of
 * ranges. Read on every evaluation, so each process keeps a copy for a few seconds.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import { timeOffSchema } from '../rules/config.js';
import type { TimeOff } from '../rules/config.js';
import type { Keys } from './keys.js';

/** A stored range: where it came from, so an admin can tell leave from a mark-away. */
export const storedTimeOffSchema = timeOffSchema.safeExtend({ source: z.enum(['api', 'csv', 'breaches']).default('api') });
export type StoredTimeOff = z.infer<typeof storedTimeOffSchema>;

const listSchema = z.array(storedTimeOffSchema);

/** How long a process trusts its copy (a range set now applies to routing within this). */
const CACHE_MS = 5_000;

function sameRange(a: TimeOff, b: TimeOff): boolean {
  return a.from === b.from && a.to === b.to;
}

export class TimeOffStore {
  private cache: { at: number; value: Record<string, StoredTimeOff[]> } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  private key(): string {
    return this.keys.meta('time-off');
  }

  /** Every rep's ranges. A malformed entry (written by hand) is skipped, never fatal. */
  async all(options: { fresh?: boolean } = {}): Promise<Record<string, StoredTimeOff[]>> {
    if (!options.fresh && this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache.value;
    const raw = await this.redis.hgetall(this.key());
    const value: Record<string, StoredTimeOff[]> = {};
    for (const [owner, text] of Object.entries(raw)) {
      try {
        const parsed = listSchema.safeParse(JSON.parse(text));
        if (parsed.success && parsed.data.length > 0) value[owner] = parsed.data;
      } catch {
        // Not JSON: skipped.
      }
    }
    this.cache = { at: Date.now(), value };
    return value;
  }

  async of(ownerId: string): Promise<StoredTimeOff[]> {
    return (await this.all({ fresh: true }))[ownerId] ?? [];
  }

  /** Adds ranges to a rep's (a range with the same dates replaces the old one). Returns the rep's list. */
  async add(ownerId: string, ranges: readonly StoredTimeOff[]): Promise<StoredTimeOff[]> {
    const current = await this.of(ownerId);
    const next = [...current.filter((c) => !ranges.some((r) => sameRange(c, r))), ...ranges].sort((a, b) => a.from.localeCompare(b.from));
    await this.redis.hset(this.key(), ownerId, JSON.stringify(next));
    this.cache = null;
    return next;
  }

  /** Replaces a rep's list (empty: removes the rep). */
  async replace(ownerId: string, ranges: readonly StoredTimeOff[]): Promise<void> {
    if (ranges.length === 0) await this.redis.hdel(this.key(), ownerId);
    else await this.redis.hset(this.key(), ownerId, JSON.stringify([...ranges].sort((a, b) => a.from.localeCompare(b.from))));
    this.cache = null;
  }

  /** Removes one range by its dates; true when there was one. */
  async remove(ownerId: string, from: string, to: string): Promise<boolean> {
    const current = await this.of(ownerId);
    const next = current.filter((c) => !(c.from === from && c.to === to));
    if (next.length === current.length) return false;
    await this.replace(ownerId, next);
    return true;
  }
}
