/**
 * Bulk API 2.0 through jsforce's own bulk2 client: query jobs (states, CSV results paged by
 * `Sforce-Locator`, queryAll with deleted rows) and ingest jobs (CSV upload, per-record failures
 * in `failedResults`, records a failed job never reached in `unprocessedrecords`), each HTTP call
 * counted against the org's daily allocation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SfRecord } from '../../../connectors/salesforce/sandbox/index.js';
import { connect, control, rejection, resetStats, seedLeads, stats } from './helpers.js';

const LEADS = 5_321;
let sb: SalesforceSandbox;
let leads: Array<{ Id: string; Email: string }>;

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 17 });
  leads = seedLeads(sb, LEADS).map((l) => ({ Id: String(l.Id), Email: String(l.Email) }));
});
afterAll(async () => {
  await sb.close();
});
beforeEach(async () => {
  await control(sb, 'PUT', '/bulk', { resultPageSize: null, failIngestAfter: null, queryJobs: 'complete' });
});

interface CsvLead {
  Id: string;
  LastName: string;
  IsDeleted?: string;
}

async function bulkQuery(soql: string, scanAll = false): Promise<CsvLead[]> {
  const conn = connect(sb);
  const stream = await conn.bulk2.query(soql, { scanAll, pollInterval: 5, pollTimeout: 5_000 });
  return (await stream.toArray()) as CsvLead[];
}

describe('query jobs', () => {
  it('pages the results with Sforce-Locator across several sets, every row once, each call counted', async () => {
    await control(sb, 'PUT', '/bulk', { resultPageSize: 2000 });
    await resetStats(sb);
    const usedBefore = sb.usage.used();
    const parsed = await bulkQuery('SELECT Id, LastName FROM Lead');
    // Each result set is a CSV file with its own header line; jsforce 3.10 parses the sets as one
    // stream, so the second and third headers come out as rows (the connector drops them).
    expect(parsed.filter((r) => r.Id === 'Id')).toHaveLength(2);
    const rows = parsed.filter((r) => r.Id !== 'Id');
    expect(rows).toHaveLength(LEADS);
    expect(new Set(rows.map((r) => r.Id)).size).toBe(LEADS);
    expect(rows.find((r) => r.Id === leads[4000]?.Id)?.LastName).toBe('lead-4000');
    const s = await stats(sb);
    const calls = Object.entries(s.calls).filter(([k]) => k.includes('/jobs/query'));
    const count = (re: RegExp) => calls.filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
    expect(count(/^POST .*\/jobs\/query$/)).toBe(1);
    expect(count(/^GET .*\/jobs\/query\/[^/]+\/results$/)).toBe(3);
    // A job is seen UploadComplete when created, InProgress at the first look, JobComplete after.
    expect(count(/^GET .*\/jobs\/query\/[^/]+$/)).toBeGreaterThanOrEqual(2);
    // Every HTTP request of the job is an API request of the org's allocation.
    expect(sb.usage.used() - usedBefore).toBe(s.total);
  });

  it('answers one set per call with the headers Salesforce sends, and `null` as the last locator', async () => {
    const conn = connect(sb);
    const job = await conn.request<{ id: string; state: string; operation: string; object: string }>({
      method: 'POST', url: '/jobs/query', body: JSON.stringify({ operation: 'query', query: 'SELECT Id FROM Lead' }), headers: { 'content-type': 'application/json' },
    });
    expect(job).toMatchObject({ state: 'UploadComplete', operation: 'query', object: 'Lead' });
    const base = `${sb.instanceUrl}/services/data/v62.0/jobs/query/${job.id}`;
    const auth = { authorization: `Bearer ${sb.accessToken}` };
    const early = await fetch(`${base}/results`, { headers: auth });
    expect(early.status).toBe(412);
    expect(await early.json()).toEqual([expect.objectContaining({ errorCode: 'JOB_NOT_COMPLETE' })]);
    for (let i = 0; i < 5 && (await (await fetch(base, { headers: auth })).json() as { state: string }).state !== 'JobComplete'; i++);
    const first = await fetch(`${base}/results?maxRecords=5000`, { headers: auth });
    expect(first.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(first.headers.get('sforce-numberofrecords')).toBe('5000');
    const locator = first.headers.get('sforce-locator');
    expect(locator).toBeTruthy();
    expect(locator).not.toBe('null');
    const body = await first.text();
    expect(body.split('\n')[0]).toBe('"Id"');
    const last = await fetch(`${base}/results?locator=${locator}&maxRecords=5000`, { headers: auth });
    expect(last.headers.get('sforce-numberofrecords')).toBe(String(LEADS - 5000));
    expect(last.headers.get('sforce-locator')).toBe('null');
  });

  it('refuses what Bulk API 2.0 query does not support', async () => {
    const conn = connect(sb);
    const err = await rejection(conn.request({ method: 'POST', url: '/jobs/query', body: JSON.stringify({ operation: 'query', query: 'SELECT COUNT() FROM Lead' }), headers: { 'content-type': 'application/json' } }));
    expect(err.errorCode).toBe('INVALIDJOB');
  });

  it('queryAll returns deleted rows with IsDeleted, query does not', async () => {
    const gone = leads.slice(10, 13).map((l) => String(l.Id));
    for (const id of gone) sb.store.softDelete(sb.store.get(id) as SfRecord, {});
    const all = await bulkQuery('SELECT Id, LastName, IsDeleted FROM Lead', true);
    const live = await bulkQuery('SELECT Id, LastName, IsDeleted FROM Lead', false);
    expect(all).toHaveLength(LEADS);
    expect(live).toHaveLength(LEADS - 3);
    expect(all.filter((r) => r.IsDeleted === 'true').map((r) => r.Id).sort()).toEqual([...gone].sort());
  });

  it('a failed job reports Failed and jsforce gives up on it', async () => {
    await control(sb, 'PUT', '/bulk', { queryJobs: 'fail' });
    await expect(bulkQuery('SELECT Id FROM Lead')).rejects.toThrow(/failed/i);
  });

  it('counts query jobs against DailyBulkV2QueryJobs', async () => {
    const conn = connect(sb);
    const before = ((await conn.limits()) as unknown as { DailyBulkV2QueryJobs: { Remaining: number } }).DailyBulkV2QueryJobs.Remaining;
    await bulkQuery('SELECT Id FROM Lead LIMIT 10');
    const after = ((await conn.limits()) as unknown as { DailyBulkV2QueryJobs: { Remaining: number } }).DailyBulkV2QueryJobs.Remaining;
    expect(before - after).toBe(1);
  });
});

describe('ingest jobs', () => {
  it('updates through the store: per-record failures in failedResults, stamps and the caller in each record', async () => {
    const conn = connect(sb);
    const target = leads.slice(100, 105);
    const before = Number(sb.store.get(String(target[0]?.Id))?.SystemModstamp);
    sb.clock.advance(5_000);
    await resetStats(sb);
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'update' });
    await job.open();
    // jsforce takes the CSV header from the first record: every record carries every column, an
    // empty value leaving the field as it is.
    await job.uploadData([
      { Id: target[0]?.Id, Title: 'Bulk A', Email: '', Rating: 'Hot' },
      { Id: target[1]?.Id, Title: 'Bulk B', Email: 'not an email', Rating: '' },
      { Id: target[2]?.Id, Title: 'Bulk C', Email: '', Rating: null },
      { Id: '00Q000000000000AAA', Title: 'Nobody', Email: '', Rating: '' },
    ]);
    await job.close();
    await job.poll(5, 5_000);
    const info = await job.check();
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 4, numberRecordsFailed: 2 });
    const results = await job.getAllResults();
    expect(results.successfulResults.map((r) => r.sf__Id).sort()).toEqual([target[0]?.Id, target[2]?.Id].sort());
    expect(results.successfulResults[0]?.sf__Created).toBe('false');
    const failed = new Map((results.failedResults as unknown as Array<{ Id: string; sf__Error: string }>).map((r) => [r.Id, r.sf__Error]));
    expect(failed.get(String(target[1]?.Id))).toMatch(/^INVALID_EMAIL_ADDRESS:.*:Email$/);
    expect(failed.get('00Q000000000000AAA')).toMatch(/^[A-Z_]+:/);
    expect(results.unprocessedRecords).toEqual([]);

    const a = sb.store.get(String(target[0]?.Id)) as SfRecord;
    expect(a.Title).toBe('Bulk A');
    expect(a.Email).toBe(target[0]?.Email);
    expect(Number(a.SystemModstamp)).toBeGreaterThan(before);
    expect(sb.store.get(String(target[1]?.Id))?.Title).not.toBe('Bulk B');
    // `#N/A` (jsforce's null) empties the field.
    expect(sb.store.get(String(target[2]?.Id))?.Rating ?? null).toBeNull();
    const s = await stats(sb);
    const keys = Object.keys(s.calls).filter((k) => k.includes('/jobs/ingest'));
    expect(keys).toEqual(expect.arrayContaining([
      expect.stringMatching(/^POST .*\/jobs\/ingest$/),
      expect.stringMatching(/^PUT .*\/jobs\/ingest\/[^/]+\/batches$/),
      expect.stringMatching(/^PATCH .*\/jobs\/ingest\/[^/]+$/),
      expect.stringMatching(/^GET .*\/jobs\/ingest\/[^/]+\/failedResults$/),
    ]));
  });

  it('a job that fails part-way leaves the rest in unprocessedrecords, unwritten', async () => {
    await control(sb, 'PUT', '/bulk', { failIngestAfter: 2 });
    const conn = connect(sb);
    const target = leads.slice(200, 205);
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'update' });
    await job.open();
    await job.uploadData(target.map((l, i) => ({ Id: l.Id, Title: `Part ${i}` })));
    await job.close();
    await expect(job.poll(5, 5_000)).rejects.toThrow(/failed/i);
    const info = await job.check();
    expect(info.state).toBe('Failed');
    expect(info.numberRecordsProcessed).toBe(2);
    const results = await job.getAllResults();
    expect(results.successfulResults).toHaveLength(2);
    expect((results.unprocessedRecords as unknown as Array<{ Id: string }>).map((r) => r.Id).sort()).toEqual(target.slice(2).map((l) => l.Id).sort());
    expect(sb.store.get(String(target[4]?.Id))?.Title).not.toBe('Part 4');
  });

  it('a header naming an unknown field fails the job with every record unprocessed', async () => {
    const conn = connect(sb);
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'update' });
    await job.open();
    await job.uploadData([{ Id: leads[300]?.Id, Nope__c: 'x' }]);
    await job.close();
    await expect(job.poll(5, 5_000)).rejects.toThrow(/Nope__c/);
    const results = await job.getAllResults();
    expect(results.unprocessedRecords).toHaveLength(1);
  });

  it('counts ingest batches against DailyBulkApiBatches (one per 10,000 records)', async () => {
    const conn = connect(sb);
    const remaining = async () => ((await conn.limits()) as unknown as { DailyBulkApiBatches: { Remaining: number } }).DailyBulkApiBatches.Remaining;
    const before = await remaining();
    await conn.bulk2.loadAndWaitForResults({ object: 'Lead', operation: 'update', input: leads.slice(400, 410).map((l) => ({ Id: l.Id, Title: 'Counted' })), pollInterval: 5, pollTimeout: 5_000 });
    expect(before - (await remaining())).toBe(1);
  });
});
