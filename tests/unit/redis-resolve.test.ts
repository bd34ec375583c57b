import { describe, expect, it } from 'vitest';
import { resolveRedis, startPrivateRedis, redisAnswers, RedisUnavailableError } from '../../src/store/redis.js';
import { testRedis } from '../helpers/redis.js';

describe('finding a Redis', () => {
  it('uses REDIS_URL when set, and only it', async () => {
    const { url, cleanup } = await testRedis('resolve');
    const resolved = await resolveRedis({ env: { REDIS_URL: url } });
    expect(resolved.url).toBe(url);
    expect(resolved.origin).toBe('env');
    await cleanup();
  });

  it('says how to get one when REDIS_URL does not answer', async () => {
    const err = await resolveRedis({ env: { REDIS_URL: 'redis://127.0.0.1:1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(String((err as Error).message)).toMatch(/apt-get install redis-server/);
    expect(String((err as Error).message)).toMatch(/docker compose up -d redis/);
  });

  it('starts a private redis-server that keeps nothing and stops it', async () => {
    const server = await startPrivateRedis();
    expect(await redisAnswers(server.url)).toBe(true);
    await server.stop();
    expect(await redisAnswers(server.url, 300)).toBe(false);
  });

  it('keys written under a test prefix are removed by cleanup, and nothing else', async () => {
    const a = await testRedis('a');
    const b = await testRedis('b');
    await a.redis.set(`${a.prefix}k`, '1');
    await b.redis.set(`${b.prefix}k`, '2');
    await a.cleanup();
    expect(await b.redis.get(`${b.prefix}k`)).toBe('2');
    await b.cleanup();
  });
});
