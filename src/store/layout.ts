/**
 * The key layout's version, and moving the keys of an older layout at start. Layout 2 (Redis
 * Cluster) gave each lead's keys its id as hash tag, each BullMQ queue its name as tag (all queues
 * shared `{q}` before), and the open-lead keys one tag: a Redis written by an older version keeps
 * its leads, versions and queued jobs (waiting, delayed, failed) once they are moved here.
 * Layout 3 (memory) folded a key per email, per record link and per lead counter into hash fields:
 * the email index and the links into hash buckets (src/store/index-buckets.ts), a lead's version
 * and evaluated version into one hash. Layout 4 indexed the sync-errors report by (CRM, code) and by
 * name, so that a page, a filter or a record's entries are read without the whole report. A Redis of
 * an older layout goes through each step in turn.
 *
 * The move runs once per key prefix, under a lock, before the process opens its queues; the
 * version it reached is kept in `<prefix>:meta:layout`. Other processes of the new version wait for
 * it. Processes of the old version must be stopped first: they would go on writing the old keys.
 */
import { Cluster } from 'ioredis';
import { LEAD_COUNTER } from './keys.js';
import type { Keys } from './keys.js';
import { Locks } from './locks.js';
import { execBySlot, scanKeys } from './redis.js';
import { syncErrorSchema } from './sync-errors.js';
import type { RedisClient } from './redis.js';

export const LAYOUT_VERSION = 4;

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
    // The counters' keys of layout 2 (layout 3 folds them into one hash, below).
    return lead[1] === 'lead' ? keys.lead(id) : `${keys.prefix}:${lead[1]}:{${id}}`;
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

/** A layout-2 key that layout 3 keeps as a hash field instead: where its value goes. */
export type LayoutThreeEntry = { key: string; field: string };

/**
 * Where layout 3 keeps the value of a layout-2 key, or null when the key did not change. Pure, so
 * the rules are tested by table as well. The buckets themselves never match: an email always has an
 * `@` (normaliseEmail), a bucket's name never; a link bucket's object part is its `{tag}`.
 */
