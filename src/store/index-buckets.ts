/**
 * The email index and the record links as hash buckets: each entry is a field of one of
 * INDEX_BUCKETS small Redis hashes per index, chosen by a stable hash of the field. A key of its
 * own cost an entry about 100 bytes of Redis's bookkeeping (the key's name, its object, its entry in
 * the key space) for a value of 21 bytes; a field in a listpack-encoded hash costs the field, the
 * value and a few bytes.
 *
 * Redis keeps a hash as a listpack while it has at most `hash-max-listpack-entries` fields (128 in
 * the redis.conf that Redis 7 ships and on managed services; 512 compiled in, as a Redis started
 * without a config file has) and no field or value over `hash-max-listpack-value` bytes (64). The
 * bucket count is fixed, so that every process, before and after a restart or a lost Redis, finds
 * an entry where another one put it: 256 buckets hold about 25,000 entries per index (about 100 a
 * bucket) before the fullest buckets pass 128 fields. Past that, or for a field over 64 bytes (a
 * rare email), Redis turns that one bucket into a hash table: lookups stay O(1) and the bucket's
 * entries cost about what a key each did before (some 110 bytes), never more. Below it, the
 * buckets' own overhead (about 90 bytes each, over 256 buckets) is spread over their entries.
 */

/** Buckets per index. Changing it moves every entry: it would need a layout step (src/store/layout.ts). */
export const INDEX_BUCKETS = 256;

/**
 * The bucket of a field: 32-bit FNV-1a of its UTF-8 bytes. Stable across processes, versions and
 * platforms (never a runtime's own string hash), and cheap enough for every look-up.
 */
export function indexBucket(field: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(field, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % INDEX_BUCKETS;
}
