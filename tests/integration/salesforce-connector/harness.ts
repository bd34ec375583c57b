/**
 * One Salesforce sandbox, a real Redis (quota gate, token store) and the connector under test,
 * wired the way the service wires them. Calls are counted by the sandbox (`/__sandbox/stats`).
 */
import { z } from 'zod';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SalesforceSandboxOptions } from '../../../connectors/salesforce/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import type { SeedWorld } from '../../../connectors/sandbox/seed.js';
import { createSalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { SalesforceConnector, SalesforceConnectorOptions } from '../../../connectors/salesforce/index.js';
import type { ChangePage, FeedPosition } from '../../../connectors/types.js';
import { SecretBox } from '../../../src/store/crypto.js';
import { createKeys } from '../../../src/store/keys.js';
import type { Keys } from '../../../src/store/keys.js';
import { RedisQuotaGate } from '../../../src/store/quota.js';
import { RedisTokenStore } from '../../../src/store/tokens.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

export interface Harness {
  sandbox: SalesforceSandbox;
  world: SeedWorld;
  redis: TestRedis;
  keys: Keys;
  gate: RedisQuotaGate;
  tokens: RedisTokenStore;
  connector(extra?: Partial<SalesforceConnectorOptions>): SalesforceConnector;
  /** POST to a sandbox control route (never counted as an API call). */
  control(path: string, body?: unknown): Promise<unknown>;
  resetStats(): Promise<void>;
  stats(): Promise<{ total: number; calls: Record<string, number> }>;
  close(): Promise<void>;
}

const statsSchema = z.object({ total: z.number(), calls: z.record(z.string(), z.number()) });

/** `sandboxOptions` reach the sandbox as given (a test's own clock, for example). */
export async function startHarness(label: string, people: number, seed = 11, sandboxOptions: Omit<SalesforceSandboxOptions, 'world'> = {}): Promise<Harness> {
  const world = generateWorld({ people, seed });
  const sandbox = await startSalesforceSandbox({ ...sandboxOptions, world });
  const redis = await testRedis(label);
  const keys = createKeys(`${redis.prefix}smk`);
  const gate = new RedisQuotaGate(redis.redis, keys, {
    hubspot: { perTenSeconds: 190, share: 0.5, daily: 500_000, searchPerSecond: 4 },
    salesforce: { share: 0.5 },
  });
  const tokens = new RedisTokenStore(redis.redis, keys, new SecretBox(SecretBox.generateKey()));
  const url = (path: string) => `${sandbox.instanceUrl}/__sandbox${path}`;
  return {
    sandbox,
    world,
    redis,
    keys,
    gate,
    tokens,
    connector: (extra = {}) =>
      createSalesforceConnector({
        instanceUrl: sandbox.instanceUrl,
        loginUrl: sandbox.loginUrl,
        accessToken: sandbox.accessToken,
        refreshToken: sandbox.refreshToken,
        clientId: sandbox.clientId,
        clientSecret: sandbox.clientSecret,
        gate,
        tokens,
        ...extra,
      }),
    control: async (path, body) => {
      const res = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      const json: unknown = await res.json();
      if (!res.ok) throw new Error(`sandbox ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    resetStats: async () => {
      await fetch(url('/reset-stats'), { method: 'POST' });
    },
    stats: async () => statsSchema.parse(await (await fetch(url('/stats'))).json()),
    close: async () => {
      await sandbox.close();
      await redis.cleanup();
    },
  };
}

/** Every page of a feed, and the position after it (what the pipeline would save). */
export async function drain(pages: AsyncIterable<ChangePage>, start: FeedPosition = {}): Promise<{ pages: ChangePage[]; position: FeedPosition }> {
  const out: ChangePage[] = [];
  const position: FeedPosition = { ...start };
  for await (const page of pages) {
    out.push(page);
    position[page.stream] = page.position;
  }
  return { pages: out, position };
}

/** Calls per `METHOD path` whose path contains `fragment`. */
export function callsMatching(calls: Record<string, number>, fragment: string): number {
  return Object.entries(calls)
    .filter(([key]) => key.includes(fragment))
    .reduce((n, [, v]) => n + v, 0);
}
