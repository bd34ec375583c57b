/**
 * Field sync decisions as tables: which CRM a field takes its value from under each direction,
 * what is written where, translation of picklist values both ways, and the echo: a value the target
 * already holds (in its own terms) plans nothing.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_FIELDS, canonicalFieldValue, sameFieldValue } from '../../../src/model/field-sync.js';
import type { SyncField } from '../../../src/model/field-sync.js';
import type { OwnershipPolicy } from '../../../src/model/ownership.js';
import { planFieldWrites, summariseFieldChanges, translateFieldValue, winningCrm } from '../../../src/sync/field-plan.js';
import type { FieldView } from '../../../src/sync/field-plan.js';
import { resolveSyncFields } from '../../../src/config.js';

const title: SyncField = { name: 'title', type: 'text', hubspot: 'jobtitle', salesforce: { Lead: 'Title', Contact: 'Title' }, direction: 'two-way', values: [] };
const company = DEFAULT_SYNC_FIELDS.find((f) => f.name === 'company')!;
const leadStatus = DEFAULT_SYNC_FIELDS.find((f) => f.name === 'leadStatus')!;
const leadSource = DEFAULT_SYNC_FIELDS.find((f) => f.name === 'leadSource')!;

function view(object: FieldView['ref']['object'], value: string | null, at: string, name = 'title'): FieldView {
  return { ref: { object }, modifiedAt: at, fields: { [name]: value }, fieldChangedAt: { [name]: at } };
}

describe('winningCrm', () => {
  const cases: Array<[OwnershipPolicy, string | null, string | null, 'hubspot' | 'salesforce' | null]> = [
    ['hubspot', 'A', 'B', 'hubspot'],
    ['hubspot', null, 'B', 'hubspot'],
    ['salesforce', 'A', 'B', 'salesforce'],
    ['hubspot-unless-blank', 'A', 'B', 'hubspot'],
    ['hubspot-unless-blank', null, 'B', 'salesforce'],
    ['salesforce-unless-blank', 'A', null, 'hubspot'],
    ['salesforce-unless-blank', 'A', 'B', 'salesforce'],
    ['two-way', null, 'B', 'salesforce'],
    ['two-way', 'A', null, 'hubspot'],
    ['two-way', null, null, null],
    ['none', 'A', 'B', null],
  ];
  it.each(cases)('%s with HubSpot %s and Salesforce %s takes %s', (policy, h, s, winner) => {
    const views = { hubspot: view('contact', h, '2026-01-01T00:00:00Z'), salesforce: view('Lead', s, '2026-01-01T00:00:00Z') };
    expect(winningCrm(policy, { ...title, direction: policy }, views)).toBe(winner);
  });

  it('two-way: the value changed most recently wins, by each field\'s own change time; a tie keeps HubSpot', () => {
    const newerInSalesforce = { hubspot: view('contact', 'A', '2026-01-01T00:00:00Z'), salesforce: view('Lead', 'B', '2026-01-01T00:00:01Z') };
    expect(winningCrm('two-way', title, newerInSalesforce)).toBe('salesforce');
    const tie = { hubspot: view('contact', 'A', '2026-01-01T00:00:01Z'), salesforce: view('Lead', 'B', '2026-01-01T00:00:01Z') };
    expect(winningCrm('two-way', title, tie)).toBe('hubspot');
  });

  it('a Contact does not carry a Lead-only field: HubSpot gives the value and nothing goes to the Contact', () => {
    const views = { hubspot: view('contact', 'Acme', '2026-01-01T00:00:00Z', 'company'), salesforce: view('Contact', null, '2026-01-02T00:00:00Z', 'company') };
    expect(winningCrm('salesforce-unless-blank', company, views)).toBe('hubspot');
    const plan = planFieldWrites({ fields: [company], views, targets: { salesforce: { object: 'Contact', held: {} } } });
    expect(plan).toEqual({});
  });
});

describe('planFieldWrites', () => {
  const at = '2026-01-01T00:00:00Z';
  it('writes the winning value into the other record, and nothing once it holds it (the echo)', () => {
    const views = { hubspot: view('contact', 'CRO', '2026-01-02T00:00:00Z'), salesforce: view('Lead', 'VP', at) };
    const first = planFieldWrites({ fields: [title], views, targets: { hubspot: { object: 'contact', held: { title: 'CRO' } }, salesforce: { object: 'Lead', held: { title: 'VP' } } } });
    expect(first).toEqual({ salesforce: { title: 'CRO' } });
    const echoed = planFieldWrites({ fields: [title], views, targets: { hubspot: { object: 'contact', held: { title: 'CRO' } }, salesforce: { object: 'Lead', held: { title: 'CRO' } } } });
    expect(echoed).toEqual({});
  });

  it('supersedes a pending write that would set another value (A -> B -> A never writes B)', () => {
    const views = { hubspot: view('contact', 'A', '2026-01-02T00:00:00Z'), salesforce: view('Lead', 'A', at) };
    const plan = planFieldWrites({ fields: [title], views, targets: { salesforce: { object: 'Lead', held: { title: 'A' }, pending: { title: 'B' } } } });
    expect(plan).toEqual({ salesforce: { title: 'A' } });
  });

  it('translates picklist values both ways by the first pair naming them', () => {
    expect(translateFieldValue(leadStatus, 'Working - Contacted', 'salesforce', 'hubspot')).toBe('IN_PROGRESS');
    expect(translateFieldValue(leadStatus, 'CONNECTED', 'hubspot', 'salesforce')).toBe('Working - Contacted');
    expect(translateFieldValue(leadStatus, 'Nurturing', 'salesforce', 'hubspot')).toBe('Nurturing');
    // HubSpot holds CONNECTED, Salesforce "Working - Contacted": the same status, nothing to write.
    const views = { hubspot: view('contact', 'CONNECTED', at, 'leadStatus'), salesforce: view('Lead', 'Working - Contacted', at, 'leadStatus') };
    const plan = planFieldWrites({ fields: [{ ...leadStatus, direction: 'hubspot' }], views, targets: { salesforce: { object: 'Lead', held: { leadStatus: 'Working - Contacted' } } } });
    expect(plan).toEqual({});
  });

  it('leaves a value alone that means the same as the winning one (HubSpot OPEN and NEW are both "Open - Not Contacted")', () => {
    const views = { hubspot: view('contact', 'OPEN', at, 'leadStatus'), salesforce: view('Lead', 'Open - Not Contacted', at, 'leadStatus') };
    const targets = { hubspot: { object: 'contact' as const, held: { leadStatus: 'OPEN' } } };
    expect(planFieldWrites({ fields: [leadStatus], views, targets })).toEqual({});
    const moved = { ...views, salesforce: view('Lead', 'Working - Contacted', at, 'leadStatus') };
    expect(planFieldWrites({ fields: [leadStatus], views: moved, targets })).toEqual({ hubspot: { leadStatus: 'IN_PROGRESS' } });
  });

  it('never writes a field HubSpot calculates, whatever the direction', () => {
    const views = { hubspot: view('contact', null, at, 'leadSource'), salesforce: view('Lead', 'Web', '2026-02-01T00:00:00Z', 'leadSource') };
    const plan = planFieldWrites({ fields: [{ ...leadSource, direction: 'two-way' }], views, targets: { hubspot: { object: 'contact', held: { leadSource: null } } } });
    expect(plan).toEqual({});
  });

  it('writes an email only as the lead\'s own address', () => {
    const email = DEFAULT_SYNC_FIELDS.find((f) => f.name === 'email')!;
    const views = { hubspot: view('contact', 'new@acme.example', '2026-01-02T00:00:00Z', 'email'), salesforce: view('Lead', 'old@acme.example', at, 'email') };
    const targets = { salesforce: { object: 'Lead' as const, held: { email: 'old@acme.example' } } };
    expect(planFieldWrites({ fields: [email], views, targets, leadEmail: 'new@acme.example' })).toEqual({ salesforce: { email: 'new@acme.example' } });
    expect(planFieldWrites({ fields: [email], views, targets, leadEmail: 'old@acme.example' })).toEqual({});
  });
});

describe('canonical values', () => {
  it.each([
    ['number', '1,200', '1200'],
    ['number', '1200.0', '1200'],
    ['number', '25-50', '25'],
    ['date', '2026-03-04T00:00:00.000Z', '2026-03-04'],
    ['email', ' Ana@Example.COM ', 'ana@example.com'],
    ['text', '  ', null],
    ['text', '[not provided]', null],
  ] as const)('%s %j is %j', (type, raw, want) => {
    expect(canonicalFieldValue({ type }, raw)).toBe(want);
  });

  it('compares countries by ISO code, so names, aliases and codes do not churn', () => {
    expect(sameFieldValue({ type: 'country' }, 'Germany', 'DE')).toBe(true);
    expect(sameFieldValue({ type: 'country' }, 'USA', 'United States')).toBe(true);
    expect(sameFieldValue({ type: 'country' }, 'France', 'DE')).toBe(false);
  });
});

describe('sync.fields in the config', () => {
  it('overrides a default field and adds a custom one', () => {
    const fields = resolveSyncFields({
      fields: {
        title: { direction: 'hubspot' },
        region: { hubspot: 'region', salesforce: { lead: 'Region__c', contact: null }, type: 'enum', direction: 'salesforce', values: [{ hubspot: 'emea', salesforce: 'EMEA' }] },
      },
    });
    expect(fields.find((f) => f.name === 'title')).toMatchObject({ direction: 'hubspot', hubspot: 'jobtitle' });
    expect(fields.find((f) => f.name === 'region')).toMatchObject({ salesforce: { Lead: 'Region__c', Contact: null }, type: 'enum' });
  });
});

describe('summariseFieldChanges (smk rules test)', () => {
  it('counts the records and fields a candidate mapping would write, and names mapped fields not read yet', () => {
    const at = '2026-01-01T00:00:00Z';
    const leads = [1, 2, 3].map((n) => ({
      leadId: `L${n}`,
      email: null,
      views: {
        hubspot: { ref: { object: 'contact' as const }, modifiedAt: at, fields: { title: n === 3 ? 'Same' : `HubSpot ${n}` } },
        salesforce: { ref: { object: 'Lead' as const }, modifiedAt: '2026-01-02T00:00:00Z', fields: { title: n === 3 ? 'Same' : `Salesforce ${n}` } },
      },
      held: {},
    }));
    const region: SyncField = { name: 'region', type: 'text', hubspot: 'region', salesforce: { Lead: 'Region__c', Contact: null }, direction: 'two-way', values: [] };
    const summary = summariseFieldChanges(leads, [{ ...title, direction: 'hubspot' }, region], { examples: 1 });
    expect(summary.records).toEqual({ hubspot: 0, salesforce: 2 });
    expect(summary.byField).toEqual([{ field: 'title', crm: 'salesforce', count: 2 }]);
    expect(summary.examples).toEqual([{ leadId: 'L1', crm: 'salesforce', field: 'title', from: 'Salesforce 1', to: 'HubSpot 1' }]);
    expect(summary.unread).toEqual(['region']);
  });
});
