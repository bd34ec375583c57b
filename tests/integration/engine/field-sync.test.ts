/**
 * Two-way field sync under direction rules (issue 16, items 1-3): a title changed in HubSpot lands
 * on the Salesforce Lead, a phone changed in Salesforce lands on the HubSpot contact, the next
 * quiet pass writes nothing (the read-back echo causes nothing), a direction `hubspot` field
 * overwrites what Salesforce holds, and a value Salesforce refuses becomes a sync error naming the
 * record, the field and the value while the rest of the record is written. Everything is read back
 * through the official clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIngest } from '../../../jobs/ingest.js';
import { syncOnce } from '../../../jobs/run-once.js';
import type { SyncContext } from '../../../jobs/context.js';
import type { StoredLead } from '../../../src/store/leads.js';
import { resetStats, startHarness, stats, writeCalls } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncInPhases } from '../../reliability/helpers/phased-sync.js';
import { resolveSyncFields } from '../../../src/config.js';
import { ENGINE_CONFIG } from './setup.js';

/** Lead status from HubSpot with no translation table: Salesforce's restricted picklist refuses HubSpot's values. */
const CONFIG = `${ENGINE_CONFIG}  fields:\n    leadStatus: { direction: hubspot, values: [] }\n`;

async function allLeads(ctx: SyncContext): Promise<StoredLead[]> {
  const out: StoredLead[] = [];
  for await (const page of ctx.leads.all(500)) out.push(...page);
  return out;
}

