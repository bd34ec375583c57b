/**
 * The control surface and the seeded world: what a rep does in Salesforce (convert, log a call,
 * edit feedback fields), exact API-call statistics, fault injection with Salesforce's bodies, and
 * the world loaded from seed.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import type { SeedWorld } from '../../../connectors/sandbox/seed.js';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { MISSING_LAST_NAME } from '../../../connectors/salesforce/sandbox/seed-load.js';
import { connect, control, grantFields, rejection, resetStats, stats } from './helpers.js';

let world: SeedWorld;
let sb: SalesforceSandbox;

beforeAll(async () => {
  world = generateWorld({ people: 3000, seed: 51 });
  sb = await startSalesforceSandbox({ world });
});
afterAll(async () => {
  await sb.close();
});

interface Row {
  Id: string;
  [field: string]: unknown;
}

describe('the seeded world', () => {
  it('holds owners as Users, companies with accounts as Accounts, and people as Leads or Contacts', async () => {
    const conn = connect(sb);
    const owner = world.owners[2];
    const users = await conn.query<Row>(`SELECT Id, Email, IsActive FROM User WHERE Id = '${owner?.salesforceId}'`);
    expect(users.records[0]).toMatchObject({ Id: owner?.salesforceId, Email: owner?.email, IsActive: true });
    expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBeGreaterThanOrEqual(world.companies.filter((c) => c.hasAccount).length);

    const inSalesforce = world.people.filter((p) => p.salesforce);
    const leads = inSalesforce.filter((p) => p.salesforce?.object === 'Lead');
    const duplicates = leads.filter((p) => p.salesforce?.duplicateLead).length;
    expect((await conn.query('SELECT COUNT() FROM Lead')).totalSize).toBe(leads.length + duplicates);

    const person = inSalesforce.find((p) => p.salesforce?.object === 'Contact');
    const contact = await conn.query<Row>(`SELECT Id, AccountId, Email FROM Contact WHERE Email = '${person?.salesforce?.email}'`);
    expect(contact.records[0]?.AccountId).toMatch(/^001/);

    const statuses = await conn.query<Row>('SELECT MasterLabel, IsDefault, IsConverted, SortOrder FROM LeadStatus ORDER BY SortOrder');
    expect(statuses.records.map((s) => s.MasterLabel)).toEqual(['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted']);
    expect(statuses.records.filter((s) => s.IsConverted).map((s) => s.MasterLabel)).toEqual(['Closed - Converted']);
  });

  it('converts the converted leads and duplicates leads by email case', async () => {
    const conn = connect(sb);
    const converted = await conn.query<Row>('SELECT Id, Status, ConvertedContactId, ConvertedAccountId, ConvertedDate FROM Lead WHERE IsConverted = true');
    expect(converted.totalSize).toBe(world.people.filter((p) => p.salesforce?.converted).length);
    for (const lead of converted.records) {
      expect(lead).toMatchObject({ Status: 'Closed - Converted', ConvertedContactId: expect.stringMatching(/^003/), ConvertedAccountId: expect.stringMatching(/^001/) });
      expect(lead.ConvertedDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    const dup = world.people.find((p) => p.salesforce?.duplicateLead);
    const email = dup?.salesforce?.email as string;
    const same = await conn.query<Row>(`SELECT Id, Email FROM Lead WHERE Email = '${email.toLowerCase()}'`);
    expect(same.totalSize).toBe(2);
    expect(new Set(same.records.map((r) => r.Email)).size).toBe(2);
    // Salesforce requires a last name: people without one carry the web-to-lead placeholder.
    const nameless = world.people
      .filter((p) => p.salesforce?.object === 'Lead' && p.lastName === null)
      .reduce((n, p) => n + (p.salesforce?.duplicateLead ? 2 : 1), 0);
    expect(nameless).toBeGreaterThan(0);
    expect(sb.store.query(`SELECT COUNT() FROM Lead WHERE LastName = '${MISSING_LAST_NAME}'`)).toEqual({ kind: 'count', count: nameless });
  });
});

describe('rep activity', () => {
  it('converts a lead: Contact created with the custom values, ConvertedContactId set, the lead frozen', async () => {
    const conn = connect(sb);
    for (const object of ['Lead', 'Contact']) {
      await conn.tooling.sobject('CustomField').create({ FullName: `${object}.Smk_Score__c`, Metadata: { type: 'Number', label: 'Score', precision: 6, scale: 0 } });
      await conn.tooling.sobject('CustomField').create({ FullName: `${object}.Smk_Stage__c`, Metadata: { type: 'Text', label: 'Stage', length: 40 } });
    }
    await grantFields(conn, ['Lead.Smk_Score__c', 'Lead.Smk_Stage__c', 'Contact.Smk_Score__c', 'Contact.Smk_Stage__c']);
    const { records } = await conn.query<Row>("SELECT Id, Company, Email FROM Lead WHERE IsConverted = false AND Status = 'Working - Contacted' LIMIT 1");
    const lead = records[0] as Row;
    await conn.sobject('Lead').update({ Id: lead.Id, Smk_Score__c: 91, Smk_Stage__c: 'sql' });

    const converted = await control<{ ok: boolean; contactId: string; accountId: string }>(sb, 'POST', '/activity', { kind: 'convert', id: lead.Id });
    expect(converted.status).toBe(200);
    const after = await conn.sobject('Lead').retrieve(lead.Id);
    expect(after).toMatchObject({ IsConverted: true, Status: 'Closed - Converted', ConvertedContactId: converted.body.contactId, ConvertedAccountId: converted.body.accountId });
    const contact = await conn.sobject('Contact').retrieve(converted.body.contactId);
    expect(contact).toMatchObject({ Email: lead.Email, AccountId: converted.body.accountId, Smk_Score__c: 91, Smk_Stage__c: 'sql' });
    const account = await conn.sobject('Account').retrieve(converted.body.accountId);
    expect(String(account.Name).toLowerCase()).toBe(String(lead.Company).toLowerCase());

    const frozen = await rejection(conn.sobject('Lead').update({ Id: lead.Id, Smk_Score__c: 10 }));
    expect(frozen.errorCode).toBe('CANNOT_UPDATE_CONVERTED_LEAD');
    const again = await control(sb, 'POST', '/activity', { kind: 'convert', id: lead.Id });
    expect(again.status).toBe(400);
  });

  it('changes a status, edits feedback fields, logs a call and deletes, attributed to the owner', async () => {
    const conn = connect(sb);
    const { records } = await conn.query<Row>("SELECT Id, OwnerId, SystemModstamp FROM Lead WHERE IsConverted = false AND Status = 'Open - Not Contacted' LIMIT 1");
    const lead = records[0] as Row;
    sb.clock.advance(60_000);
    expect((await control(sb, 'POST', '/activity', { kind: 'status', id: lead.Id, status: 'Working - Contacted' })).status).toBe(200);
    const bad = await control<{ errorCode: string }>(sb, 'POST', '/activity', { kind: 'status', id: lead.Id, status: 'Sleeping' });
    expect(bad).toMatchObject({ status: 400, body: { errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST' } });
    expect((await control(sb, 'POST', '/activity', { kind: 'field', id: lead.Id, fields: { Smk_Stage__c: 'sal' } })).status).toBe(200);
    const call = await control<{ id: string }>(sb, 'POST', '/activity', { kind: 'call', whoId: lead.Id, subject: 'Intro call' });
    expect(call.body.id).toMatch(/^00T/);

    const after = await conn.sobject('Lead').retrieve(lead.Id);
    expect(after).toMatchObject({ Status: 'Working - Contacted', Smk_Stage__c: 'sal', LastModifiedById: lead.OwnerId });
    expect(after.LastActivityDate).toBe(new Date(sb.clock.now()).toISOString().slice(0, 10));
    expect(String(after.SystemModstamp) > String(lead.SystemModstamp)).toBe(true);
    const tasks = await conn.query<Row>(`SELECT Subject, TaskSubtype, Status, WhoId FROM Task WHERE WhoId = '${lead.Id}'`);
    expect(tasks.records[0]).toMatchObject({ Subject: 'Intro call', TaskSubtype: 'Call', Status: 'Completed' });

    expect((await control(sb, 'POST', '/activity', { kind: 'delete', id: lead.Id })).status).toBe(200);
    const uncounted = await control<{ IsDeleted: boolean }>(sb, 'GET', `/records/${lead.Id}`);
    expect(uncounted.body.IsDeleted).toBe(true);
    const invalid = await control(sb, 'POST', '/activity', { kind: 'wave', id: lead.Id });
    expect(invalid.status).toBe(400);
  });
});

describe('statistics and faults', () => {
  it('counts exactly the API calls, keyed by method and path, and nothing from control or OAuth', async () => {
    const conn = connect(sb);
    const { records } = await conn.query<Row>('SELECT Id FROM Lead WHERE IsConverted = false LIMIT 2');
    await resetStats(sb);
    await conn.query('SELECT Id FROM Lead LIMIT 1');
    await conn.query('SELECT Id FROM Lead LIMIT 1');
    await conn.sobject('Lead').describe();
    await conn.sobject('Lead').update(records.map((r) => ({ Id: r.Id, Title: 'Counted' })));
    await conn.sobject('Lead').update({ Id: records[0]?.Id as string, Title: 'Counted again' });
    await control(sb, 'GET', '/clock');
    await control(sb, 'POST', '/activity', { kind: 'call', whoId: records[0]?.Id, subject: 'Not an API call' });
    await fetch(`${sb.loginUrl}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${sb.refreshToken}&client_id=${encodeURIComponent(sb.clientId)}` });
    expect(await stats(sb)).toEqual({
      total: 5,
      calls: {
        'GET /services/data/v62.0/query': 2,
        'GET /services/data/v62.0/sobjects/Lead/describe': 1,
        'PATCH /services/data/v62.0/composite/sobjects': 1,
        [`PATCH /services/data/v62.0/sobjects/Lead/${records[0]?.Id}`]: 1,
      },
    });
  });

  it('answers injected server errors with 503 SERVER_UNAVAILABLE, which jsforce reports by errorCode', async () => {
    const conn = connect(sb);
    sb.monitor.setFaults({ serverError: 1 });
    try {
      // A POST: jsforce does not retry it (it retries GETs on 5xx with back-off).
      const err = await rejection(conn.sobject('Lead').create({ LastName: 'Fault', Company: 'Fault Inc' }));
      expect(err.errorCode).toBe('SERVER_UNAVAILABLE');
      sb.monitor.setFaults({ serverError: 0, rateLimit: 1 });
      const limited = await rejection(conn.sobject('Lead').create({ LastName: 'Fault', Company: 'Fault Inc' }));
      expect(limited.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    } finally {
      sb.monitor.setFaults({ serverError: 0, rateLimit: 0 });
    }
    expect(sb.store.query("SELECT COUNT() FROM Lead WHERE LastName = 'Fault'")).toEqual({ kind: 'count', count: 0 });
  });

  it('reseeds and resets through the control surface', async () => {
    const seeded = await control<{ people: number }>(sb, 'POST', '/seed', { people: 200, seed: 9 });
    expect(seeded.body).toEqual({ people: 200 });
    const leads = sb.store.count('Lead');
    expect(leads).toBeGreaterThan(50);
    expect(leads).toBeLessThan(200);
    expect((await control(sb, 'POST', '/reset')).body).toEqual({ ok: true });
    expect(sb.store.schema('Lead')?.field('Smk_Score__c')).toBeUndefined();
    expect(sb.store.count('Lead')).toBeGreaterThan(1000);
  });
});
