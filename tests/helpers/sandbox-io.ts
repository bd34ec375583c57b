/**
 * Sandbox helpers without a vitest import (tests/helpers/redis.ts reads vitest's `inject`, and
 * `npm run chaos` runs outside vitest): the service's environment for a pair of sandboxes, the
 * official clients pointed at them, and the sandboxes' call statistics and controls.
 */
import { Client } from '@hubspot/api-client';
import jsforce from 'jsforce';
import { sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { SecretBox } from '../../src/store/crypto.js';

export interface SandboxStats {
  total: number;
  calls: Record<string, number>;
}

/** Environment of a service process pointed at these sandboxes and this Redis prefix. */
export function serviceEnv(sandboxes: Sandboxes, redis: { url: string; prefix: string }, configPath?: string): Record<string, string> {
  return {
    ...sandboxEnv(sandboxes.connection),
    REDIS_URL: redis.url,
    SMK_KEY_PREFIX: redis.prefix.replace(/:$/, ''),
    SMK_ENCRYPTION_KEY: SecretBox.generateKey(),
    SMK_ADMIN_TOKEN: 'test-admin-token-0123456789',
    ...(configPath ? { SMK_CONFIG: configPath } : {}),
  };
}

/** The official clients a user (or a test) reads the sandbox CRMs with. */
export function officialClients(sandboxes: Sandboxes): { hubspot: Client; salesforce: jsforce.Connection } {
  const conn = sandboxes.connection;
  const hubspot = new Client({ accessToken: conn.hubspot.accessToken, basePath: conn.hubspot.baseUrl, numberOfApiCallRetries: 3 });
  const salesforce = new jsforce.Connection({
    instanceUrl: conn.salesforce.instanceUrl,
    accessToken: conn.salesforce.accessToken,
    refreshToken: conn.salesforce.refreshToken,
    version: '62.0',
    oauth2: { clientId: conn.salesforce.clientId, clientSecret: conn.salesforce.clientSecret, loginUrl: conn.salesforce.loginUrl },
  });
  return { hubspot, salesforce };
}

export async function stats(baseUrl: string): Promise<SandboxStats> {
  return (await (await fetch(`${baseUrl}/__sandbox/stats`)).json()) as SandboxStats;
}

export async function resetStats(baseUrl: string): Promise<void> {
  await fetch(`${baseUrl}/__sandbox/reset-stats`, { method: 'POST' });
}

/** Write calls among the counted calls: anything that is not a read, a query or a search. */
export function writeCalls(s: SandboxStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(s.calls)) {
    const [method, path = ''] = key.split(' ');
    const read = method === 'GET' || /\/(batch\/read|search)$/.test(path);
    if (!read) out[key] = n;
  }
  return out;
}

export async function sandboxControl(baseUrl: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${baseUrl}/__sandbox${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}
