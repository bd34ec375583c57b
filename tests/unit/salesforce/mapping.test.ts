import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mapRow, normaliseDomain } from '../../../connectors/salesforce/mapping.js';
import { createTranslations, LeadStatusMap, RatingMap } from '../../../connectors/salesforce/picklists.js';
import { toLeadStatuses } from '../../../connectors/salesforce/metadata.js';
import { readFields } from '../../../connectors/salesforce/fields.js';
import { fixture } from './fixtures.js';

const page = z.object({ records: z.array(z.unknown()) });
const leads = page.parse(fixture('query-leads.json')).records;
const contacts = page.parse(fixture('query-contacts.json')).records;
const statuses = toLeadStatuses(page.parse(fixture('lead-status.json')).records);
const translations = createTranslations({}, statuses);

describe('Lead rows → fragments', () => {
  const mapped = leads.map((row) => mapRow('Lead', row, translations));

  it('maps a working lead with its smk values keyed by the common field names', () => {
    const fragment = mapped[0]?.fragment;
    expect(fragment).toMatchObject({
      source: 'salesforce',
      recordId: '00Q5g00000KjX3aEAF',
      object: 'Lead',
      email: 'grace.hopper@globex.example.com',
      modifiedAt: '2025-03-14T09:12:45.000Z',
      archived: false,
      person: { firstName: 'Grace', lastName: 'Hopper', title: 'VP of Marketing', country: 'US', state: 'NY', city: 'New York' },
      company: { name: 'Globex Corp', domain: 'globex.example.com', industry: 'Technology', employees: 1200, annualRevenue: 85000000 },
      marketing: { source: 'Web', unsubscribed: false },
      sales: {
        ownerId: '0055g00000AbCdEAAV',
        status: 'working',
        rating: 'hot',
        converted: false,
        lastActivityAt: '2025-03-14T00:00:00.000Z',
        decision: 'accepted',
        qualityRating: 4,
      },
      smk: {
        score: '87',
        fitScore: '45',
        engagementScore: '42',
        grade: 'hot',
        scoreReasons: 'Senior title; 200+ employees; Demo request',
        stage: 'sal',
        handoffAt: '2025-03-13T14:00:00.000Z',
        slaDueAt: '2025-03-13T18:00:00.000Z',
        slaStatus: 'met',
        slaBreachedAt: null,
        salesDecision: 'accepted',
        leadQuality: '4',
        leadId: 'lead_01HQ3Z8Y7K2M',
      },
    });
    expect(mapped[0]?.position).toEqual({ ts: '2025-03-14T09:12:45.000Z', id: '00Q5g00000KjX3aEAF' });
  });

  it('keeps a converted lead\'s identity through ConvertedContactId', () => {
    const fragment = mapped[1]?.fragment;
    expect(fragment?.sales).toMatchObject({ status: 'converted', rating: 'warm', converted: true });
    expect(fragment?.identity).toEqual({ convertedContactId: '0035g00000QrStUAAV', convertedAccountId: '0015g00000MnOpQAAV' });
    // An enum label written by hand in Salesforce reads as the common value; decimals stay decimals.
    expect(fragment?.smk).toMatchObject({ grade: 'warm', score: '71.5', stage: 'sql' });
  });

  it('reads the [not provided] placeholders and blank names as no value', () => {
    const fragment = mapped[2]?.fragment;
    expect(fragment?.person.firstName).toBeNull();
    expect(fragment?.person.lastName).toBeNull();
    expect(fragment?.company.name).toBeNull();
    expect(fragment?.marketing.unsubscribed).toBe(true);
    expect(fragment?.sales.status).toBe('new');
    expect(fragment?.smk).toEqual({});
  });

  it('keeps non-ASCII text and a 128-character title intact, and an org-specific status unchanged', () => {
    const fragment = mapped[3]?.fragment;
    expect(fragment?.person).toMatchObject({ firstName: 'Zoë', lastName: 'Nguyễn', city: 'Tōkyō' });
    expect(fragment?.person.title).toHaveLength(128);
    expect(fragment?.company.name).toBe('Kyōto Labs Café Société');
    expect(fragment?.sales).toMatchObject({ status: 'Nurture - Q3', rating: 'cold', decision: 'rejected', qualityRating: 1 });
    expect(fragment?.sales.rejectReason).toContain('予算なし');
    // A queue (00G) can own a lead.
    expect(fragment?.sales.ownerId).toBe('00G5g000003XyZaEAK');
  });

  it('turns a deleted row (queryAll) into a removal', () => {
    expect(mapped[4]?.fragment).toBeUndefined();
    expect(mapped[4]?.removed).toEqual({ ref: { object: 'Lead', id: '00Q5g00000KjX3eEAF' }, reason: 'deleted', at: '2025-03-16T08:00:00.000Z' });
  });

  it('turns a row of the wrong shape into a problem naming the field, and still moves the cursor past it', () => {
    expect(mapped[5]?.fragment).toBeUndefined();
    expect(mapped[5]?.problem).toMatchObject({ ref: { object: 'Lead', id: '00Q5g00000KjX3fEAF' }, code: 'VALIDATION', field: 'NumberOfEmployees' });
    expect(mapped[5]?.position).toEqual({ ts: '2025-03-16T08:00:01.000Z', id: '00Q5g00000KjX3fEAF' });
  });

  it('names the Salesforce field of a date that does not exist and of an smk value of the wrong type', () => {
    const row = leads[0] as Record<string, unknown>;
    const badDate = mapRow('Lead', { ...row, LastActivityDate: '2024-13-45' }, translations);
    expect(badDate.fragment).toBeUndefined();
    expect(badDate.problem).toMatchObject({ ref: { object: 'Lead' }, code: 'VALIDATION', field: 'LastActivityDate' });
    const badSmk = mapRow('Lead', { ...row, Smk_Lead_Quality__c: { value: 3 } }, translations);
    expect(badSmk.fragment).toBeUndefined();
    expect(badSmk.problem).toMatchObject({ code: 'VALIDATION', field: 'Smk_Lead_Quality__c' });
    expect(badSmk.problem?.message).toMatch(/Smk_Lead_Quality__c expected a number or numeric text, got a map$/);
    expect(badSmk.position).toEqual(mapped[0]?.position);
    expect(mapRow('Lead', { ...row, Smk_Handoff_At__c: 5 }, translations).problem).toMatchObject({ field: 'Smk_Handoff_At__c' });
    expect(mapRow('Lead', { ...row, LastActivityDate: '2024-02-29' }, translations).fragment?.sales.lastActivityAt).toBe('2024-02-29T00:00:00.000Z');
  });

  it('refuses rows without an id as problems without a ref', () => {
    expect(mapRow('Lead', { Email: 'x@example.com' }, translations).problem).toMatchObject({ ref: null, code: 'VALIDATION' });
    expect(mapRow('Lead', null, translations).problem).toMatchObject({ ref: null });
  });
});

