/**
 * The sandbox stamps record times the way a real org does: `CreatedDate`, `LastModifiedDate` and
 * `SystemModstamp` in whole seconds (`.000+0000`), so that everything written within one second
 * shares one stamp (a bulk update gives thousands of rows one SystemModstamp), and the change-feed
 * SOQL `SystemModstamp > X OR (SystemModstamp = X AND Id > Y)` still reads such ties once each,
 * whether X is written with milliseconds or without. Read back through jsforce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { HeldClock } from '../../helpers/held-clock.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { connect, control, seedLeads } from './helpers.js';


interface StampRow {
  Id: string;
  CreatedDate: string;
  LastModifiedDate: string;
  SystemModstamp: string;
}

const SECOND = Date.parse('2026-11-24T10:00:00Z');
const STAMP = '2026-11-24T10:00:00.000+0000';
const WHOLE_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$/;

let sb: SalesforceSandbox;
let clock: HeldClock;

beforeAll(async () => {
  clock = new HeldClock(SECOND - 60_000 + 437);
  sb = await startSalesforceSandbox({ seed: 31, clock, world: generateWorld({ people: 300, seed: 31, now: SECOND - 60_000 + 437 }) });
  seedLeads(sb, 20, { prefix: 'tie' });
});
afterAll(async () => {
  await sb.close();
});

describe('whole-second stamps', () => {
  it('gives records written within one second the same .000+0000 stamp, whatever the write', async () => {
    const conn = connect(sb);
    const tie = sb.store.list('Lead').filter((r) => String(r.LastName).startsWith('tie-')).map((r) => String(r.Id));
    clock.set(SECOND + 120);
    const created = await conn.sobject('Lead').create({ LastName: 'Single', Company: 'Tie Co' });
    clock.set(SECOND + 250);
    const batch = await conn.sobject('Lead').create([
      { LastName: 'Batch 1', Company: 'Tie Co' },
      { LastName: 'Batch 2', Company: 'Tie Co' },
    ]);
    clock.set(SECOND + 480);
    await conn.sobject('Lead').update({ Id: tie[0] as string, Title: 'Single update' });
    clock.set(SECOND + 610);
    await conn.sobject('Lead').update(tie.slice(1, 6).map((Id) => ({ Id, Title: 'Collection update' })));
    clock.set(SECOND + 777);
    await conn.sobject('Lead').destroy(tie[6] as string);
    clock.set(SECOND + 850);
    const converted = (await control<{ contactId: string; accountId: string }>(sb, 'POST', '/activity', { kind: 'convert', id: tie[7] })).body;
    clock.set(SECOND + 999);
    await control(sb, 'POST', '/activity', { kind: 'call', whoId: tie[8] });

    const ids = [created.id, ...batch.map((r) => r.id), ...tie.slice(0, 9)].map(String);
    const leads = await conn.query<StampRow>(
      `SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Lead WHERE Id IN (${ids.map((id) => `'${id}'`).join(',')})`,
      { scanAll: true },
    );
    expect(leads.records).toHaveLength(ids.length);
    for (const row of leads.records) {
      expect(row.SystemModstamp).toBe(STAMP);
      // A logged call moves only SystemModstamp (LastActivityDate is system-maintained).
      if (row.Id !== tie[8]) expect(row.LastModifiedDate).toBe(STAMP);
      if (!tie.includes(row.Id)) expect(row.CreatedDate).toBe(STAMP);
    }
    const contact = await conn.sobject('Contact').retrieve(converted.contactId);
    expect(contact).toMatchObject({ CreatedDate: STAMP, LastModifiedDate: STAMP, SystemModstamp: STAMP });
    const tasks = await conn.query<StampRow>(`SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Task WHERE WhoId = '${tie[8] as string}'`);
    expect(tasks.records).toEqual([expect.objectContaining({ CreatedDate: STAMP, LastModifiedDate: STAMP, SystemModstamp: STAMP })]);
    const deleted = await conn.request<{ deletedRecords: Array<{ id: string; deletedDate: string }> }>(
      `/services/data/v62.0/sobjects/Lead/deleted/?start=2026-11-24T09:00:00Z&end=2026-11-24T11:00:00Z`,
    );
    expect(deleted.deletedRecords).toEqual([{ id: tie[6], deletedDate: STAMP }]);
  });

  it('seeds history and custom fields in whole seconds too', async () => {
    const conn = connect(sb);
    for (const type of ['Lead', 'Contact', 'Account', 'User']) {
      const rows = await conn.query<StampRow>(`SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM ${type}`, { autoFetch: true, maxFetch: 10_000 });
      expect(rows.records.length).toBeGreaterThan(0);
      for (const row of rows.records) {
        expect([row.CreatedDate, row.LastModifiedDate, row.SystemModstamp].filter((s) => !WHOLE_SECOND.test(s)), `${type} ${row.Id}`).toEqual([]);
      }
    }
    clock.set(SECOND + 5_321);
    await conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Stamp_Test__c', Metadata: { type: 'Text', label: 'Stamp test', length: 20 } });
    const field = await conn.tooling.query<{ CreatedDate: string; LastModifiedDate: string }>(
      "SELECT CreatedDate, LastModifiedDate FROM CustomField WHERE TableEnumOrId = 'Lead' AND DeveloperName = 'Smk_Stamp_Test'",
    );
    expect(field.records).toEqual([expect.objectContaining({ CreatedDate: '2026-11-24T10:00:05.000+0000', LastModifiedDate: '2026-11-24T10:00:05.000+0000' })]);
  });
});

describe('change-feed SOQL on whole-second ties', () => {
  const tied: string[] = [];

  it('pages through 60 records of one stamp exactly once, with the cursor literal in any form', async () => {
    const conn = connect(sb);
    const made = seedLeads(sb, 60, { prefix: 'feed' }).map((r) => String(r.Id));
    // Three collection calls over 700 ms of one second: one stamp, like a bulk update.
    for (const [i, at] of [SECOND + 10_100, SECOND + 10_450, SECOND + 10_800].entries()) {
      clock.set(at);
      const results = await conn.sobject('Lead').update(made.slice(i * 20, i * 20 + 20).reverse().map((Id) => ({ Id, Title: 'Tie' })));
      expect(results.every((r) => r.success)).toBe(true);
    }
    tied.push(...[...made].sort());
    const stamps = await conn.query<StampRow>("SELECT Id, SystemModstamp FROM Lead WHERE Title = 'Tie'");
    expect(new Set(stamps.records.map((r) => r.SystemModstamp))).toEqual(new Set(['2026-11-24T10:00:10.000+0000']));

    // The same instant as SOQL can spell it: as returned, ISO with and without milliseconds, an offset.
    const forms = ['2026-11-24T10:00:10.000+0000', '2026-11-24T10:00:10.000Z', '2026-11-24T10:00:10Z', '2026-11-24T11:00:10+01:00'];
    for (const x of forms) {
      const seen: string[] = [];
      let cursor = { at: '2026-11-24T10:00:09Z', id: '000000000000000AAA' };
      for (let page = 0; page < 10; page++) {
        const soql = `SELECT Id, SystemModstamp FROM Lead WHERE (SystemModstamp > ${cursor.at} OR (SystemModstamp = ${cursor.at} AND Id > '${cursor.id}')) AND SystemModstamp <= ${x} ORDER BY SystemModstamp, Id LIMIT 25`;
        const { records } = await conn.query<StampRow>(soql);
        if (records.length === 0) break;
        seen.push(...records.map((r) => r.Id));
        const last = records[records.length - 1] as StampRow;
        // The cursor keeps the literal's form: the tie is matched with `=` on it.
        cursor = { at: x, id: last.Id };
        expect(last.SystemModstamp).toBe('2026-11-24T10:00:10.000+0000');
      }
      expect(seen, x).toEqual(tied);
    }
  });

  it('compares a literal with milliseconds at the second, as Salesforce does', async () => {
    const conn = connect(sb);
    const count = async (where: string) => (await conn.query(`SELECT Id FROM Lead WHERE Title = 'Tie' AND ${where}`)).totalSize;
    expect(await count('SystemModstamp = 2026-11-24T10:00:10Z')).toBe(60);
    expect(await count('SystemModstamp = 2026-11-24T10:00:10.000Z')).toBe(60);
    expect(await count('SystemModstamp = 2026-11-24T10:00:10.450Z')).toBe(60);
    expect(await count('SystemModstamp >= 2026-11-24T10:00:10.999Z')).toBe(60);
    expect(await count('SystemModstamp > 2026-11-24T10:00:10.001Z')).toBe(0);
    expect(await count('SystemModstamp < 2026-11-24T10:00:10.999Z')).toBe(0);
    expect(await count('SystemModstamp <= 2026-11-24T10:00:09.999Z')).toBe(0);
    expect(await count('SystemModstamp > 2026-11-24T10:00:09.999Z')).toBe(60);
    // More than three fractional digits are accepted too (and ignored).
    expect(await count('SystemModstamp = 2026-11-24T04:00:10.299852-06:00')).toBe(60);
  });
});
