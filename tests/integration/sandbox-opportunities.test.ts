/**
 * The seeded world's opportunities: drawn from the exported ground truth, deterministic, leaving
 * the people a seed makes unchanged, and loaded as Salesforce Opportunities with contact roles
 * (converted leads) and, when the portal uses deals, HubSpot deals associated with their contacts,
 * read back through the official clients.
 */
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { generateWorld, opportunityTruth } from '../../connectors/sandbox/seed.js';
import { officialClients } from '../helpers/sandbox-io.js';

describe('the ground truth', () => {
  const world = generateWorld({ people: 4000, seed: 7, deals: true, now: Date.parse('2026-12-01T00:00:00Z') });

  it('is deterministic, and changes none of the people a seed makes', () => {
    const again = generateWorld({ people: 4000, seed: 7, deals: true, now: Date.parse('2026-12-01T00:00:00Z') });
    expect(again.opportunities).toEqual(world.opportunities);
    const withoutDeals = generateWorld({ people: 4000, seed: 7, now: Date.parse('2026-12-01T00:00:00Z') });
    expect(withoutDeals.people).toEqual(world.people);
    expect(withoutDeals.opportunities.every((o) => o.crm === 'salesforce')).toBe(true);
    expect(withoutDeals.opportunities).toEqual(world.opportunities.filter((o) => o.crm === 'salesforce'));
  });

  it('opens and wins more opportunities for people with more fit and engagement', () => {
    const eligible = world.people.filter((p) => p.salesforce?.converted || (p.hubspot && !p.salesforce));
    const scored = eligible.map((p) => ({ p, truth: opportunityTruth(p, world.companies[p.company], world.now) }));
    scored.sort((a, b) => a.truth.open - b.truth.open);
    const half = Math.floor(scored.length / 2);
    const opened = new Set(world.opportunities.map((o) => o.person));
    const rate = (list: typeof scored) => list.filter((s) => opened.has(s.p.index)).length / list.length;
    expect(rate(scored.slice(half))).toBeGreaterThan(rate(scored.slice(0, half)) * 1.5);
    const closed = world.opportunities.filter((o) => o.outcome !== 'open');
    const winRate = (list: typeof closed) => list.filter((o) => o.outcome === 'won').length / Math.max(1, list.length);
    const winChance = (o: (typeof closed)[number]) => { const p = world.people[o.person]!; return opportunityTruth(p, world.companies[p.company], world.now).win; };
    closed.sort((a, b) => winChance(a) - winChance(b));
    const mid = Math.floor(closed.length / 2);
    expect(winRate(closed.slice(mid))).toBeGreaterThan(winRate(closed.slice(0, mid)));
    for (const o of world.opportunities) {
      expect(o.amount).toBeGreaterThan(0);
      expect(o.outcome === 'open').toBe(o.closeDate > world.now);
    }
  });
});

describe('the sandboxes load them', () => {
  let sandboxes: Sandboxes;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 3000, seed: 11, deals: true, hubspotPerTenSeconds: 0 });
  }, 60_000);
  afterAll(async () => {
    await sandboxes?.close();
  });

  it('as Salesforce Opportunities with their Contact as primary contact role', async () => {
    const { salesforce } = officialClients(sandboxes);
    const expected = sandboxes.world.opportunities.filter((o) => o.crm === 'salesforce');
    expect(expected.length).toBeGreaterThan(5);
    const opportunities = await salesforce.query<{ Id: string; StageName: string; IsWon: boolean; IsClosed: boolean; Amount: number }>('SELECT Id, StageName, IsWon, IsClosed, Amount FROM Opportunity', { autoFetch: true });
    expect(opportunities.records).toHaveLength(expected.length);
    expect(opportunities.records.filter((o) => o.IsWon)).toHaveLength(expected.filter((o) => o.outcome === 'won').length);
    expect(opportunities.records.filter((o) => o.IsClosed && !o.IsWon)).toHaveLength(expected.filter((o) => o.outcome === 'lost').length);
    const roles = await salesforce.query<{ ContactId: string; IsPrimary: boolean }>('SELECT OpportunityId, ContactId, IsPrimary FROM OpportunityContactRole', { autoFetch: true });
    expect(roles.records).toHaveLength(expected.length);
    expect(roles.records.every((r) => r.IsPrimary && r.ContactId.startsWith('003'))).toBe(true);
  });

  it('as HubSpot deals associated with their contact, when the portal uses deals', async () => {
    const hubspot = new Client({ accessToken: sandboxes.connection.hubspot.accessToken, basePath: sandboxes.connection.hubspot.baseUrl });
    const expected = sandboxes.world.opportunities.filter((o) => o.crm === 'hubspot');
    expect(expected.length).toBeGreaterThan(5);
    const deals = await hubspot.crm.deals.getAll(100, undefined, ['dealstage', 'hs_is_closed_won', 'amount']);
    expect(deals).toHaveLength(expected.length);
    expect(deals.filter((d) => d.properties.hs_is_closed_won === 'true')).toHaveLength(expected.filter((o) => o.outcome === 'won').length);
    const first = deals[0]!;
    const contacts = await hubspot.crm.associations.v4.basicApi.getPage('deals', first.id, 'contacts');
    expect(contacts.results).toHaveLength(1);
    const contact = await hubspot.crm.contacts.basicApi.getById(contacts.results[0]!.toObjectId, ['email']);
    const person = sandboxes.world.people.find((p) => p.email === contact.properties.email);
    expect(expected.some((o) => o.person === person?.index)).toBe(true);
  });
});
