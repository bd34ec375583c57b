/**
 * The seeded portal's companies through the official client: one company per world company with
 * HubSpot contacts, with its owner and firmographics, every such contact associated with it as its
 * primary company and holding `associatedcompanyid`, with or without deals, at the same ids.
 */
import type { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { officialClient, raw } from './helpers.js';

const world = generateWorld({ people: 400, seed: 5, now: Date.parse('2026-11-30T12:00:00Z') });
let sandbox: HubSpotSandbox;
let client: Client;

const COMPANY_PROPERTIES = ['name', 'domain', 'industry', 'hubspot_owner_id', 'createdate', 'hs_lastmodifieddate', 'numberofemployees', 'city', 'country'];

async function allCompanies(c: Client, archived = false) {
  const out = [];
  let after: string | undefined;
  do {
    const page = await c.crm.companies.basicApi.getPage(100, after, COMPANY_PROPERTIES, undefined, undefined, archived);
    out.push(...page.results);
    after = page.paging?.next?.after;
  } while (after);
  return out;
}

async function allContacts(c: Client) {
  const out = [];
  let after: string | undefined;
  do {
    const page = await c.crm.contacts.basicApi.getPage(100, after, ['email', 'associatedcompanyid']);
    out.push(...page.results);
    after = page.paging?.next?.after;
  } while (after);
  return out;
}

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world, rateLimits: { searchPerSecond: 0, perTenSeconds: 0 } });
  client = officialClient(sandbox);
});
afterAll(async () => {
  await sandbox.close();
});