export function layoutThreeEntry(keys: Keys, key: string): LayoutThreeEntry | null {
  const p = escapeRegExp(keys.prefix);
  const counter = new RegExp(`^${p}:(lead-version|lead-evaluated):\\{([^{}:]+)\\}$`).exec(key);
  if (counter) {
    return { key: keys.leadCounters(counter[2] as string), field: counter[1] === 'lead-version' ? LEAD_COUNTER.version : LEAD_COUNTER.evaluated };
  }
  const email = new RegExp(`^${p}:email:(.*@.*)$`).exec(key);
  if (email) return keys.emailIndex(email[1] as string);
  const link = new RegExp(`^${p}:link:([^:{}]+):([^:{}]+):(.+)$`).exec(key);
  if (link) return keys.link(link[1] as string, link[2] as string, link[3] as string);
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

/** Layout 1 -> 2: each moved key keeps its value under its new name. Returns how many moved. */
async function moveLayoutOne(redis: RedisClient, keys: Keys): Promise<number> {
  let moved = 0;
  for await (const batch of scanKeys(redis, `${keys.prefix}:*`)) {
    for (const key of batch) {
      const to = layoutTwoName(keys, key);
      if (to !== null && to !== key && (await moveKey(redis, key, to))) moved += 1;
    }
  }
  return moved;
}

/**
 * Layout 2 -> 3: each string key's value becomes its hash field, then the key goes, a SCAN batch at
 * a time in pipelines (per slot on a cluster: the old key and its bucket lie in different slots).
 * The fields are written before the keys are deleted: a crash between leaves both, and the step,
 * run again at the next start, writes the same values again.
 */
async function foldLayoutTwo(redis: RedisClient, keys: Keys): Promise<number> {
  let moved = 0;
  for await (const batch of scanKeys(redis, `${keys.prefix}:*`)) {
    const found = batch.flatMap((key) => {
      const to = layoutThreeEntry(keys, key);
      return to === null ? [] : [{ key, to }];
    });
    if (found.length === 0) continue;
    const values = await execBySlot(redis, found.map((f) => f.key), (pipe, i) => pipe.get((found[i] as { key: string }).key));
    // A key gone meanwhile has nothing to move.
    const present = found.flatMap((f, i) => {
      const [error, value] = values[i] ?? [null, null];
      if (error) throw error;
      return typeof value === 'string' ? [{ ...f, value }] : [];
    });
    const failed = (replies: Array<[Error | null, unknown]>) => replies.find(([error]) => error)?.[0];
    const written = await execBySlot(redis, present.map((f) => f.to.key), (pipe, i) => {
      const f = present[i] as (typeof present)[number];
      pipe.hset(f.to.key, f.to.field, f.value);
    });
    const writeError = failed(written);
    if (writeError) throw writeError;
    const deleteError = failed(await execBySlot(redis, present.map((f) => f.key), (pipe, i) => pipe.del((present[i] as (typeof present)[number]).key)));
    if (deleteError) throw deleteError;
    moved += present.length;
  }
  return moved;
}

/**
 * Layout 3 -> 4: every sync-errors entry goes into its (crm, code) category and the index by name,
 * 500 entries at a time. Adding an entry again changes nothing, so a crash part way is mended by
 * the step run again at the next start. Returns how many entries were indexed.
 */
async function indexSyncErrors(redis: RedisClient, keys: Keys): Promise<number> {
  const entrySchema = syncErrorSchema.pick({ id: true, crm: true, code: true });
  let indexed = 0;
  for (let start = 0; ; start += 500) {
    const flat = await redis.zrange(keys.syncErrors(), start, start + 499, 'WITHSCORES');
    if (flat.length === 0) return indexed;
    const ids = flat.filter((_, i) => i % 2 === 0);
    const raws = await redis.mget(ids.map((id) => keys.syncError(id)));
    // Every key here shares the `{sync-errors}` tag: one pipeline, one slot.
    const pipe = redis.pipeline();
    for (const [i, raw] of raws.entries()) {
      // An entry that is not an entry (written by hand?) stays as it was, in the index by time only.
      const parsed = raw ? entrySchema.safeParse(JSON.parse(raw)) : null;
      if (!parsed?.success) continue;
      const entry = parsed.data;
      pipe.zadd(keys.syncErrorCategory(entry.crm, entry.code), flat[i * 2 + 1] as string, entry.id);
      pipe.sadd(keys.syncErrorCategories(), `${entry.crm}:${entry.code}`);
      pipe.zadd(keys.syncErrorIds(), 0, entry.id);
      indexed += 1;
    }
    const failed = ((await pipe.exec()) ?? []).find(([error]) => error)?.[0];
    if (failed) throw failed;
    if (flat.length < 1000) return indexed;
  }
}

/**
 * Brings the prefix's keys to LAYOUT_VERSION (once: later starts read the version and go on),
 * one layout step after the other, each recorded when done. Returns how many keys moved.
 */
export async function ensureLayout(redis: RedisClient, keys: Keys, logger?: LayoutLogger, options: { waitMs?: number } = {}): Promise<number> {
  if ((await layoutVersion(redis, keys)) >= LAYOUT_VERSION) return 0;
  const locks = new Locks(redis, keys);
  // Another process moving a large Redis holds the lock: wait for it (the lock is renewed).
  return locks.with(
    'layout',
    async () => {
      const from = await layoutVersion(redis, keys);
      if (from >= LAYOUT_VERSION) return 0;
      let moved = 0;
      if (from < 2) {
        const count = await moveLayoutOne(redis, keys);
        await redis.set(keys.meta('layout'), '2');
        if (count > 0) logger?.info({ moved: count, layout: 2 }, 'moved the keys of the previous Redis layout (hash tags for Redis Cluster)');
        moved += count;
      }
      if (from < 3) {
        const count = await foldLayoutTwo(redis, keys);
        await redis.set(keys.meta('layout'), '3');
        if (count > 0) logger?.info({ moved: count, layout: 3 }, 'moved the keys of the previous Redis layout (email index, record links and lead counters into hashes)');
        moved += count;
      }
      const indexed = await indexSyncErrors(redis, keys);
      await redis.set(keys.meta('layout'), String(LAYOUT_VERSION));
      if (indexed > 0) logger?.info({ indexed, layout: 4 }, 'indexed the sync-errors report by CRM, code and record');
      return moved + indexed;
    },
    { ttlMs: 30_000, renew: true, waitMs: options.waitMs ?? 10 * 60_000 },
  );
}
