/**
 * A whole connector against both sandboxes and a real Redis, for end-to-end tests: the service's
 * runtime under the test's own key prefix, and the official clients a user (or a test) reads the
 * CRMs with.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@hubspot/api-client';
import jsforce from 'jsforce';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes, SandboxesOptions } from '../../connectors/sandbox/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { SecretBox } from '../../src/store/crypto.js';
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
  return {
    ...sandboxEnv(sandboxes.connection),
    REDIS_URL: redis.url,
    SMK_KEY_PREFIX: redis.prefix.replace(/:$/, ''),
    SMK_ENCRYPTION_KEY: SecretBox.generateKey(),
    SMK_ADMIN_TOKEN: 'test-admin-token-0123456789',
    ...(configPath ? { SMK_CONFIG: configPath } : {}),
  };
}

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'smk-e2e-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, yaml);
  return path;
}

export async function startHarness(options: SandboxesOptions & { configYaml?: string; label?: string; controllableClock?: boolean } = {}): Promise<Harness> {
  const sandboxes = await startSandboxes({ people: 200, seed: 5, hubspotPerTenSeconds: 0, ...options });
  const redis = await testRedis(options.label ?? 'e2e');
  const configPath = writeConfig(options.configYaml ?? 'sync:\n  batchWait: 200ms\n  jobLock: 5s\n  writeLease: 5s\n  searchSafetyMargin: 0s\n');
  const env = harnessEnv(sandboxes, redis, configPath);
  const config = loadConfig({ env });
  const runtime = await bootstrap({ config, logger: createLogger({ level: process.env.SMK_TEST_LOG ?? 'silent' }), controllableClock: options.controllableClock ?? false });
  const hubspot = new Client({ accessToken: sandboxes.connection.hubspot.accessToken, basePath: sandboxes.connection.hubspot.baseUrl, numberOfApiCallRetries: 3 });
  const sf = sandboxes.connection.salesforce;
  const salesforce = new jsforce.Connection({
    instanceUrl: sf.instanceUrl,
    accessToken: sf.accessToken,
    refreshToken: sf.refreshToken,
    version: '62.0',
    oauth2: { clientId: sf.clientId, clientSecret: sf.clientSecret, loginUrl: sf.loginUrl },
  });
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

export interface SandboxStats {
  total: number;
  calls: Record<string, number>;
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
