import { describe, expect, it } from 'vitest';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import {
  contactToFragment,
  domainOf,
  mapContacts,
  parseContact,
  parseLooseNumber,
  parseTimestamp,
  type HubSpotContact,
} from '../../../connectors/hubspot/mapping.js';
import { createPicklists } from '../../../connectors/hubspot/picklists.js';
import { READ_PROPERTIES } from '../../../connectors/hubspot/properties.js';
import { asSdk, fixture } from './helpers.js';

const picklists = createPicklists();

function contact(name: string): HubSpotContact {
  const parsed = parseContact(asSdk('SimplePublicObject', fixture(name)));
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.contact;
}

describe('HubSpot contact -> LeadFragment', () => {
  it('maps a contact with every property, as the SDK hands it over', () => {
    const fragment = contactToFragment(contact('contact-full.json'), picklists);
    expect(leadFragmentSchema.parse(fragment)).toEqual(fragment);
    expect(fragment).toMatchObject({
      source: 'hubspot',
      recordId: '51873',
      object: 'contact',
      email: 'grace.hopper@globex.example.com',
      modifiedAt: '2026-11-02T10:15:30.250Z',
      createdAt: '2025-03-14T09:26:53.589Z',
      archived: false,
      person: { firstName: 'Grace', lastName: 'Hopper', title: 'VP of Marketing', phone: '+1 (617) 555-0142', country: 'US', state: 'MA', city: 'Boston' },
      company: { name: 'Globex Systems', domain: 'globex.example.com', industry: 'Software', employees: 1000, annualRevenue: 48_500_000 },
      marketing: {
        source: 'ORGANIC_SEARCH',
        campaign: 'Q4 Webinar',
        lifecycleStage: 'mql',
        leadStatus: 'Working - Contacted',
        unsubscribed: false,
        engagement: [{ kind: 'conversion', at: '2026-10-28T11:45:00.000Z', detail: 'Demo request' }],
      },
      sales: { ownerId: '7000014', lastActivityAt: '2026-10-31T14:00:00.000Z' },
      identity: {},
    });
    expect(fragment.marketing.counters).toEqual({
      pageViews: 37,
      visits: 13,
      formSubmissions: 3,
      emailOpens: 22,
      emailClicks: 4,
      lastVisitAt: Date.parse('2026-10-30T18:22:41.120Z'),
      recentConversionAt: Date.parse('2026-10-28T11:45:00.000Z'),
      firstConversionAt: Date.parse('2025-04-02T15:04:05.000Z'),
    });
  });

  it('reads smk values back keyed by the common field name, normalised as they were written', () => {
    const { smk } = contactToFragment(contact('contact-full.json'), picklists);
    expect(smk).toMatchObject({
      score: '76',
      fitScore: '45',
      engagementScore: '31',
      grade: 'warm',
      stage: 'mql',
      slaStatus: 'running',
      handoffAt: '2026-11-01T13:00:00.000Z',
      slaDueAt: '2026-11-01T17:00:00.000Z',
      leadId: 'lead_01JC8Q1V7E3M4K5P6R7S8T9V0W',
      salesDecision: null,
      slaBreachedAt: null,
    });
    // A property the read did not return is unknown, not null.
    const sparse = contactToFragment(contact('contact-sparse.json'), picklists).smk;
    expect(sparse).toEqual({ score: null, grade: null });
  });

  it('keeps nulls, blank names, non-ASCII text and "1,200" employees honest', () => {
    const fragment = contactToFragment(contact('contact-sparse.json'), picklists);
    expect(leadFragmentSchema.safeParse(fragment).success).toBe(true);
    expect(fragment.person).toEqual({
      firstName: null,
      lastName: 'Nguyễn',
      title: 'Senior Vice President, Global Strategic Partnerships, Channel Alliances and Ecosystem Development (EMEA, APAC and LATAM Regions)',
      phone: '+48 12 555 01 99',
      country: 'PL',
      state: null,
      city: 'Kraków',
    });
    expect(fragment.company).toEqual({ name: 'Kyōto Labs', domain: 'kyotolabs.example.com', industry: null, employees: 1200, annualRevenue: null });
    expect(fragment.marketing).toMatchObject({ source: null, lifecycleStage: 'subscriber', leadStatus: null, unsubscribed: true, engagement: [] });
    // lastmodifieddate as an epoch-ms string (older payloads) reads the same as ISO.
    expect(fragment.modifiedAt).toBe('2026-01-05T08:00:00.000Z');
  });

  it('carries the primary company (associatedcompanyid) as identity.companyId when the read holds it', () => {
    const base = contact('contact-full.json');
    const withCompany = { ...base, properties: { ...base.properties, associatedcompanyid: '5000021' } };
    expect(contactToFragment(withCompany, picklists).identity).toEqual({ companyId: '5000021' });
    const without = { ...base, properties: { ...base.properties, associatedcompanyid: null } };
    expect(contactToFragment(without, picklists).identity).toEqual({ companyId: null });
    // A read that did not ask for it says nothing about it.
    expect(contactToFragment(base, picklists).identity).toEqual({});
    expect(READ_PROPERTIES).toContain('associatedcompanyid');
  });

  it('keeps the surviving id of a merge and reports the merged-away ids', () => {
    const mapped = mapContacts([asSdk('SimplePublicObject', fixture('contact-merged.json'))], picklists);
    expect(mapped.fragments[0]?.recordId).toBe('51901');
    expect(mapped.fragments[0]?.identity).toEqual({ mergedIds: ['51877', '51899'] });
    expect(mapped.fragments[0]?.marketing.lifecycleStage).toBe('sql');
    expect(mapped.removed).toEqual([
      { ref: { object: 'contact', id: '51877' }, reason: 'merged', survivorId: '51901', at: '2026-11-03T08:30:00.000Z' },
      { ref: { object: 'contact', id: '51899' }, reason: 'merged', survivorId: '51901', at: '2026-11-03T08:30:00.000Z' },
    ]);
  });

  it('parses every payload with zod first: a malformed record is a problem naming it, the rest are mapped', () => {
    const good = asSdk('SimplePublicObject', fixture('contact-full.json'));
    const mapped = mapContacts([good, { id: '7', properties: { email: 42 }, updatedAt: new Date() }, { properties: {} }], picklists);
    expect(mapped.fragments).toHaveLength(1);
    expect(mapped.problems).toHaveLength(2);
    expect(mapped.problems[0]).toMatchObject({ ref: { object: 'contact', id: '7' }, code: 'VALIDATION' });
    expect(mapped.problems[0]?.message).toContain('properties.email');
    expect(mapped.problems[0]?.field).toBe('email');
    expect(mapped.problems[1]?.ref).toBeNull();
    expect(mapped.problems[1]?.field).toBe('id');
  });

  it('makes a date beyond the JavaScript range a problem of that contact, naming the property; the page goes on', () => {
    const good = asSdk('SimplePublicObject', fixture('contact-full.json'));
    const far = { id: '8', properties: { email: 'far@example.com', notes_last_contacted: '9999999999999999' }, updatedAt: new Date() };
    const mapped = mapContacts([far, good], picklists);
    expect(mapped.fragments.map((f) => f.recordId)).toEqual(['51873']);
    expect(mapped.contacts.map((c) => c.id)).toEqual(['8', '51873']);
    expect(mapped.problems).toEqual([
      {
        ref: { object: 'contact', id: '8' },
        code: 'VALIDATION',
        message: 'HubSpot contact 8 does not have the expected shape: properties.notes_last_contacted: expected epoch milliseconds within the JavaScript date range, got 9999999999999999',
        field: 'notes_last_contacted',
        value: '9999999999999999',
      },
    ]);
  });

  it('accepts the raw wire form (ISO strings) as well as the SDK form (Dates)', () => {
    const raw = parseContact(fixture('contact-full.json'));
    const sdk = parseContact(asSdk('SimplePublicObject', fixture('contact-full.json')));
    expect(raw.ok && sdk.ok && contactToFragment(raw.contact, picklists)).toEqual(sdk.ok && contactToFragment(sdk.contact, picklists));
  });
});

