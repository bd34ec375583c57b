/**
 * The bucket of an index entry (src/store/index-buckets.ts) is part of the stored layout: a change
 * of the hash would lose every email and link already stored. Pinned to FNV-1a's published vectors.
 */
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { INDEX_BUCKETS, indexBucket } from '../../../src/store/index-buckets.js';
import { createKeys } from '../../../src/store/keys.js';

describe('indexBucket', () => {
  it('is 32-bit FNV-1a of the UTF-8 bytes, modulo the bucket count', () => {
    // FNV-1a 32: "" -> 0x811c9dc5, "a" -> 0xe40c292c, "foobar" -> 0xbf9cf968.
    expect(indexBucket('')).toBe(0x811c9dc5 % INDEX_BUCKETS);
    expect(indexBucket('a')).toBe(0xe40c292c % INDEX_BUCKETS);
    expect(indexBucket('foobar')).toBe(0xbf9cf968 % INDEX_BUCKETS);
  });

  it('spreads emails evenly enough that buckets stay small hashes', () => {
    const counts = new Array<number>(INDEX_BUCKETS).fill(0);
    const n = 100 * INDEX_BUCKETS;
    for (let i = 0; i < n; i += 1) counts[indexBucket(`person.${i}@example-${i % 97}.com`)]! += 1;
    // 100 a bucket on average; 128 is the listpack limit of Redis's shipped redis.conf.
    expect(Math.min(...counts)).toBeGreaterThan(60);
    expect(Math.max(...counts)).toBeLessThan(145);
  });

  it('puts the buckets of one index in many cluster slots', () => {
    const keys = createKeys('smk');
    const emailSlots = new Set<number>();
    const linkSlots = new Set<number>();
    for (let i = 0; i < 20 * INDEX_BUCKETS; i += 1) {
      emailSlots.add(calculateSlot(keys.emailIndex(`p${i}@example.com`).key));
      linkSlots.add(calculateSlot(keys.link('hubspot', 'contact', String(i)).key));
    }
    expect(emailSlots.size).toBeGreaterThan(INDEX_BUCKETS * 0.95);
    expect(linkSlots.size).toBeGreaterThan(INDEX_BUCKETS * 0.95);
  });
});
