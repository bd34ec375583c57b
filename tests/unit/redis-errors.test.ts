/**
 * createRedis gives every connection an `error` listener: a Redis outage is one warning through
 * the logger (no "[ioredis] Unhandled error event" on stderr for each retry), without the URL's
 * password, and the recovery is logged once too.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRedis, freePort } from '../../src/store/redis.js';
import type { RedisLogger } from '../../src/store/redis.js';

function recordingLogger() {
  const lines: Array<{ level: 'warn' | 'info'; obj: object; msg?: string }> = [];
  const logger: RedisLogger = {
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
  };
  return { logger, lines };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Redis connection errors', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('logs an outage once, without the password, and nothing on stderr', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { logger, lines } = recordingLogger();
    const port = await freePort();
    let attempts = 0;
    const client = createRedis(`redis://smk:s3cret-pass@127.0.0.1:${port}`, {
      logger,
      lazyConnect: true,
      retryStrategy: () => (++attempts < 5 ? 10 : null),
    });
    await client.connect().catch(() => undefined);
    await until(() => client.status === 'end');
    client.disconnect();
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: expect.stringContaining('redis connection failed') as unknown });
    expect(lines[0]?.obj).toMatchObject({ redis: `redis://smk:***@127.0.0.1:${port}`, code: 'ECONNREFUSED' });
    expect(JSON.stringify(lines)).not.toContain('s3cret');
    expect(stderr).not.toHaveBeenCalled();
  });

  it('logs one line for an outage that every connection of the process sees, one a minute while it lasts, one when it is back', async () => {
    const { logger, lines } = recordingLogger();
    const url = `redis://127.0.0.1:${await freePort()}`;
    const clients = [0, 1, 2].map(() => createRedis(url, { logger, lazyConnect: true }));
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(start);
      for (let second = 0; second < 25; second += 1) {
        vi.setSystemTime(start + second * 1000);
        for (const client of clients) for (let i = 0; i < 10; i += 1) client.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      }
      expect(lines).toHaveLength(1);
      vi.setSystemTime(start + 61_000);
      clients[0]!.emit('error', new Error('connect ECONNREFUSED'));
      vi.setSystemTime(start + 62_000);
      for (const client of clients) client.emit('ready');
    } finally {
      vi.useRealTimers();
    }
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'redis connection failed; retrying until it answers again'],
      ['warn', 'redis is still unreachable; retrying'],
      ['info', 'redis connection is back'],
    ]);
    expect(lines[2]?.obj).toMatchObject({ downForSeconds: 62 });
    for (const client of clients) client.disconnect();
  });

  it('says when the connection is back, and logs the next outage again', async () => {
    const { logger, lines } = recordingLogger();
    // Never connected: the events are played as ioredis emits them (a dropped stream, then the reconnect).
    const client = createRedis(`redis://127.0.0.1:${await freePort()}`, { logger, lazyConnect: true });
    client.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    client.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    client.emit('ready');
    client.emit('error', new Error('connect ETIMEDOUT'));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'redis connection failed; retrying until it answers again'],
      ['info', 'redis connection is back'],
      ['warn', 'redis connection failed; retrying until it answers again'],
    ]);
    client.disconnect();
  });
});