describe('seeded companies', () => {
  it('holds one company per world company with HubSpot contacts, owned by the account owner where sales works it', async () => {
    const withContacts = world.companies.filter((c) => world.people.some((p) => p.company === c.index && p.hubspot));
    expect(withContacts.length).toBeGreaterThan(10);
    const companies = await allCompanies(client);
    expect(companies).toHaveLength(withContacts.length);
    for (const c of withContacts) {
      // Ids follow the world's company index (two world companies may share a name and domain).
      const company = companies.find((x) => x.id === String(5_000_001 + c.index));
      expect(company, c.name).toBeDefined();
      // Owned by the account owner where sales works the company (an Account in Salesforce), else by nobody.
      expect(company!.properties.hubspot_owner_id ?? null).toBe(c.hasAccount ? world.owners[c.accountOwner]!.hubspotId : null);
      expect(company!.properties).toMatchObject({
        domain: c.domain,
        name: c.name,
        industry: c.industry,
        numberofemployees: String(c.employees),
        city: c.city,
        country: c.country,
      });
      expect(Date.parse(company!.properties.hs_lastmodifieddate!)).toBeGreaterThanOrEqual(Date.parse(company!.properties.createdate!));
      expect(Date.parse(company!.properties.hs_lastmodifieddate!)).toBeLessThanOrEqual(world.now);
    }
    expect(await allCompanies(client, true)).toEqual([]);
  });

  it('associates every contact with its company as primary, and says so in associatedcompanyid', async () => {
    const contacts = await allContacts(client);
    const byEmail = new Map(world.people.filter((p) => p.hubspot).map((p) => [p.hubspot!.email.toLowerCase(), p]));
    for (const contact of contacts.slice(0, 60)) {
      const person = byEmail.get(String(contact.properties.email).toLowerCase())!;
      const companyId = String(5_000_001 + person.company);
      expect(contact.properties.associatedcompanyid).toBe(companyId);
      const links = await client.crm.associations.v4.basicApi.getPage('contacts', contact.id, 'companies');
      expect(links.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)])).toEqual([[companyId, [1]]]);
    }
    expect(contacts.every((c) => /^\d+$/.test(String(c.properties.associatedcompanyid)))).toBe(true);
    const first = contacts[0]!;
    const back = await client.crm.associations.v4.basicApi.getPage('companies', first.properties.associatedcompanyid!, 'contacts', undefined, 500);
    expect(back.results.find((r) => String(r.toObjectId) === first.id)?.associationTypes.map((t) => t.typeId)).toEqual([2]);
  });

  it('defines associatedcompanyid as a read-only contact property that a write cannot set', async () => {
    const property = await client.crm.properties.coreApi.getByName('contacts', 'associatedcompanyid');
    expect(property).toMatchObject({ name: 'associatedcompanyid', type: 'number', modificationMetadata: { readOnlyValue: true } });
    const contact = (await allContacts(client))[0]!;
    const refused = await raw(sandbox, 'PATCH', `/crm/v3/objects/contacts/${contact.id}`, { properties: { associatedcompanyid: '5000002' } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('READ_ONLY_VALUE');
  });

  it('moves associatedcompanyid with the primary association: a new primary demotes the old one, removing it clears it', async () => {
    const contact = (await allContacts(client))[3]!;
    const former = contact.properties.associatedcompanyid!;
    const created = await client.crm.companies.basicApi.create({ properties: { name: 'New Employer Ltd', domain: 'new-employer.example' }, associations: [] });
    const before = await client.crm.contacts.basicApi.getById(contact.id, ['lastmodifieddate']);
    sandbox.clock.advance(1_000);
    await client.crm.associations.v4.basicApi.create('contacts', contact.id, 'companies', created.id, [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 1 }]);
    const after = await client.crm.contacts.basicApi.getById(contact.id, ['associatedcompanyid', 'lastmodifieddate']);
    expect(after.properties.associatedcompanyid).toBe(created.id);
    expect(Date.parse(after.properties.lastmodifieddate!)).toBeGreaterThan(Date.parse(before.properties.lastmodifieddate!));
    const links = await client.crm.associations.v4.basicApi.getPage('contacts', contact.id, 'companies');
    expect(links.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)])).toEqual([[former, [279]], [created.id, [1]]]);
    const inverse = await client.crm.associations.v4.basicApi.getPage('companies', former, 'contacts', undefined, 500);
    expect(inverse.results.find((r) => String(r.toObjectId) === contact.id)?.associationTypes.map((t) => t.typeId)).toEqual([280]);

    await client.crm.associations.v4.basicApi.archive('contacts', contact.id, 'companies', created.id);
    const cleared = await client.crm.contacts.basicApi.getById(contact.id, ['associatedcompanyid']);
    expect(cleared.properties.associatedcompanyid ?? null).toBeNull();
  });

  it('creates contacts in a batch with their primary company, and refuses an association to a company that does not exist', async () => {
    const company = (await allCompanies(client))[0]!;
    const primary = [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 1 }];
    const made = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'batch.with.company@example.org' }, associations: [{ to: { id: company.id }, types: primary }], objectWriteTraceId: 'a' },
        { properties: { email: 'batch.without@example.org' }, associations: [{ to: { id: '5999999' }, types: primary }], objectWriteTraceId: 'b' },
      ],
    });
    expect(made.results).toHaveLength(1);
    const id = made.results[0]!.id;
    expect((await client.crm.contacts.basicApi.getById(id, ['associatedcompanyid'])).properties.associatedcompanyid).toBe(company.id);
    const links = await client.crm.associations.v4.basicApi.getPage('contacts', id, 'companies');
    expect(links.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)])).toEqual([[company.id, [1]]]);
    const errors = (made as unknown as { errors?: Array<{ category: string; message: string }> }).errors ?? [];
    expect(errors.map((e) => e.category)).toEqual(['VALIDATION_ERROR']);
    expect(errors[0]?.message).toMatch(/5999999/);
  });

  it('keeps the same companies at the same ids when the portal uses deals', async () => {
    const withDeals = await startHubSpotSandbox({ world: { ...world, ...generateWorld({ people: 400, seed: 5, now: world.now, deals: true }) } });
    try {
      const again = await allCompanies(officialClient(withDeals));
      // The seeded ones (a test above made one more through the API).
      const before = (await allCompanies(client)).filter((c) => Number(c.id) < 5_000_001 + world.companies.length);
      expect(again.map((c) => [c.id, c.properties.domain, c.properties.hubspot_owner_id])).toEqual(before.map((c) => [c.id, c.properties.domain, c.properties.hubspot_owner_id]));
    } finally {
      await withDeals.close();
    }
  });
});
