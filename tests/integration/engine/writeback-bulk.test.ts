/**
 * Write-back through Salesforce Bulk API 2.0 (`sync.bulkThreshold`): a large set of pending
 * writes goes to Salesforce as one ingest job, not collections of 200; a record Salesforce refuses
 * inside the job is reported in sync errors with Salesforce's own code, and the rest are written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordUpdate } from '../../../connectors/types.js';
import { processWriteback } from '../../../jobs/writeback.js';
import { fastSyncConfig, resetStats, startHarness, stats } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncInPhases } from '../../reliability/helpers/phased-sync.js';

describe('write-back of a large set through one Bulk API 2.0 job', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      people: 900,
      seed: 31,
      label: 'wb-bulk',
      controllableClock: true,
      configYaml: fastSyncConfig('create: { salesforce: never, hubspot: never }', 'bulkThreshold: 300', 'bulkPollEvery: 10ms'),
    });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  it('hands the whole set to one call, one ingest job writes it, the refused record lands in sync errors', async () => {
    const ctx = h.runtime.ctx;
    const sf = h.sandboxes.salesforce;
    const leads = sf.store.list('Lead').filter((r) => r.IsDeleted !== true && r.IsConverted !== true);
    const linked: Array<{ id: string; leadId: string }> = [];
    for (const r of leads) {
      const leadId = await ctx.leads.linkOf('salesforce', 'Lead', String(r.Id));
      if (leadId) linked.push({ id: String(r.Id), leadId });
    }
    expect(linked.length).toBeGreaterThan(300);
    // Deleted by a rep after the write was planned (the deletion not read yet): Salesforce refuses it.
    const gone = linked[5] as { id: string; leadId: string };
    sf.store.softDelete(sf.store.get(gone.id) as never, {});

    const now = ctx.clock.now();
    for (const { id, leadId } of linked) {
      const update: RecordUpdate = { ref: { object: 'Lead', id }, smk: { scoreReasons: `bulk ${id}` } };
      await ctx.pending.salesforce.write.add(`Lead:${id}`, leadId, update, now - 10_000);
    }
    await resetStats(sf.instanceUrl);
    await processWriteback(ctx, 'salesforce');
    const { calls } = await stats(sf.instanceUrl);
    const count = (fragment: string) => Object.entries(calls).filter(([k]) => k.includes(fragment)).reduce((n, [, v]) => n + v, 0);

    expect(count('POST /services/data/v62.0/jobs/ingest')).toBe(1);
    expect(count('/composite/sobjects')).toBe(0);
    const written = linked.filter((l) => l.id !== gone.id);
    expect(written.filter((l) => sf.store.get(l.id)?.Smk_Score_Reasons__c === `bulk ${l.id}`)).toHaveLength(written.length);
    const errors = (await ctx.errors.list({ crm: 'salesforce' })).errors.filter((e) => e.recordId === gone.id);
    expect(errors).toEqual([expect.objectContaining({ code: 'NOT_FOUND', stage: 'write', leadId: gone.leadId })]);
    expect(await ctx.pending.salesforce.write.size()).toBe(0);
  }, 120_000);

  it('retries only the records a job that failed part-way never reached, and writes none twice', async () => {
    const ctx = h.runtime.ctx;
    const clock = ctx.clock as unknown as { now(): number; set(ms: number): Promise<void> };
    const sf = h.sandboxes.salesforce;
    const linked: Array<{ id: string; leadId: string }> = [];
    for (const r of sf.store.list('Lead').filter((l) => l.IsDeleted !== true && l.IsConverted !== true)) {
      const leadId = await ctx.leads.linkOf('salesforce', 'Lead', String(r.Id));
      if (leadId) linked.push({ id: String(r.Id), leadId });
    }
    const res = await fetch(`${sf.instanceUrl}/__sandbox/bulk`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failIngestAfter: 20 }) });
    expect(res.ok).toBe(true);
    // Every Salesforce write of a record, counted where the org stores it.
    const writes = new Map<string, number>();
    const onChange = sf.store.onChange;
    sf.store.onChange = (change) => {
      if (change.changeType === 'UPDATE' && change.fields.includes('Smk_Score_Reasons__c')) writes.set(String(change.record.Id), (writes.get(String(change.record.Id)) ?? 0) + 1);
      onChange?.(change);
    };
    try {
      for (const { id, leadId } of linked) {
        const update: RecordUpdate = { ref: { object: 'Lead', id }, smk: { scoreReasons: `again ${id}` } };
        await ctx.pending.salesforce.write.add(`Lead:${id}`, leadId, update, clock.now() - 10_000);
      }
      await resetStats(sf.instanceUrl);
      await processWriteback(ctx, 'salesforce');
      expect(writes.size).toBe(20);
      expect(await ctx.pending.salesforce.write.size()).toBe(linked.length - 20);
      for (let round = 0; round < 5 && (await ctx.pending.salesforce.write.size()) > 0; round += 1) {
        const next = await ctx.pending.salesforce.write.nextDueAt();
        if (next !== null) await clock.set(Math.max(clock.now(), next) + 250);
        await processWriteback(ctx, 'salesforce');
      }
    } finally {
      sf.store.onChange = onChange;
    }
    const { calls } = await stats(sf.instanceUrl);
    // The retries fall due over the back-off's spread, so they go as they come (collections or a job).
    expect(Object.entries(calls).filter(([k]) => k === 'POST /services/data/v62.0/jobs/ingest').reduce((n, [, v]) => n + v, 0)).toBeGreaterThanOrEqual(1);
    expect(writes.size).toBe(linked.length);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    expect((await ctx.errors.list({ crm: 'salesforce' })).errors.filter((e) => linked.some((l) => l.id === e.recordId && e.code !== 'NOT_FOUND'))).toEqual([]);
  }, 120_000);
});
