/**
 * Nothing is lost past the cursor, and errors clear: a dead-lettered ingest page is reported record
 * by record so Retry reads exactly those records; an entry leaves the report once its record syncs;
 * a retry of an error that is still true says so and keeps it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../../connectors/errors.js';
import { processIngest } from '../../../jobs/ingest.js';
import { processPoll } from '../../../jobs/poll.js';
import { retrySyncErrors } from '../../../jobs/retry.js';
import { startWorkers } from '../../../jobs/workers.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';


describe('retrying what failed', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await syncedHarness({ people: 40, seed: 23, label: 'engine-retry' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  async function linkedContacts(n: number): Promise<Array<{ id: string; leadId: string }>> {
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    return contacts.filter((c) => c.properties.smk_lead_id).slice(0, n).map((c) => ({ id: c.id, leadId: c.properties.smk_lead_id as string }));
  }

  it('reports a dead-lettered page record by record, and Retry reads exactly those records', async () => {
    const ctx = h.runtime.ctx;
    const contacts = await linkedContacts(2);
    for (const c of contacts) await h.hubspot.crm.contacts.basicApi.update(c.id, { properties: { jobtitle: 'VP of Dead Letters' } });
    const connector = ctx.connectors.hubspot;
    const read = connector.read.bind(connector);
    Object.defineProperty(connector, 'read', {
      configurable: true, writable: true,
      value: async () => {
        throw new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'HubSpot answered 502 Bad Gateway' });
      },
    });
    const workers = startWorkers(ctx, { queues: ['ingest'] });
    try {
      await ctx.queues.ingest.add('webhook', { crm: 'hubspot', readAt: ctx.clock.now(), refs: contacts.map((c) => ({ object: 'contact' as const, id: c.id })) }, { attempts: 1 });
      await expect.poll(async () => (await ctx.errors.list({ code: 'TRANSIENT' })).total, { timeout: 15_000 }).toBe(2);
    } finally {
      await workers.close();
      Object.defineProperty(connector, 'read', { configurable: true, writable: true, value: read });
    }
    const entries = (await ctx.errors.list({ code: 'TRANSIENT' })).errors;
    expect(entries.map((e) => e.recordId).sort()).toEqual(contacts.map((c) => c.id).sort());
    expect(entries.every((e) => e.stage === 'read' && e.object === 'contact')).toBe(true);

    const outcome = await retrySyncErrors(ctx, entries, { inline: true });
    expect(outcome.queued).toEqual({ evaluations: 0, rereads: 2, polls: 0 });
    expect(outcome.stillTrue).toEqual([]);
    for (const c of contacts) expect((await ctx.leads.get(c.leadId))?.lead.person.title).toBe('VP of Dead Letters');
    expect((await ctx.errors.list({ code: 'TRANSIENT' })).total).toBe(0);
  }, 60_000);

  it('reports a dead-lettered poll as the feed\'s, and takes it out of the report once the CRM is polled again', async () => {
    const ctx = h.runtime.ctx;
    const connector = ctx.connectors.salesforce;
    const changes = connector.changes.bind(connector);
    Object.defineProperty(connector, 'changes', {
      configurable: true, writable: true,
      // eslint-disable-next-line require-yield
      value: async function* () {
        throw new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'Salesforce did not answer: socket hang up' });
      },
    });
    const workers = startWorkers(ctx, { queues: ['poll'] });
    try {
      await ctx.queues.poll.add('poll', { crm: 'salesforce' }, { attempts: 1 });
      await expect.poll(async () => (await ctx.errors.list({ crm: 'salesforce', code: 'TRANSIENT' })).total, { timeout: 15_000 }).toBe(1);
    } finally {
      await workers.close();
      Object.defineProperty(connector, 'changes', { configurable: true, writable: true, value: changes });
    }
    const [entry] = (await ctx.errors.list({ crm: 'salesforce', code: 'TRANSIENT' })).errors;
    expect(entry).toMatchObject({ stage: 'poll', object: null, recordId: null });
    // The next poll reads from the same cursor: what the failed one would have read is read now.
    await processPoll(ctx, 'salesforce');
    expect((await ctx.errors.list({ crm: 'salesforce', code: 'TRANSIENT' })).total).toBe(0);
  }, 60_000);

  it('takes an entry out of the report as soon as its record is read and merged', async () => {
    const ctx = h.runtime.ctx;
    const [contact] = await linkedContacts(3).then((all) => all.slice(2));
    await ctx.errors.record({ crm: 'hubspot', object: 'contact', recordId: contact!.id, code: 'VALIDATION', stage: 'map', message: 'hs_analytics_num_visits: expected a number, got "many"' }, ctx.clock.now());
    expect((await ctx.errors.list({ code: 'VALIDATION' })).total).toBe(1);
    await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), refs: [{ object: 'contact', id: contact!.id }] });
    expect((await ctx.errors.list({ code: 'VALIDATION' })).total).toBe(0);
  }, 60_000);

  it('says a retried error is still true, and keeps it, when the duplicates still exist', async () => {
    const ctx = h.runtime.ctx;
    const rows = await h.salesforce.query<{ Id: string; Email: string; LastName: string; Company: string }>('SELECT Id, Email, LastName, Company FROM Lead WHERE IsConverted = false AND Email != null LIMIT 1');
    const original = rows.records[0]!;
    const dup = await h.salesforce.sobject('Lead').create({ LastName: `${original.LastName} (duplicate)`, Company: original.Company, Email: original.Email });
    const id = (dup as { id: string }).id;
    await processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: [{ object: 'Lead', id }] });
    const ambiguous = (await ctx.errors.list({ code: 'AMBIGUOUS_MATCH', limit: 1000 })).errors.filter((e) => e.recordId === id);
    expect(ambiguous).toHaveLength(1);
    const outcome = await retrySyncErrors(ctx, ambiguous, { inline: true });
    expect(outcome.stillTrue.map((e) => e.id)).toEqual([ambiguous[0]!.id]);
    expect(await ctx.errors.get(ambiguous[0]!.id)).not.toBeNull();
  }, 60_000);
});

describe('ingest job data', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await syncedHarness({ people: 20, seed: 29, label: 'engine-pages' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('names records, never people; the page waits in Redis, and is read again by id once it has expired', async () => {
    const ctx = h.runtime.ctx;
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id', 'email']);
    const [a, b] = contacts.filter((c) => c.properties.smk_lead_id);
    const { processPoll } = await import('../../../jobs/poll.js');
    const pollJobsAfter = async (contactId: string, title: string) => {
      await h.hubspot.crm.contacts.basicApi.update(contactId, { properties: { jobtitle: title } });
      const before = new Set((await ctx.queues.ingest.getJobs(['waiting'])).map((j) => j.id));
      await processPoll(ctx, 'hubspot');
      return (await ctx.queues.ingest.getJobs(['waiting'])).filter((j) => !before.has(j.id));
    };
    const queued = await pollJobsAfter(a!.id, 'Head of Paging');
    const expiring = await pollJobsAfter(b!.id, 'Head of Expiry');
    const jobs = [...queued, ...expiring];
    expect(queued.length).toBeGreaterThan(0);
    expect(expiring.length).toBeGreaterThan(0);
    for (const job of jobs) {
      const data = JSON.stringify(job.data);
      expect(data).not.toContain('@');
      expect(data).not.toContain('Head of');
      expect(job.data.page).toBeTruthy();
    }
    expect(jobs.flatMap((j) => j.data.refs ?? []).map((r) => r.id)).toEqual(expect.arrayContaining([a!.id, b!.id]));
    // The first poll's pages as queued; the second poll's stored pages have expired: their records are read again.
    for (const job of queued) await processIngest(ctx, job.data);
    for (const job of expiring) {
      await ctx.pages.delete(job.data.page as string);
      await processIngest(ctx, job.data);
    }
    for (const job of jobs) await job.remove();
    expect((await ctx.leads.get(a!.properties.smk_lead_id as string))?.lead.person.title).toBe('Head of Paging');
    expect((await ctx.leads.get(b!.properties.smk_lead_id as string))?.lead.person.title).toBe('Head of Expiry');
  }, 60_000);
});
