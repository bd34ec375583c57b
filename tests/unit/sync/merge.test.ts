import { describe, expect, it } from 'vitest';
import { DEFAULT_OWNERSHIP } from '../../../src/config.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import type { LeadFragment } from '../../../src/model/lead.js';
import type { SourceView } from '../../../src/sync/compose.js';
import { freshness, mergeFragment, ruleInputsDiffer, withLink } from '../../../src/sync/merge.js';
import type { Snapshot } from '../../../src/sync/merge.js';

const view = (id: string, modifiedAt: string, readAt?: number): SourceView => ({ ref: { object: 'contact', id }, modifiedAt, values: {}, ...(readAt !== undefined ? { readAt } : {}) });
const T = '2026-03-02T10:00:00.000Z';
const LATER = '2026-03-02T10:00:01.000Z';

describe('freshness', () => {
  const cases: Array<[string, SourceView | undefined, string, number, 'fresh' | 'stale']> = [
    ['nothing held', undefined, T, 5, 'fresh'],
    ['another record (a conversion)', view('2', LATER), T, 5, 'fresh'],
    ['newer', view('1', T), LATER, 5, 'fresh'],
    ['older', view('1', LATER), T, 50, 'stale'],
    ['same stamp, later read', view('1', T, 5), T, 6, 'fresh'],
    ['same stamp, same read (a duplicate)', view('1', T, 5), T, 5, 'fresh'],
    ['same stamp, earlier read (a retried page)', view('1', T, 5), T, 4, 'stale'],
    ['same stamp, read time unknown', view('1', T), T, 1, 'fresh'],
  ];
  it.each(cases)('%s', (_name, held, modifiedAt, readAt, expected) => {
    expect(freshness(held, { id: '1' }, modifiedAt, readAt)).toBe(expected);
  });
});

function contact(modifiedAt: string, title: string, pageViews: number): LeadFragment {
  return leadFragmentSchema.parse({
    source: 'hubspot', recordId: '1', object: 'contact', email: 'Ann@Example.com', modifiedAt,
    person: { title }, marketing: { counters: { pageViews } },
  });
}

const input = (fragment: LeadFragment, readAt: number) => ({ leadId: 'L1', fragment, readAt, nowIso: '2026-03-02T12:00:00.000Z', ownership: DEFAULT_OWNERSHIP });

function apply(stored: Snapshot | null, fragment: LeadFragment, readAt: number): Snapshot {
  const d = mergeFragment(stored, input(fragment, readAt));
  if (d.outcome !== 'merged') return stored as Snapshot;
  return { lead: d.lead, views: d.views };
}

describe('mergeFragment', () => {
  it('ignores a fragment older than the view of its record, whatever the order', () => {
    const older = contact(T, 'Intern', 5);
    const newer = contact(LATER, 'CRO', 10);
    const inOrder = apply(apply(null, older, 1), newer, 2);
    const decision = mergeFragment(inOrder, input(older, 1));
    expect(decision).toEqual({ outcome: 'stale', heldModifiedAt: LATER });
    const reversed = apply(apply(null, newer, 2), older, 1);
    expect(reversed.lead.person.title).toBe('CRO');
    expect(reversed.lead.marketing.counters).toEqual({ pageViews: 10 });
    const weights = (s: Snapshot) => s.lead.marketing.engagement.filter((e) => e.kind === 'page_view').reduce((n, e) => n + (e.weight ?? 1), 0);
    expect(weights(inOrder)).toBe(10);
    expect(weights(reversed)).toBe(10);
  });

  it('reports a re-read of the same record as no change and nothing to save, even through a JSON round trip', () => {
    const fragment = contact(T, 'CRO', 3);
    const once = apply(null, fragment, 1);
    // As stored: keys come back in another order than they were built in.
    const stored = JSON.parse(JSON.stringify({ views: once.views, lead: { ...once.lead, sales: {}, marketing: { counters: once.lead.marketing.counters, engagement: once.lead.marketing.engagement } } })) as Snapshot;
    const again = mergeFragment(stored, input(fragment, 2));
    expect(again).toMatchObject({ outcome: 'merged', changed: false, save: false });
  });

  it('compares leads by value, not by key order', () => {
    const a = apply(null, contact(T, 'CRO', 3), 1).lead;
    const b = JSON.parse(JSON.stringify({ sales: a.sales, marketing: a.marketing, links: a.links, company: a.company, person: a.person, email: a.email, updatedAt: a.updatedAt, id: a.id }));
    expect(ruleInputsDiffer(a, b)).toBe(false);
    expect(ruleInputsDiffer(a, { ...b, person: { title: 'CEO' } })).toBe(true);
  });
});

describe('account links', () => {
  it('keeps the HubSpot contact\'s primary company and the Salesforce Contact\'s Account on the lead\'s links', () => {
    const base = { modifiedAt: '2026-01-01T00:00:00.000Z', email: 'a@acme.com' };
    const hubspot = leadFragmentSchema.parse({ ...base, source: 'hubspot', recordId: '51', object: 'contact', identity: { companyId: '5000001' } });
    const salesforce = leadFragmentSchema.parse({ ...base, source: 'salesforce', recordId: '003000000000001AAA', object: 'Contact', identity: { accountId: '001000000000001AAA' } });
    const links = withLink(withLink({}, hubspot), salesforce);
    expect(links.hubspot).toEqual({ id: '51', companyId: '5000001' });
    expect(links.salesforce).toMatchObject({ accountId: '001000000000001AAA' });
  });
});

describe('the person\'s creation date', () => {
  const at = (createdAt: string, source: 'hubspot' | 'salesforce', modifiedAt = T) =>
    leadFragmentSchema.parse({
      source, recordId: source === 'hubspot' ? '1' : '00Q000000000001AAA', object: source === 'hubspot' ? 'contact' : 'Lead',
      email: 'ann@example.com', modifiedAt, createdAt,
    });

  it('is the earliest creation time of the person\'s records in either CRM, in any order of reading', () => {
    const hubspot = at('2025-06-01T09:00:00.000Z', 'hubspot');
    const salesforce = at('2025-04-15T08:00:00.000Z', 'salesforce');
    expect(apply(apply(null, hubspot, 1), salesforce, 2).lead.createdAt).toBe('2025-04-15T08:00:00.000Z');
    expect(apply(apply(null, salesforce, 1), hubspot, 2).lead.createdAt).toBe('2025-04-15T08:00:00.000Z');
  });

  it('is saved when it first becomes known, though no rule reads it', () => {
    const without = leadFragmentSchema.parse({ source: 'hubspot', recordId: '1', object: 'contact', email: 'ann@example.com', modifiedAt: T });
    const stored = apply(null, without, 1);
    expect(stored.lead.createdAt).toBeUndefined();
    const decision = mergeFragment(stored, input(at('2025-06-01T09:00:00.000Z', 'hubspot'), 2));
    expect(decision).toMatchObject({ outcome: 'merged', save: true, lead: { createdAt: '2025-06-01T09:00:00.000Z' } });
  });
});
