/**
 * A Redis Cluster for the tests that need one: the one `.ci/run` started (SMK_TEST_REDIS_CLUSTER,
 * a `redis+cluster://` URL), else a private 3-master cluster on free ports started here and
 * stopped by `stop` (nothing is stopped that this did not start).
 */
import { randomUUID } from 'node:crypto';
import { createRedis, deleteMatching, startPrivateCluster } from '../../src/store/redis.js';
import type { RedisClient } from '../../src/store/redis.js';

export interface TestCluster {
  url: string;
  /** True when this test started the cluster (and `stop` ends it). */
  started: boolean;
  stop(): Promise<void>;
}

export async function testCluster(): Promise<TestCluster> {
  const given = process.env.SMK_TEST_REDIS_CLUSTER?.trim();
  if (given) return { url: given, started: false, stop: async () => undefined };
  const cluster = await startPrivateCluster();
  return { url: cluster.url, started: true, stop: cluster.stop };
}

/** A connection to the cluster and a key prefix of the test's own, as tests/helpers/redis.ts gives. */
export function clusterPrefix(url: string, label: string): { redis: RedisClient; prefix: string; cleanup(): Promise<void> } {
  const redis = createRedis(url);
  const prefix = `smk-test:${label}:${randomUUID().slice(0, 8)}`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      await deleteMatching(redis, `${prefix}:*`);
      redis.disconnect();
    },
  };
}
