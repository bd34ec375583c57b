/**
 * The key layout's version, and moving the keys of an older layout at start. Layout 2 (Redis
 * Cluster) gave each lead's keys its id as hash tag, each BullMQ queue its name as tag (all queues
 * shared `{q}` before), and the open-lead keys one tag: a Redis written by an older version keeps
 * its leads, versions and queued jobs (waiting, delayed, failed) once they are moved here.
 *
 * The move runs once per key prefix, under a lock, before the process opens its queues; the
 * version it reached is kept in `<prefix>:meta:layout`. Other processes of the new version wait for
 * it. Processes of the old version must be stopped first: they would go on writing the old keys.
 */
import { Cluster } from 'ioredis';
import type { Keys } from './keys.js';
import { Locks } from './locks.js';
import { scanKeys } from './redis.js';
import type { RedisClient } from './redis.js';

export const LAYOUT_VERSION = 2;

export interface LayoutLogger {
  info(obj: object, msg?: string): void;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The layout-2 name of a layout-1 key, or null when the key did not move. Pure, so the rules are
 * tested by table as well.
 */
export function layoutTwoName(keys: Keys, key: string): string | null {
  const p = escapeRegExp(keys.prefix);
  const lead = new RegExp(`^${p}:(lead|lead-version|lead-evaluated):([^{}:]+)$`).exec(key);
  if (lead) {
    const id = lead[2] as string;
    return lead[1] === 'lead' ? keys.lead(id) : lead[1] === 'lead-version' ? keys.leadVersion(id) : keys.leadEvaluated(id);
  }
  if (key === `${keys.prefix}:meta:open-leads-holder`) return keys.openLeadsHolder();
  const owner = new RegExp(`^${p}:meta:open-leads:(.+)$`).exec(key);
  if (owner) return keys.openLeads(owner[1] as string);
  // BullMQ's keys are `<prefix>:<queue>:<suffix>` (and `<prefix>:<queue>:<job id>`): the prefix was
  // `<p>:{q}` for every queue, it is `<p>:{<queue>}` now; the rest of the name stays.
  const queue = new RegExp(`^${p}:\\{q\\}:([^:]+)(:.*)?$`).exec(key);
  if (queue) return `${keys.queuePrefix(queue[1] as string)}:${queue[1] as string}${queue[2] ?? ''}`;
  return null;
}

/**
 * Moves one key, keeping its time to live. RENAME on one Redis; on a cluster, where the two names
 * may lie in different slots, DUMP + RESTORE + DEL.
 */
async function moveKey(redis: RedisClient, from: string, to: string): Promise<boolean> {
  if (!(redis instanceof Cluster)) {
    try {
      await redis.rename(from, to);
      return true;
    } catch (err) {
      // Gone meanwhile (expired): nothing to move.
      if (err instanceof Error && /no such key/i.test(err.message)) return false;
      throw err;
    }
  }
  const [dump, pttl] = await Promise.all([redis.dumpBuffer(from), redis.pttl(from)]);
  if (dump === null || pttl === -2) return false;
  await redis.restore(to, pttl > 0 ? pttl : 0, dump, 'REPLACE');
  await redis.del(from);
  return true;
}

/** The layout version the prefix's keys are in (1: none recorded, the layout before this file). */
export async function layoutVersion(redis: RedisClient, keys: Keys): Promise<number> {
  return Number((await redis.get(keys.meta('layout'))) ?? 1);
}

/**
 * Brings the prefix's keys to LAYOUT_VERSION (once: later starts read the version and go on).
 * Returns how many keys moved.
 */
export async function ensureLayout(redis: RedisClient, keys: Keys, logger?: LayoutLogger, options: { waitMs?: number } = {}): Promise<number> {
  if ((await layoutVersion(redis, keys)) >= LAYOUT_VERSION) return 0;
  const locks = new Locks(redis, keys);
  // Another process moving a large Redis holds the lock: wait for it (the lock is renewed).
  return locks.with(
    'layout',
    async () => {
      if ((await layoutVersion(redis, keys)) >= LAYOUT_VERSION) return 0;
      let moved = 0;
      for await (const batch of scanKeys(redis, `${keys.prefix}:*`)) {
        for (const key of batch) {
          const to = layoutTwoName(keys, key);
          if (to !== null && to !== key && (await moveKey(redis, key, to))) moved += 1;
        }
      }
      await redis.set(keys.meta('layout'), String(LAYOUT_VERSION));
      if (moved > 0) logger?.info({ moved, layout: LAYOUT_VERSION }, 'moved the keys of the previous Redis layout (hash tags for Redis Cluster)');
      return moved;
    },
    { ttlMs: 30_000, renew: true, waitMs: options.waitMs ?? 10 * 60_000 },
  );
}
