/**
 * One side of a layer-2 model run: a sandbox pair of a seeded world, the real runtime (jobs,
 * connectors, queues) on a Redis prefix of its own, and the official clients a user edits the
 * CRMs with. Two sides of one seed and one world "now" start identical: the reference replays
 * the user's operations fault-free, the other meets the faults. No vitest import here, so that
 * `tsx tests/model/run.ts` runs it too.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@hubspot/api-client';
import type jsforce from 'jsforce';
import { bootstrap } from '../../../jobs/bootstrap.js';
import type { Runtime } from '../../../jobs/bootstrap.js';
import type { SyncContext } from '../../../jobs/context.js';
import { startSandboxes } from '../../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../../connectors/sandbox/start.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createRedis } from '../../../src/store/redis.js';
import { deleteByPrefix } from '../../helpers/redis.js';
import { officialClients, serviceEnv } from '../../helpers/sandbox-io.js';

/** Small waits so that a sequence of syncs stays quick; a write lease short enough that a stopped worker's batch comes back soon. */
export const MODEL_CONFIG = `
sync:
  batchWait: 100ms
  jobLock: 3s
  writeLease: 2s
  searchSafetyMargin: 0s
  create: { salesforce: always, hubspot: always }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
`;

export interface Side {
  label: string;
  sandboxes: Sandboxes;
  runtime: Runtime;
  ctx: SyncContext;
  hubspot: Client;
  salesforce: jsforce.Connection;
  close(): Promise<void>;
}

export interface SideOptions {
  label: string;
  redisUrl: string;
  people: number;
  seed: number;
  /** The seeded world's "now", the same for both sides (its dates are relative to it). */
  worldNow: number;
}

export async function openSide(options: SideOptions): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'smk-model-'));
  const configPath = join(dir, 'smarketing.yaml');
  writeFileSync(configPath, MODEL_CONFIG);
  const sandboxes = await startSandboxes({ people: options.people, seed: options.seed, hubspotPerTenSeconds: 0, now: options.worldNow });
  const redis = createRedis(options.redisUrl);
  const prefix = `smk-test:model-${options.label}:${randomUUID().slice(0, 8)}:`;
  const env = serviceEnv(sandboxes, { url: options.redisUrl, prefix }, configPath);
  const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: process.env.SMK_TEST_LOG ?? 'silent' }) });
  const { hubspot, salesforce } = officialClients(sandboxes);
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const report = await runtime.ctx.connectors[crm].ensureSchema();
    if (report.problems.length > 0) throw new Error(`${crm} schema problems: ${JSON.stringify(report.problems)}`);
  }
  return {
    label: options.label,
    sandboxes,
    runtime,
    ctx: runtime.ctx,
    hubspot,
    salesforce,
    close: async () => {
      await runtime.close();
      await deleteByPrefix(redis, prefix);
      redis.disconnect();
      await sandboxes.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
