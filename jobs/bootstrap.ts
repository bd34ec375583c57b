/**
 * Builds a running process's context from the config: finds Redis, opens the connections, makes
 * the two connectors (sandbox or real CRM by environment alone), and wires the shared quota gate
 * and the encrypted token store. Every command and the server start here.
 */
import type { RedisClient } from '../src/store/redis.js';
import type { Logger } from 'pino';
import { createConnectors } from './connectors.js';
import type { QuotaGate } from '../connectors/types.js';
import type { CrmName } from '../src/model/lead.js';
import { loadConfig } from '../src/config.js';
import type { AppConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { SecretBox } from '../src/store/crypto.js';
import { createKeys } from '../src/store/keys.js';
import { ensureLayout } from '../src/store/layout.js';
import { RedisQuotaGate } from '../src/store/quota.js';
import { createRedis, resolveRedis } from '../src/store/redis.js';
import type { ResolvedRedis } from '../src/store/redis.js';
import { RedisTokenStore } from '../src/store/tokens.js';
import { createSyncContext, sharedTestClock, systemClock } from './context.js';
import type { Clock, SyncContext } from './context.js';

export interface Runtime {
  ctx: SyncContext;
  redisInfo: ResolvedRedis;
  gate: RedisQuotaGate;
  tokens: RedisTokenStore | null;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  config?: AppConfig;
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Start a private redis-server when none answers (demo, tests). */
  allowPrivateRedis?: boolean;
  /** Use a clock whose offset is shared through Redis (tests and the demo only). */
  controllableClock?: boolean;
  keyPrefix?: string;
  /** How long to wait for a REDIS_URL that does not answer at start (services wait; commands fail fast). */
  waitForRedisMs?: number;
  /** Told of every CRM API call as it takes its quota token (metrics). */
  onApiCall?: (crm: CrmName, kind: 'read' | 'write' | 'search', calls: number) => void;
}

export async function bootstrap(options: BootstrapOptions = {}): Promise<Runtime> {
  const config = options.config ?? loadConfig({ path: options.configPath, env: options.env });
  const logger = options.logger ?? createLogger();
  const redisInfo = await resolveRedis({
    allowPrivate: options.allowPrivateRedis ?? false,
    env: config.env.REDIS_URL ? { REDIS_URL: config.env.REDIS_URL } : {},
    waitMs: options.waitForRedisMs ?? 0,
    onWaiting: (message) => logger.warn({}, message),
  });
  const redisLogger = logger.child({ component: 'redis' });
  // Plain commands from concurrent jobs go out together (one socket write per event-loop turn):
  // per-lead work is many small commands, and a write call per command was most of a worker's CPU.
  const redis: RedisClient = createRedis(redisInfo.url, { logger: redisLogger, enableAutoPipelining: true });
  const queueConnection: RedisClient = createRedis(redisInfo.url, { forQueues: true, logger: redisLogger });
  const keys = createKeys(options.keyPrefix ?? config.env.SMK_KEY_PREFIX);
  // Keys of an older layout move before any queue or store touches them (src/store/layout.ts).
  await ensureLayout(redis, keys, logger);
  const { budget } = config.file.sync;
  const clock: Clock = options.controllableClock ? sharedTestClock(redis, keys) : systemClock;
  // The daily windows run on the service's clock (tests move it together with the sandboxes').
  const gate = new RedisQuotaGate(
    redis,
    keys,
    {
      hubspot: { perTenSeconds: budget.hubspot.perTenSeconds, share: budget.hubspot.share, daily: budget.hubspot.daily, searchPerSecond: 4 },
      salesforce: { share: budget.salesforce.share, ...(budget.salesforce.dailyCalls !== undefined ? { dailyCalls: budget.salesforce.dailyCalls } : {}) },
    },
    { now: () => clock.now() },
  );
  const tokens = config.env.SMK_ENCRYPTION_KEY ? new RedisTokenStore(redis, keys, new SecretBox(config.env.SMK_ENCRYPTION_KEY)) : null;
  // Every API call passes the gate: the one place that sees them all, so metrics count there.
  const observed: QuotaGate = options.onApiCall
    ? {
        take: async (crm, kind, calls = 1, takeOptions) => {
          await gate.take(crm, kind, calls, takeOptions);
          options.onApiCall?.(crm, kind, calls);
        },
        observe: (crm, info) => gate.observe(crm, info),
        report: (crm) => gate.report(crm),
        claimProbe: (crm) => gate.claimProbe(crm),
      }
    : gate;
  // The connectors judge token expiry by the service's clock (tests move it with the sandboxes').
  const connectors = await createConnectors({
    env: config.env,
    sync: config.file.sync,
    gate: observed,
    tokens,
    logger: logger.child({ component: 'connector' }),
    clock: () => clock.now(),
  });
  const ctx = createSyncContext({ config, redis, queueConnection, connectors, logger, clock, keyPrefix: keys.prefix });
  return {
    ctx,
    redisInfo,
    gate,
    tokens,
    close: async () => {
      await ctx.queues.close();
      redis.disconnect();
      queueConnection.disconnect();
      await redisInfo.stop();
    },
  };
}
