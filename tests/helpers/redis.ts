/** A Redis connection and a key prefix of the test's own; cleanup deletes only that prefix. */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { RedisClient } from '../../src/store/redis.js';
import { createRedis, deleteMatching } from '../../src/store/redis.js';

export interface TestRedis {
  url: string;
  redis: RedisClient;
  /** Every key a test writes starts with this, e.g. `smk-test:2b1c…:`. */
  prefix: string;
  cleanup(): Promise<void>;
}

/** Deletes the prefix's keys by SCAN (on every master of a cluster). */
export async function deleteByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  return deleteMatching(redis, `${prefix}*`);
}

/** `url`: another Redis than the run's (a cluster, tests/helpers/redis-cluster.ts). */
export async function testRedis(label = 'test', url: string = inject('redisUrl')): Promise<TestRedis> {
  const redis = createRedis(url);
  const prefix = `smk-test:${label}:${randomUUID().slice(0, 8)}:`;
  return {
    url,
    redis,
    prefix,
    cleanup: async () => {
      await deleteByPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
