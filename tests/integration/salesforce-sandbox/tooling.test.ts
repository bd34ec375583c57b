/**
 * Custom fields through the Tooling API, the way the connector provisions `Smk_*__c`: create,
 * find again by tooling query (idempotent install), see in describe, use in SOQL and writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SfRecord } from '../../../connectors/salesforce/sandbox/index.js';
import { asWire, connect, grantFields, rejection, seedLeads } from './helpers.js';

let sb: SalesforceSandbox;
let leads: SfRecord[];

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 31 });
  leads = seedLeads(sb, 20);
});
afterAll(async () => {
  await sb.close();
});

const score = { FullName: 'Lead.Smk_Score__c', Metadata: { type: 'Number', label: 'Smarketing score', precision: 6, scale: 0 } };
const grade = {
  FullName: 'Lead.Smk_Grade__c',
  Metadata: {
    type: 'Picklist',
    label: 'Smarketing grade',
    valueSet: {
      restricted: true,
      valueSetDefinition: { value: [{ fullName: 'hot', label: 'Hot', default: false }, { fullName: 'warm', label: 'Warm' }, { fullName: 'cold', label: 'Cold' }] },
    },
  },
};

interface DescribedField {
  name: string;
  type: string;
  custom: boolean;
  precision: number;
  restrictedPicklist: boolean;
  picklistValues: Array<{ value: string; label: string; active: boolean; defaultValue: boolean }>;
}

describe('CustomField through the Tooling API', () => {
  it('is absent before provisioning', async () => {
    const described = await connect(sb).sobject('Lead').describe();
    expect(described.fields.some((f) => f.name.startsWith('Smk_'))).toBe(false);
  });

  it('creates fields that describe, SOQL and writes see once field-level security grants them', async () => {
    const conn = connect(sb);
    const created = await conn.tooling.sobject('CustomField').create(score);
    expect(created).toEqual({ id: expect.stringMatching(/^00N[0-9A-Za-z]{15}$/), success: true, errors: [], warnings: [], infos: [] });
    await conn.tooling.sobject('CustomField').create(grade);
    // Nobody sees a new field until a permission set grants it (field-security.test.ts).
    expect((await conn.sobject('Lead').describe()).fields.some((f) => f.name === 'Smk_Score__c')).toBe(false);
    await grantFields(conn, ['Lead.Smk_Score__c', 'Lead.Smk_Grade__c']);

    const described = await conn.sobject('Lead').describe();
    const fields = described.fields as unknown as DescribedField[];
    expect(fields.find((f) => f.name === 'Smk_Score__c')).toMatchObject({ type: 'double', custom: true, precision: 6 });
    expect(fields.find((f) => f.name === 'Smk_Grade__c')).toMatchObject({
      type: 'picklist',
      restrictedPicklist: true,
      picklistValues: [
        { value: 'hot', label: 'Hot', active: true, defaultValue: false },
        { value: 'warm', label: 'Warm', active: true, defaultValue: false },
        { value: 'cold', label: 'Cold', active: true, defaultValue: false },
      ],
    });

    const results = asWire(await conn.sobject('Lead').update([
      { Id: leads[0]?.Id as string, Smk_Score__c: 87, Smk_Grade__c: 'hot' },
      { Id: leads[1]?.Id as string, Smk_Score__c: 1_234_567 },
      { Id: leads[2]?.Id as string, Smk_Grade__c: 'lukewarm' },
    ]));
    expect(results[0]?.success).toBe(true);
    expect(results[1]?.errors[0]?.statusCode).toBe('NUMBER_OUTSIDE_VALID_RANGE');
    expect(results[2]?.errors[0]?.statusCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');

    const found = await conn.query<{ Id: string; Smk_Score__c: number; Smk_Grade__c: string }>(
      'SELECT Id, smk_score__c, Smk_Grade__c FROM Lead WHERE Smk_Score__c >= 80',
    );
    expect(found.records).toEqual([expect.objectContaining({ Id: leads[0]?.Id, Smk_Score__c: 87, Smk_Grade__c: 'hot' })]);
  });

  it('finds existing fields by tooling query, for an idempotent install', async () => {
    const conn = connect(sb);
    const result = await conn.tooling.query<{ Id: string; DeveloperName: string; TableEnumOrId: string }>(
      "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Lead' AND DeveloperName IN ('Smk_Score', 'Smk_Stage')",
    );
    expect(result.totalSize).toBe(1);
    expect(result.records[0]).toMatchObject({ attributes: { type: 'CustomField' }, DeveloperName: 'Smk_Score', TableEnumOrId: 'Lead' });
    const one = await conn.tooling.query<{ FullName: string; Metadata: { precision: number } }>(
      `SELECT FullName, Metadata FROM CustomField WHERE Id = '${result.records[0]?.Id}'`,
    );
    expect(one.records[0]).toMatchObject({ FullName: 'Lead.Smk_Score__c', Metadata: { type: 'Number', precision: 6 } });
    const many = await rejection(conn.tooling.query('SELECT FullName FROM CustomField'));
    expect(many.errorCode).toBe('MALFORMED_QUERY');
  });

  it('widens a field through a Tooling PATCH (a new picklist value), keeping its type', async () => {
    const conn = connect(sb);
    const [row] = (await conn.tooling.query<{ Id: string }>("SELECT Id FROM CustomField WHERE TableEnumOrId = 'Lead' AND DeveloperName = 'Smk_Grade'")).records;
    const values = [...grade.Metadata.valueSet.valueSetDefinition.value, { fullName: 'frozen', label: 'Frozen' }];
    const metadata = { ...grade.Metadata, valueSet: { ...grade.Metadata.valueSet, valueSetDefinition: { value: values } } };
    const updated = await conn.tooling.sobject('CustomField').update({ Id: row?.Id as string, FullName: grade.FullName, Metadata: metadata });
    expect(updated).toEqual({ id: row?.Id, success: true, errors: [] });
    const ok = await conn.sobject('Lead').update({ Id: leads[3]?.Id as string, Smk_Grade__c: 'frozen' });
    expect(ok.success).toBe(true);
    const retyped = await rejection(conn.tooling.sobject('CustomField').update({ Id: row?.Id as string, Metadata: { type: 'Text', label: 'Grade', length: 10 } }));
    expect(retyped.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
  });

  it('rejects a duplicate and invalid metadata', async () => {
    const conn = connect(sb);
    const duplicate = await rejection(conn.tooling.sobject('CustomField').create(score));
    expect(duplicate).toMatchObject({ errorCode: 'DUPLICATE_DEVELOPER_NAME', message: 'There is already a field named Smk_Score on Lead.' });
    const noLength = await rejection(conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Reasons__c', Metadata: { type: 'Text', label: 'Reasons' } }));
    expect(noLength.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const badName = await rejection(conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk__Bad__c', Metadata: { type: 'Checkbox', label: 'Bad', defaultValue: 'false' } }));
    expect(badName.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const badObject = await rejection(conn.tooling.sobject('CustomField').create({ FullName: 'Widget.Smk_X__c', Metadata: { type: 'DateTime', label: 'X' } }));
    expect(badObject.errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
  });

  it('upserts by an external id field', async () => {
    const conn = connect(sb);
    await conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Lead_Id__c', Metadata: { type: 'Text', label: 'Lead id', length: 64, externalId: true } });
    await grantFields(conn, ['Lead.Smk_Lead_Id__c']);
    await conn.sobject('Lead').update({ Id: leads[7]?.Id as string, Smk_Lead_Id__c: 'smk-7' });
    const results = await conn.sobject('Lead').upsert([
      { Smk_Lead_Id__c: 'smk-7', Title: 'Updated by upsert' },
      { Smk_Lead_Id__c: 'smk-new', LastName: 'Upserted', Company: 'Up Inc' },
    ], 'Smk_Lead_Id__c');
    expect(results).toEqual([
      { id: leads[7]?.Id, success: true, errors: [], created: false },
      { id: expect.stringMatching(/^00Q/), success: true, errors: [], created: true },
    ]);
    expect(sb.store.get(leads[7]?.Id as string)?.Title).toBe('Updated by upsert');
    const notExternal = await rejection(conn.sobject('Lead').upsert([{ Email: 'a@b.example', LastName: 'x' }], 'Email'));
    expect(notExternal.errorCode).toBe('INVALID_FIELD');
  });

  it('keeps long text and date-time fields in their wire form', async () => {
    const conn = connect(sb);
    await conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Notes__c', Metadata: { type: 'LongTextArea', label: 'Notes', length: 32768, visibleLines: 5 } });
    await conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Handoff_At__c', Metadata: { type: 'DateTime', label: 'Handoff' } });
    await grantFields(conn, ['Lead.Smk_Notes__c', 'Lead.Smk_Handoff_At__c']);
    const id = leads[5]?.Id as string;
    await conn.sobject('Lead').update({ Id: id, Smk_Notes__c: 'n'.repeat(1000), Smk_Handoff_At__c: '2026-11-24T10:00:00+01:00' });
    const read = await conn.sobject('Lead').retrieve(id, { fields: ['Smk_Notes__c', 'Smk_Handoff_At__c'] });
    expect(read.Smk_Handoff_At__c).toBe('2026-11-24T09:00:00.000+0000');
    expect(String(read.Smk_Notes__c)).toHaveLength(1000);
    const filtered = await rejection(conn.query("SELECT Id FROM Lead WHERE Smk_Notes__c = 'x'"));
    expect(filtered.errorCode).toBe('INVALID_FIELD');
  });
});
