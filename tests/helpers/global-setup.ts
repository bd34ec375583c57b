/**
 * Finds the Redis the tests use, as the README promises: REDIS_URL, else 127.0.0.1:6379, else a
 * private redis-server on a free port (stopped after the run). Each test then works under its own
 * key prefix (tests/helpers/redis.ts) and never touches keys that are not its own.
 */
import type { TestProject } from 'vitest/node';
import { resolveRedis } from '../../src/store/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await resolveRedis({ allowPrivate: true });
  if (redis.origin === 'private') console.log(`[tests] started a private redis-server at ${redis.url}`);
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
