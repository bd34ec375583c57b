/** A per-name mutex in Redis (one lead is handled by one worker at a time), with a fencing token. */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

const RELEASE = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`, 1);
const EXTEND = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`, 1);

export class LockTimeoutError extends Error {
  constructor(name: string) {
    super(`lock ${name} is held by another worker`);
    this.name = 'LockTimeoutError';
  }
}

/** The holders of one lock name within this process: one holds it, the others wait here in turn. */
interface LocalTurn {
  held: boolean;
  waiters: Array<() => void>;
}

export class Locks {
  /**
   * Waiters of the same process queue here instead of spinning on Redis (16 evaluations of one
   * worker wanting the routing lock sent 116 SETs for 16 turns): only the process's current
   * contender asks Redis, which still excludes the holders of other processes.
   */
  private readonly turns = new Map<string, LocalTurn>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** How long a lock outlives a worker that died holding it. */
    private readonly defaultTtlMs = 30_000,
  ) {}

  /**
   * Runs `fn` holding the lock; waits up to `waitMs` for it. The lock expires after `ttlMs` if a
   * worker dies. With `renew`, a live holder extends it every third of `ttlMs`, for work (a full
   * read) that may outlast any fixed lifetime.
   */
  async with<T>(name: string, fn: () => Promise<T>, options: { ttlMs?: number; waitMs?: number; renew?: boolean } = {}): Promise<T> {
    const ttl = options.ttlMs ?? this.defaultTtlMs;
    const token = await this.acquire(name, ttl, options.waitMs ?? Math.max(10_000, ttl + 1000));
    if (token === null) throw new LockTimeoutError(name);
    return this.runHolding(name, token, ttl, !!options.renew, fn);
  }

  /** Runs `fn` holding the lock, or returns `busy` at once when another holder has it. */
  async tryWith<T, B>(name: string, busy: B, fn: () => Promise<T>, options: { ttlMs?: number; renew?: boolean } = {}): Promise<T | B> {
    const ttl = options.ttlMs ?? this.defaultTtlMs;
    const token = await this.acquire(name, ttl, 0);
    if (token === null) return busy;
    return this.runHolding(name, token, ttl, !!options.renew, fn);
  }

  private async acquire(name: string, ttl: number, waitMs: number): Promise<string | null> {
    const key = this.keys.lock(name);
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    if (!(await this.takeTurn(name, waitMs))) return null;
    // Whatever ends the wait without the lock (time, or a Redis error) hands the process's turn on.
    try {
      let delay = 5;
      while ((await this.redis.set(key, token, 'PX', ttl, 'NX')) !== 'OK') {
        if (Date.now() >= deadline) {
          this.passTurn(name);
          return null;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(100, delay * 2);
      }
    } catch (err) {
      this.passTurn(name);
      throw err;
    }
    return token;
  }

  /** Waits, up to `waitMs`, for this process's turn at the lock; false when the wait ran out. */
  private takeTurn(name: string, waitMs: number): Promise<boolean> {
    const turn = this.turns.get(name) ?? { held: false, waiters: [] };
    this.turns.set(name, turn);
    if (!turn.held) {
      turn.held = true;
      return Promise.resolve(true);
    }
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = turn.waiters.indexOf(waiter);
        if (at >= 0) turn.waiters.splice(at, 1);
        resolve(false);
      }, waitMs);
      turn.waiters.push(waiter);
    });
  }

  /** Hands this process's turn to its next waiter, or frees it. */
  private passTurn(name: string): void {
    const turn = this.turns.get(name);
    if (!turn) return;
    const next = turn.waiters.shift();
    if (next) next();
    else this.turns.delete(name);
  }

  private async runHolding<T>(name: string, token: string, ttl: number, renew: boolean, fn: () => Promise<T>): Promise<T> {
    const key = this.keys.lock(name);
    const renewal = renew
      ? setInterval(() => {
        EXTEND.run(this.redis, key, token, ttl).catch(() => undefined);
      }, Math.max(100, Math.floor(ttl / 3)))
      : null;
    try {
      return await fn();
    } finally {
      if (renewal) clearInterval(renewal);
      try {
        await RELEASE.run(this.redis, key, token);
      } finally {
        this.passTurn(name);
      }
    }
  }
}
