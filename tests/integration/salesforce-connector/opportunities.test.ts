/**
 * The opportunity feed through jsforce against the Salesforce sandbox: every opportunity with its
 * contact roles from an empty position, then only what changed (a won stage; a role added; a role
 * removed, seen through queryAll), and what a page costs in query calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { FeedPosition, OpportunityPage } from '../../../connectors/types.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

async function drainOpportunities(pages: AsyncIterable<OpportunityPage>, start: FeedPosition): Promise<{ pages: OpportunityPage[]; position: FeedPosition }> {
  const position = { ...start };
  const out: OpportunityPage[] = [];
  for await (const page of pages) {
    out.push(page);
    if (page.position) position[page.stream] = page.position;
  }
  return { pages: out, position };
}

describe('Salesforce opportunity feed', () => {
  let h: Harness;
  let sf: SalesforceConnector;
  let position: FeedPosition = {};
  let contactId: string;
  let otherContactId: string;
  let opportunityId: string;

  const poll = () => {
    h.sandbox.clock.advance(2_000);
    return drainOpportunities(sf.opportunities!(position, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 }), position);
  };

  beforeAll(async () => {
    h = await startHarness('sf-opps', 3000, 11);
    sf = h.connector();
    const contacts = h.sandbox.store.list('Contact');
    contactId = contacts[0]!.Id as string;
    otherContactId = contacts[1]!.Id as string;
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('reads every seeded opportunity with its contact role from an empty position', async () => {
    const seeded = h.world.opportunities.filter((o) => o.crm === 'salesforce');
    expect(seeded.length).toBeGreaterThan(0);
    await h.resetStats();
    const read = await poll();
    position = read.position;
    const facts = read.pages.filter((p) => p.stream === 'Opportunity').flatMap((p) => p.opportunities);
    expect(facts).toHaveLength(seeded.length);
    expect(facts.every((f) => f.contacts.length === 1 && f.contacts[0]!.ref.object === 'Contact' && !f.contacts[0]!.removed)).toBe(true);
    expect(facts.filter((f) => f.won)).toHaveLength(seeded.filter((o) => o.outcome === 'won').length);
    for (const f of facts) {
      expect(f.closeDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(f.createdAt).toMatch(/Z$/);
    }
    // Opportunity page + its roles; role page + its opportunities: four queries for a small org.
    const { calls } = await h.stats();
    expect(Object.entries(calls).filter(([k]) => k.includes('/query')).reduce((n, [, c]) => n + c, 0)).toBe(4);
    expect((await poll()).pages).toEqual([]);
  });

  it('hands on a new opportunity with its role, then its stage won, then a role added and one removed', async () => {
    const conn = h.sandbox.store;
    const opp = conn.insert('Opportunity', { Name: 'Feed test', StageName: 'Qualification', IsClosed: false, IsWon: false, CloseDate: Date.parse('2027-01-31T00:00:00Z') });
    opportunityId = opp.Id as string;
    const role = conn.insert('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: contactId, IsPrimary: true });
    let read = await poll();
    position = read.position;
    const opened = read.pages.flatMap((p) => p.opportunities).filter((f) => f.id === opportunityId);
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((f) => !f.closed && f.contacts.some((c) => c.ref.id === contactId))).toBe(true);

    conn.update(opp, { StageName: 'Closed Won', IsClosed: true, IsWon: true });
    read = await poll();
    position = read.position;
    expect(read.pages.flatMap((p) => p.opportunities).map((f) => [f.id, f.won, f.stage])).toEqual([[opportunityId, true, 'Closed Won']]);

    conn.insert('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: otherContactId, IsPrimary: false });
    conn.softDelete(role);
    read = await poll();
    position = read.position;
    const roles = read.pages.filter((p) => p.stream === 'OpportunityContactRole').flatMap((p) => p.opportunities);
    expect(roles).toHaveLength(1);
    expect(roles[0]!.contacts).toEqual(expect.arrayContaining([
      { ref: { object: 'Contact', id: otherContactId }, removed: false },
      { ref: { object: 'Contact', id: contactId }, removed: true },
    ]));
    expect(roles[0]!.won).toBe(true);
  });
});
