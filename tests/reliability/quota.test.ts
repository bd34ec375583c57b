/**
 * Quota safety: with a small Salesforce budget (`sync.budget.salesforce.dailyCalls`), a large sync
 * stops before it exceeds the budget, leaves the rest pending instead of dropping it, and later
 * resumes from where it stopped with nothing lost.
 * `syncOnce` then says it is paused, and until when, instead of waiting out its timeout; and work
 * parked behind the budget goes as soon as a restarted service finds the budget raised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { sharedTestClock } from '../../jobs/context.js';
import { outstandingByPlace, outstandingWork, syncOnce, waitUntilIdle } from '../../jobs/run-once.js';
import { startWorkers } from '../../jobs/workers.js';
import type { SyncOnceResult } from '../../jobs/run-once.js';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { harnessEnv, resetStats, stats, writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import { officialClients } from '../helpers/sandbox-io.js';
import type { TestRedis } from '../helpers/redis.js';

// Enough for the first sync's reads (Lead and Contact, the opportunity feed's Opportunity and
// OpportunityContactRole queries with their look-ups, the Account and Task feeds) and not for its
// writes: the pass must pause with writes waiting. (6 before the opportunity feed, 10 before the
// Account and Task feeds: their queries spent it on reads alone.)
const BUDGET = 12;
const PEOPLE = 300;
const config = (dailyCalls: number) => `
sync:
  batchWait: 200ms
  jobLock: 5s
  writeLease: 5s
  searchSafetyMargin: 0s
  create: { salesforce: never }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
    salesforce: { dailyCalls: ${dailyCalls} }
`;

describe(`a ${PEOPLE}-person sync under a Salesforce budget of ${BUDGET} calls a day`, () => {
  let sandboxes: Sandboxes;
  let t: TestRedis;
  let runtime: Runtime | null = null;
  let first: { result?: SyncOnceResult; error?: Error; ms: number };
  let salesforceCalls = 0;
  let left: Record<string, number> = {};

  function open(dailyCalls: number, prefix: string, controllableClock = false): Promise<Runtime> {
    const env = { ...harnessEnv(sandboxes, t, writeConfig(config(dailyCalls))), SMK_KEY_PREFIX: prefix };
    return bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }), controllableClock });
  }

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: PEOPLE, seed: 17, hubspotPerTenSeconds: 0 });
    t = await testRedis('quota');
    const prefix = t.prefix.replace(/:$/, '');
    // The fields are provisioned first, on a budget of their own (installing is not syncing).
    const installer = await open(100_000, `${prefix}:install`);
    for (const crm of ['hubspot', 'salesforce'] as const) expect((await installer.ctx.connectors[crm].ensureSchema()).problems).toEqual([]);
    await installer.close();

    await resetStats(sandboxes.salesforce.instanceUrl);
    runtime = await open(BUDGET, prefix);
    const started = Date.now();
    try {
      first = { result: await syncOnce(runtime.ctx, { timeoutMs: 60_000 }), ms: Date.now() - started };
    } catch (err) {
      first = { error: err as Error, ms: Date.now() - started };
    }
    salesforceCalls = (await stats(sandboxes.salesforce.instanceUrl)).total;
    left = await outstandingByPlace(runtime.ctx);
  }, 120_000);

  afterAll(async () => {
    await runtime?.close();
    await t?.cleanup();
    await sandboxes?.close();
  });

  it('stops before it exceeds the budget', async () => {
    expect(salesforceCalls, 'Salesforce API calls served').toBeLessThanOrEqual(BUDGET);
    expect(salesforceCalls).toBeGreaterThan(0);
    const report = await runtime!.gate.report('salesforce');
    expect(report.dailyUsed).toBeLessThanOrEqual(BUDGET);
    expect(report.dailyBudget).toBe(BUDGET);
    expect(report.paused).toBe(true);
    expect(Date.parse(report.resumesAt ?? '')).toBeGreaterThan(Date.now());
  });

  it('leaves the rest pending, with nothing dropped', async () => {
    const cursorDone = (await runtime!.ctx.cursors.lastSyncAt('salesforce')) !== null;
    const pending = Object.values(left).reduce((a, b) => a + b, 0);
    expect(pending > 0 || !cursorDone, `work left: ${JSON.stringify(left)}; Salesforce feed read to the end: ${cursorDone}`).toBe(true);
    // Nothing given up on: no dead-lettered job, no write reported as failed for the budget.
    const { errors } = await runtime!.ctx.errors.list({ limit: 10_000 });
    expect(errors.filter((e) => e.code !== 'AMBIGUOUS_MATCH')).toEqual([]);
  });

  it('says it is paused, and until when, instead of waiting out its timeout', () => {
    expect(first.error, first.error?.message).toBeUndefined();
    expect(first.ms, 'well before its 60 s timeout').toBeLessThan(30_000);
    expect(first.result?.paused?.map((p) => p.crm)).toEqual(['salesforce']);
    const [paused] = first.result?.paused ?? [];
    expect(Date.parse(paused?.until ?? '')).toBeGreaterThan(Date.now());
    expect(paused?.waiting).toBeGreaterThan(0);
  });

  // Parked writes are re-checked every minute; a restarted worker lets them go at once.
  it('lets parked writes go as soon as the budget is raised', async () => {
    await runtime!.close();
    runtime = await open(100_000, t.prefix.replace(/:$/, ''));
    // Workers only (no new read of either CRM): what was parked must go now that the budget allows.
    const workers = startWorkers(runtime.ctx, { queues: ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce'] });
    try {
      await waitUntilIdle(runtime.ctx, { timeoutMs: 8_000 });
    } finally {
      await workers.close();
    }
  }, 30_000);

  it('resumes from where it stopped once the budget allows, with every record synced', async () => {
    await runtime?.close();
    // The next day, with a raised budget: the shared test clock moves a day on, and the drain
    // that was delayed until then falls due (BullMQ's delay runs on real time).
    runtime = await open(100_000, t.prefix.replace(/:$/, ''), true);
    const clock = sharedTestClock(runtime.ctx.redis, runtime.ctx.keys);
    await clock.advance(24 * 3_600_000);
    for (const queue of Object.values(runtime.ctx.queues.writeback)) await queue.promoteJobs();
    await syncOnce(runtime.ctx, { timeoutMs: 90_000 });
    expect(await outstandingWork(runtime.ctx)).toBe(0);

    const { hubspot, salesforce } = officialClients(sandboxes);
    const contacts = await hubspot.crm.contacts.getAll(100, undefined, ['smk_score', 'smk_lead_id']);
    expect(contacts.length).toBeGreaterThan(PEOPLE * 0.8);
    expect(contacts.filter((c) => !c.properties.smk_score || !c.properties.smk_lead_id).map((c) => c.id)).toEqual([]);

    const { errors } = await runtime.ctx.errors.list({ limit: 10_000 });
    const ambiguous = new Set(errors.filter((e) => e.code === 'AMBIGUOUS_MATCH').map((e) => e.recordId));
    expect(errors.filter((e) => e.code !== 'AMBIGUOUS_MATCH')).toEqual([]);
    const scoreById = new Map(contacts.map((c) => [c.properties.smk_lead_id, Number(c.properties.smk_score)]));
    for (const object of ['Lead', 'Contact'] as const) {
      const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
      const rows = await salesforce.query<{ Id: string; Smk_Score__c: number | null; Smk_Lead_Id__c: string | null }>(`SELECT Id, Smk_Score__c, Smk_Lead_Id__c FROM ${object}${where}`, { autoFetch: true, maxFetch: 100_000 });
      const synced = rows.records.filter((r) => !ambiguous.has(r.Id));
      expect(synced.filter((r) => r.Smk_Score__c === null || !r.Smk_Lead_Id__c).map((r) => r.Id), `${object}s without a score`).toEqual([]);
      // The same score on both sides of every person both CRMs know.
      for (const r of synced) if (scoreById.has(r.Smk_Lead_Id__c)) expect(r.Smk_Score__c).toBe(scoreById.get(r.Smk_Lead_Id__c));
    }
  }, 120_000);
});
