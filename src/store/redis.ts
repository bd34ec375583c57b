/**
 * The one Redis connection factory, and finding a Redis to talk to: `REDIS_URL`, else
 * 127.0.0.1:6379, else a private `redis-server` started on a free port in a temporary directory
 * (stopped at exit), else a message that says how to get one.
 *
 * A Redis Cluster is named by `REDIS_CLUSTER_NODES=host:port,host:port,...` or by a URL of the
 * form `redis+cluster://[user:password@]host:port,host:port` (`rediss+cluster://` for TLS): the
 * factory then makes an ioredis `Cluster`, and every store and job uses the one `RedisClient`
 * type for both. Keys that a MULTI, a Lua script or a multi-key command touch together share a
 * hash tag (src/store/keys.ts), and reads across many slots go through `mgetAcross` and
 * `execBySlot` below.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisClient } from './redis-slots.js';
import { logger as defaultLogger } from '../logger.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export type { RedisClient } from './redis-slots.js';
export { deleteMatching, execBySlot, mastersOf, mgetAcross, mgetBufferAcross, scanKeys } from './redis-slots.js';

/** The nodes, credentials and TLS of a `redis+cluster://` URL. */
export interface ClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/** True for a `redis+cluster://` (or `rediss+cluster://`) URL. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url.trim());
}

/**
 * Reads `redis+cluster://[user:password@]host:port,host:port`. A bad URL or node is an error that
 * names it (the password never appears in it).
 */
export function parseClusterUrl(url: string): ClusterTarget {
  const match = CLUSTER_URL.exec(url.trim());
  if (!match) throw new Error(`${redactUrl(url)} is not a cluster URL: expected redis+cluster://host:port,host:port`);
  const [, scheme, auth, hosts] = match as unknown as [string, string, string | undefined, string];
  const nodes = hosts.split(',').map((hostPort) => {
    const node = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(hostPort.trim());
    const port = node ? Number(node[2]) : NaN;
    if (!node || port < 1 || port > 65535) throw new Error(`cluster node "${hostPort}" is not host:port`);
    return { host: (node[1] as string).replace(/^\[|\]$/g, ''), port };
  });
  const target: ClusterTarget = { nodes, tls: scheme === 'rediss' };
  if (auth) {
    const at = auth.indexOf(':');
    const user = decodeURIComponent(at < 0 ? auth : auth.slice(0, at));
    const password = at < 0 ? '' : decodeURIComponent(auth.slice(at + 1));
    if (user) target.username = user;
    if (password) target.password = password;
  }
  return target;
}

/** `REDIS_CLUSTER_NODES=host:port,host:port` as the cluster URL the rest of the service takes. */
export function clusterUrlFromNodes(nodes: string): string {
  const url = `redis+cluster://${nodes.split(',').map((n) => n.trim()).filter(Boolean).join(',')}`;
  parseClusterUrl(url);
  return url;
}

/** Options that belong to the Cluster itself; the rest go to each node's connection. */
const CLUSTER_LEVEL = ['lazyConnect', 'enableAutoPipelining', 'enableOfflineQueue', 'enableReadyCheck'] as const;

function createCluster(url: string, options: RedisOptions): Cluster {
  const target = parseClusterUrl(url);
  const clusterOptions: ClusterOptions = {};
  const redisOptions: RedisOptions = { ...options };
  for (const name of CLUSTER_LEVEL) {
    if (options[name] !== undefined) Object.assign(clusterOptions, { [name]: options[name] });
    delete redisOptions[name];
  }
  if (target.username) redisOptions.username = target.username;
  if (target.password) redisOptions.password = target.password;
  if (target.tls) redisOptions.tls = {};
  // A node that is down is tried again like a single Redis is (the retryStrategy of a node does
  // not apply to the cluster's own reconnection).
  const retry = options.retryStrategy;
  return new Cluster(target.nodes, { ...clusterOptions, redisOptions, ...(retry ? { clusterRetryStrategy: (times: number) => retry(times) ?? null } : {}) });
}

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
export function createRedis(url: string, options: RedisOptions & { forQueues?: boolean; logger?: RedisLogger } = {}): RedisClient {
  const { forQueues, logger, ...rest } = options;
  const settings: RedisOptions = {
    maxRetriesPerRequest: forQueues ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: 'smk',
    ...rest,
  };
  const client = isClusterUrl(url) ? createCluster(url, settings) : new Redis(url, settings);
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
  down: Set<RedisClient>;
  since: number;
  loggedAt: number;
}
const outages = new WeakMap<RedisLogger, Map<string, Outage>>();

