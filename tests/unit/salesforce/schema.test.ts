import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { QuotaGate } from '../../../connectors/types.js';
import { SMK_FIELD_BY_KEY } from '../../../src/model/fields.js';
import type { SmkField } from '../../../src/model/fields.js';
import { customFieldMetadata, planField } from '../../../connectors/salesforce/schema.js';
import { describeSchema, toObjectMeta } from '../../../connectors/salesforce/metadata.js';
import { fixture } from './fixtures.js';

const lead = toObjectMeta('Lead', describeSchema.parse(fixture('describe-lead.json')));
const field = (key: Parameters<typeof SMK_FIELD_BY_KEY.get>[0]): SmkField => {
  const f = SMK_FIELD_BY_KEY.get(key);
  if (!f) throw new Error(key);
  return f;
};

describe('the CustomField metadata of each smk field type', () => {
  it.each([
    ['score', { type: 'Number', precision: 6, scale: 0, label: 'Smarketing score' }],
    ['scoreReasons', { type: 'Text', length: 255 }],
    ['leadId', { type: 'Text', length: 64 }],
    ['handoffAt', { type: 'DateTime' }],
  ] as const)('%s', (key, expected) => {
    expect(customFieldMetadata(field(key))).toMatchObject(expected);
  });

  it('makes restricted picklists with our values as API names and our labels', () => {
    expect(customFieldMetadata(field('grade'))).toMatchObject({
      type: 'Picklist',
      valueSet: {
        restricted: true,
        valueSetDefinition: { sorted: false, value: [{ fullName: 'hot', label: 'Hot', default: false }, { fullName: 'warm', label: 'Warm' }, { fullName: 'cold', label: 'Cold' }] },
      },
    });
  });

  it('keeps labels within Salesforce\'s 40 characters', () => {
    for (const key of ['score', 'fitScore', 'engagementScore', 'grade', 'scoreReasons', 'stage', 'handoffAt', 'slaDueAt', 'slaStatus', 'slaBreachedAt', 'salesDecision', 'rejectReason', 'leadQuality', 'disqualifyReason', 'leadId'] as const) {
      expect(String(customFieldMetadata(field(key)).label).length).toBeLessThanOrEqual(40);
    }
  });
});

describe('planning one field against describe', () => {
  it('creates a missing field and leaves a matching one alone', () => {
    expect(planField(field('score'), undefined)).toEqual({ action: 'create' });
    expect(planField(field('score'), lead.fields.get('Smk_Score__c'))).toEqual({ action: 'none' });
    expect(planField(field('grade'), lead.fields.get('Smk_Grade__c'))).toEqual({ action: 'none' });
  });

  it('widens a short text field and adds missing picklist values', () => {
    const reasons = lead.fields.get('Smk_Score_Reasons__c');
    const grade = lead.fields.get('Smk_Grade__c');
    if (!reasons || !grade) throw new Error('fixture');
    expect(planField(field('scoreReasons'), { ...reasons, length: 100 })).toMatchObject({ action: 'update' });
    expect(planField(field('grade'), { ...grade, picklist: grade.picklist.slice(0, 2) })).toEqual({ action: 'update', why: 'missing picklist values cold' });
  });

  it('reports a field of another type as a problem with a fix', () => {
    const reasons = lead.fields.get('Smk_Score_Reasons__c');
    if (!reasons) throw new Error('fixture');
    expect(planField(field('score'), { ...reasons, name: 'Smk_Score__c' })).toMatchObject({ action: 'problem', message: expect.stringMatching(/exists as a string field/) });
  });
});

describe('provisioning without the permission to customise', () => {
  const INSTANCE = 'https://acme.my.salesforce.com';
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('names the missing permission and the fix, and stops trying after the first refusal', async () => {
    const bare = (name: string) => {
      const d = describeSchema.parse(fixture(name));
      return { ...d, fields: d.fields.filter((f) => !f.name.startsWith('Smk_')) };
    };
    const json = { 'Content-Type': 'application/json;charset=UTF-8' };
    nock(INSTANCE).get('/services/data/v62.0/sobjects/Lead/describe').reply(200, bare('describe-lead.json'), json);
    nock(INSTANCE).get('/services/data/v62.0/sobjects/Contact/describe').reply(200, bare('describe-contact.json'), json);
    // None of the fields exists, hidden or not (Tooling CustomField query).
    nock(INSTANCE).get('/services/data/v62.0/tooling/query').query(true).reply(200, { size: 0, totalSize: 0, done: true, queryLocator: null, entityTypeName: 'CustomField', records: [] }, json);
    const tooling = nock(INSTANCE).post('/services/data/v62.0/tooling/sobjects/CustomField').reply(403, fixture('error-insufficient-access.json') as object, json);
    const gate: QuotaGate = { take: async () => {}, observe: async () => {}, report: async () => ({ crm: 'salesforce', dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }) };
    const sf = createSalesforceConnector({ instanceUrl: INSTANCE, loginUrl: 'https://login.salesforce.com', accessToken: 't', gate });

    const report = await sf.ensureSchema();
    expect(tooling.isDone()).toBe(true);
    expect(report.changes).toEqual([]);
    expect(report.problems).toHaveLength(34);
    expect(report.problems[0]).toMatchObject({
      object: 'Lead',
      field: 'Smk_Score__c',
      message: expect.stringMatching(/insufficient access rights .*INSUFFICIENT_ACCESS_OR_READONLY/),
      fix: expect.stringMatching(/'Customize Application' and 'Modify All Data'/),
    });
    expect(report.problems.slice(1).every((p) => /missing permission/.test(p.message))).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
