import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../../../src/store/redis.js';
import { createKeys } from '../../../src/store/keys.js';
import { Locks } from '../../../src/store/locks.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

/** The same connection, counting the SETs it sends (a lock attempt is one SET NX). */
function countingSets(redis: RedisClient): { redis: RedisClient; sets: () => number } {
  let sets = 0;
  const proxy = new Proxy(redis, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop === 'set' && typeof value === 'function') {
        return (...args: unknown[]) => { sets += 1; return (value as (...a: unknown[]) => unknown).apply(target, args); };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { redis: proxy, sets: () => sets };
}

describe('Locks', () => {
  let t: TestRedis;
  beforeAll(async () => { t = await testRedis('locks'); });
  afterAll(async () => { await t.cleanup(); });

  it('serialises the holders of one process without spinning on Redis', async () => {
    const { redis, sets } = countingSets(t.redis);
    const locks = new Locks(redis, createKeys(t.prefix));
    const order: number[] = [];
    let inside = 0;
    let most = 0;
    // 16 evaluations of one worker want the routing lock at once, each holding it for a while.
    await Promise.all(Array.from({ length: 16 }, (_, i) => locks.with('routing', async () => {
      inside += 1;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 20));
      order.push(i);
      inside -= 1;
    })));
    expect(most).toBe(1);
    expect(order).toHaveLength(16);
    // One SET per holder: waiters of the same process queue in the process, not on Redis.
    expect(sets()).toBe(16);
  });

  it('still excludes a holder in another process (another Locks on another connection)', async () => {
    const keys = createKeys(t.prefix);
    const a = new Locks(t.redis, keys);
    const other = (t.redis as Redis).duplicate();
    const b = new Locks(other, keys);
    let inside = 0;
    let most = 0;
    const hold = async () => { inside += 1; most = Math.max(most, inside); await new Promise((r) => setTimeout(r, 30)); inside -= 1; };
    await Promise.all([a.with('x', hold), b.with('x', hold), a.with('x', hold), b.with('x', hold)]);
    expect(most).toBe(1);
    other.disconnect();
  });

  it('a waiter of the process whose own wait runs out fails with LockTimeoutError, and the queue goes on', async () => {
    const locks = new Locks(t.redis, createKeys(t.prefix));
    let release!: () => void;
    const held = locks.with('slow', () => new Promise<void>((r) => { release = r; }));
    await new Promise((r) => setTimeout(r, 20));
    await expect(locks.with('slow', async () => 'never', { waitMs: 50 })).rejects.toThrow(/lock slow is held/);
    release();
    await held;
    await expect(locks.with('slow', async () => 'next')).resolves.toBe('next');
  });

  it('a Redis error while asking for the lock fails that caller only: the next one of the process still gets its turn', async () => {
    let failNext = true;
    const flaky = new Proxy(t.redis, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop === 'set' && typeof value === 'function') {
          return (...args: unknown[]) => {
            if (failNext) {
              failNext = false;
              return Promise.reject(new Error('Connection is closed.'));
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const locks = new Locks(flaky, createKeys(t.prefix));
    await expect(locks.with('flaky', async () => 'first')).rejects.toThrow(/Connection is closed/);
    await expect(locks.with('flaky', async () => 'second', { waitMs: 300 })).resolves.toBe('second');
  });
});