describe('Contact rows → fragments', () => {
  it('takes the company from the Account relationship and keeps AccountId', () => {
    const fragment = mapRow('Contact', contacts[0], translations).fragment;
    expect(fragment).toMatchObject({
      object: 'Contact',
      recordId: '0035g00000QrStUAAV',
      person: { country: 'GB', city: 'London' },
      company: { name: 'Initech', domain: 'initech.example.com', industry: 'Banking', employees: 340, annualRevenue: 41000000 },
      identity: { accountId: '0015g00000MnOpQAAV' },
      smk: { stage: 'opportunity', grade: 'warm', leadId: 'lead_01HQ3Z8Y7K2N' },
    });
  });

  it('maps a private contact without an account or email', () => {
    const fragment = mapRow('Contact', contacts[1], translations).fragment;
    expect(fragment).toMatchObject({ email: null, person: { firstName: 'Søren', lastName: "O'Brien" }, company: {}, identity: { accountId: null } });
  });
});

describe('picklist translations', () => {
  it('translates Lead Status both ways with the org\'s own values', () => {
    const map = new LeadStatusMap({}, statuses);
    expect(map.toCommon('Open - Not Contacted')).toBe('new');
    expect(map.toCommon('Nurture_Q3')).toBe('Nurture_Q3');
    expect(map.toSalesforce('working')).toEqual({ ok: true, value: 'Working - Contacted' });
    expect(map.toSalesforce('new')).toEqual({ ok: true, value: 'Open - Not Contacted' });
    // An org value by its label is written by its API name.
    expect(map.toSalesforce('Nurture - Q3')).toEqual({ ok: true, value: 'Nurture_Q3' });
    expect(map.toSalesforce('converted')).toMatchObject({ ok: false, reason: expect.stringMatching(/converted status/) });
    expect(map.toSalesforce('Bogus')).toMatchObject({ ok: false, reason: expect.stringMatching(/not a Lead Status/) });
  });

  it('takes overrides from config', () => {
    const map = new LeadStatusMap({ statusToCommon: { Nurture_Q3: 'nurturing' }, statusFromCommon: { disqualified: 'Closed - Not Converted' } }, statuses);
    expect(map.toCommon('Nurture_Q3')).toBe('nurturing');
    expect(map.toSalesforce('nurturing')).toEqual({ ok: true, value: 'Nurture_Q3' });
    expect(map.toSalesforce('disqualified')).toEqual({ ok: true, value: 'Closed - Not Converted' });
  });

  it('falls back to the org\'s converted and default flags for renamed statuses', () => {
    const renamed = toLeadStatuses([
      { MasterLabel: 'Neu', ApiName: 'Neu', IsDefault: true, IsConverted: false, SortOrder: 1 },
      { MasterLabel: 'Gewonnen', ApiName: 'Gewonnen', IsDefault: false, IsConverted: true, SortOrder: 2 },
    ]);
    const map = new LeadStatusMap({}, renamed);
    expect(map.toCommon('Neu')).toBe('new');
    expect(map.toCommon('Gewonnen')).toBe('converted');
    expect(map.toSalesforce('new')).toEqual({ ok: true, value: 'Neu' });
  });

  it('translates Rating both ways', () => {
    const map = new RatingMap({});
    expect(map.toCommon('Hot')).toBe('hot');
    expect(map.toSalesforce('warm', ['Hot', 'Warm', 'Cold'])).toEqual({ ok: true, value: 'Warm' });
    expect(map.toSalesforce('lukewarm', ['Hot', 'Warm', 'Cold'])).toMatchObject({ ok: false });
  });
});

describe('helpers', () => {
  it.each([
    ['https://www.Acme.com/about', 'acme.com'],
    ['acme.com', 'acme.com'],
    ['http://shop.acme.co.uk:8080', 'shop.acme.co.uk'],
    ['localhost', null],
    ['', null],
    [null, null],
  ])('normaliseDomain(%j) = %j', (input, expected) => {
    expect(normaliseDomain(input)).toBe(expected);
  });

  it('selects only the smk fields the org has, and can leave out relationship fields', () => {
    const fields = readFields('Contact', new Set(['Smk_Score__c']), { relationships: false });
    expect(fields).toContain('Smk_Score__c');
    expect(fields).not.toContain('Smk_Grade__c');
    expect(fields.some((f) => f.includes('.'))).toBe(false);
    expect(readFields('Contact', new Set())).toContain('Account.Name');
  });
});
