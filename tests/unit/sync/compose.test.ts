import { describe, expect, it } from 'vitest';
import { composeLead, flattenFragment, pickValue, relevantSignature } from '../../../src/sync/compose.js';
import type { SourceView } from '../../../src/sync/compose.js';
import { DEFAULT_OWNERSHIP } from '../../../src/config.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import type { Lead } from '../../../src/model/lead.js';

const hub = (values: SourceView['values'], modifiedAt = '2026-01-01T00:00:00.000Z'): SourceView => ({ ref: { object: 'contact', id: '1' }, modifiedAt, values });
const sf = (values: SourceView['values'], modifiedAt = '2026-01-01T00:00:00.000Z'): SourceView => ({ ref: { object: 'Lead', id: '00Q000000000001AAA' }, modifiedAt, values });

describe('pickValue by ownership policy', () => {
  const cases: Array<[Parameters<typeof pickValue>[0], SourceView | undefined, SourceView | undefined, unknown]> = [
    ['hubspot', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), 'CEO'],
    ['hubspot', undefined, sf({ 'person.title': 'CTO' }), undefined],
    ['salesforce', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), 'CTO'],
    ['hubspot-unless-blank', hub({ 'person.title': '  ' }), sf({ 'person.title': 'CTO' }), 'CTO'],
    ['hubspot-unless-blank', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), 'CEO'],
    ['salesforce-unless-blank', hub({ 'person.title': 'CEO' }), sf({ 'person.title': null }), 'CEO'],
    ['salesforce-unless-blank', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), 'CTO'],
    ['two-way', hub({ 'person.title': 'CEO' }, '2026-01-02T00:00:00.000Z'), sf({ 'person.title': 'CTO' }, '2026-01-01T00:00:00.000Z'), 'CEO'],
    ['two-way', hub({ 'person.title': 'CEO' }, '2026-01-01T00:00:00.000Z'), sf({ 'person.title': 'CTO' }, '2026-01-02T00:00:00.000Z'), 'CTO'],
    ['two-way', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), 'CEO'],
    ['two-way', hub({ 'person.title': '' }, '2026-01-03T00:00:00.000Z'), sf({ 'person.title': 'CTO' }), 'CTO'],
    ['none', hub({ 'person.title': 'CEO' }), sf({ 'person.title': 'CTO' }), undefined],
  ];
  it.each(cases)('%s', (policy, h, s, expected) => {
    expect(pickValue(policy, h, s, 'person.title')).toBe(expected);
  });
});

describe('composeLead', () => {
  const base: Lead = {
    id: 'L1', email: 'a@b.com', updatedAt: '2026-01-01T00:00:00.000Z', links: { hubspot: { id: '1' } },
    person: { title: 'stale' }, company: {}, marketing: { engagement: [{ kind: 'page_view', at: '2026-01-01T00:00:00.000Z' }] }, sales: {},
    score: { fit: 1, engagement: 2, total: 3, grade: 'cold', reasons: [], scoredAt: '2026-01-01T00:00:00.000Z' },
  };

  it('takes each field from its owner and keeps rule outputs, engagement and links', () => {
    const lead = composeLead(base, { hubspot: hub({ 'person.title': 'CEO', 'marketing.source': 'PAID_SEARCH' }), salesforce: sf({ 'person.title': 'CTO', 'sales.status': 'Working - Contacted', 'marketing.source': 'Web' }) }, { ...DEFAULT_OWNERSHIP, 'person.title': 'salesforce-unless-blank' });
    expect(lead.person.title).toBe('CTO');
    expect(lead.marketing.source).toBe('PAID_SEARCH');
    expect(lead.sales.status).toBe('Working - Contacted');
    expect(lead.score?.total).toBe(3);
    expect(lead.marketing.engagement).toHaveLength(1);
    expect(lead.links).toEqual({ hubspot: { id: '1' } });
  });

  it('gives the same lead whatever order the CRMs were read in', () => {
    const views = { hubspot: hub({ 'person.city': 'Berlin' }, '2026-02-01T00:00:00.000Z'), salesforce: sf({ 'person.city': 'Paris' }, '2026-01-01T00:00:00.000Z') };
    const a = composeLead(base, { salesforce: views.salesforce, hubspot: views.hubspot }, DEFAULT_OWNERSHIP);
    const b = composeLead(base, { hubspot: views.hubspot, salesforce: views.salesforce }, DEFAULT_OWNERSHIP);
    expect(relevantSignature(a)).toBe(relevantSignature(b));
    expect(a.person.city).toBe('Berlin');
  });

  it('keeps a conversion once the lead follows a Contact converted from a Lead, whatever the Contact says', () => {
    const contact: SourceView = { ref: { object: 'Contact', id: '003000000000001AAA' }, modifiedAt: '2026-01-02T00:00:00.000Z', values: { 'sales.converted': null } };
    const converted = { ...base, links: { ...base.links, salesforce: { object: 'Contact' as const, id: '003000000000001AAA', convertedFrom: '00Q000000000001AAA' } } };
    expect(composeLead(converted, { salesforce: contact }, DEFAULT_OWNERSHIP).sales.converted).toBe(true);
    const plain = { ...base, links: { ...base.links, salesforce: { object: 'Contact' as const, id: '003000000000001AAA' } } };
    expect(composeLead(plain, { salesforce: contact }, DEFAULT_OWNERSHIP).sales.converted).toBeNull();
    expect(composeLead(converted, { salesforce: contact }, { ...DEFAULT_OWNERSHIP, 'sales.converted': 'none' }).sales.converted).toBeUndefined();
  });

  it('flattens a fragment into owned paths and ignores non-owned ones', () => {
    const fragment = leadFragmentSchema.parse({
      source: 'hubspot', recordId: '9', object: 'contact', email: 'X@Y.com', modifiedAt: '2026-01-01T00:00:00.000Z',
      person: { firstName: 'Zoë', title: null }, company: { employees: 1200 }, marketing: { source: 'DIRECT', counters: { pageViews: 3 } },
    });
    const flat = flattenFragment(fragment);
    expect(flat).toMatchObject({ email: 'X@Y.com', 'person.firstName': 'Zoë', 'person.title': null, 'company.employees': 1200, 'marketing.source': 'DIRECT' });
    expect(Object.keys(flat)).not.toContain('marketing.counters');
  });
});

describe('two-way fields follow the value that changed last, not the record', () => {
  it('an smk write-back that bumps the record time does not make its other fields newer', async () => {
    const { nextView } = await import('../../../src/sync/compose.js');
    const h1 = nextView(undefined, { object: 'contact', id: '1' }, '2026-01-02T00:00:00.000Z', { 'person.title': 'CEO' });
    const s1 = nextView(undefined, { object: 'Lead', id: '00Q000000000001AAA' }, '2026-01-01T00:00:00.000Z', { 'person.title': 'CTO' });
    expect(pickValue('two-way', h1, s1, 'person.title')).toBe('CEO');
    // Our write-back touches the Salesforce record later; the title there did not change.
    const s2 = nextView(s1, s1.ref, '2026-01-05T00:00:00.000Z', { 'person.title': 'CTO' });
    expect(pickValue('two-way', h1, s2, 'person.title')).toBe('CEO');
    // A rep then edits the title in Salesforce: that value is now the newest.
    const s3 = nextView(s2, s2.ref, '2026-01-06T00:00:00.000Z', { 'person.title': 'VP Sales' });
    expect(pickValue('two-way', h1, s3, 'person.title')).toBe('VP Sales');
  });
});
