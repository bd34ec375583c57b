/**
 * Opportunities to revenue, end to end: both sandboxes, a real Redis, the official clients. A rep
 * opens an Opportunity in Salesforce with a person on it as a contact role, then wins it: the
 * person's stage moves to opportunity, then customer, in both CRMs (HubSpot `lifecyclestage` and
 * `smk_stage`, Salesforce `Smk_Stage__c`), read back through the clients. A lost one recycles
 * (the default `stages.opportunityLost`). An old page of the opportunity feed applied again after a
 * newer one changes nothing, and a quiet pass writes nothing. With `sync.deals` on, a HubSpot deal
 * won for a contact does the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpportunityPage } from '../../connectors/types.js';
import { applyOpportunityPage } from '../../jobs/opportunities.js';
import { syncOnce } from '../../jobs/run-once.js';
import { fastSyncConfig, resetStats, startHarness, stats, writeCalls } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';

const CONFIG = fastSyncConfig('deals: true');

interface Person {
  hubspotId: string;
  contactId: string;
  accountId: string | null;
  email: string;
}

describe('opportunities move people to customer in both CRMs', () => {
  let h: Harness;
  const people: Person[] = [];

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }

  async function hubspotStage(id: string): Promise<{ lifecyclestage: string | null; smk_stage: string | null }> {
    const c = await h.hubspot.crm.contacts.basicApi.getById(id, ['lifecyclestage', 'smk_stage']);
    return { lifecyclestage: c.properties.lifecyclestage ?? null, smk_stage: c.properties.smk_stage ?? null };
  }

  async function salesforceStage(contactId: string): Promise<string | null> {
    const rows = await h.salesforce.query<{ Smk_Stage__c: string | null }>(`SELECT Smk_Stage__c FROM Contact WHERE Id = '${contactId}'`);
    return rows.records[0]?.Smk_Stage__c ?? null;
  }

  async function openOpportunity(person: Person, name: string): Promise<string> {
    const created = await h.salesforce.sobject('Opportunity').create({ Name: name, StageName: 'Qualification', CloseDate: '2026-12-31', Amount: 48_000, ...(person.accountId ? { AccountId: person.accountId } : {}) });
    if (!created.success) throw new Error(`Opportunity not created: ${JSON.stringify(created)}`);
    const role = await h.salesforce.sobject('OpportunityContactRole').create({ OpportunityId: created.id, ContactId: person.contactId, Role: 'Decision Maker', IsPrimary: true });
    if (!role.success) throw new Error(`contact role not created: ${JSON.stringify(role)}`);
    return created.id;
  }

  beforeAll(async () => {
    h = await startHarness({ people: 120, seed: 41, configYaml: CONFIG, label: 'opportunities' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await sync();
    // People both CRMs know, held as Contacts in Salesforce (where Opportunities hang).
    const candidates = h.sandboxes.world.people.filter((p) => p.hubspot && p.salesforce?.object === 'Contact' && p.salesforce.email === p.email);
    for (const p of candidates.slice(0, 3)) {
      const rows = await h.salesforce.query<{ Id: string; AccountId: string | null }>(`SELECT Id, AccountId FROM Contact WHERE Email = '${p.email}'`);
      const found = await h.hubspot.crm.contacts.basicApi.getById(p.email, ['email'], undefined, undefined, false, 'email');
      const row = rows.records[0];
      if (row) people.push({ hubspotId: found.id, contactId: row.Id, accountId: row.AccountId, email: p.email });
    }
    expect(people).toHaveLength(3);
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  it('moves a person to opportunity when an Opportunity names them, then to customer when it is won', async () => {
    const person = people[0] as Person;
    const opportunityId = await openOpportunity(person, 'Acme expansion');
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('opportunity');
    expect(await hubspotStage(person.hubspotId)).toEqual({ lifecyclestage: 'opportunity', smk_stage: 'opportunity' });

    const won = await h.salesforce.sobject('Opportunity').update({ Id: opportunityId, StageName: 'Closed Won' });
    expect(won.success).toBe(true);
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('customer');
    expect(await hubspotStage(person.hubspotId)).toEqual({ lifecyclestage: 'customer', smk_stage: 'customer' });
    // The outcome and amount are on the lead, for the funnel and revenue reports.
    const leadId = await h.runtime.ctx.leads.linkOf('salesforce', 'Contact', person.contactId);
    const stored = await h.runtime.ctx.leads.get(leadId as string);
    expect(stored?.lead.sales).toMatchObject({ opportunityId, opportunityStage: 'Closed Won', opportunityWon: true, opportunityAmount: 48_000, opportunityCloseDate: '2026-12-31' });
  });

  it('recycles a person whose opportunity is lost', async () => {
    const person = people[1] as Person;
    const opportunityId = await openOpportunity(person, 'Globex pilot');
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('opportunity');
    await h.salesforce.sobject('Opportunity').update({ Id: opportunityId, StageName: 'Closed Lost' });
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('recycled');
    expect((await hubspotStage(person.hubspotId)).smk_stage).toBe('recycled');
  });

  it('keeps the newer outcome when an older page of the feed is applied again, and a quiet pass writes nothing', async () => {
    const person = people[2] as Person;
    const opportunityId = await openOpportunity(person, 'Initech renewal');
    // The feed's page as read while the opportunity was open: kept, to be applied again late.
    const old: OpportunityPage[] = [];
    // A retried page keeps the time it was read: Salesforce stamps whole seconds, so on a shared
    // stamp the later read is the newer one.
    const readAt = h.runtime.ctx.clock.now();
    const connector = h.runtime.ctx.connectors.salesforce;
    for await (const page of connector.opportunities!({}, {})) old.push(page);
    expect(old.flatMap((p) => p.opportunities).some((o) => o.id === opportunityId)).toBe(true);
    await h.salesforce.sobject('Opportunity').update({ Id: opportunityId, StageName: 'Closed Won' });
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('customer');

    await Promise.all([resetStats(h.sandboxes.hubspot.baseUrl), resetStats(h.sandboxes.salesforce.instanceUrl)]);
    let changed = 0;
    for (const page of old) changed += (await applyOpportunityPage(h.runtime.ctx, 'salesforce', page, readAt)).changed;
    expect(changed).toBe(0);
    await sync();
    expect(await salesforceStage(person.contactId)).toBe('customer');
    expect((await hubspotStage(person.hubspotId)).lifecyclestage).toBe('customer');
    expect(writeCalls(await stats(h.sandboxes.hubspot.baseUrl))).toEqual({});
    expect(writeCalls(await stats(h.sandboxes.salesforce.instanceUrl))).toEqual({});
  });

  it('carries an opportunity read before its new Contact was linked, once the Contact is', async () => {
    const email = 'new.buyer@initech.example';
    const contact = await h.salesforce.sobject('Contact').create({ LastName: 'Buyer', FirstName: 'New', Email: email });
    if (!contact.success) throw new Error('Contact not created');
    await openOpportunity({ hubspotId: '', contactId: contact.id, accountId: null, email }, 'Initech new logo');
    // The opportunity feed read before the Contact's own page was ingested (its page can wait in the
    // ingest queue while the feed is read): the reading is kept for the Contact...
    const ctx = h.runtime.ctx;
    let parked = 0;
    for await (const page of ctx.connectors.salesforce.opportunities!(await ctx.cursors.get('salesforce'), {})) {
      parked += (await applyOpportunityPage(ctx, 'salesforce', page, ctx.clock.now())).parked;
    }
    expect(parked).toBeGreaterThan(0);
    expect(await ctx.leads.linkOf('salesforce', 'Contact', contact.id)).toBeNull();
    // ...and applied when ingest links it.
    await sync();
    expect(await salesforceStage(contact.id)).toBe('opportunity');
    const leadId = await h.runtime.ctx.leads.linkOf('salesforce', 'Contact', contact.id);
    const stored = await h.runtime.ctx.leads.get(leadId as string);
    expect(stored?.lead.sales.opportunityStage).toBe('Qualification');
    const hubspotId = stored?.lead.links.hubspot?.id;
    expect(hubspotId, 'the person was created in HubSpot').toBeDefined();
    expect((await hubspotStage(hubspotId as string)).smk_stage).toBe('opportunity');
  });

  it('moves a HubSpot contact to customer when a deal associated with it is won', async () => {
    const p = h.sandboxes.world.people.find((x) => x.hubspot && !x.salesforce);
    expect(p).toBeDefined();
    const contact = await h.hubspot.crm.contacts.basicApi.getById(p!.email, ['email'], undefined, undefined, false, 'email');
    // HUBSPOT_DEFINED association type 3: deal to contact (v4 associations).
    const deal = await h.hubspot.crm.deals.basicApi.create({
      properties: { dealname: 'Hooli seats', pipeline: 'default', dealstage: 'qualifiedtobuy', amount: '12000', closedate: '2026-12-20T00:00:00.000Z' },
      associations: [{ to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 3 }] }],
    });
    await sync();
    expect((await hubspotStage(contact.id)).smk_stage).toBe('opportunity');
    await h.hubspot.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'closedwon' } });
    await sync();
    expect(await hubspotStage(contact.id)).toEqual({ lifecyclestage: 'customer', smk_stage: 'customer' });
    const leadId = await h.runtime.ctx.leads.linkOf('hubspot', 'contact', contact.id);
    const stored = await h.runtime.ctx.leads.get(leadId as string);
    expect(stored?.lead.sales).toMatchObject({ opportunityId: deal.id, opportunityWon: true, opportunityAmount: 12_000, opportunityCloseDate: '2026-12-20' });
  });

  it('takes a deal off a contact whose association was removed', async () => {
    const p = h.sandboxes.world.people.filter((x) => x.hubspot && !x.salesforce)[1];
    const contact = await h.hubspot.crm.contacts.basicApi.getById(p!.email, ['email'], undefined, undefined, false, 'email');
    const deal = await h.hubspot.crm.deals.basicApi.create({
      properties: { dealname: 'Pied Piper pilot', pipeline: 'default', dealstage: 'appointmentscheduled', amount: '5000' },
      associations: [{ to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 3 }] }],
    });
    await sync();
    const leadId = await h.runtime.ctx.leads.linkOf('hubspot', 'contact', contact.id);
    expect((await h.runtime.ctx.leads.get(leadId as string))?.lead.sales.opportunityId).toBe(deal.id);
    await new Promise((r) => setTimeout(r, 5));
    await h.hubspot.crm.associations.v4.basicApi.archive('deals', deal.id, 'contacts', contact.id);
    await sync();
    expect((await h.runtime.ctx.leads.get(leadId as string))?.lead.sales.opportunityId).toBeUndefined();
  });
});