function outageOf(logger: RedisLogger, where: string): Outage {
  const byUrl = outages.get(logger) ?? new Map<string, Outage>();
  outages.set(logger, byUrl);
  const outage = byUrl.get(where) ?? { down: new Set<RedisClient>(), since: 0, loggedAt: 0 };
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
export function watchRedisErrors(client: RedisClient, url: string, logger: RedisLogger): void {
  const where = redactUrl(url);
  const secrets: string[] = [];
  try {
    const password = isClusterUrl(url) ? parseClusterUrl(url).password : new URL(url).password;
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

/** A one-shot connection for a probe: no retries, no offline queue, errors left to the caller's commands. */
function probeClient(target: string | RedisOptions, timeoutMs: number): Redis {
  const options: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false };
  const client = typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
  client.on('error', () => undefined);
  return client;
}

/**
 * Answers whether a Redis at `url` replies to PING within `timeoutMs`; for a cluster URL, whether
 * the cluster answers and says `cluster_state:ok` (every slot served).
 */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  if (isClusterUrl(url)) return (await clusterState(url, timeoutMs)) === 'ok';
  const client = probeClient(url, timeoutMs);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The `cluster_state` of the first node of a cluster URL that answers (`ok` once every slot is
 * served), or null when none answers.
 */
export async function clusterState(url: string, timeoutMs = 1500): Promise<string | null> {
  const target = parseClusterUrl(url);
  for (const node of target.nodes) {
    const client = probeClient({
      host: node.host,
      port: node.port,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    }, timeoutMs);
    try {
      await client.connect();
      const info = await client.cluster('INFO');
      const state = /cluster_state:(\w+)/.exec(info)?.[1];
      if (state) return state;
    } catch {
      // The next node may answer.
    } finally {
      client.disconnect();
    }
  }
  return null;
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

export interface PrivateCluster {
  /** `redis+cluster://127.0.0.1:port,...` */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const port = await freePort();
    if (port + 10_000 > 65_535 || taken.has(port)) continue;
    if (await portFree(port + 10_000)) return port;
  }
  throw new RedisUnavailableError('found no free port pair (port and port + 10000) for a cluster node');
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Starts a throw-away Redis Cluster of `masters` masters (3 unless told) and no replicas, on free
 * ports unless `ports` are given: each `redis-server --cluster-enabled yes` keeps nothing on disk,
 * `redis-cli --cluster create` shares the slots out, and this waits for `cluster_state:ok`.
 */
export async function startPrivateCluster(options: { ports?: number[]; masters?: number } = {}): Promise<PrivateCluster> {
  const server = findOnPath('redis-server');
  const cli = findOnPath('redis-cli');
  if (!server || !cli) throw new RedisUnavailableError(howToGetRedis(`${server ? 'redis-cli' : 'redis-server'} is not installed`));
  const ports: number[] = options.ports ? [...options.ports] : [];
  const taken = new Set(ports);
  while (ports.length < (options.masters ?? 3)) {
    const port = await freeClusterPort(taken);
    taken.add(port);
    ports.push(port);
  }
  const dir = mkdtempSync(join(tmpdir(), 'smk-cluster-'));
  const children: ChildProcess[] = [];
  const killAll = () => children.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', killAll);
  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 3000).unref();
            }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'];
      children.push(spawn(server, args, { stdio: 'ignore', detached: false }));
    }
    for (const port of ports) {
      const deadline = Date.now() + 10_000;
      while (!(await redisAnswers(`redis://127.0.0.1:${port}`, 300))) {
        if (Date.now() > deadline) throw new RedisUnavailableError(`cluster node on port ${port} did not answer within 10 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const create = spawn(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    create.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    create.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new RedisUnavailableError(`redis-cli --cluster create failed (${code}): ${output.trim().split('\n').slice(-3).join(' ')}`);
    const url = `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(ports.map((p) => clusterState(`redis+cluster://127.0.0.1:${p}`, 500)));
      if (states.every((state) => state === 'ok')) break;
      if (Date.now() > deadline) throw new RedisUnavailableError(`the cluster on ports ${ports.join(', ')} did not reach cluster_state:ok within 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { url, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
  /** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL). */
  mode: 'single' | 'cluster';
  /** Where it came from: the environment, the default local port, or a private server we started. */
  origin: 'env' | 'default' | 'private';
  stop(): Promise<void>;
}

/** The Redis the environment names: REDIS_URL, or REDIS_CLUSTER_NODES as a cluster URL (null: none). */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv): string | null {
  const url = env.REDIS_URL?.trim();
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  if (url && nodes) throw new RedisUnavailableError('set REDIS_URL or REDIS_CLUSTER_NODES, not both');
  if (nodes) return clusterUrlFromNodes(nodes);
  return url || null;
}

/**
 * Finds a Redis as the README promises. `REDIS_URL` (or `REDIS_CLUSTER_NODES`), when set, is the
 * only one tried; a cluster answers once its state is ok.
 */
export async function resolveRedis(options: { allowPrivate?: boolean; env?: NodeJS.ProcessEnv; waitMs?: number; onWaiting?: (message: string) => void } = {}): Promise<ResolvedRedis> {
  const env = options.env ?? process.env;
  const fromEnv = redisUrlFromEnv(env);
  if (fromEnv) {
    const mode = isClusterUrl(fromEnv) ? 'cluster' : 'single';
    // A service started while its Redis restarts (a reboot, a failover) waits for it, as it does
    // when Redis goes away later: it says so once a minute, and gives up only after `waitMs`.
    const deadline = Date.now() + (options.waitMs ?? 0);
    let saidAt = 0;
    for (;;) {
      if (await redisAnswers(fromEnv)) return { url: fromEnv, mode, origin: 'env', stop: async () => undefined };
      if (Date.now() >= deadline) break;
      if (Date.now() - saidAt >= REDIS_ERROR_LOG_EVERY_MS) {
        options.onWaiting?.(`REDIS_URL=${redactUrl(fromEnv)} does not answer yet; waiting for it`);
        saidAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new RedisUnavailableError(howToGetRedis(`REDIS_URL=${redactUrl(fromEnv)} does not answer${mode === 'cluster' ? ' with cluster_state:ok' : ''}`));
  }
  if (await redisAnswers(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL, mode: 'single', origin: 'default', stop: async () => undefined };
  if (options.allowPrivate === false) throw new RedisUnavailableError(howToGetRedis('nothing answers at 127.0.0.1:6379'));
  const started = await startPrivateRedis();
  return { url: started.url, mode: 'single', origin: 'private', stop: started.stop };
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  if (isClusterUrl(url)) return url.trim().replace(/^(rediss?\+cluster:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable REDIS_URL>';
  }
}
