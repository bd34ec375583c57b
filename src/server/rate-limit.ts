/**
 * Rate limits per client address (express-rate-limit), counted in Redis (rate-limit-redis) so that
 * every process of the service shares one count per address:
 *
 * - `guesses`: wrong admin tokens, that is a POST /login answered 401, or a request to the admin
 *   API, Bull Board or an OAuth install start that sent an Authorization header and was answered
 *   401. 20 per address in 15 minutes; past that, the address gets 429 on POST /login and on
 *   every request that sends an Authorization header, even with the right token, until the window
 *   ends. A request that sends no Authorization header (a browser with its session cookie, or a
 *   signed-out one) is not a guess and is not held back: a signed-in admin behind the same
 *   address as an attacker keeps the dashboard.
 * - `api`: every request to the admin API, Bull Board and the OAuth install starts, right token or
 *   not: 600 per address a minute (the dashboard makes about 75 a minute per open tab).
 *
 * The client address is `req.ip`: the socket's peer, or the X-Forwarded-For client when the app
 * trusts a proxy (AppOptions.trustProxy); IPv6 addresses count per /56. Refusals are logged with
 * it (never a token). When Redis cannot count, requests pass (logged): the admin token is long
 * enough that an outage's worth of guesses is harmless, and logging in needs no Redis.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Options } from 'express-rate-limit';
import type { Logger } from 'pino';
import { RedisStore } from 'rate-limit-redis';
import type { RedisReply } from 'rate-limit-redis';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../store/redis.js';
import type { SyncContext } from '../../jobs/context.js';
import { HttpError, requestIdOf } from './http-errors.js';

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimitOptions {
  guesses?: RateLimit;
  api?: RateLimit;
}

export const DEFAULT_RATE_LIMITS: Required<RateLimitOptions> = {
  guesses: { limit: 20, windowMs: 15 * 60_000 },
  api: { limit: 600, windowMs: 60_000 },
};

/**
 * rate-limit-redis loads its Lua scripts once, when the limiter is made: a Redis that was down at
 * that moment would leave the limiter failing for good. This store loads them again on the next
 * request after a failed load (a Redis restart's NOSCRIPT the library handles itself).
 */
class SharedRedisStore extends RedisStore {
  private failed = new Set<'increment' | 'get'>();

  private watch(load: Promise<string>, which: 'increment' | 'get'): Promise<string> {
    load.catch(() => this.failed.add(which));
    return load;
  }

  override async init(options: Options): Promise<void> {
    this.windowMs = options.windowMs;
    this.incrementScriptSha = this.watch(this.loadIncrementScript(), 'increment');
    this.getScriptSha = this.watch(this.loadGetScript(), 'get');
    await Promise.allSettled([this.incrementScriptSha, this.getScriptSha]);
  }

  override async increment(key: string) {
    if (this.failed.delete('increment')) this.incrementScriptSha = this.watch(this.loadIncrementScript(), 'increment');
    return super.increment(key);
  }

  override async get(key: string) {
    if (this.failed.delete('get')) this.getScriptSha = this.watch(this.loadGetScript(), 'get');
    return super.get(key);
  }
}

export interface AdminRateLimits {
  /** Before POST /login. */
  login: RequestHandler[];
  /** Before the admin guard of the API, Bull Board and the OAuth install starts. */
  admin: RequestHandler[];
}

/**
 * rate-limit-redis loads its scripts with SCRIPT LOAD and runs them by EVALSHA on the key's node.
 * On a cluster a SCRIPT LOAD reaches one node only (ioredis sends a keyless command to any), so it
 * goes to every master here: the EVALSHA then finds the script wherever the key lives.
 */
async function sendRateLimitCommand(redis: RedisClient, command: string, args: string[]): Promise<RedisReply> {
  if (redis instanceof Cluster && command.toUpperCase() === 'SCRIPT') {
    const replies = await Promise.all(redis.nodes('master').map((node) => node.call(command, ...args)));
    return replies[0] as RedisReply;
  }
  return redis.call(command, ...args) as Promise<RedisReply>;
}

export function createRateLimits(
  ctx: SyncContext,
  logger: Logger,
  options: RateLimitOptions & { tooManyLoginPage?: (message: string) => string } = {},
): AdminRateLimits {
  const limits = { guesses: options.guesses ?? DEFAULT_RATE_LIMITS.guesses, api: options.api ?? DEFAULT_RATE_LIMITS.api };
  const erlLogger = {
    error: (err: unknown, message?: string) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, message ?? 'rate limiter error'),
    warn: (err: unknown, message?: string) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, message ?? 'rate limiter warning'),
  };

  const make = (name: 'guesses' | 'api', limit: RateLimit, extra: Partial<Parameters<typeof rateLimit>[0]>): RequestHandler =>
    rateLimit({
      limit: limit.limit,
      windowMs: limit.windowMs,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      passOnStoreError: true,
      logger: erlLogger,
      store: new SharedRedisStore({
        prefix: `${ctx.keys.meta(`rate-limit:${name}`)}:`,
        sendCommand: (command: string, ...args: string[]) => sendRateLimitCommand(ctx.redis, command, args),
      }),
      handler: (req: Request, res: Response, next: NextFunction) => {
        const retryAfter = Number(res.getHeader('retry-after')) || Math.ceil(limit.windowMs / 1000);
        logger.warn({ requestId: requestIdOf(res), ip: req.ip, method: req.method, path: req.originalUrl.split('?')[0], limiter: name, limit: limit.limit, windowSeconds: limit.windowMs / 1000 }, 'rate limited');
        const message = name === 'guesses'
          ? `too many wrong admin tokens from this address: try again in ${Math.ceil(retryAfter / 60)} minute(s)`
          : `too many requests from this address: try again in ${retryAfter} second(s)`;
        if (req.method === 'POST' && req.path === '/login' && options.tooManyLoginPage && !req.is('application/json')) {
          res.status(429).type('html').send(options.tooManyLoginPage(`Too many wrong tokens from this address. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`));
          return;
        }
        next(new HttpError(429, message));
      },
      ...extra,
    });

  const presentsToken = (req: Request): boolean => req.get('authorization') !== undefined;

  // A login is always a guess; elsewhere only a request that sends a token is.
  const loginGuesses = make('guesses', limits.guesses, {
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
  });
  const adminGuesses = make('guesses', limits.guesses, {
    skip: (req) => !presentsToken(req),
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
  });
  const api = make('api', limits.api, {});
  return { login: [loginGuesses], admin: [api, adminGuesses] };
}
