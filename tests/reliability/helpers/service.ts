/**
 * The HTTP service on the test's own Redis prefix, for the webhook and admin API corpora: a
 * SyncContext whose connectors are doubles (the server only asks them for ping and quota), and
 * HubSpot's v3 request signature.
 */
import { createHmac } from 'node:crypto';
import { createSyncContext } from '../../../jobs/context.js';
import type { SyncContext } from '../../../jobs/context.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { startServer } from '../../../src/server/index.js';
import type { RunningServer } from '../../../src/server/index.js';
import { createRedis } from '../../../src/store/redis.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';
import { fakeConnector } from '../../server/helpers.js';

export const ADMIN_TOKEN = 'hostile-admin-token-0123456789abcdef';
export const CLIENT_SECRET = 'hostile-suite-hubspot-client-secret';
export const ENCRYPTION_KEY = 'a5'.repeat(32);

export interface Service {
  t: TestRedis;
  ctx: SyncContext;
  url: string;
  /** Jobs waiting in the ingest queue (what a webhook enqueues). */
  ingestJobs(): Promise<number>;
  close(): Promise<void>;
}

export async function startService(label: string): Promise<Service> {
  const t = await testRedis(label);
  const config = loadConfig({
    env: { SMK_ADMIN_TOKEN: ADMIN_TOKEN, HUBSPOT_CLIENT_SECRET: CLIENT_SECRET, SMK_ENCRYPTION_KEY: ENCRYPTION_KEY, REDIS_URL: t.url },
  });
  const queueConnection = createRedis(t.url, { forQueues: true });
  const connectors = { hubspot: fakeConnector('hubspot'), salesforce: fakeConnector('salesforce') };
  const ctx = createSyncContext({ config, redis: t.redis, queueConnection, connectors, logger: createLogger({ level: 'silent' }), keyPrefix: t.prefix });
  const server: RunningServer = await startServer(ctx, { port: 0, host: '127.0.0.1', cacheTtlMs: 0 });
  return {
    t,
    ctx,
    url: server.url,
    ingestJobs: async () => {
      const counts = await ctx.queues.ingest.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    close: async () => {
      await server.close();
      await ctx.queues.close();
      queueConnection.disconnect();
      await t.cleanup();
    },
  };
}

/** HubSpot's v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp, keyed by the app secret. */
export function signV3(secret: string, method: string, uri: string, body: string | Buffer, timestamp: string): string {
  return createHmac('sha256', secret).update(`${method}${uri}`).update(body).update(timestamp).digest('base64');
}
