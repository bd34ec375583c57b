/**
 * The sync pipeline end to end (run on a single Redis by pipeline.test.ts, on a Redis Cluster by
 * pipeline-cluster.test.ts): both sandboxes, a real Redis, the official clients. What a RevOps
 * admin would check: the same score in both CRMs, a quiet second sync, changes from either side
 * reaching both, and one bad record that neither blocks the others nor disappears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWebhookEvents, propertyChangesOnly } from '../../connectors/hubspot/webhooks.js';
import { processIngest } from '../../jobs/ingest.js';
import { syncOnce } from '../../jobs/run-once.js';
import { fastSyncConfig, hubspotContacts, resetStats, salesforceRecords, sandboxControl, startHarness, stats, writeCalls } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';

const CONFIG = fastSyncConfig();

/** Where the suite keeps its state: the run's Redis, or one it starts (and stops) itself. */
export interface PipelineRedis {
  name: string;
  start?: () => Promise<{ url: string; stop(): Promise<void> }>;
}

export function describePipeline(target: PipelineRedis): void {
  describe(`the sync pipeline against both sandboxes, on ${target.name}`, () => {
    let h: Harness;
    let own: { url: string; stop(): Promise<void> } | undefined;

    beforeAll(async () => {
      own = await target.start?.();
      h = await startHarness({ people: 240, seed: 21, configYaml: CONFIG, label: 'pipeline', ...(own ? { redisUrl: own.url } : {}) });
      for (const crm of ['hubspot', 'salesforce'] as const) {
        const report = await h.runtime.ctx.connectors[crm].ensureSchema();
        expect(report.problems).toEqual([]);
      }
      await syncOnce(h.runtime.ctx, { timeoutMs: 120_000 });
    }, 180_000);

    afterAll(async () => {
      await h?.close();
      await own?.stop();
    });

    it('gives every person known to both CRMs the same score, grade and stage in both', async () => {
      const contacts = await hubspotContacts(h.hubspot, ['smk_score', 'smk_grade', 'smk_stage']);
      const records = await salesforceRecords(h.salesforce, ['Smk_Score__c', 'Smk_Grade__c', 'Smk_Stage__c']);
      const byLead = new Map(contacts.filter((c) => c.leadId).map((c) => [c.leadId as string, c]));
      // A second Salesforce Lead with the same email (the seed holds a few) is reported, not guessed.
      const { errors } = await h.runtime.ctx.errors.list({ limit: 1000 });
      const ambiguous = new Set(errors.filter((e) => e.code === 'AMBIGUOUS_MATCH').map((e) => e.recordId));
      expect(errors.filter((e) => e.code !== 'AMBIGUOUS_MATCH')).toEqual([]);
      let compared = 0;
      for (const r of records) {
        if (ambiguous.has(r.id)) continue;
        expect(r.leadId, `Salesforce ${r.object} ${r.id} has no lead id`).toBeTruthy();
        const c = byLead.get(r.leadId as string);
        expect(c, `lead ${r.leadId} of Salesforce ${r.id} has no HubSpot contact`).toBeDefined();
        if (!c) continue;
        expect(Number(r.values.Smk_Score__c)).toBe(Number(c.values.smk_score));
        expect(String(r.values.Smk_Grade__c).toLowerCase()).toBe(c.values.smk_grade);
        expect(String(r.values.Smk_Stage__c).toLowerCase()).toBe(c.values.smk_stage);
        compared += 1;
      }
      expect(compared).toBeGreaterThan(150);
      // Every HubSpot contact is scored, including those Salesforce does not know.
      expect(contacts.every((c) => c.values.smk_score !== null && c.values.smk_score !== '')).toBe(true);
    });

    it('makes zero write calls on a second sync with no outside change', async () => {
      await Promise.all([resetStats(h.sandboxes.hubspot.baseUrl), resetStats(h.sandboxes.salesforce.instanceUrl)]);
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      expect(writeCalls(await stats(h.sandboxes.hubspot.baseUrl))).toEqual({});
      expect(writeCalls(await stats(h.sandboxes.salesforce.instanceUrl))).toEqual({});
    });

    it('carries a change made in HubSpot through the official client into both CRMs', async () => {
      const records = await salesforceRecords(h.salesforce, ['Smk_Score__c', 'Title']);
      const target = records.find((r) => r.object === 'Lead' && r.email && !/vp|chief|head|director|founder|ceo|cto/i.test(r.values.Title ?? ''));
      expect(target).toBeDefined();
      const contacts = await hubspotContacts(h.hubspot, ['smk_score', 'jobtitle']);
      const contact = contacts.find((c) => c.leadId === target?.leadId);
      expect(contact).toBeDefined();
      const before = Number(contact?.values.smk_score);
      await h.hubspot.crm.contacts.basicApi.update(contact!.id, { properties: { jobtitle: 'Chief Revenue Officer' } });
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      const after = (await h.hubspot.crm.contacts.basicApi.getById(contact!.id, ['smk_score', 'smk_score_reasons'])).properties;
      const lead = (await h.salesforce.sobject('Lead').retrieve(target!.id)) as Record<string, unknown>;
      expect(Number(after.smk_score)).toBeGreaterThan(before);
      expect(after.smk_score_reasons).toMatch(/Senior title/);
      expect(Number(lead.Smk_Score__c)).toBe(Number(after.smk_score));
    });

    it('reads nothing for a webhook that only echoes its own write-back, and reads a contact a user changed', async () => {
      const ctx = h.runtime.ctx;
      const contacts = await hubspotContacts(h.hubspot, ['smk_score', 'smk_grade', 'jobtitle']);
      const synced = contacts.filter((c) => c.leadId && c.values.smk_score).slice(0, 2);
      expect(synced).toHaveLength(2);
      const [echoed, changed] = synced as [(typeof synced)[0], (typeof synced)[0]];
      // What HubSpot sends after our write: one propertyChange per property, with the new value.
      const events = [
        { eventId: 9_000_001, subscriptionType: 'contact.propertyChange', objectId: Number(echoed.id), occurredAt: Date.now(), propertyName: 'smk_score', propertyValue: echoed.values.smk_score, changeSource: 'INTEGRATION' },
        { eventId: 9_000_002, subscriptionType: 'contact.propertyChange', objectId: Number(echoed.id), occurredAt: Date.now(), propertyName: 'smk_grade', propertyValue: echoed.values.smk_grade, changeSource: 'INTEGRATION' },
        { eventId: 9_000_003, subscriptionType: 'contact.propertyChange', objectId: Number(changed.id), occurredAt: Date.now(), propertyName: 'smk_score', propertyValue: changed.values.smk_score, changeSource: 'INTEGRATION' },
        { eventId: 9_000_004, subscriptionType: 'contact.propertyChange', objectId: Number(changed.id), occurredAt: Date.now(), propertyName: 'jobtitle', propertyValue: 'Chief Echo Officer', changeSource: 'CRM_UI' },
      ];
      const parsed = parseWebhookEvents(JSON.stringify(events));
      const changes = Object.fromEntries(propertyChangesOnly(parsed.events));
      await resetStats(h.sandboxes.hubspot.baseUrl);
      await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), refs: parsed.refs, removed: [], changes });
      // One batch read, of the changed contact only.
      const reads = await stats(h.sandboxes.hubspot.baseUrl);
      expect(reads.calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/read': 1 });
      // A value we never wrote is not an echo either.
      await resetStats(h.sandboxes.hubspot.baseUrl);
      const stale = { [echoed.id]: [{ property: 'smk_score', value: String(Number(echoed.values.smk_score) + 1) }] };
      await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), refs: [{ object: 'contact', id: echoed.id }], removed: [], changes: stale });
      expect((await stats(h.sandboxes.hubspot.baseUrl)).total).toBe(1);
    });

    it('carries a change made in Salesforce through jsforce into both CRMs', async () => {
      const records = await salesforceRecords(h.salesforce, ['Smk_Score__c', 'Smk_Sales_Decision__c']);
      const target = records.find((r) => r.object === 'Lead' && !r.values.Smk_Sales_Decision__c);
      expect(target).toBeDefined();
      // Salesforce stamps whole seconds: an edit in the very second the last sync read, to a record
      // whose Id sorts before its cursor, ties behind the cursor, and this config has no safety margin
      // to hold that second back. A rep's edit comes later than that; wait for the next second.
      const clock = h.sandboxes.clock;
      await new Promise((resolve) => setTimeout(resolve, 1_000 - (clock.now() % 1_000) + 5));
      await h.salesforce.sobject('Lead').update({ Id: target!.id, Smk_Sales_Decision__c: 'rejected', Smk_Reject_Reason__c: 'no-budget', Smk_Lead_Quality__c: 2 });
      await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      const contacts = await hubspotContacts(h.hubspot, ['smk_sales_decision', 'smk_reject_reason', 'smk_lead_quality']);
      const contact = contacts.find((c) => c.leadId === target!.leadId);
      expect(contact?.values).toMatchObject({ smk_sales_decision: 'rejected', smk_reject_reason: 'no-budget', smk_lead_quality: '2' });
    });

    it('reports one record the CRM refuses in sync errors, with its own message, and writes the rest', async () => {
      // An admin edits the grade property in HubSpot and drops the "hot" option.
      await h.hubspot.crm.properties.coreApi.update('contacts', 'smk_grade', {
        options: [
          { label: 'Warm', value: 'warm', hidden: false, displayOrder: 1 },
          { label: 'Cold', value: 'cold', hidden: false, displayOrder: 2 },
        ],
      });
      const contacts = await hubspotContacts(h.hubspot, ['smk_score', 'smk_grade', 'jobtitle']);
      const linked = contacts.filter((c) => c.leadId && c.values.smk_grade !== 'hot');
      const hot = linked[0]!;
      const others = linked.slice(1, 4);
      // One person becomes hot: a senior title at a large company who keeps engaging.
      await h.hubspot.crm.contacts.basicApi.update(hot.id, { properties: { jobtitle: 'CEO', numberofemployees: '5000' } });
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: hot.id, kind: 'form_submission', count: 5, name: 'Demo request' });
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: hot.id, kind: 'page_view', count: 40 });
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: hot.id, kind: 'email_click', count: 4 });
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: hot.id, kind: 'visit', count: 10 });
      for (const o of others) await h.hubspot.crm.contacts.basicApi.update(o.id, { properties: { jobtitle: 'Student' } });

      await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });

      const { errors } = await h.runtime.ctx.errors.list({ crm: 'hubspot' });
      const error = errors.find((e) => e.recordId === hot.id);
      expect(error, JSON.stringify(errors)).toBeDefined();
      expect(error?.message).toMatch(/hot/);
      expect(error?.stage).toBe('write');
      // The others were written; Salesforce got the hot lead's grade all the same.
      const after = await hubspotContacts(h.hubspot, ['smk_score', 'smk_score_reasons']);
      const sf = await salesforceRecords(h.salesforce, ['Smk_Grade__c', 'Smk_Score__c', 'Title']);
      for (const o of others) {
        const written = after.find((c) => c.id === o.id);
        const record = sf.find((r) => r.leadId === o.leadId);
        expect(written?.values.smk_score_reasons ?? '').not.toMatch(/Senior title/);
        if (record) {
          expect(Number(record.values.Smk_Score__c)).toBe(Number(written?.values.smk_score));
        }
      }
      expect(sf.find((r) => r.leadId === hot.leadId)?.values.Smk_Grade__c?.toLowerCase()).toBe('hot');
    });
  });
}
