/** A per-name mutex in Redis (one lead is handled by one worker at a time), with a fencing token. */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class LockTimeoutError extends Error {
  constructor(name: string) {
    super(`lock ${name} is held by another worker`);
    this.name = 'LockTimeoutError';
  }
}

export class Locks {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** How long a lock outlives a worker that died holding it. */
    private readonly defaultTtlMs = 30_000,
  ) {}

  /** Runs `fn` holding the lock; waits up to `waitMs` for it. The lock expires after `ttlMs` if a worker dies. */
  async with<T>(name: string, fn: () => Promise<T>, options: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
    const key = this.keys.lock(name);
    const token = randomUUID();
    const ttl = options.ttlMs ?? this.defaultTtlMs;
    const deadline = Date.now() + (options.waitMs ?? Math.max(10_000, ttl + 1000));
    let delay = 5;
    while ((await this.redis.set(key, token, 'PX', ttl, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new LockTimeoutError(name);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(100, delay * 2);
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token);
    }
  }
}
