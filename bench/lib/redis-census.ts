/**
 * What the service keeps in Redis, measured key by key: every key under the bench's prefix is
 * sized with MEMORY USAGE (the bytes Redis holds for it, key and overhead included) and grouped
 * by family, so the figure is the service's own however busy a shared Redis is. The email index and
 * the record links are hash buckets (src/store/index-buckets.ts): their families, `email` and
 * `link:<crm>`, count buckets as keys, and their bytes are the index's whole; a lead's counters
 * are the family `lead-counters` (it was `lead-version` and `lead-evaluated` before layout 3).
 */
import { mastersOf } from '../../src/store/redis.js';
import type { RedisClient } from '../../src/store/redis.js';

export interface RedisCensus {
  keys: number;
  bytes: number;
  /** Family -> keys and bytes, largest first. */
  families: Array<{ family: string; keys: number; bytes: number }>;
}

const ID_LIKE = /^(?:L[0-9a-f]{20}|[0-9a-zA-Z]{15,18}|\d+|[0-9a-f-]{32,36})$/;
/** Families whose next segment names a sub-family (a queue, a CRM, a store). */
const NAMESPACES = new Set(['meta', 'acct', 'pending', 'quota', 'held', 'link', 'created', 'lock', 'cursor', 'token']);

/** The family of a key: its first segments after the prefix, ids and hash-tag braces left out. */
export function keyFamily(key: string, prefix: string): string {
  const rest = key.startsWith(`${prefix}:`) ? key.slice(prefix.length + 1) : key;
  const segments = rest.split(':');
  const first = segments[0] ?? '';
  const out = [first];
  const second = segments[1];
  if (second !== undefined && (NAMESPACES.has(first) || /^\{.*\}$/.test(first))) {
    const bare = second.replace(/^\{|\}$/g, '');
    out.push(ID_LIKE.test(bare) ? '*' : bare.replace(/[^a-zA-Z-].*$/, '') || '*');
  }
  return out.join(':');
}

/** Sizes every key under `prefix` (SCAN, then MEMORY USAGE in pipelines of 500), on every master of a cluster. */
export async function redisCensus(client: RedisClient, prefix: string): Promise<RedisCensus> {
  const byFamily = new Map<string, { keys: number; bytes: number }>();
  let keys = 0;
  let bytes = 0;
  for (const redis of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < found.length; i += 500) {
        const slice = found.slice(i, i + 500);
        const pipeline = redis.pipeline();
        for (const key of slice) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
        const results = (await pipeline.exec()) ?? [];
        slice.forEach((key, j) => {
          const size = Number(results[j]?.[1] ?? 0);
          if (!Number.isFinite(size) || size <= 0) return; // gone meanwhile
          const family = keyFamily(key, prefix);
          const entry = byFamily.get(family) ?? { keys: 0, bytes: 0 };
          entry.keys += 1;
          entry.bytes += size;
          byFamily.set(family, entry);
          keys += 1;
          bytes += size;
        });
      }
    } while (cursor !== '0');
  }
  const families = [...byFamily].map(([family, v]) => ({ family, ...v })).sort((a, b) => b.bytes - a.bytes);
  return { keys, bytes, families };
}
