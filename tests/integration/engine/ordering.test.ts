/**
 * The engine under reordering, retries and concurrency: each case is a scenario that went wrong on
 * an orderly-only engine (issue 14), driven through the real jobs, a real Redis and the sandboxes,
 * and counted (leads changed, evaluations, writes), not only compared at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangePage } from '../../../connectors/types.js';
import type { SyncContext } from '../../../jobs/context.js';
import { processEvaluate } from '../../../jobs/evaluate.js';
import { enqueueEvaluate } from '../../../jobs/enqueue.js';
import { processIngest } from '../../../jobs/ingest.js';
import { processPoll } from '../../../jobs/poll.js';
import { processWriteback } from '../../../jobs/writeback.js';
import { syncOnce } from '../../../jobs/run-once.js';
import type { LeadFragment } from '../../../src/model/lead.js';
import { sandboxControl } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function linkedContact(h: Harness, skip = 0): Promise<{ id: string; leadId: string }> {
  const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
  const linked = contacts.filter((c) => c.properties.smk_lead_id);
  const c = linked[skip];
  if (!c) throw new Error('no linked contact in the sandbox');
  return { id: c.id, leadId: c.properties.smk_lead_id as string };
}

async function readContact(ctx: SyncContext, id: string): Promise<{ fragments: LeadFragment[]; readAt: number }> {
  const readAt = ctx.clock.now();
  const read = await ctx.connectors.hubspot.read([{ object: 'contact', id }]);
  return { fragments: read.fragments, readAt };
}

function pageViewWeight(stored: { lead: { marketing: { engagement: Array<{ kind: string; weight?: number }> } } } | null): number {
  return (stored?.lead.marketing.engagement ?? []).filter((e) => e.kind === 'page_view').reduce((sum, e) => sum + (e.weight ?? 1), 0);
}

describe('the engine under reordering', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await syncedHarness({ people: 30, seed: 21, label: 'engine-order' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('never lets a retried older page roll a value back, nor count engagement twice', async () => {
    const ctx = h.runtime.ctx;
    const contact = await linkedContact(h, 0);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'Intern' } });
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact.id, kind: 'page_view', count: 5 });
    const older = await readContact(ctx, contact.id);
    await sleep(20);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'CRO' } });
    await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact.id, kind: 'page_view', count: 5 });
    const newer = await readContact(ctx, contact.id);
    const views = newer.fragments[0]?.marketing.counters?.pageViews;
    expect(views).toBe((older.fragments[0]?.marketing.counters?.pageViews ?? 0) + 5);

    // The later page first, then the earlier page's retry, then the next poll's re-read.
    const first = await processIngest(ctx, { crm: 'hubspot', readAt: newer.readAt, fragments: newer.fragments });
    const retried = await processIngest(ctx, { crm: 'hubspot', readAt: older.readAt, fragments: older.fragments });
    const again = await processIngest(ctx, { crm: 'hubspot', readAt: ctx.clock.now(), fragments: newer.fragments });

    const stored = await ctx.leads.get(contact.leadId);
    expect(stored?.lead.person.title).toBe('CRO');
    expect(stored?.lead.marketing.counters?.pageViews).toBe(views);
    // Every page view HubSpot counts is one unit of engagement, once.
    expect(pageViewWeight(stored)).toBe(views);
    expect(first.changed).toBe(1);
    expect(retried).toMatchObject({ changed: 0, stale: 1 });
    expect(again.changed).toBe(0);
  }, 60_000);

  it('on equal modification times (whole seconds), lets the later read win', async () => {
    const ctx = h.runtime.ctx;
    const contact = await linkedContact(h, 1);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'Analyst' } });
    const earlier = await readContact(ctx, contact.id);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'Head of Analytics' } });
    const later = await readContact(ctx, contact.id);
    // As a real org stamps them: both reads carry the same modification time.
    const stamp = earlier.fragments[0]!.modifiedAt;
    const tie = (f: LeadFragment[]) => f.map((x) => ({ ...x, modifiedAt: stamp }));
    await processIngest(ctx, { crm: 'hubspot', readAt: later.readAt, fragments: tie(later.fragments) });
    const retried = await processIngest(ctx, { crm: 'hubspot', readAt: earlier.readAt, fragments: tie(earlier.fragments) });
    expect(retried.stale).toBe(1);
    expect((await ctx.leads.get(contact.leadId))?.lead.person.title).toBe('Head of Analytics');
  }, 60_000);

  it('counts a re-read of an unchanged record as no change: no save, no new version, no evaluation', async () => {
    const ctx = h.runtime.ctx;
    const contact = await linkedContact(h, 2);
    const read = await readContact(ctx, contact.id);
    await processIngest(ctx, { crm: 'hubspot', readAt: read.readAt, fragments: read.fragments });
    const version = await ctx.leads.version(contact.leadId);
    const raw = await ctx.redis.get(ctx.keys.lead(contact.leadId));
    const reread = await readContact(ctx, contact.id);
    const result = await processIngest(ctx, { crm: 'hubspot', readAt: reread.readAt, fragments: reread.fragments });
    expect(result.changed).toBe(0);
    expect(await ctx.leads.version(contact.leadId)).toBe(version);
    expect(await ctx.redis.get(ctx.keys.lead(contact.leadId))).toBe(raw);
  }, 60_000);

  it('runs one poll of a CRM at a time, however many are started', async () => {
    const ctx = h.runtime.ctx;
    const connector = ctx.connectors.hubspot;
    const original = connector.changes.bind(connector);
    let running = 0;
    let most = 0;
    const patched = (async function* (...args: Parameters<typeof original>): AsyncIterable<ChangePage> {
      running += 1;
      most = Math.max(most, running);
      try {
        await sleep(150);
        yield* original(...args);
      } finally {
        running -= 1;
      }
    });
    Object.defineProperty(connector, 'changes', { value: patched, configurable: true, writable: true });
    try {
      await Promise.all([processPoll(ctx, 'hubspot'), processPoll(ctx, 'hubspot'), processPoll(ctx, 'hubspot')]);
      expect(most).toBe(1);
      // A scheduled poll that finds the feed being read returns at once, reading nothing.
      const [a, b] = await Promise.all([processPoll(ctx, 'hubspot', { whenBusy: 'skip' }), processPoll(ctx, 'hubspot', { whenBusy: 'skip' })]);
      expect([a.busy ?? false, b.busy ?? false].sort()).toEqual([false, true]);
    } finally {
      Object.defineProperty(connector, 'changes', { value: original, configurable: true, writable: true });
    }
  }, 60_000);

  it('reports a quiet pass as 0 changed, 0 evaluated and no writes', async () => {
    const ctx = h.runtime.ctx;
    await syncOnce(ctx);
    const quiet = await syncOnce(ctx);
    expect({ changed: quiet.changed, evaluated: quiet.evaluated, writes: quiet.writes, created: quiet.created }).toEqual({
      changed: 0, evaluated: 0, writes: { hubspot: 0, salesforce: 0 }, created: { hubspot: 0, salesforce: 0 },
    });
    // And a change is counted: one contact's title, read, evaluated, written.
    const contact = await linkedContact(h, 3);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'Chief Executive Officer' } });
    const busy = await syncOnce(ctx);
    expect(busy.changed).toBe(1);
    expect(busy.evaluated).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('never writes a value superseded before its batch left: a score going A -> B -> A writes A or nothing, never B', async () => {
    const ctx = h.runtime.ctx;
    const contact = await linkedContact(h, 6);
    const setTitleAndEvaluate = async (title: string) => {
      await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: title } });
      const read = await readContact(ctx, contact.id);
      await processIngest(ctx, { crm: 'hubspot', readAt: read.readAt, fragments: read.fragments });
      await processEvaluate(ctx, contact.leadId);
      return (await ctx.leads.get(contact.leadId))?.lead.score?.total;
    };
    const drain = async () => {
      await sleep(400);
      await processWriteback(ctx, 'hubspot');
      await processWriteback(ctx, 'salesforce');
    };
    const a = await setTitleAndEvaluate('Intern');
    await drain();
    const since = new Date().toISOString();
    const b = await setTitleAndEvaluate('Chief Revenue Officer');
    expect(b).not.toBe(a);
    expect(await setTitleAndEvaluate('Intern')).toBe(a);
    await drain();
    const read = await h.hubspot.crm.contacts.basicApi.getById(contact.id, ['smk_score'], ['smk_score']);
    expect(Number(read.properties.smk_score)).toBe(a);
    const written = (read.propertiesWithHistory?.smk_score ?? []).filter((v) => v.timestamp.toISOString() >= since).map((v) => Number(v.value));
    expect(written).not.toContain(b);
  }, 60_000);

  it('still evaluates a change whose ingest died after saving the lead and before enqueueing its evaluation', async () => {
    const ctx = h.runtime.ctx;
    const contact = await linkedContact(h, 7);
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'Chief Crash Officer' } });
    const read = await readContact(ctx, contact.id);
    const job = { crm: 'hubspot' as const, readAt: read.readAt, fragments: read.fragments };
    const queue = ctx.queues.evaluate;
    const addBulk = queue.addBulk.bind(queue);
    Object.defineProperty(queue, 'addBulk', { configurable: true, writable: true, value: async () => {
      throw new Error('the worker died here');
    } });
    try {
      await expect(processIngest(ctx, job)).rejects.toThrow('the worker died here');
    } finally {
      Object.defineProperty(queue, 'addBulk', { configurable: true, writable: true, value: addBulk });
    }
    // The change is saved; the job runs again (BullMQ retries it) and finds nothing new to apply.
    expect((await ctx.leads.get(contact.leadId))?.lead.person.title).toBe('Chief Crash Officer');
    const rerun = await processIngest(ctx, job, { retried: true });
    expect(rerun.changed).toBe(0);
    const waiting = await ctx.queues.evaluate.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(waiting.map((j) => j.data.leadId)).toContain(contact.leadId);
    for (const j of waiting) await j.remove();
  }, 60_000);

  it('evaluates a lead again after its evaluation failed for good', async () => {
    const ctx = h.runtime.ctx;
    const { Worker, UnrecoverableError } = await import('bullmq');
    const contact = await linkedContact(h, 4);
    const seen: string[] = [];
    let fail = true;
    const worker = new Worker('evaluate', async (job) => {
      seen.push(String(job.data.leadId));
      if (fail) throw new UnrecoverableError('a bug in the rules for this lead');
      return processEvaluate(ctx, String(job.data.leadId));
    }, { connection: ctx.queueConnection, prefix: ctx.keys.queuePrefix('evaluate'), concurrency: 1 });
    try {
      await enqueueEvaluate(ctx, [contact.leadId], 'first');
      await expect.poll(async () => (await ctx.queues.evaluate.getJobCounts('failed')).failed, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      fail = false;
      await enqueueEvaluate(ctx, [contact.leadId], 'a later change');
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('runs an evaluation again for a change that lands while the lead is being evaluated', async () => {
    const ctx = h.runtime.ctx;
    const { Worker } = await import('bullmq');
    const contact = await linkedContact(h, 5);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let runs = 0;
    const worker = new Worker('evaluate', async () => {
      runs += 1;
      if (runs === 1) await gate;
    }, { connection: ctx.queueConnection, prefix: ctx.keys.queuePrefix('evaluate'), concurrency: 4 });
    try {
      await enqueueEvaluate(ctx, [contact.leadId], 'first');
      await expect.poll(() => runs, { timeout: 10_000 }).toBe(1);
      await enqueueEvaluate(ctx, [contact.leadId], 'during');
      await enqueueEvaluate(ctx, [contact.leadId], 'during, again');
      await sleep(300);
      // Never two evaluations of one lead at once.
      expect(runs).toBe(1);
      release();
      await expect.poll(() => runs, { timeout: 10_000 }).toBe(2);
      await sleep(500);
      expect(runs).toBe(2);
    } finally {
      await worker.close();
    }
  }, 60_000);
});
