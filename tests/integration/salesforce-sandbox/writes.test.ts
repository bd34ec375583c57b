/**
 * Writes through jsforce: sObject Collections with per-record statusCode errors and allOrNone
 * rollback, the 200-record cap and allowRecursive, single-record create/update/delete, and the
 * validation errors Salesforce gives (required, picklist, length, type, email, ids, converted leads).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SfRecord } from '../../../connectors/salesforce/sandbox/index.js';
import { asWire, connect, rejection, resetStats, seedLeads, stats } from './helpers.js';

let sb: SalesforceSandbox;
let leads: SfRecord[];

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 21 });
  leads = seedLeads(sb, 600);
});
afterAll(async () => {
  await sb.close();
});

const idOf = (i: number) => leads[i]?.Id as string;

describe('collection update', () => {
  it('applies the good records and reports the bad ones with statusCode (allOrNone false)', async () => {
    const conn = connect(sb);
    const results = asWire(await conn.sobject('Lead').update([
      { Id: idOf(0), Status: 'Working - Contacted' },
      { Id: idOf(1), Status: 'Maybe Later' },
      { Id: idOf(2), FirstName: 'x'.repeat(41) },
      { Id: idOf(3), NumberOfEmployees: 'abc' },
      { Id: idOf(4), Email: 'not-an-email' },
      { Id: idOf(5), Title: 'CTO', NumberOfEmployees: '250' },
    ], { allOrNone: false }));
    expect(results.map((r) => r.success)).toEqual([true, false, false, false, false, true]);
    expect(results[0]).toEqual({ id: idOf(0), success: true, errors: [] });
    expect(results[1]).toEqual({
      success: false,
      errors: [{ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'Status: bad value for restricted picklist field: Maybe Later', fields: ['Status'] }],
    });
    expect(results[2]?.errors[0]).toMatchObject({ statusCode: 'STRING_TOO_LONG', fields: ['FirstName'] });
    expect(results[2]?.errors[0]?.message).toContain('(max length=40)');
    expect(results[3]?.errors[0]).toMatchObject({ statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD', fields: ['NumberOfEmployees'] });
    expect(results[4]?.errors[0]).toMatchObject({ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] });
    expect(sb.store.get(idOf(0))?.Status).toBe('Working - Contacted');
    expect(sb.store.get(idOf(5))).toMatchObject({ Title: 'CTO', NumberOfEmployees: 250 });
    expect(sb.store.get(idOf(1))?.Status).toBe('Open - Not Contacted');
  });

  it('rolls every record back when one fails (allOrNone true)', async () => {
    const conn = connect(sb);
    const results = asWire(await conn.sobject('Lead').update([
      { Id: idOf(10), Title: 'Should not stick' },
      { Id: idOf(11), LastName: '' },
      { Id: idOf(12), Title: 'Should not stick either' },
    ], { allOrNone: true }));
    expect(results[0]).toEqual({
      id: idOf(10),
      success: false,
      errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }],
    });
    expect(results[1]?.errors[0]).toMatchObject({ statusCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] });
    expect(results[2]?.errors[0]?.statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(sb.store.get(idOf(10))?.Title).toBeNull();
    expect(sb.store.get(idOf(12))?.Title).toBeNull();
  });

  it('reports unknown fields, malformed and deleted ids per record', async () => {
    const conn = connect(sb);
    await conn.sobject('Lead').destroy(idOf(22));
    const results = asWire(await conn.sobject('Lead').update([
      { Id: idOf(20), Smk_Unknown__c: 5 },
      { Id: '003000000000001AAA', Title: 'x' },
      { Id: idOf(22), Title: 'x' },
      { Id: idOf(23), Title: 'fine' },
    ]));
    expect(results[0]?.errors).toEqual([{ statusCode: 'INVALID_FIELD', message: "No such column 'Smk_Unknown__c' on sobject of type Lead", fields: ['Smk_Unknown__c'] }]);
    expect(results[1]?.errors[0]).toMatchObject({ statusCode: 'MALFORMED_ID', fields: ['Id'] });
    expect(results[2]?.errors[0]).toEqual({ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] });
    expect(results[3]?.success).toBe(true);
  });

  it('rejects more than 200 records unless jsforce splits them with allowRecursive', async () => {
    const conn = connect(sb);
    const records = leads.slice(100, 350).map((r) => ({ Id: r.Id as string, Rating: 'Warm' }));
    const err = await rejection(conn.sobject('Lead').update(records));
    expect(err.errorCode).toBe('EXCEEDED_ID_LIMIT');
    expect(err.message).toBe('record limit reached. cannot submit more than 200 records into this call');
    expect(sb.store.get(records[0]?.Id as string)?.Rating).toBeNull();

    await resetStats(sb);
    const results = await conn.sobject('Lead').update(records, { allowRecursive: true });
    expect(results).toHaveLength(250);
    expect(results.every((r) => r.success)).toBe(true);
    expect((await stats(sb)).calls['PATCH /services/data/v62.0/composite/sobjects']).toBe(2);
  });
});

describe('collection create and delete', () => {
  it('creates records in input order and fails the one without LastName', async () => {
    const conn = connect(sb);
    const results = asWire(await conn.sobject('Lead').create([
      { LastName: 'New One', Company: 'Acme' },
      { FirstName: 'No', Company: 'Acme' },
      { LastName: 'New Two', Company: 'Acme', Rating: 'Hot', AnnualRevenue: 12.5 },
    ]));
    expect(results.map((r) => r.success)).toEqual([true, false, true]);
    expect(results[1]).toEqual({
      success: false,
      errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }],
    });
    const created = sb.store.get(results[2]?.id as string);
    expect(created).toMatchObject({ LastName: 'New Two', Status: 'Open - Not Contacted', Rating: 'Hot', AnnualRevenue: 13 });
    expect(results[0]?.id).toMatch(/^00Q[0-9A-Za-z]{15}$/);
  });

  it('deletes by ids and rolls back with allOrNone', async () => {
    const conn = connect(sb);
    const rolledBack = asWire(await conn.sobject('Lead').destroy([idOf(30), '00Q000000000zzzAAA'], { allOrNone: true }));
    expect(rolledBack[0]?.errors[0]?.statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(rolledBack[1]?.success).toBe(false);
    expect(sb.store.get(idOf(30))?.IsDeleted).toBe(false);
    const deleted = asWire(await conn.sobject('Lead').destroy([idOf(30), idOf(31)]));
    expect(deleted).toEqual([
      { id: idOf(30), success: true, errors: [] },
      { id: idOf(31), success: true, errors: [] },
    ]);
  });

  it('retrieves several records with the fields asked for, null for missing ones', async () => {
    const conn = connect(sb);
    const records = await conn.sobject('Lead').retrieve([idOf(40), idOf(31), idOf(41)], { fields: ['LastName', 'Email'] });
    expect(records[0]).toMatchObject({ LastName: 'lead-40', Email: 'lead.40@example.com' });
    expect(records[1]).toBeNull();
    expect(Object.keys(records[2] ?? {})).toEqual(['attributes', 'LastName', 'Email']);
  });
});

describe('single records', () => {
  it('creates (201), reads, updates (204) and deletes (204)', async () => {
    const conn = connect(sb);
    const created = await conn.sobject('Lead').create({ LastName: 'Solo', Company: 'One Co', Email: 'solo@one.example' });
    expect(created).toEqual({ id: expect.stringMatching(/^00Q/), success: true, errors: [] });
    const read = await conn.sobject('Lead').retrieve(created.id as string);
    expect(read).toMatchObject({ attributes: { type: 'Lead' }, LastName: 'Solo', Status: 'Open - Not Contacted', IsDeleted: false });
    expect(String(read.CreatedDate)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    const updated = await conn.sobject('Lead').update({ Id: created.id as string, Rating: 'Cold' });
    expect(updated).toEqual({ id: created.id, success: true, errors: [] });
    await conn.sobject('Lead').destroy(created.id as string);
    const gone = await rejection(conn.sobject('Lead').retrieve(created.id as string));
    expect(gone.errorCode).toBe('ENTITY_IS_DELETED');
  });

  it('answers a missing LastName, an unknown field and a bad id the way Salesforce does', async () => {
    const conn = connect(sb);
    const missing = await rejection(conn.sobject('Lead').create({ Company: 'No Name Inc' }));
    expect(missing).toMatchObject({ errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]' });
    const unknown = await rejection(conn.sobject('Lead').update({ Id: idOf(50), Favourite_Colour__c: 'blue' }));
    expect(unknown).toMatchObject({ errorCode: 'INVALID_FIELD', message: "No such column 'Favourite_Colour__c' on sobject of type Lead" });
    const notFound = await rejection(conn.sobject('Lead').retrieve('00Q000000000zzzAAA'));
    expect(notFound.errorCode).toBe('NOT_FOUND');
    const readOnly = await rejection(conn.sobject('Lead').update({ Id: idOf(50), IsConverted: true }));
    expect(readOnly.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
  });

  it('answers malformed JSON with JSON_PARSER_ERROR and unknown routes with NOT_FOUND', async () => {
    const headers = { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json' };
    const bad = await fetch(`${sb.instanceUrl}/services/data/v62.0/sobjects/Lead`, { method: 'POST', headers, body: '{"LastName": ' });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as Array<{ errorCode: string; message: string }>;
    expect(body[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
    const missing = await fetch(`${sb.instanceUrl}/services/data/v62.0/nothing/here`, { headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  });
});
