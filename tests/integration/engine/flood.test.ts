/**
 * A webhook flood never starves the work: HubSpot deliveries wait behind a Salesforce page, an SLA
 * that fell due and the evaluations a rep's change asks for, and `smk sync --once` (a cron job
 * beside a running service) ends when its own pass is done, not when a foreign backlog is.
 *
 * Orders are measured by counts (how much of the flood was still queued when the rep's change
 * reached HubSpot, the place of an SLA evaluation among the evaluations run), never by times.
 */
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { processPoll } from '../../../jobs/poll.js';
import { syncOnce } from '../../../jobs/run-once.js';
import type { Clock } from '../../../jobs/context.js';
import { evaluateDueSlas } from '../../../jobs/sla.js';
import { startWorkers } from '../../../jobs/workers.js';
import type { WorkerSet } from '../../../jobs/workers.js';
import { startServer } from '../../../src/server/index.js';
import type { RunningServer } from '../../../src/server/index.js';
import type { Harness } from '../../helpers/pipeline.js';
import { postWebhook } from '../../server/helpers.js';
import { syncedHarness } from './setup.js';

type TestClock = Clock & { advance(ms: number): Promise<void> };

describe('a webhook flood', () => {
  let h: Harness;
  let server: RunningServer;
  let url: string;
  let workers: WorkerSet | null = null;

  beforeAll(async () => {
    h = await syncedHarness({ people: 60, seed: 31, label: 'engine-flood', controllableClock: true });
    server = await startServer(h.runtime.ctx, { port: 0, host: '127.0.0.1' });
    url = server.url;
  }, 120_000);

  afterEach(async () => {
    await workers?.close();
    workers = null;
    for (const queue of h.runtime.ctx.queues.all()) await queue.obliterate({ force: true });
  });

  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  let nextEventId = 9_100_000;
  /** HubSpot's deliveries of one event each, as its webhooks send them at volume, signed. */
  async function flood(contactIds: string[], deliveries: number): Promise<void> {
    const secret = h.env.HUBSPOT_CLIENT_SECRET as string;
    for (let i = 0; i < deliveries; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, deliveries - i) }, async (_, j) => {
        nextEventId += 1;
        const objectId = Number(contactIds[(i + j) % contactIds.length]);
        const body = JSON.stringify([{ eventId: nextEventId, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId, propertyName: 'firstname', propertyValue: 'x', changeSource: 'CRM' }]);
        const res = await postWebhook(url, body, { secret });
        expect(res.status).toBe(200);
      }));
    }
  }

  async function linkedPair(skip = 0): Promise<{ leadId: string; contactId: string; salesforceId: string }> {
    let seen = 0;
    for await (const page of h.runtime.ctx.leads.all(200)) {
      for (const stored of page) {
        const sf = stored.lead.links.salesforce;
        const hs = stored.lead.links.hubspot;
        if (sf?.object === 'Lead' && hs) {
          if (seen === skip) return { leadId: stored.lead.id, contactId: hs.id, salesforceId: sf.id };
          seen += 1;
        }
      }
    }
    throw new Error('no lead is linked to a HubSpot contact and a Salesforce Lead');
  }

  async function contactIds(): Promise<string[]> {
    const contacts = await h.hubspot.crm.contacts.getAll(100);
    return contacts.map((c) => c.id);
  }

  async function ingestBacklog(): Promise<number> {
    const counts = await h.runtime.ctx.queues.ingest.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  it("a rep's Salesforce change reaches HubSpot while most of the flood still waits", async () => {
    const ctx = h.runtime.ctx;
    const ids = await contactIds();
    await flood(ids, 600);
    expect(await ingestBacklog()).toBe(600);

    const pair = await linkedPair();
    await h.salesforce.sobject('Lead').update({ Id: pair.salesforceId, Smk_Sales_Decision__c: 'accepted', Smk_Lead_Quality__c: 5 });
    await processPoll(ctx, 'salesforce');

    let backlogWhenArrived = -1;
    workers = startWorkers(ctx, { queues: ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce'] });
    await expect.poll(async () => {
      const contact = await h.hubspot.crm.contacts.basicApi.getById(pair.contactId, ['smk_sales_decision']);
      if (contact.properties.smk_sales_decision === 'accepted' && backlogWhenArrived < 0) backlogWhenArrived = await ingestBacklog();
      return contact.properties.smk_sales_decision;
    }, { timeout: 60_000, interval: 50 }).toBe('accepted');
    // The Salesforce page went first: the flood's deliveries were still mostly queued.
    expect(backlogWhenArrived).toBeGreaterThan(300);
  }, 120_000);

  it('an SLA that fell due is evaluated before the evaluations the flood asked for', async () => {
    const ctx = h.runtime.ctx;
    // The flood changes people for real: each delivery's contact changed in HubSpot, so each
    // ingest asks for an evaluation of its lead.
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    const changed = contacts.filter((c) => c.properties.smk_lead_id).slice(0, 40);
    await h.hubspot.crm.contacts.batchApi.update({ inputs: changed.map((c, i) => ({ id: c.id, properties: { jobtitle: `Flood title ${i}` } })) });
    await flood(changed.map((c) => c.id), changed.length);
    workers = startWorkers(ctx, { queues: ['ingest'] });
    await expect.poll(ingestBacklog, { timeout: 30_000 }).toBe(0);
    await workers.close();
    workers = null;
    const floodEvaluations = (await ctx.queues.evaluate.getJobCounts('waiting', 'prioritized')) as Record<string, number>;
    expect((floodEvaluations.waiting ?? 0) + (floodEvaluations.prioritized ?? 0)).toBeGreaterThan(20);

    // Three days on, some handed-off lead's SLA has run out: the sweep asks for its evaluation.
    let slaLeads = 0;
    for await (const page of ctx.leads.all(200)) slaLeads += page.filter((s) => s.lead.sla?.status === 'running').length;
    expect(slaLeads).toBeGreaterThan(0);
    await (ctx.clock as TestClock).advance(3 * 86_400_000);
    h.sandboxes.clock.advance(3 * 86_400_000);
    expect(await evaluateDueSlas(ctx)).toBe(slaLeads);

    const order: string[] = [];
    workers = startWorkers(ctx, { queues: ['evaluate'] });
    for (const worker of workers.workers) worker.on('active', (job: Job) => order.push(String((job.data as { cause?: string }).cause)));
    await expect.poll(async () => {
      const counts = await ctx.queues.evaluate.getJobCounts('waiting', 'prioritized', 'active');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    }, { timeout: 30_000 }).toBe(0);
    const firstFlood = order.findIndex((cause) => cause.startsWith('hubspot'));
    const lastSla = order.lastIndexOf('SLA due');
    expect(lastSla).toBeGreaterThanOrEqual(0);
    expect(lastSla).toBeLessThan(firstFlood);
  }, 120_000);

  it('sync --once ends with its own pass done while a foreign backlog is still being worked off', async () => {
    const ctx = h.runtime.ctx;
    const ids = await contactIds();
    // The service's intake queued these; this process is a cron job beside it.
    await flood(ids, 1500);
    const pair = await linkedPair(1);
    await h.salesforce.sobject('Lead').update({ Id: pair.salesforceId, Smk_Sales_Decision__c: 'rejected', Smk_Reject_Reason__c: 'no-budget' });

    const result = await syncOnce(ctx, { timeoutMs: 60_000 });
    const backlog = await ingestBacklog();
    // Its own work is done when it returns: the rep's decision is in HubSpot...
    const contact = await h.hubspot.crm.contacts.basicApi.getById(pair.contactId, ['smk_sales_decision']);
    expect(contact.properties.smk_sales_decision).toBe('rejected');
    expect(result.polls.salesforce.records).toBeGreaterThanOrEqual(1);
    // ...and it did not wait for the deliveries the service had queued.
    expect(backlog).toBeGreaterThan(0);
  }, 120_000);

  it("sync --once waits for its own pass even when the service's workers do the work", async () => {
    const ctx = h.runtime.ctx;
    const pair = await linkedPair(2);
    await h.salesforce.sobject('Lead').update({ Id: pair.salesforceId, Smk_Sales_Decision__c: 'accepted', Smk_Lead_Quality__c: 3 });
    // The service's workers run; the pass starts none of its own.
    workers = startWorkers(ctx, { queues: ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce'] });
    await syncOnce(ctx, { workers: false, timeoutMs: 60_000 });
    const contact = await h.hubspot.crm.contacts.basicApi.getById(pair.contactId, ['smk_sales_decision', 'smk_lead_quality']);
    expect(contact.properties.smk_sales_decision).toBe('accepted');
    expect(contact.properties.smk_lead_quality).toBe('3');
  }, 120_000);
});
