/**
 * One HubSpot sandbox, a real Redis quota gate under the test's own key prefix, and the connector
 * pointed at the sandbox by configuration only (base URL and token), as the service would be.
 */
import type { StoredTokens } from '../../../connectors/types.js';
import { startHubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import type { HubSpotSandbox, HubSpotSandboxOptions } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import type { HubSpotConnector, HubSpotConnectorOptions } from '../../../connectors/hubspot/index.js';
import { RedisQuotaGate } from '../../../src/store/quota.js';
import type { QuotaLimits } from '../../../src/store/quota.js';
import { createKeys } from '../../../src/store/keys.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

export const GATE_LIMITS: QuotaLimits = {
  hubspot: { perTenSeconds: 190, share: 1, daily: 1_000_000, searchPerSecond: 5 },
  salesforce: { share: 0.5 },
};

export interface Stats {
  total: number;
  calls: Record<string, number>;
}

export interface HubSpotWorld {
  sandbox: HubSpotSandbox;
  redis: TestRedis;
  gate: RedisQuotaGate;
  connector: HubSpotConnector;
  /** Another connector on the same sandbox and gate, with other options. */
  connect(options?: Partial<HubSpotConnectorOptions>): HubSpotConnector;
  stats(): Promise<Stats>;
  resetStats(): Promise<void>;
  control(method: string, path: string, body?: unknown): Promise<unknown>;
  /** A direct API call (counted), for arranging state the connector has no verb for. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startWorld(
  label: string,
  options: { people?: number; seed?: number; sandbox?: HubSpotSandboxOptions; connector?: Partial<HubSpotConnectorOptions>; limits?: QuotaLimits } = {},
): Promise<HubSpotWorld> {
  const seed = options.seed ?? 7;
  const world = options.people ? generateWorld({ people: options.people, seed }) : undefined;
  const sandbox = await startHubSpotSandbox({ seed, ...(world ? { world } : {}), ...options.sandbox });
  const redis = await testRedis(label);
  const gate = new RedisQuotaGate(redis.redis, createKeys(redis.prefix), options.limits ?? GATE_LIMITS);
  const connect = (extra: Partial<HubSpotConnectorOptions> = {}): HubSpotConnector =>
    createHubSpotConnector({ baseUrl: sandbox.baseUrl, accessToken: sandbox.accessToken, clientSecret: sandbox.clientSecret, gate, ...options.connector, ...extra });
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${sandbox.baseUrl}/__sandbox${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /__sandbox${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    sandbox,
    redis,
    gate,
    connector: connect(),
    connect,
    stats: async () => (await control('GET', '/stats')) as Stats,
    resetStats: async () => {
      await control('POST', '/reset-stats');
    },
    control,
    api: async (method, path, body) => {
      const res = await fetch(`${sandbox.baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.accessToken}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    close: async () => {
      await sandbox.close();
      await redis.cleanup();
    },
  };
}

/** Every call in `stats` that writes (anything but GET, search and batch read). */
export function writeCalls(stats: Stats): Record<string, number> {
  return Object.fromEntries(
    Object.entries(stats.calls).filter(([key]) => !key.startsWith('GET ') && !key.endsWith('/search') && !key.endsWith('/batch/read')),
  );
}

/** An OAuth install as the app's callback makes it: an authorization code exchanged at the token endpoint. */
export async function installOAuth(w: HubSpotWorld): Promise<StoredTokens> {
  const { code } = (await w.control('POST', '/oauth/code', {})) as { code: string };
  const res = await fetch(`${w.sandbox.baseUrl}/oauth/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: w.sandbox.clientId, client_secret: w.sandbox.clientSecret }),
  });
  const body = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
  return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: Date.now() + body.expires_in * 1000 };
}
