import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTranslations } from '../../../connectors/salesforce/picklists.js';
import { describeSchema, toLeadStatuses, toObjectMeta } from '../../../connectors/salesforce/metadata.js';
import type { ObjectMeta } from '../../../connectors/salesforce/metadata.js';
import { toSalesforceCreate, toSalesforceUpdate } from '../../../connectors/salesforce/validation.js';
import type { CreateRequest, RecordUpdate } from '../../../connectors/types.js';
import { fixture } from './fixtures.js';

const lead = toObjectMeta('Lead', describeSchema.parse(fixture('describe-lead.json')));
const contact = toObjectMeta('Contact', describeSchema.parse(fixture('describe-contact.json')));
const statuses = toLeadStatuses(z.object({ records: z.array(z.unknown()) }).parse(fixture('lead-status.json')).records);
const translations = createTranslations({}, statuses);
const LEAD = '00Q5g00000KjX3aEAF';

function update(smk: RecordUpdate['smk'], extra: Partial<RecordUpdate> = {}): RecordUpdate {
  return { ref: { object: 'Lead', id: LEAD }, smk, ...extra };
}

function refused(u: RecordUpdate, meta: ObjectMeta = lead) {
  const result = toSalesforceUpdate(u, meta, translations);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('updates: values the org takes', () => {
  it('converts common strings to the field types', () => {
    const result = toSalesforceUpdate(
      update({ score: '87', grade: 'hot', stage: 'mql', handoffAt: '2025-03-13T14:00:00+00:00', scoreReasons: 'Senior title', slaStatus: 'Running', rejectReason: null, salesNotes: 'lives in Salesforce activity' }, { ownerId: '0055g00000AbCdEAAV', status: 'working' }),
      lead,
      translations,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        Id: LEAD,
        Smk_Score__c: 87,
        Smk_Grade__c: 'hot',
        Smk_Stage__c: 'mql',
        Smk_Handoff_At__c: '2025-03-13T14:00:00.000Z',
        Smk_Score_Reasons__c: 'Senior title',
        Smk_SLA_Status__c: 'running',
        Smk_Reject_Reason__c: null,
        OwnerId: '0055g00000AbCdEAAV',
        Status: 'Working - Contacted',
      },
    });
  });

  it('rounds to the field scale the way Salesforce would', () => {
    const result = toSalesforceUpdate(update({ score: '86.6' }), lead, translations);
    expect(result).toMatchObject({ ok: true, value: { Smk_Score__c: 87 } });
  });
});

describe('updates: values the org would refuse are caught before the write', () => {
  it.each<[string, RecordUpdate['smk'], string, RegExp]>([
    ['a picklist value it does not allow', { grade: 'tepid' }, 'Smk_Grade__c', /"tepid" is not one of the allowed values \(hot, warm, cold\)/],
    ['text over the field length', { scoreReasons: 'x'.repeat(256) }, 'Smk_Score_Reasons__c', /is 256 characters; the field holds 255/],
    ['a number that is not one', { score: '87 points' }, 'Smk_Score__c', /"87 points" is not a number/],
    ['a number too large for its precision', { score: '1234567' }, 'Smk_Score__c', /more than 6 digits/],
    ['a date-time that is not one', { slaDueAt: 'tomorrow 9am' }, 'Smk_SLA_Due_At__c', /is not a date-time/],
    ['a quality outside one digit', { leadQuality: '10' }, 'Smk_Lead_Quality__c', /more than 1 digits/],
  ])('%s', (_name, smk, field, message) => {
    const error = refused(update(smk));
    expect(error.code).toBe('VALIDATION');
    expect(error.recordId).toBe(LEAD);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`Lead ${LEAD}`);
  });

  it('cuts a long value in the message', () => {
    const error = refused(update({ scoreReasons: 'y'.repeat(300) }));
    expect(error.message.length).toBeLessThan(250);
    expect(error.message).toContain('(300 characters)');
  });

  it('names a field the org does not have yet', () => {
    const bare: ObjectMeta = { object: 'Lead', fields: new Map([...lead.fields].filter(([name]) => !name.startsWith('Smk_'))) };
    expect(refused(update({ score: '1' }), bare).message).toMatch(/Lead.Smk_Score__c does not exist in this org; run `smk install`/);
  });

  it('refuses a Lead Status the org does not have, a converted one, and any on a Contact', () => {
    expect(refused(update({}, { status: 'Qualified!' })).message).toMatch(/Status "Qualified!" is not a Lead Status of this org/);
    expect(refused(update({}, { status: 'Closed - Converted' })).message).toMatch(/converted status/);
    const onContact = { ref: { object: 'Contact' as const, id: '0035g00000QrStUAAV' }, smk: {}, status: 'working' };
    expect(refused(onContact, contact).field).toBe('Status');
  });

  it('refuses a bad owner and a bad record id', () => {
    expect(refused(update({}, { ownerId: "005' OR ''='" })).field).toBe('OwnerId');
    expect(refused({ ref: { object: 'Lead', id: 'not-an-id' }, smk: {} }).field).toBe('Id');
    expect(refused({ ref: { object: 'contact', id: LEAD }, smk: {} }).field).toBe('object');
  });

  it('refuses a value for a field that exists with another type', () => {
    const wrong: ObjectMeta = {
      object: 'Lead',
      fields: new Map(lead.fields).set('Smk_Score__c', { ...(lead.fields.get('Smk_Score__c') as NonNullable<ReturnType<typeof lead.fields.get>>), type: 'string' }),
    };
    expect(refused(update({ score: '5' }), wrong).message).toMatch(/is of type string, the connector expects number/);
  });
});

