/**
 * The one Redis connection factory, and finding a Redis to talk to: `REDIS_URL`, else
 * 127.0.0.1:6379, else a private `redis-server` started on a free port in a temporary directory
 * (stopped at exit), else a message that says how to get one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { logger as defaultLogger } from '../logger.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** What createRedis reports a Redis outage to (the project's pino logger fits). */
export interface RedisLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/**
 * A connection for the service. BullMQ needs `maxRetriesPerRequest: null` on connections that
 * block (workers); for plain commands a bounded retry keeps a dead Redis from hanging a request.
 * Connection errors are logged (once per outage, see watchRedisErrors) instead of ioredis's
 * "Unhandled error event" on stderr for every retry.
 */
export function createRedis(url: string, options: RedisOptions & { forQueues?: boolean; logger?: RedisLogger } = {}): Redis {
  const { forQueues, logger, ...rest } = options;
  const client = new Redis(url, {
    maxRetriesPerRequest: forQueues ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: 'smk',
    ...rest,
  });
  watchRedisErrors(client, url, logger ?? defaultLogger);
  return client;
}

/** While Redis stays down, the outage is logged again at most this often. */
export const REDIS_ERROR_LOG_EVERY_MS = 60_000;

/**
 * One outage of one Redis, as every connection of this process to it sees it: a process has
 * several connections (commands, queues, each worker's blocking one), and all fail together.
 */
interface Outage {
  down: Set<Redis>;
  since: number;
  loggedAt: number;
}
const outages = new WeakMap<RedisLogger, Map<string, Outage>>();

function outageOf(logger: RedisLogger, where: string): Outage {
  const byUrl = outages.get(logger) ?? new Map<string, Outage>();
  outages.set(logger, byUrl);
  const outage = byUrl.get(where) ?? { down: new Set<Redis>(), since: 0, loggedAt: 0 };
  byUrl.set(where, outage);
  return outage;
}

/**
 * Gives `client` an `error` listener. ioredis emits an error on every failed reconnect (several a
 * second while Redis is down, on each connection): the process logs one line when Redis goes away,
 * one a minute while it stays away, and one when it is back, whatever the number of connections.
 * The URL is logged without its password, and the password is cut from the message should an
 * error ever carry it.
 */
export function watchRedisErrors(client: Redis, url: string, logger: RedisLogger): void {
  const where = redactUrl(url);
  const secrets: string[] = [];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // An unparseable URL: ioredis fails on it with its own error, logged below.
  }
  const outage = outageOf(logger, where);
  client.on('error', (err: unknown) => {
    const now = Date.now();
    const starting = outage.down.size === 0;
    outage.down.add(client);
    if (!starting && now - outage.loggedAt < REDIS_ERROR_LOG_EVERY_MS) return;
    if (starting) outage.since = now;
    outage.loggedAt = now;
    const raw = err instanceof Error ? err.message : String(err);
    const message = secrets.reduce((text, secret) => text.split(secret).join('***'), raw);
    const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
    if (starting) logger.warn({ redis: where, err: message, ...(code ? { code } : {}) }, 'redis connection failed; retrying until it answers again');
    else logger.warn({ redis: where, err: message, ...(code ? { code } : {}), downForSeconds: Math.round((now - outage.since) / 1000) }, 'redis is still unreachable; retrying');
  });
  client.on('ready', () => {
    if (!outage.down.delete(client) || outage.down.size > 0) return;
    logger.info({ redis: where, downForSeconds: Math.round((Date.now() - outage.since) / 1000) }, 'redis connection is back');
  });
  // A connection closed for good no longer counts towards the outage (and says nothing).
  client.on('end', () => {
    outage.down.delete(client);
  });
}

/** Answers whether a Redis at `url` replies to PING within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/opt/homebrew/bin']) {
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts a throw-away `redis-server` that keeps nothing on disk unless `appendOnly` is asked. */
export async function startPrivateRedis(options: { appendOnly?: boolean; port?: number; dir?: string } = {}): Promise<PrivateRedis> {
  const binary = findOnPath('redis-server');
  if (!binary) throw new RedisUnavailableError(howToGetRedis('redis-server is not installed'));
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'smk-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no');
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore', detached: false });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode}`);
    if (await redisAnswers(url, 300)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await redisAnswers(url, 500))) {
    child.kill('SIGKILL');
    throw new RedisUnavailableError(`redis-server started on port ${port} but did not answer within 10 s`);
  }
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    url,
    stop: async () => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        });
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function howToGetRedis(why: string): string {
  return [
    `No Redis could be reached (${why}).`,
    'The Smarketing Connector keeps its queues and state in Redis. Either:',
    '  - set REDIS_URL to a Redis you run (for example redis://127.0.0.1:6379), or',
    '  - install one: `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), or',
    '  - run `docker compose up -d redis` from this repository.',
  ].join('\n');
}

export interface ResolvedRedis {
  url: string;
  /** Where it came from: the environment, the default local port, or a private server we started. */
  origin: 'env' | 'default' | 'private';
  stop(): Promise<void>;
}

/** Finds a Redis as the README promises. `REDIS_URL`, when set, is the only one tried. */
export async function resolveRedis(options: { allowPrivate?: boolean; env?: NodeJS.ProcessEnv; waitMs?: number; onWaiting?: (message: string) => void } = {}): Promise<ResolvedRedis> {
  const env = options.env ?? process.env;
  const fromEnv = env.REDIS_URL?.trim();
  if (fromEnv) {
    // A service started while its Redis restarts (a reboot, a failover) waits for it, as it does
    // when Redis goes away later: it says so once a minute, and gives up only after `waitMs`.
    const deadline = Date.now() + (options.waitMs ?? 0);
    let saidAt = 0;
    for (;;) {
      if (await redisAnswers(fromEnv)) return { url: fromEnv, origin: 'env', stop: async () => undefined };
      if (Date.now() >= deadline) break;
      if (Date.now() - saidAt >= REDIS_ERROR_LOG_EVERY_MS) {
        options.onWaiting?.(`REDIS_URL=${redactUrl(fromEnv)} does not answer yet; waiting for it`);
        saidAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new RedisUnavailableError(howToGetRedis(`REDIS_URL=${redactUrl(fromEnv)} does not answer`));
  }
  if (await redisAnswers(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL, origin: 'default', stop: async () => undefined };
  if (options.allowPrivate === false) throw new RedisUnavailableError(howToGetRedis('nothing answers at 127.0.0.1:6379'));
  const started = await startPrivateRedis();
  return { url: started.url, origin: 'private', stop: started.stop };
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable REDIS_URL>';
  }
}