describe('field sync between the HubSpot contact and the Salesforce Lead', () => {
  let h: Harness;
  let pairs: Array<{ leadId: string; contact: string; lead: string }>;

  beforeAll(async () => {
    h = await startHarness({ people: 40, seed: 23, label: 'engine-field-sync', configYaml: CONFIG });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    pairs = (await allLeads(h.runtime.ctx))
      .filter((s) => s.lead.links.hubspot && s.lead.links.salesforce?.object === 'Lead')
      .map((s) => ({ leadId: s.lead.id, contact: s.lead.links.hubspot!.id, lead: s.lead.links.salesforce!.id }));
    expect(pairs.length).toBeGreaterThanOrEqual(9);
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  async function sfLead(id: string): Promise<Record<string, unknown>> {
    const res = await h.salesforce.query<Record<string, unknown>>(`SELECT Id, Title, Phone, MobilePhone, Status FROM Lead WHERE Id = '${id}'`);
    return res.records[0]!;
  }

  it('lands a HubSpot title on the Salesforce Lead and a Salesforce phone on the HubSpot contact, then a quiet pass writes nothing', async () => {
    const [first, second] = pairs;
    await h.hubspot.crm.contacts.basicApi.update(first!.contact, { properties: { jobtitle: 'Chief Revenue Officer' } });
    await h.salesforce.sobject('Lead').update({ Id: second!.lead, Phone: '+49 30 1234567' });
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });

    expect((await sfLead(first!.lead)).Title).toBe('Chief Revenue Officer');
    const contact = await h.hubspot.crm.contacts.basicApi.getById(second!.contact, ['phone']);
    expect(contact.properties.phone).toBe('+49 30 1234567');

    // The read-back of those writes, and a pass with nothing changed: no write call in either CRM.
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    await resetStats(h.sandboxes.hubspot.baseUrl);
    await resetStats(h.sandboxes.salesforce.instanceUrl);
    const summary = await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    expect(summary.writes).toEqual({ hubspot: 0, salesforce: 0 });
    expect(writeCalls(await stats(h.sandboxes.hubspot.baseUrl))).toEqual({});
    expect(writeCalls(await stats(h.sandboxes.salesforce.instanceUrl))).toEqual({});
  }, 120_000);

  it('takes the newer change of a two-way field when both CRMs changed it', async () => {
    const pair = pairs[2]!;
    await h.hubspot.crm.contacts.basicApi.update(pair.contact, { properties: { mobilephone: '+1 555 0100' } });
    await new Promise((r) => setTimeout(r, 1100)); // Salesforce stamps whole seconds
    await h.salesforce.sobject('Lead').update({ Id: pair.lead, MobilePhone: '+1 555 0199' });
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    expect((await sfLead(pair.lead)).MobilePhone).toBe('+1 555 0199');
    expect((await h.hubspot.crm.contacts.basicApi.getById(pair.contact, ['mobilephone'])).properties.mobilephone).toBe('+1 555 0199');
  }, 120_000);

  it('never rolls a synced field back for a page retried out of order or delivered twice, and writes nothing for either', async () => {
    const ctx = h.runtime.ctx;
    const pair = pairs[7]!;
    const ref = { object: 'Lead' as const, id: pair.lead };
    const oldReadAt = ctx.clock.now();
    const old = await ctx.connectors.salesforce.read([ref]);
    await new Promise((r) => setTimeout(r, 1100)); // Salesforce stamps whole seconds
    await h.salesforce.sobject('Lead').update({ Id: pair.lead, Phone: '+44 20 7946 0000' });
    await syncOnce(ctx, { timeoutMs: 60_000 });
    expect((await h.hubspot.crm.contacts.basicApi.getById(pair.contact, ['phone'])).properties.phone).toBe('+44 20 7946 0000');
    await syncOnce(ctx, { timeoutMs: 60_000 });

    const newReadAt = ctx.clock.now();
    const fresh = await ctx.connectors.salesforce.read([ref]);
    const retried = await processIngest(ctx, { crm: 'salesforce', readAt: oldReadAt, fragments: old.fragments });
    expect(retried.stale).toBe(1);
    for (let i = 0; i < 2; i += 1) expect((await processIngest(ctx, { crm: 'salesforce', readAt: newReadAt, fragments: fresh.fragments })).changed).toBe(0);
    const summary = await syncOnce(ctx, { timeoutMs: 60_000 });
    expect(summary.writes).toEqual({ hubspot: 0, salesforce: 0 });
    expect((await h.hubspot.crm.contacts.basicApi.getById(pair.contact, ['phone'])).properties.phone).toBe('+44 20 7946 0000');
    expect((await ctx.leads.get(pair.leadId))?.views.salesforce?.fields?.phone).toBe('+44 20 7946 0000');
  }, 120_000);

  it('brings the rep\'s notes (the Lead\'s Description) to the HubSpot contact as smk_sales_notes', async () => {
    const pair = pairs[8]!;
    const notes = 'Spoke to Ana on 3 Dec: budget approved for Q1, wants a demo with their CFO.';
    await h.salesforce.sobject('Lead').update({ Id: pair.lead, Description: notes });
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    expect((await h.hubspot.crm.contacts.basicApi.getById(pair.contact, ['smk_sales_notes'])).properties.smk_sales_notes).toBe(notes);
  }, 120_000);

  it('back-fills a mapping change: a full read of both CRMs, writing only the records that differ', async () => {
    const ctx = h.runtime.ctx as unknown as { syncFields: ReturnType<typeof resolveSyncFields> };
    const before = ctx.syncFields;
    try {
      // Postal codes not synced for a while: three contacts get one in HubSpot only.
      ctx.syncFields = resolveSyncFields({ fields: { leadStatus: { direction: 'hubspot', values: [] }, postalCode: { direction: 'none' } } });
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      const picked = pairs.slice(4, 7);
      for (const [i, pair] of picked.entries()) await h.hubspot.crm.contacts.basicApi.update(pair.contact, { properties: { zip: `1011${i}` } });
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      for (const pair of picked) expect((await h.salesforce.query<{ PostalCode: string | null }>(`SELECT PostalCode FROM Lead WHERE Id = '${pair.lead}'`)).records[0]!.PostalCode ?? '').not.toMatch(/^1011/);

      // The admin turns the field on (HubSpot's value wins): the next pass re-reads and writes those three only.
      ctx.syncFields = resolveSyncFields({ fields: { leadStatus: { direction: 'hubspot', values: [] }, postalCode: { direction: 'hubspot' } } });
      const summary = await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      expect(summary.polls.hubspot.full).toBe(true);
      expect(summary.polls.salesforce.full).toBe(true);
      for (const [i, pair] of picked.entries()) {
        expect((await h.salesforce.query<{ PostalCode: string | null }>(`SELECT PostalCode FROM Lead WHERE Id = '${pair.lead}'`)).records[0]!.PostalCode).toBe(`1011${i}`);
      }
      expect(summary.writes.salesforce).toBe(3);
    } finally {
      ctx.syncFields = before;
    }
  }, 180_000);

  it('reports a value Salesforce refuses, naming record, field and value, and still writes the rest of the record', async () => {
    const pair = pairs[3]!;
    await h.hubspot.crm.contacts.basicApi.update(pair.contact, { properties: { hs_lead_status: 'IN_PROGRESS', jobtitle: 'Head of Demand Generation' } });
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });

    const lead = await sfLead(pair.lead);
    expect(lead.Title).toBe('Head of Demand Generation');
    expect(lead.Status).not.toBe('IN_PROGRESS');
    const errors = (await h.runtime.ctx.errors.list({ limit: 1000 })).errors.filter((e) => e.recordId === pair.lead);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/Lead .*Status.*"IN_PROGRESS"/);
  }, 120_000);
});
