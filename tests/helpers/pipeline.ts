/**
 * A whole connector against both sandboxes and a real Redis, for end-to-end tests: the service's
 * runtime under the test's own key prefix, and the official clients a user (or a test) reads the
 * CRMs with.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@hubspot/api-client';
import type jsforce from 'jsforce';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes, SandboxesOptions } from '../../connectors/sandbox/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { officialClients, sandboxControl, serviceEnv } from './sandbox-io.js';
import { testRedis } from './redis.js';
import type { TestRedis } from './redis.js';

export interface Harness {
  sandboxes: Sandboxes;
  redis: TestRedis;
  runtime: Runtime;
  env: Record<string, string>;
  hubspot: Client;
  salesforce: jsforce.Connection;
  close(): Promise<void>;
}

/** Environment of a service process pointed at these sandboxes and this test's Redis prefix. */
export function harnessEnv(sandboxes: Sandboxes, redis: TestRedis, configPath?: string): Record<string, string> {
  return serviceEnv(sandboxes, redis, configPath);
}

/**
 * The short waits the end-to-end tests sync with: 200 ms batches, 5 s job locks and write leases,
 * no search margin, HubSpot's ten-second limit out of the way. Each `extra` line goes under
 * `sync:` as it is (e.g. `create: { salesforce: never }`).
 */
export function fastSyncConfig(...extra: string[]): string {
  return ['sync:', '  batchWait: 200ms', '  jobLock: 5s', '  writeLease: 5s', '  searchSafetyMargin: 0s', ...extra.map((line) => `  ${line}`), '  budget:', '    hubspot: { share: 1, perTenSeconds: 100000 }', ''].join('\n');
}

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'smk-e2e-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, yaml);
  return path;
}

export async function startHarness(options: SandboxesOptions & { configYaml?: string; label?: string; controllableClock?: boolean; env?: Record<string, string>; redisUrl?: string } = {}): Promise<Harness> {
  const sandboxes = await startSandboxes({ people: 200, seed: 5, hubspotPerTenSeconds: 0, ...options });
  const redis = await testRedis(options.label ?? 'e2e', options.redisUrl);
  const configPath = writeConfig(options.configYaml ?? 'sync:\n  batchWait: 200ms\n  jobLock: 5s\n  writeLease: 5s\n  searchSafetyMargin: 0s\n');
  const env = { ...harnessEnv(sandboxes, redis, configPath), ...options.env };
  const config = loadConfig({ env });
  const runtime = await bootstrap({ config, logger: createLogger({ level: process.env.SMK_TEST_LOG ?? 'silent' }), controllableClock: options.controllableClock ?? false });
  const { hubspot, salesforce } = officialClients(sandboxes);
  return {
    sandboxes,
    redis,
    runtime,
    env,
    hubspot,
    salesforce,
    close: async () => {
      await runtime.close();
      await redis.cleanup();
      await sandboxes.close();
    },
  };
}

export interface CrmRow {
  id: string;
  email: string | null;
  leadId: string | null;
  values: Record<string, string | null>;
}

/** Every HubSpot contact with the given properties, read through the official client. */
export async function hubspotContacts(client: Client, properties: string[]): Promise<CrmRow[]> {
  const all = await client.crm.contacts.getAll(100, undefined, ['email', 'smk_lead_id', ...properties]);
  return all.map((c) => ({ id: c.id, email: c.properties.email ?? null, leadId: c.properties.smk_lead_id ?? null, values: c.properties }));
}

/** Every live Salesforce Lead (not converted) and Contact with the given fields, through jsforce. */
export async function salesforceRecords(conn: jsforce.Connection, fields: string[]): Promise<Array<CrmRow & { object: 'Lead' | 'Contact' }>> {
  const out: Array<CrmRow & { object: 'Lead' | 'Contact' }> = [];
  for (const object of ['Lead', 'Contact'] as const) {
    const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
    const result = await conn.query<Record<string, unknown>>(`SELECT Id, Email, Smk_Lead_Id__c, ${fields.join(', ')} FROM ${object}${where}`, { autoFetch: true, maxFetch: 1_000_000 });
    for (const r of result.records) {
      const values: Record<string, string | null> = {};
      for (const f of fields) values[f] = r[f] === null || r[f] === undefined ? null : String(r[f]);
      out.push({ object, id: String(r.Id), email: (r.Email as string | null) ?? null, leadId: (r.Smk_Lead_Id__c as string | null) ?? null, values });
    }
  }
  return out;
}

/**
 * Makes a HubSpot contact an MQL as marketing would: a senior title at a mid-size company, then a
 * demo request and page views per round until the rules hand it off. Returns its smk_stage.
 */
export async function growToMql(h: Harness, contactId: string, sync: () => Promise<void>, options: { fitSet?: boolean; rounds?: number } = {}): Promise<string> {
  // `fitSet`: the caller already gave the contact its title and size (and synced since).
  if (!options.fitSet) await h.hubspot.crm.contacts.basicApi.update(contactId, { properties: { jobtitle: 'VP of Marketing', numberofemployees: '800' } });
  const rounds = options.rounds ?? 6;
  let stage = '';
  for (let round = 0; round < rounds && stage !== 'mql'; round += 1) {
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId, kind: 'form_submission', count: 1, name: 'Demo request' });
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId, kind: 'page_view', count: 6 });
    await sync();
    stage = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_stage'])).properties.smk_stage ?? '';
  }
  return stage;
}

export { resetStats, sandboxControl, stats, writeCalls } from './sandbox-io.js';
export type { SandboxStats } from './sandbox-io.js';
