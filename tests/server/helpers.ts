/**
 * Shared set-up for the server tests: a SyncContext on the test's own Redis prefix, CRM connector
 * doubles (the server only asks them for ping and quota), and signed HubSpot webhook requests.
 */
import { createHmac } from 'node:crypto';
import type { RedisClient } from '../../src/store/redis.js';
import type { CrmConnector, QuotaReport } from '../../connectors/types.js';
import { createSyncContext } from '../../jobs/context.js';
import type { SyncContext } from '../../jobs/context.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { CrmName, Lead } from '../../src/model/lead.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer, StartServerOptions } from '../../src/server/index.js';
import { createRedis } from '../../src/store/redis.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const CLIENT_SECRET = 'hubspot-client-secret-for-tests';
export const ENCRYPTION_KEY = '0f'.repeat(32);

export interface FakeConnector extends CrmConnector {
  pingError: Error | null;
  quotaReport: QuotaReport;
}

async function* nothing<T>(): AsyncIterable<T> {
  // A double's change feed is empty: the server never reads it.
}

export function fakeConnector(name: CrmName): FakeConnector {
  const connector: FakeConnector = {
    name,
    batchSizes: name === 'hubspot' ? { read: 100, write: 100, create: 100 } : { read: 200, write: 200, create: 200 },
    pingError: null,
    quotaReport: { crm: name, dailyUsed: name === 'hubspot' ? 1200 : 300, dailyLimit: name === 'hubspot' ? 650_000 : 15_000, dailyBudget: name === 'hubspot' ? 325_000 : 7_500, paused: false },
    changes: () => nothing(),
    readAll: () => nothing(),
    read: async () => ({ fragments: [], missing: [], removed: [], problems: [] }),
    write: async () => [],
    create: async () => [],
    ensureSchema: async () => ({ crm: name, changes: [], problems: [] }),
    owners: async () => [],
    quota: async () => connector.quotaReport,
    ping: async () => {
      if (connector.pingError) throw connector.pingError;
    },
  };
  return connector;
}

export interface ServerHarness {
  t: TestRedis;
  ctx: SyncContext;
  connectors: { hubspot: FakeConnector; salesforce: FakeConnector };
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

export async function startHarness(label: string, options: { env?: Record<string, string>; server?: StartServerOptions; redisUrl?: string } = {}): Promise<ServerHarness> {
  const t = await testRedis(label, options.redisUrl);
  const config = loadConfig({
    env: {
      SMK_ADMIN_TOKEN: ADMIN_TOKEN,
      HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
      SMK_ENCRYPTION_KEY: ENCRYPTION_KEY,
      REDIS_URL: t.url,
      ...options.env,
    },
  });
  const connectors = { hubspot: fakeConnector('hubspot'), salesforce: fakeConnector('salesforce') };
  const queueConnection = createRedis(t.url, { forQueues: true });
  const ctx = createSyncContext({ config, redis: t.redis, queueConnection, connectors, logger: createLogger({ level: 'silent' }), keyPrefix: t.prefix });
  const server = await startServer(ctx, { port: 0, host: '127.0.0.1', cacheTtlMs: 0, ...options.server });
  return {
    t,
    ctx,
    connectors,
    server,
    url: server.url,
    close: async () => {
      await server.close();
      await ctx.queues.close();
      queueConnection.disconnect();
      await t.cleanup();
    },
  };
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${ADMIN_TOKEN}`, ...extra };
}

export function signV3(secret: string, method: string, uri: string, body: string, timestamp: string): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

/** POSTs a body to the webhook, signed as HubSpot would sign `signedUri` (default: the URL called). */
export async function postWebhook(
  url: string,
  body: string,
  options: { secret?: string; signedUri?: string; timestamp?: number; headers?: Record<string, string>; omit?: 'signature' | 'timestamp' } = {},
): Promise<Response> {
  const target = `${url}/webhooks/hubspot`;
  const timestamp = String(options.timestamp ?? Date.now());
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (options.omit !== 'signature') headers['X-HubSpot-Signature-v3'] = signV3(options.secret ?? CLIENT_SECRET, 'POST', options.signedUri ?? target, body, timestamp);
  if (options.omit !== 'timestamp') headers['X-HubSpot-Request-Timestamp'] = timestamp;
  headers['X-HubSpot-Signature-Version'] = 'v3';
  return fetch(target, { method: 'POST', headers: { ...headers, ...options.headers }, body });
}

/** A valid Lead with sensible defaults; `patch` replaces whole sections. */
export function makeLead(id: string, patch: Partial<Lead> = {}): Lead {
  return {
    id,
    email: `${id.toLowerCase()}@example.com`,
    updatedAt: '2025-03-03T12:00:00.000Z',
    links: { hubspot: { id: id.replace(/\D/g, '') || '1' } },
    person: {},
    company: {},
    marketing: { engagement: [] },
    sales: {},
    ...patch,
  };
}

/** Counts the lead records read through `redis` (GET and MGET of `<prefix>lead:<id>` keys). */
export function countLeadReads(redis: RedisClient, prefix: string): { reads: () => number; restore: () => void } {
  const leadKey = `${prefix}lead:`;
  let reads = 0;
  const count = (keys: unknown[]) => {
    for (const k of keys.flat()) if (typeof k === 'string' && k.startsWith(leadKey)) reads += 1;
  };
  // Stored leads are read as strings (JSON) or as buffers (their encoding): every read command counts.
  const r = redis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const methods = { mget: 'all', mgetBuffer: 'all', get: 'first', getBuffer: 'first' } as const;
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  for (const [name, which] of Object.entries(methods)) {
    const original = (r[name] as (...args: unknown[]) => unknown).bind(redis);
    originals.set(name, original);
    r[name] = (...args: unknown[]) => {
      count(which === 'all' ? args : args.slice(0, 1));
      return original(...args);
    };
  }
  return {
    reads: () => reads,
    restore: () => {
      for (const [name, original] of originals) r[name] = original;
    },
  };
}
