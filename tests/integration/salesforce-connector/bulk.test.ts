/**
 * The connector's Bulk API 2.0 path against the sandbox's Bulk API 2.0: a full read above the
 * query threshold is one query job per stream (every record once, the same cursor as the SOQL
 * feed, deletions through queryAll), a failed job falls back to SOQL paging; a write above the
 * write threshold is one ingest job, with per-record failures and unprocessed records reported
 * per record.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { ConnectorLogger, RecordUpdate } from '../../../connectors/types.js';
import { callsMatching, drain, startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('Salesforce Bulk API 2.0 path (4,000 seeded people, pages of 500)', () => {
  let h: Harness;
  const warnings: string[] = [];
  const logger: ConnectorLogger = {
    debug: () => {},
    info: () => {},
    warn: (obj: unknown, msg?: string) => void warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    error: () => {},
  } as unknown as ConnectorLogger;
  const bulkConnector = (): SalesforceConnector =>
    h.connector({ bulkQueryThreshold: 500, bulkThreshold: 300, bulkPollIntervalMs: 5, bulkPollTimeoutMs: 5_000, pageSize: 500, logger });
  const setBulk = async (settings: Record<string, unknown>) => {
    const res = await fetch(`${h.sandbox.instanceUrl}/__sandbox/bulk`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
    expect(res.ok).toBe(true);
  };

  beforeAll(async () => {
    h = await startHarness('sf-bulk', 4_000, 29);
    const report = await h.connector().ensureSchema();
    expect(report.problems).toEqual([]);
  }, 120_000);
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    warnings.length = 0;
    await setBulk({ resultPageSize: 1_000, queryJobs: 'complete', failIngestAfter: null, ingestJobs: 'complete' });
  });

  it('a full read above the threshold is one query job per stream: every record once, the SOQL feed\'s positions', async () => {
    const leads = h.sandbox.store.count('Lead');
    const contacts = h.sandbox.store.count('Contact');
    expect(leads).toBeGreaterThan(1_000);
    await h.resetStats();
    const soql = await drain(h.connector().readAll());
    const soqlCalls = (await h.stats()).calls;
    // The SOQL read's calls beside its pages of 2,000 (describe, the Lead Status values...).
    const soqlOverhead = callsMatching(soqlCalls, 'GET /services/data/v62.0/query') - Math.ceil(leads / 2000) - Math.ceil(contacts / 2000);
    await h.resetStats();
    const bulk = await drain(bulkConnector().readAll());
    const { calls } = await h.stats();

    const ids = bulk.pages.flatMap((p) => p.fragments.map((f) => f.recordId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(bulk.pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments)).toHaveLength(leads);
    expect(bulk.pages.filter((p) => p.stream === 'Contact').flatMap((p) => p.fragments)).toHaveLength(contacts);
    expect(bulk.pages.flatMap((p) => p.problems)).toEqual([]);
    expect(bulk.pages.every((p) => p.fragments.length <= 2000)).toBe(true);
    // A first SOQL page of 500 each, a COUNT() of the rest, then one job per stream: the rest
    // comes from its result sets (1,000 rows each here), not from SOQL pages.
    expect(callsMatching(calls, 'POST /services/data/v62.0/jobs/query')).toBe(2);
    expect(callsMatching(calls, '/results')).toBe(Math.ceil((leads - 500) / 1_000) + Math.ceil((contacts - 500) / 1_000));
    expect(callsMatching(calls, 'GET /services/data/v62.0/query')).toBe(soqlOverhead + 2 + 2);
    // The same records, mapped the same way, and the same place to go on from.
    const byId = (pages: typeof soql.pages) => new Map(pages.flatMap((p) => p.fragments).map((f) => [f.recordId, f]));
    const fromSoql = byId(soql.pages);
    for (const [id, fragment] of byId(bulk.pages)) expect(fragment).toEqual(fromSoql.get(id));
    expect(bulk.position).toEqual(soql.position);
  }, 120_000);

  it('the first read of the change feed goes by a queryAll job: deleted records come back as removals', async () => {
    const victim = h.sandbox.store.list('Lead').find((r) => r.IsDeleted !== true && r.IsConverted !== true);
    await h.control('/activity', { kind: 'delete', id: String(victim?.Id) });
    h.sandbox.clock.advance(2_000);
    await h.resetStats();
    const { pages } = await drain(bulkConnector().changes({}, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 }));
    const { calls } = await h.stats();
    expect(callsMatching(calls, 'POST /services/data/v62.0/jobs/query')).toBe(2);
    expect(pages.flatMap((p) => p.removed).map((r) => r.ref.id)).toContain(String(victim?.Id));
  }, 120_000);

  it('below the threshold the SOQL feed reads as before, with no job and one COUNT() per stream that fills its first page', async () => {
    await h.resetStats();
    await drain(h.connector({ bulkQueryThreshold: 100_000, bulkPollIntervalMs: 5 }).readAll());
    const big = await h.stats();
    expect(callsMatching(big.calls, '/jobs/query')).toBe(0);
    await h.resetStats();
    await drain(h.connector().readAll());
    const off = await h.stats();
    // Leads fill a page of 2,000 (one COUNT()), Contacts do not (none).
    expect(callsMatching(big.calls, '/query') - callsMatching(off.calls, '/query')).toBe(1);
  }, 120_000);

  it('a failed query job falls back to SOQL paging and says so', async () => {
    await setBulk({ queryJobs: 'fail' });
    const leads = h.sandbox.store.count('Lead');
    await h.resetStats();
    const { pages } = await drain(bulkConnector().readAll());
    const lead = pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments.map((f) => f.recordId));
    expect(lead).toHaveLength(leads);
    expect(new Set(lead).size).toBe(leads);
    expect(callsMatching((await h.stats()).calls, 'POST /services/data/v62.0/jobs/query')).toBe(2);
    expect(warnings.some((w) => /Bulk API 2\.0.*SOQL/i.test(w))).toBe(true);
  }, 120_000);

  it('a write above the threshold is one ingest job: per-record failures and unprocessed records come back per record', async () => {
    const live = h.sandbox.store.list('Lead').filter((r) => r.IsConverted !== true && r.IsDeleted !== true).slice(0, 400);
    const updates: RecordUpdate[] = live.map((r, i) => ({ ref: { object: 'Lead', id: String(r.Id) }, smk: { score: String(i) } }));
    // One record refused by Salesforce itself (a deleted record), found only when the job runs.
    const gone = String(live[7]?.Id);
    h.sandbox.store.softDelete(h.sandbox.store.get(gone) as never, {});
    const sf = bulkConnector();
    await h.resetStats();
    const outcomes = await sf.write(updates);
    const { calls } = await h.stats();
    expect(callsMatching(calls, 'POST /services/data/v62.0/jobs/ingest')).toBe(1);
    expect(callsMatching(calls, '/composite/sobjects')).toBe(0);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(399);
    const failed = outcomes.find((o) => !o.ok);
    expect(failed?.ref.id).toBe(gone);
    expect(failed && !failed.ok ? failed.error.code : null).toBe('NOT_FOUND');
    expect(h.sandbox.store.get(String(live[3]?.Id))?.Smk_Score__c).toBe(3);

    // A job that stops part-way: the records it reached are done, the rest come back TRANSIENT
    // (write-back retries those alone), none is written twice.
    await setBulk({ failIngestAfter: 100 });
    const again: RecordUpdate[] = live.filter((r) => String(r.Id) !== gone).map((r, i) => ({ ref: { object: 'Lead', id: String(r.Id) }, smk: { score: String(1000 + i) } }));
    const second = await sf.write(again);
    expect(second.filter((o) => o.ok)).toHaveLength(100);
    const retry = second.filter((o) => !o.ok);
    expect(retry).toHaveLength(again.length - 100);
    expect(retry.every((o) => !o.ok && o.error.code === 'TRANSIENT' && /not processed/i.test(o.error.message))).toBe(true);
    const untouched = retry[0]?.ref.id ?? '';
    expect(h.sandbox.store.get(untouched)?.Smk_Score__c).not.toBeGreaterThanOrEqual(1000);
  }, 120_000);

  it('a query job that takes too long is aborted and the read goes on by SOQL pages', async () => {
    await setBulk({ queryJobs: 'stall' });
    const leads = h.sandbox.store.count('Lead');
    await h.resetStats();
    const { pages } = await drain(h.connector({ bulkQueryThreshold: 500, bulkPollIntervalMs: 5, bulkPollTimeoutMs: 100, pageSize: 500, logger }).readAll());
    const { calls } = await h.stats();
    expect(pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments)).toHaveLength(leads);
    expect(callsMatching(calls, 'PATCH /services/data/v62.0/jobs/query')).toBe(2);
    expect(callsMatching(calls, '/results')).toBe(0);
    expect(warnings.filter((w) => /did not complete.*SOQL pages/.test(w))).toHaveLength(2);
  }, 120_000);

  it('an ingest job that takes too long is aborted: nothing written, every record TRANSIENT for write-back to retry', async () => {
    await setBulk({ ingestJobs: 'stall' });
    const live = h.sandbox.store.list('Lead').filter((r) => r.IsConverted !== true && r.IsDeleted !== true).slice(500, 850);
    const outcomes = await h.connector({ bulkThreshold: 300, bulkPollIntervalMs: 5, bulkPollTimeoutMs: 100, logger }).write(
      live.map((r) => ({ ref: { object: 'Lead', id: String(r.Id) }, smk: { score: '77' } })),
    );
    expect(outcomes.every((o) => !o.ok && o.error.code === 'TRANSIENT' && /Aborted/.test(o.error.message))).toBe(true);
    expect(live.some((r) => h.sandbox.store.get(String(r.Id))?.Smk_Score__c === 77)).toBe(false);
    expect(warnings.some((w) => /took too long: aborted/.test(w))).toBe(true);
  }, 120_000);

  it('gives write-back batches of up to 10,000 records only when bulk writes are on', () => {
    expect(bulkConnector().batchSizes.write).toBe(10_000);
    expect(h.connector().batchSizes.write).toBe(200);
  });
});
