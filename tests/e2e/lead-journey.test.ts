/**
 * One lead's journey through the shared rules, on a controllable clock, through both sandboxes:
 * engagement grows until it is an MQL; it is routed to the right owner with a Task; its SLA is
 * breached when the business hours pass, with the flags in both CRMs; then the rep rejects it with
 * a reason, and the marketer sees that on the HubSpot contact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../jobs/context.js';
import { syncOnce } from '../../jobs/run-once.js';
import { evaluateDueSlas } from '../../jobs/sla.js';
import { growToMql, salesforceRecords, startHarness } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';

type TestClock = Clock & { set(ms: number): Promise<void>; advance(ms: number): Promise<void> };

// Monday 23 November 2026, 10:00 in New York.
const START = Date.parse('2026-11-23T15:00:00Z');
const HOUR = 3_600_000;

describe('a lead from first visit to sales feedback', () => {
  let h: Harness;
  let clock: TestClock;
  let contactId: string;
  let pool: string[];

  async function setTime(ms: number): Promise<void> {
    await clock.set(ms);
    h.sandboxes.clock.set(ms);
  }

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }

  beforeAll(async () => {
    // A world to read owners from; the harness below seeds the same world.
    const probe = await startHarness({ people: 60, seed: 33, now: START, label: 'journey-probe' });
    pool = probe.sandboxes.world.owners.slice(0, 2).map((o) => o.salesforceId);
    await probe.close();
    const config = `
sync:
  batchWait: 200ms
  jobLock: 5s
  writeLease: 5s
  searchSafetyMargin: 0s
  create: { salesforce: mql, salesforceAs: lead, hubspot: always }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
routing:
  rules:
    - { when: { field: person.country, in: [US, CA] }, pool: north-america }
  defaultPool: rest-of-world
  pools:
    north-america:
      members: [{ owner: "${pool[0]}", weight: 2 }, { owner: "${pool[1]}", weight: 1 }]
    rest-of-world:
      members: [{ owner: "${pool[1]}" }]
sla:
  firstTouch:
    within: 4h
    calendar: { tz: America/New_York, days: Mon-Fri, hours: "09:00-17:00" }
`;
    h = await startHarness({ people: 60, seed: 33, now: START, label: 'journey', configYaml: config, controllableClock: true });
    clock = h.runtime.ctx.clock as TestClock;
    await setTime(START);
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await sync();
    // A person only marketing knows: in HubSpot, not in Salesforce, not yet qualified.
    const person = h.sandboxes.world.people.find((p) => p.hubspot && !p.salesforce && p.country === 'US' && !/@(gmail|yahoo|hotmail|outlook|icloud|gmx|proton)/.test(p.hubspot.email));
    expect(person, 'the seed has a US person known only to HubSpot').toBeDefined();
    const found = await h.hubspot.crm.contacts.basicApi.getById(person!.hubspot!.email, ['smk_stage'], undefined, undefined, false, 'email');
    contactId = found.id;
    await h.hubspot.crm.contacts.basicApi.update(contactId, { properties: { jobtitle: 'VP of Marketing', numberofemployees: '800' } });
    await sync();
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  it('grows engagement until the lead is an MQL, handed to the right owner with a Task', async () => {
    const stage = await growToMql(h, contactId, sync, { fitSet: true });
    expect(stage).toBe('mql');
    const contact = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_score', 'smk_grade', 'smk_score_reasons', 'smk_handoff_at', 'smk_sla_status', 'smk_sla_due_at', 'hubspot_owner_id', 'email'])).properties;
    expect(Number(contact.smk_score)).toBeGreaterThanOrEqual(60);
    expect(contact.smk_score_reasons).toMatch(/Senior title/);
    expect(contact.smk_sla_status).toBe('running');
    expect(contact.smk_handoff_at).toBeTruthy();

    // Created in Salesforce as a Lead for the first owner of the North America pool, with a Task.
    const records = await salesforceRecords(h.salesforce, ['OwnerId', 'Smk_Stage__c', 'Smk_SLA_Status__c', 'Smk_SLA_Due_At__c', 'Smk_Score__c']);
    const lead = records.find((r) => r.email?.toLowerCase() === contact.email?.toLowerCase());
    expect(lead, 'the MQL was created in Salesforce').toBeDefined();
    // Routed by the rules: a US person goes to the North America pool, and the record is created for that rep.
    const leadId = lead!.leadId!;
    const handoffs = (await h.runtime.ctx.events.read('0', 10_000)).filter((e) => e.type === 'handoff' && e.leadId === leadId);
    expect(handoffs).toHaveLength(1);
    expect(handoffs[0]?.detail).toMatchObject({ via: 'pool', pool: 'north-america' });
    const ownerId = handoffs[0]?.detail.ownerId as string;
    expect(pool).toContain(ownerId);
    expect(lead?.values.OwnerId).toBe(ownerId);
    expect(lead?.values.Smk_Stage__c?.toLowerCase()).toBe('mql');
    expect(Number(lead?.values.Smk_Score__c)).toBe(Number(contact.smk_score));
    expect(Date.parse(lead!.values.Smk_SLA_Due_At__c!)).toBe(Date.parse(contact.smk_sla_due_at!));
    const tasks = await h.salesforce.query<{ Subject: string; Description: string; OwnerId: string }>(`SELECT Subject, Description, OwnerId FROM Task WHERE WhoId = '${lead!.id}'`);
    expect(tasks.records).toHaveLength(1);
    expect(tasks.records[0]?.OwnerId).toBe(ownerId);
    expect(tasks.records[0]?.Description).toMatch(/Senior title/);
    // The HubSpot owner is the same person as the Salesforce owner.
    const owner = h.sandboxes.world.owners.find((o) => o.salesforceId === ownerId);
    expect(contact.hubspot_owner_id).toBe(owner?.hubspotId);
  });

  it('breaches the SLA when four business hours pass untouched, with the flags in both CRMs', async () => {
    const contact = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_sla_due_at'])).properties;
    const due = Date.parse(contact.smk_sla_due_at!);
    // The due time falls within New York business hours, 4 working hours after the handoff.
    const local = new Date(due).toLocaleString('en-US', { timeZone: 'America/New_York', hour: '2-digit', hour12: false, weekday: 'short' });
    expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri),? (09|1[0-7])$/);
    await setTime(due + HOUR);
    expect(await evaluateDueSlas(h.runtime.ctx)).toBeGreaterThanOrEqual(1);
    await sync();
    const after = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_sla_status', 'smk_sla_breached_at', 'email'])).properties;
    expect(after.smk_sla_status).toBe('breached');
    expect(after.smk_sla_breached_at).toBeTruthy();
    const records = await salesforceRecords(h.salesforce, ['Smk_SLA_Status__c', 'Smk_SLA_Breached_At__c']);
    const lead = records.find((r) => r.email?.toLowerCase() === after.email?.toLowerCase());
    expect(lead?.values.Smk_SLA_Status__c?.toLowerCase()).toBe('breached');
    expect(lead?.values.Smk_SLA_Breached_At__c).toBeTruthy();
  });

  it("shows the rep's rejection and its reason on the HubSpot contact", async () => {
    const email = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['email'])).properties.email;
    const records = await salesforceRecords(h.salesforce, ['Smk_Sales_Decision__c']);
    const lead = records.find((r) => r.email?.toLowerCase() === email?.toLowerCase());
    await setTime(Date.parse(new Date(clock.now()).toISOString()) + HOUR);
    await h.salesforce.sobject('Lead').update({ Id: lead!.id, Smk_Sales_Decision__c: 'rejected', Smk_Reject_Reason__c: 'no-budget', Smk_Lead_Quality__c: 2 });
    await sync();
    const contact = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_sales_decision', 'smk_reject_reason', 'smk_lead_quality', 'smk_stage'])).properties;
    expect(contact.smk_sales_decision).toBe('rejected');
    expect(contact.smk_reject_reason).toBe('no-budget');
    expect(contact.smk_lead_quality).toBe('2');
    expect(contact.smk_stage).toBe('recycled');
  });
});
