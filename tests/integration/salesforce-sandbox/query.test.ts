/**
 * SOQL over HTTP through jsforce: paging with nextRecordsUrl, batch sizes, queryAll, COUNT(),
 * error bodies, injection attempts, and the (SystemModstamp, Id) change-feed cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { formatDateTime } from '../../../connectors/salesforce/sandbox/values.js';
import { connect, rejection, resetStats, seedLeads, stats } from './helpers.js';

const LEADS = 5_321;
let sb: SalesforceSandbox;

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 11 });
  seedLeads(sb, LEADS);
});
afterAll(async () => {
  await sb.close();
});

interface LeadRow {
  Id: string;
  LastName: string;
  SystemModstamp: string;
  IsDeleted?: boolean;
}

describe('query paging', () => {
  it('pages through every lead with autoFetch in ceil(n / 2000) calls', async () => {
    const conn = connect(sb);
    await resetStats(sb);
    const result = await conn.query<LeadRow>('SELECT Id, LastName FROM Lead', { autoFetch: true, maxFetch: 100_000 });
    expect(result.totalSize).toBe(LEADS);
    expect(result.records).toHaveLength(LEADS);
    expect(new Set(result.records.map((r) => r.Id)).size).toBe(LEADS);
    const s = await stats(sb);
    expect(s.total).toBe(Math.ceil(LEADS / 2000));
    expect(s.calls['GET /services/data/v62.0/query']).toBe(1);
  });

  it('honours Sforce-Query-Options batchSize and serves the locator under another version', async () => {
    const conn = connect(sb);
    const first = await conn.query<LeadRow>('SELECT Id FROM Lead ORDER BY Id', { headers: { 'Sforce-Query-Options': 'batchSize=500' } });
    expect(first.records).toHaveLength(500);
    expect(first.done).toBe(false);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-500$/);
    // A connection on another version follows the same locator (jsforce keeps only its last segment).
    const other = connect(sb, { version: '59.0' });
    const second = await other.queryMore<LeadRow>(first.nextRecordsUrl as string);
    // The cursor keeps the batch size it was opened with.
    expect(second.records).toHaveLength(500);
    expect((second.records[0]?.Id ?? '') > (first.records[499]?.Id ?? '~')).toBe(true);
  });

  it('clamps a batchSize below 200 to 200', async () => {
    const first = await connect(sb).query('SELECT Id FROM Lead', { headers: { 'Sforce-Query-Options': 'batchSize=10' } });
    expect(first.records).toHaveLength(200);
  });

  it('expires an idle cursor after 15 minutes', async () => {
    const conn = connect(sb);
    const first = await conn.query('SELECT Id FROM Lead');
    sb.clock.advance(16 * 60_000);
    const err = await rejection(conn.queryMore(first.nextRecordsUrl as string));
    expect(err.errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('fetches by Id and Id IN with 15- or 18-character ids, and serves jsforce find and count', async () => {
    const conn = connect(sb);
    const some = await conn.query<LeadRow>('SELECT Id, LastName FROM Lead ORDER BY LastName LIMIT 3');
    const ids = some.records.map((r) => r.Id);
    const list = [ids[0]?.slice(0, 15), ids[1], ids[2]].map((id) => `'${id}'`).join(', ');
    const byId = await conn.query<LeadRow>(`SELECT Id FROM Lead WHERE Id IN (${list}) ORDER BY Id DESC`);
    expect(byId.records.map((r) => r.Id)).toEqual([...ids].sort().reverse());
    const one = await conn.sobject('Lead').find<LeadRow>({ Id: ids[1] }, '*');
    expect(one).toEqual([expect.objectContaining({ Id: ids[1], LastName: some.records[1]?.LastName, Status: 'Open - Not Contacted' })]);
    expect(await conn.sobject('Lead').count({ Company: 'Company 3' })).toBe(Math.ceil((LEADS - 3) / 97));
  });

  it('answers an unknown locator with INVALID_QUERY_LOCATOR', async () => {
    const err = await rejection(connect(sb).queryMore('01g000000000000XYZ-2000'));
    expect(err.errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('answers COUNT() with totalSize and no records', async () => {
    const result = await connect(sb).query("SELECT COUNT() FROM Lead WHERE Company = 'Company 3'");
    expect(result).toEqual({ totalSize: Math.ceil((LEADS - 3) / 97), done: true, records: [] });
  });
});

describe('query errors', () => {
  it.each([
    ['SELECT Id FRM Lead', 'MALFORMED_QUERY', 'unexpected token'],
    ['SELECT Foo FROM Lead', 'INVALID_FIELD', "No such column 'Foo' on entity 'Lead'"],
    ['SELECT Id FROM Widget', 'INVALID_TYPE', "sObject type 'Widget' is not supported"],
  ])('%s -> 400 %s', async (soql, code, text) => {
    const res = await fetch(`${sb.instanceUrl}/services/data/v62.0/query?q=${encodeURIComponent(soql)}`, {
      headers: { authorization: `Bearer ${sb.accessToken}` },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Array<{ errorCode: string; message: string }>;
    expect(body).toHaveLength(1);
    expect(body[0]?.errorCode).toBe(code);
    expect(body[0]?.message).toContain(text);
    const err = await rejection(connect(sb).query(soql));
    expect(err.errorCode).toBe(code);
  });

  it('treats an injection attempt as one string literal that matches nothing', async () => {
    const conn = connect(sb);
    const injected = await conn.query("SELECT Id FROM Lead WHERE Email = 'x\\' OR Name != \\''");
    expect(injected.totalSize).toBe(0);
    // The unescaped form really would match everything: the test can tell the difference.
    const open = await conn.query("SELECT COUNT() FROM Lead WHERE Email = 'x' OR Name != ''");
    expect(open.totalSize).toBe(LEADS);
  });
});

describe('queryAll', () => {
  it('sees a deleted lead with IsDeleted = true; query does not', async () => {
    const conn = connect(sb);
    const { records } = await conn.query<LeadRow>("SELECT Id FROM Lead WHERE LastName = 'lead-7'");
    const victim = records[0]?.Id as string;
    expect(victim).toMatch(/^00Q/);
    await conn.sobject('Lead').destroy(victim);
    const live = await conn.query<LeadRow>("SELECT Id FROM Lead WHERE LastName = 'lead-7'");
    expect(live.totalSize).toBe(0);
    const all = await conn.query<LeadRow>("SELECT Id, IsDeleted FROM Lead WHERE LastName = 'lead-7'", { scanAll: true });
    expect(all.records).toEqual([expect.objectContaining({ Id: victim, IsDeleted: true })]);
  });
});

describe('change-feed cursor over a shared SystemModstamp', () => {
  it('reads records that share one modstamp exactly once, page by page', async () => {
    const conn = connect(sb);
    const tagged = await conn.query<LeadRow>("SELECT Id FROM Lead WHERE Company = 'Company 5' ORDER BY Id LIMIT 50");
    // One collection call is one transaction: every record gets the same SystemModstamp. Sent in
    // descending Id order, so that ties must be ordered by Id, not by arrival.
    const touched = [...tagged.records].reverse().map((r) => ({ Id: r.Id, Title: 'Bulk touched' }));
    const results = await conn.sobject('Lead').update(touched, { allOrNone: true });
    expect(results.every((r) => r.success)).toBe(true);
    const stamps = await conn.query<LeadRow>("SELECT Id, SystemModstamp FROM Lead WHERE Title = 'Bulk touched'");
    expect(stamps.totalSize).toBe(50);
    expect(new Set(stamps.records.map((r) => r.SystemModstamp)).size).toBe(1);
    const stamp = stamps.records[0]?.SystemModstamp as string;

    // Resume from a cursor just before the transaction, 25 records a page, as the connector does.
    let cursor = { at: formatDateTime(Date.parse(stamp.replace('+0000', 'Z')) - 1), id: '000000000000000AAA' };
    const seen: string[] = [];
    for (let page = 0; page < 10; page++) {
      const soql = `SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > ${cursor.at} OR (SystemModstamp = ${cursor.at} AND Id > '${cursor.id}') ORDER BY SystemModstamp, Id LIMIT 25`;
      const { records } = await conn.query<LeadRow>(soql);
      if (records.length === 0) break;
      seen.push(...records.map((r) => r.Id));
      const last = records[records.length - 1] as LeadRow;
      cursor = { at: last.SystemModstamp, id: last.Id };
    }
    expect(seen).toHaveLength(50);
    expect(seen).toEqual(tagged.records.map((r) => r.Id).sort());
  });
});

describe('a large table', () => {
  it('serves a change-feed page over 200,000 leads in under 200 ms', async () => {
    const big = await startSalesforceSandbox({ seed: 12 });
    try {
      const base = Date.parse('2026-01-01T00:00:00Z');
      big.store.bulkLoad(() => {
        for (let i = 0; i < 200_000; i++) {
          // Ten records per second (stamps are whole seconds): many share a modstamp.
          big.store.insert('Lead', { LastName: `L${i}`, Company: 'Big Co' }, { ts: base + Math.floor(i / 10) * 1000 });
        }
      });
      const conn = connect(big);
      const at = formatDateTime(base + 12_345_000);
      const soql = `SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '00Q000000000000AAA') ORDER BY SystemModstamp, Id LIMIT 2000`;
      await conn.query(soql);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const page = await conn.query<LeadRow>(soql);
        times.push(performance.now() - t0);
        expect(page.records).toHaveLength(2000);
        expect(page.records[0]?.SystemModstamp).toBe(at);
      }
      expect(Math.min(...times)).toBeLessThan(200);
      // A generic ORDER BY + LIMIT over the whole table uses a bounded heap, not a full sort.
      const t1 = performance.now();
      const top = await conn.query<LeadRow>('SELECT Id, LastName FROM Lead ORDER BY LastName DESC LIMIT 5');
      expect(top.records.map((r) => r.LastName)).toEqual(['L99999', 'L99998', 'L99997', 'L99996', 'L99995']);
      expect(performance.now() - t1).toBeLessThan(2000);
    } finally {
      await big.close();
    }
  }, 60_000);
});
