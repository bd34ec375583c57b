/**
 * Opportunities and their contact roles through jsforce: the standard stages (OpportunityStage)
 * and what they imply (IsClosed, IsWon, Probability, ForecastCategoryName), the required fields,
 * a bad StageName refused as Salesforce refuses it, the wire shapes of dates and stamps,
 * OpportunityContactRole by SOQL as the connector asks for it, and OpportunityChangeEvent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { asWire, connect, rejection } from './helpers.js';

let sb: SalesforceSandbox;
let contactId: string;

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 3, changeDataCapture: ['Opportunity'] });
  const account = sb.store.insert('Account', { Name: 'Acme Inc' });
  contactId = sb.store.insert('Contact', { LastName: 'Lovelace', Email: 'ada@acme.example', AccountId: account.Id as string }).Id as string;
});
afterAll(async () => {
  await sb.close();
});

describe('Opportunity', () => {
  it('lists the standard stages with their closed, won and probability semantics', async () => {
    const conn = connect(sb);
    const stages = await conn.query<{ ApiName: string; IsClosed: boolean; IsWon: boolean; DefaultProbability: number; ForecastCategoryName: string }>(
      'SELECT ApiName, IsClosed, IsWon, DefaultProbability, ForecastCategoryName FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder',
    );
    expect(stages.records.map((s) => s.ApiName)).toEqual(['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers',
      'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost']);
    expect(stages.records.find((s) => s.ApiName === 'Closed Won')).toMatchObject({ IsClosed: true, IsWon: true, DefaultProbability: 100, ForecastCategoryName: 'Closed' });
    expect(stages.records.find((s) => s.ApiName === 'Closed Lost')).toMatchObject({ IsClosed: true, IsWon: false, DefaultProbability: 0, ForecastCategoryName: 'Omitted' });
    expect(stages.records.find((s) => s.ApiName === 'Qualification')).toMatchObject({ IsClosed: false, IsWon: false });
  });

  it('derives IsClosed, IsWon, Probability and the forecast category from the stage', async () => {
    const conn = connect(sb);
    const created = await conn.sobject('Opportunity').create({ Name: 'Acme expansion', StageName: 'Negotiation/Review', CloseDate: '2026-12-31', Amount: 48000 });
    expect(created.success).toBe(true);
    type Row = { Id: string; StageName: string; IsClosed: boolean; IsWon: boolean; Probability: number; ForecastCategoryName: string; CloseDate: string; Amount: number; CreatedDate: string; SystemModstamp: string };
    const read = async () => (await conn.query<Row>(`SELECT Id, StageName, IsClosed, IsWon, Probability, ForecastCategoryName, CloseDate, Amount, CreatedDate, SystemModstamp FROM Opportunity WHERE Id = '${created.id}'`)).records[0];
    expect(await read()).toMatchObject({ StageName: 'Negotiation/Review', IsClosed: false, IsWon: false, Probability: 90, ForecastCategoryName: 'Pipeline', CloseDate: '2026-12-31', Amount: 48000 });
    await conn.sobject('Opportunity').update({ Id: created.id as string, StageName: 'Closed Won' });
    const won = await read();
    expect(won).toMatchObject({ IsClosed: true, IsWon: true, Probability: 100, ForecastCategoryName: 'Closed' });
    // Dates travel as YYYY-MM-DD, stamps as Salesforce date-times to the second.
    expect(won?.CreatedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$/);
    expect(won?.SystemModstamp).toMatch(/\.000\+0000$/);
  });

  it('refuses a StageName outside the picklist, and IsWon written directly', async () => {
    const conn = connect(sb);
    const bad = asWire(await conn.sobject('Opportunity').create([{ Name: 'Bad stage', StageName: 'Signed', CloseDate: '2026-12-31' }], { allOrNone: false }));
    expect(bad[0]).toEqual({ success: false, errors: [{ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'Stage: bad value for restricted picklist field: Signed', fields: ['StageName'] }] });
    const locked = asWire(await conn.sobject('Opportunity').create([{ Name: 'Forced', StageName: 'Prospecting', CloseDate: '2026-12-31', IsWon: true }], { allOrNone: false }));
    expect(locked[0]?.errors[0]).toMatchObject({ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['IsWon'] });
  });

  it('requires Name, StageName and CloseDate', async () => {
    const conn = connect(sb);
    const missing = asWire(await conn.sobject('Opportunity').create([{ Amount: 10 }], { allOrNone: false }));
    expect(missing[0]?.errors[0]).toMatchObject({ statusCode: 'REQUIRED_FIELD_MISSING' });
    expect([...(missing[0]?.errors[0]?.fields ?? [])].sort()).toEqual(['CloseDate', 'Name', 'StageName']);
    const single = await rejection(conn.sobject('Opportunity').create({ Name: 'No date', StageName: 'Prospecting' }));
    expect(single.errorCode).toBe('REQUIRED_FIELD_MISSING');
  });

  it('publishes OpportunityChangeEvent when Opportunity is selected for Change Data Capture', async () => {
    const conn = connect(sb);
    const created = await conn.sobject('Opportunity').create({ Name: 'Evented', StageName: 'Prospecting', CloseDate: '2027-01-15' });
    const events = sb.changeEvents.retained('/data/OpportunityChangeEvent');
    const mine = events.filter((e) => e.payload.ChangeEventHeader.recordIds.includes(created.id as string));
    expect(mine[0]?.payload.ChangeEventHeader).toMatchObject({ entityName: 'Opportunity', changeType: 'CREATE' });
    expect(sb.changeEvents.channelExists('/data/OpportunityChangeEvent')).toBe(true);
  });
});

describe('OpportunityContactRole', () => {
  it('links a contact to an opportunity, queryable by opportunity and by modstamp', async () => {
    const conn = connect(sb);
    const opp = await conn.sobject('Opportunity').create({ Name: 'Roles', StageName: 'Qualification', CloseDate: '2027-02-01' });
    const role = await conn.sobject('OpportunityContactRole').create({ OpportunityId: opp.id, ContactId: contactId, Role: 'Decision Maker', IsPrimary: true });
    expect(role.success).toBe(true);
    expect(role.id).toMatch(/^00K/);
    const rows = await conn.query<Record<string, unknown>>(
      `SELECT Id, OpportunityId, ContactId, Role, IsPrimary, IsDeleted, CreatedDate, SystemModstamp FROM OpportunityContactRole WHERE OpportunityId IN ('${opp.id}') ORDER BY SystemModstamp ASC, Id ASC`,
    );
    expect(rows.records).toHaveLength(1);
    expect(rows.records[0]).toMatchObject({ attributes: { type: 'OpportunityContactRole' }, Id: role.id, OpportunityId: opp.id, ContactId: contactId, Role: 'Decision Maker', IsPrimary: true, IsDeleted: false });
    // A role names an existing Opportunity and Contact; the opportunity cannot be moved to another.
    const wrong = asWire(await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opp.id, ContactId: opp.id }], { allOrNone: false }));
    expect(wrong[0]?.errors[0]).toMatchObject({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['ContactId'] });
    const moved = asWire(await conn.sobject('OpportunityContactRole').update([{ Id: role.id as string, OpportunityId: opp.id as string }], { allOrNone: false }));
    expect(moved[0]?.errors[0]).toMatchObject({ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['OpportunityId'] });
  });
});
