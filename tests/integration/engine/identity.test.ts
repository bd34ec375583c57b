/**
 * Identity under any read order: a Lead converted after it was linked, read Contact-first or
 * Lead-first or in parallel pages; a HubSpot merge of two contacts that each had a Salesforce
 * twin; an email changed onto another lead's email. Through the real jobs, Redis and sandboxes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncContext } from '../../../jobs/context.js';
import { processEvaluate } from '../../../jobs/evaluate.js';
import { processIngest } from '../../../jobs/ingest.js';
import { processPoll } from '../../../jobs/poll.js';
import type { StoredLead } from '../../../src/store/leads.js';
import { sandboxControl } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';


async function allLeads(ctx: SyncContext): Promise<StoredLead[]> {
  const out: StoredLead[] = [];
  for await (const page of ctx.leads.all(500)) out.push(...page);
  return out;
}

async function errorsFor(ctx: SyncContext, code: string): Promise<Array<{ recordId: string | null; message: string }>> {
  return (await ctx.errors.list({ code, limit: 1000 })).errors;
}

describe('identity in any read order', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await syncedHarness({ people: 80, seed: 17, label: 'engine-identity' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  /** Linked, unconverted Salesforce Leads, converted now in the sandbox as a rep would. */
  async function convertLinkedLeads(count: number): Promise<Array<{ leadId: string; leadRecord: string; contact: string }>> {
    const ctx = h.runtime.ctx;
    const leads = (await allLeads(ctx)).filter((s) => s.lead.links.salesforce?.object === 'Lead' && s.lead.email);
    const picked = leads.slice(0, count);
    expect(picked.length).toBe(count);
    const out = [];
    for (const s of picked) {
      const leadRecord = s.lead.links.salesforce!.id;
      const converted = (await sandboxControl(h.sandboxes.salesforce.instanceUrl, '/activity', { kind: 'convert', id: leadRecord })) as { contactId?: string };
      const row = await h.salesforce.query<{ ConvertedContactId: string }>(`SELECT ConvertedContactId FROM Lead WHERE Id = '${leadRecord}'`);
      const contact = converted.contactId ?? row.records[0]!.ConvertedContactId;
      expect(contact).toBeTruthy();
      out.push({ leadId: s.lead.id, leadRecord, contact });
    }
    return out;
  }

  async function expectOneConvertedLead(pair: { leadId: string; leadRecord: string; contact: string }): Promise<void> {
    const ctx = h.runtime.ctx;
    expect(await ctx.leads.linkOf('salesforce', 'Contact', pair.contact)).toBe(pair.leadId);
    const stored = await ctx.leads.get(pair.leadId);
    expect(stored?.lead.links.salesforce).toMatchObject({ object: 'Contact', id: pair.contact, convertedFrom: pair.leadRecord });
    const linked = (await allLeads(ctx)).filter((s) => s.lead.links.salesforce?.id === pair.contact);
    expect(linked.map((s) => s.lead.id)).toEqual([pair.leadId]);
    await processEvaluate(ctx, pair.leadId);
    expect((await ctx.leads.get(pair.leadId))?.lead.stage?.current).toBe('sql');
    expect((await errorsFor(ctx, 'AMBIGUOUS_MATCH')).filter((e) => e.recordId === pair.contact)).toEqual([]);
  }

  it('links a converted Lead\'s Contact to the same lead whichever is read first, or both at once', async () => {
    const ctx = h.runtime.ctx;
    const [contactFirst, leadFirst, together] = await convertLinkedLeads(3);
    const read = (ref: { object: 'Lead' | 'Contact'; id: string }) => processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: [ref] });

    await read({ object: 'Contact', id: contactFirst!.contact });
    await read({ object: 'Lead', id: contactFirst!.leadRecord });
    await expectOneConvertedLead(contactFirst!);

    await read({ object: 'Lead', id: leadFirst!.leadRecord });
    await read({ object: 'Contact', id: leadFirst!.contact });
    await expectOneConvertedLead(leadFirst!);

    await Promise.all([read({ object: 'Contact', id: together!.contact }), read({ object: 'Lead', id: together!.leadRecord })]);
    await expectOneConvertedLead(together!);
  }, 60_000);

  it('settles a HubSpot merge of two contacts that each had a Salesforce twin by the rule, and reports the other twin', async () => {
    const ctx = h.runtime.ctx;
    const twins = (await allLeads(ctx)).filter((s) => s.lead.links.hubspot && s.lead.links.salesforce);
    const survivor = twins[0]!;
    const merged = twins[1]!;
    const survivorContact = survivor.lead.links.hubspot!.id;
    const mergedContact = merged.lead.links.hubspot!.id;
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/merge', { primaryId: survivorContact, mergedId: mergedContact });
    await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), refs: [{ object: 'contact', id: mergedContact }, { object: 'contact', id: survivorContact }] });
    await processPoll(ctx, 'hubspot');

    // One lead on the surviving contact, with its own Salesforce twin.
    const onSurvivor = (await allLeads(ctx)).filter((s) => s.lead.links.hubspot?.id === survivorContact || s.lead.links.hubspot?.id === mergedContact);
    expect(onSurvivor.map((s) => s.lead.id)).toEqual([survivor.lead.id]);
    expect(onSurvivor[0]?.lead.links.salesforce?.id).toBe(survivor.lead.links.salesforce!.id);
    expect(await ctx.leads.linkOf('hubspot', 'contact', mergedContact)).toBeNull();
    // The other twin is reported, naming both Salesforce records.
    const conflicts = (await errorsFor(ctx, 'MERGE_CONFLICT')).filter((e) => e.recordId === merged.lead.links.salesforce!.id);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.message).toContain(survivor.lead.links.salesforce!.id);
    // And that twin is not created again in HubSpot for its lead.
    expect(await ctx.redis.exists(ctx.keys.created('hubspot', merged.lead.id))).toBe(1);
  }, 60_000);

  it('moves a merged contact\'s Salesforce twin to the survivor that had none', async () => {
    const ctx = h.runtime.ctx;
    const leads = await allLeads(ctx);
    const lonely = leads.find((s) => s.lead.links.hubspot && !s.lead.links.salesforce);
    const twinned = leads.find((s) => s.lead.links.hubspot && s.lead.links.salesforce && s.lead.id !== lonely?.lead.id);
    expect(lonely && twinned).toBeTruthy();
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/merge', { primaryId: lonely!.lead.links.hubspot!.id, mergedId: twinned!.lead.links.hubspot!.id });
    await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), refs: [{ object: 'contact', id: twinned!.lead.links.hubspot!.id }] });
    const after = await ctx.leads.get(lonely!.lead.id);
    expect(after?.lead.links.salesforce?.id).toBe(twinned!.lead.links.salesforce!.id);
    expect(await ctx.leads.get(twinned!.lead.id)).toBeNull();
    expect(await ctx.leads.linkOf('salesforce', twinned!.lead.links.salesforce!.object, twinned!.lead.links.salesforce!.id)).toBe(lonely!.lead.id);
  }, 60_000);

  it('reports an email changed onto another lead\'s email as a conflict naming both records', async () => {
    const ctx = h.runtime.ctx;
    const leads = await allLeads(ctx);
    const open = new Set((await h.salesforce.query<{ Id: string }>('SELECT Id FROM Lead WHERE IsConverted = false')).records.map((r) => r.Id));
    const salesforceOnly = leads.find((s) => !s.lead.links.hubspot && s.lead.links.salesforce?.object === 'Lead' && open.has(s.lead.links.salesforce.id) && s.lead.email);
    const other = leads.find((s) => s.lead.links.hubspot && s.lead.email && s.lead.id !== salesforceOnly?.lead.id);
    expect(salesforceOnly && other).toBeTruthy();
    const record = salesforceOnly!.lead.links.salesforce!;
    await h.salesforce.sobject('Lead').update({ Id: record.id, Email: other!.lead.email! });
    const result = await processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: [{ object: 'Lead', id: record.id }] });
    expect(result.problems).toBe(1);
    const conflicts = (await errorsFor(ctx, 'EMAIL_CONFLICT')).filter((e) => e.recordId === record.id);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.message).toContain(other!.lead.id);
    expect(conflicts[0]!.message).toContain(other!.lead.links.hubspot!.id);
    // The email stays with the lead that had it.
    expect(await ctx.leads.leadByEmail(other!.lead.email!)).toBe(other!.lead.id);
  }, 60_000);
});