describe('creates', () => {
  const request: CreateRequest = {
    leadId: 'lead_01HQ3Z8Y7K2Z',
    email: 'priya.patel@acme.example.com',
    person: { firstName: 'Priya', lastName: null, title: 'Head of Growth', phone: null, country: 'IN', state: 'KA', city: 'Bengaluru' },
    company: { name: 'Acme Labs', domain: 'https://www.acme.example.com', industry: 'Software', employees: 120, annualRevenue: 12_000_000 },
    marketing: { source: 'ORGANIC_SEARCH', campaign: null },
    smk: { score: '64', grade: 'warm', stage: 'mql' },
  };

  it('builds a Lead with placeholders for required fields and the lead id', () => {
    const result = toSalesforceCreate(request, { object: 'Lead' }, lead, translations);
    expect(result).toEqual({
      ok: true,
      value: {
        FirstName: 'Priya',
        LastName: '[not provided]',
        Email: 'priya.patel@acme.example.com',
        Title: 'Head of Growth',
        Company: 'Acme Labs',
        Website: 'acme.example.com',
        Country: 'IN',
        State: 'KA',
        City: 'Bengaluru',
        NumberOfEmployees: 120,
        AnnualRevenue: 12000000,
        LeadSource: 'Web',
        Smk_Score__c: 64,
        Smk_Grade__c: 'warm',
        Smk_Stage__c: 'mql',
        Smk_Lead_Id__c: 'lead_01HQ3Z8Y7K2Z',
      },
    });
  });

  it('builds a Contact under an Account, owned by the account owner', () => {
    const result = toSalesforceCreate(request, { object: 'Contact', accountId: '0015g00000MnOpQAAV', accountOwnerId: '0055g00000AbCdFAAV' }, contact, translations);
    expect(result).toMatchObject({ ok: true, value: { AccountId: '0015g00000MnOpQAAV', OwnerId: '0055g00000AbCdFAAV', MailingCity: 'Bengaluru', Smk_Lead_Id__c: request.leadId } });
    if (result.ok) expect(result.value).not.toHaveProperty('Company');
  });

  it('refuses a title longer than the org\'s field', () => {
    const long = { ...request, person: { ...request.person, title: 'T'.repeat(129) } };
    const result = toSalesforceCreate(long, { object: 'Lead' }, lead, translations);
    expect(result).toMatchObject({ ok: false, error: { code: 'VALIDATION', field: 'Title' } });
    if (!result.ok) expect(result.error.message).toMatch(/new Lead for lead lead_01HQ3Z8Y7K2Z: Title .* is 129 characters; the field holds 128/);
  });
});
