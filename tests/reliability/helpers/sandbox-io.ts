/**
 * The bits of tests/helpers/pipeline.ts the chaos runner needs, without its vitest import (that
 * module reads vitest's `inject`, and `npm run chaos` runs outside vitest): the service's
 * environment for a pair of sandboxes, and the sandboxes' call statistics.
 */
import { sandboxEnv } from '../../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../../connectors/sandbox/start.js';
import { SecretBox } from '../../../src/store/crypto.js';

export interface SandboxStats {
  total: number;
  calls: Record<string, number>;
}

/** Same variables as tests/helpers/pipeline.ts `harnessEnv`. */
export function serviceEnv(sandboxes: Sandboxes, redis: { url: string; prefix: string }, configPath: string): Record<string, string> {
  return {
    ...sandboxEnv(sandboxes.connection),
    REDIS_URL: redis.url,
    SMK_KEY_PREFIX: redis.prefix.replace(/:$/, ''),
    SMK_ENCRYPTION_KEY: SecretBox.generateKey(),
    SMK_ADMIN_TOKEN: 'test-admin-token-0123456789',
    SMK_CONFIG: configPath,
  };
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
