/**
 * Accounts (issue 16, item 5), through both sandboxes and the official clients: the accounts are
 * read incrementally, a lead is matched to its Salesforce Account (with the match and its reason on
 * the lead), the account's owner takes the lead at its handoff ahead of the pool, and the new person
 * is created in Salesforce as a Contact under that Account. An Account's new owner reaches the
 * leads matched to it at the next poll; a rule-free quiet pass writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../../jobs/run-once.js';
import type { SeedPerson } from '../../../connectors/sandbox/seed.js';
import { growToMql, salesforceRecords, startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';

const FREEMAIL = /@(gmail|yahoo|hotmail|outlook|icloud|gmx|proton|aol|me|live|msn)\./;

describe('leads matched to accounts', () => {
  let h: Harness;
  let person: SeedPerson;
  let accountOwner: string;
  let poolOwner: string;
  let contactId: string;
  let salesforceOnly: SeedPerson | undefined;
  let world: Harness['sandboxes']['world'];

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }

  beforeAll(async () => {
    const probe = await startHarness({ people: 60, seed: 33, label: 'accounts-probe' });
    world = probe.sandboxes.world;
    await probe.close();
    // Someone only sales knows, at a company marketing has in HubSpot.
    salesforceOnly = world.people.find((p) => p.salesforce && !p.hubspot && !FREEMAIL.test(p.email) && world.people.some((q) => q.hubspot && q.company === p.company));
    // Someone only marketing knows, at a company sales already has as an Account.
    const found = world.people.find((p) => p.hubspot && !p.salesforce && !FREEMAIL.test(p.hubspot.email) && world.companies[p.company]?.hasAccount);
    expect(found, 'the seed has a HubSpot-only person at a company with a Salesforce Account').toBeDefined();
    person = found as SeedPerson;
    const company = world.companies[person.company];
    accountOwner = world.owners[company?.accountOwner ?? -1]?.salesforceId as string;
    poolOwner = world.owners.find((o) => o.salesforceId !== accountOwner)?.salesforceId as string;
    const config = `
sync:
  batchWait: 200ms
  jobLock: 5s
  writeLease: 5s
  searchSafetyMargin: 0s
  create: { salesforce: mql, salesforceAs: auto, hubspot: always }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
routing:
  defaultPool: everyone
  pools:
    everyone:
      members: [{ owner: "${poolOwner}" }]
`;
    h = await startHarness({ people: 60, seed: 33, label: 'accounts', configYaml: config });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await sync();
    contactId = (await h.hubspot.crm.contacts.basicApi.getById(person.hubspot!.email, [], undefined, undefined, false, 'email')).id;
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  async function storedLead() {
    const leadId = await h.runtime.ctx.leads.linkOf('hubspot', 'contact', contactId);
    expect(leadId).toBeTruthy();
    return (await h.runtime.ctx.leads.get(leadId as string))!;
  }

  it('matches the lead to its Salesforce Account and says why', async () => {
    const { lead } = await storedLead();
    const accounts = await h.salesforce.query<{ Id: string; Name: string; OwnerId: string }>(`SELECT Id, Name, OwnerId FROM Account WHERE OwnerId = '${accountOwner}'`);
    const account = accounts.records.find((a) => a.Name === lead.company.name);
    expect(account, 'the company is an Account in Salesforce').toBeDefined();
    expect(lead.account?.salesforce).toMatchObject({ id: account!.Id, name: account!.Name, ownerId: accountOwner });
    expect(['website', 'email-domain']).toContain(lead.account?.salesforce?.by);
    expect(lead.account?.salesforce?.reason).toContain(`Salesforce Account "${account!.Name}"`);
  });

  it('hands the MQL to the account owner ahead of the pool, created as a Contact under the Account', async () => {
    const stage = await growToMql(h, contactId, sync);
    expect(stage).toBe('mql');
    await sync();
    const { lead } = await storedLead();
    const handoffs = (await h.runtime.ctx.events.read('0', 10_000)).filter((e) => e.type === 'handoff' && e.leadId === lead.id);
    expect(handoffs).toHaveLength(1);
    expect(handoffs[0]?.detail).toMatchObject({ via: 'account', ownerId: accountOwner });
    // The rep's Task says why the lead is theirs.
    const tasks = await h.salesforce.query<{ Description: string; OwnerId: string }>(`SELECT Description, OwnerId FROM Task WHERE OwnerId = '${accountOwner}'`);
    expect(tasks.records.map((t) => t.Description).join('\n')).toContain(`owner of the matching account: ${lead.account?.salesforce?.reason}`);

    const records = await salesforceRecords(h.salesforce, ['OwnerId']);
    const created = records.filter((r) => r.email?.toLowerCase() === person.hubspot!.email.toLowerCase());
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ object: 'Contact', values: { OwnerId: accountOwner } });
    const contact = await h.salesforce.sobject('Contact').retrieve(created[0]!.id);
    expect(contact.AccountId).toBe(lead.account?.salesforce?.id);
    const owner = h.sandboxes.world.owners.find((o) => o.salesforceId === accountOwner);
    expect((await h.hubspot.crm.contacts.basicApi.getById(contactId, ['hubspot_owner_id'])).properties.hubspot_owner_id).toBe(owner?.hubspotId);
  });

  it('creates a person only Salesforce knows in HubSpot with their company as the primary company', async () => {
    expect(salesforceOnly, 'the seed has a Salesforce-only person at a company HubSpot has').toBeDefined();
    const created = await h.hubspot.crm.contacts.basicApi.getById(salesforceOnly!.email, ['associatedcompanyid', 'company'], undefined, undefined, false, 'email');
    const companies = await h.hubspot.crm.companies.basicApi.getPage(100, undefined, ['name', 'domain']);
    const company = companies.results.find((c) => c.properties.domain === world.companies[salesforceOnly!.company]?.domain);
    expect(company, 'the company is in HubSpot').toBeDefined();
    expect(created.properties.associatedcompanyid).toBe(company!.id);
  });

  it('brings an Account\'s new owner to the leads matched to it at the next poll, and a quiet pass after writes nothing', async () => {
    const { lead } = await storedLead();
    const accountId = lead.account?.salesforce?.id as string;
    await h.salesforce.sobject('Account').update({ Id: accountId, OwnerId: poolOwner });
    await sync();
    expect((await storedLead()).lead.account?.salesforce?.ownerId).toBe(poolOwner);
    const summary = await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
    expect(summary.writes).toEqual({ hubspot: 0, salesforce: 0 });
  });
});