describe('picklists', () => {
  it('translate lifecyclestage and hs_lead_status both ways, with config over the defaults', () => {
    const custom = createPicklists({ lifecycleStage: { '1234567': 'sal' }, leadStatus: { OPEN: 'Working - Contacted' } });
    expect(custom.lifecycleStage.fromHubSpot('1234567')).toBe('sal');
    expect(custom.lifecycleStage.toHubSpot('sal')).toBe('1234567');
    expect(custom.lifecycleStage.toHubSpot('mql')).toBe('marketingqualifiedlead');
    expect(custom.lifecycleStage.toHubSpot('customer')).toBe('customer');
    expect(custom.lifecycleStage.toHubSpot('lead')).toBe('lead');
    expect(custom.lifecycleStage.fromHubSpot('evangelist')).toBe('customer');
    expect(custom.leadStatus.fromHubSpot('OPEN')).toBe('Working - Contacted');
    expect(custom.leadStatus.toHubSpot('Closed - Not Converted')).toBe('UNQUALIFIED');
    expect(picklists.lifecycleStage.toHubSpot('recycled')).toBe('lead');
    expect(picklists.lifecycleStage.toHubSpot('nonsense')).toBeNull();
    // Unknown values read from HubSpot pass through unchanged.
    expect(picklists.lifecycleStage.fromHubSpot('987654')).toBe('987654');
  });
});

describe('value readers', () => {
  it.each([
    ['1,200', 1200],
    [' 1 200 ', 1200],
    ['$5,000,000', 5_000_000],
    ['25-50', 25],
    ['10,000+', 10_000],
    ['1000+', 1000],
    ['12.5', 12.5],
    ['', null],
    ['many', null],
    [null, null],
  ])('parseLooseNumber(%j) = %j', (input, expected) => {
    expect(parseLooseNumber(input)).toBe(expected);
  });

  it('reads timestamps in both forms HubSpot uses and URLs as domains', () => {
    expect(parseTimestamp('1572480000000')).toBe(1_572_480_000_000);
    expect(parseTimestamp('2019-10-31T00:00:00Z')).toBe(1_572_480_000_000);
    expect(parseTimestamp('soon')).toBeNull();
    // Beyond what a Date holds (±8.64e15 ms): no timestamp, so toISOString never throws.
    expect(parseTimestamp('8640000000000000')).toBe(8.64e15);
    expect(parseTimestamp('8640000000000001')).toBeNull();
    expect(parseTimestamp('-9999999999999999')).toBeNull();
    expect(domainOf('HTTPS://WWW.Acme.example.com/x?y')).toBe('acme.example.com');
    expect(domainOf('acme')).toBeNull();
  });

  it('asks for every property it maps, including each smk_* property', () => {
    for (const name of ['email', 'lifecyclestage', 'hs_lead_status', 'hs_merged_object_ids', 'numemployees', 'numberofemployees', 'smk_score', 'smk_lead_id', 'lastmodifieddate']) {
      expect(READ_PROPERTIES).toContain(name);
    }
    expect(new Set(READ_PROPERTIES).size).toBe(READ_PROPERTIES.length);
  });
});
