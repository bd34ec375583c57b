/**
 * DESIGN.md invariants that the chaos run broke, each reproduced here deterministically, so that
 * the bug is visible in CI and its fix can be checked. A test of an open bug is `it.fails` until
 * the product is fixed (SMK_HOSTILE_SHOW_BUGS=1 runs them as plain tests, to see how they fail);
 * those of bugs fixed since stay as regression tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import type { SyncContext } from '../../jobs/context.js';
import { processEvaluate } from '../../jobs/evaluate.js';
import { processIngest } from '../../jobs/ingest.js';
import { processPoll } from '../../jobs/poll.js';
import { syncOnce, waitUntilIdle } from '../../jobs/run-once.js';
import { startWorkers } from '../../jobs/workers.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { fastSyncConfig, harnessEnv, sandboxControl, startHarness, writeConfig } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { syncInPhases } from './helpers/phased-sync.js';

const CONFIG = fastSyncConfig('create: { salesforce: never }');

async function drainWith(ctx: SyncContext, run: () => Promise<unknown>): Promise<void> {
  const workers = startWorkers(ctx, { queues: ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce'] });
  try {
    await run();
    await waitUntilIdle(ctx, { timeoutMs: 90_000 });
  } finally {
    await workers.close();
  }
}

describe('a change that meets a lock left by a killed worker', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 20, seed: 6, configYaml: CONFIG, label: 'inv-lock' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  // Found by the chaos run: jobs/ingest.ts processIngest recorded every non-CrmError of
  // applyFragment as an INGEST_FAILED sync error and acknowledged the job, so a lead lock left by
  // a SIGKILLed worker (LockTimeoutError) or a Redis restart (MaxRetriesPerRequestError) dropped
  // the change for good. Fixed in the product since (only TypeError, RangeError and SyntaxError
  // are reported and skipped; anything else fails the job, which BullMQ retries). Regression test.
  it('is applied once the lock lapses, not dropped into sync errors', async () => {
    const ctx = h.runtime.ctx;
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    const contact = contacts.find((c) => c.properties.smk_lead_id);
    expect(contact).toBeDefined();
    const leadId = contact!.properties.smk_lead_id as string;
    await h.hubspot.crm.contacts.basicApi.update(contact!.id, { properties: { jobtitle: 'Chief Lock Officer' } });

    // A worker died inside this lead's evaluation: its lock stays until it expires.
    const lock = ctx.keys.lock(`lead:${leadId}`);
    await ctx.redis.set(lock, 'a-worker-that-was-killed', 'PX', 60_000);
    const job = { crm: 'hubspot' as const, readAt: ctx.clock.now(), refs: [{ object: 'contact' as const, id: contact!.id }] };
    let failed = false;
    try {
      await processIngest(ctx, job);
    } catch {
      failed = true;
    }
    // The lock lapses; a failed job is retried by the queue (here: by hand).
    await ctx.redis.del(lock);
    if (failed) await processIngest(ctx, job);
    const stored = await ctx.leads.get(leadId);
    expect((await ctx.errors.list({ code: 'INGEST_FAILED' })).errors).toEqual([]);
    expect(stored?.lead.person.title).toBe('Chief Lock Officer');
  }, 60_000);
});

describe('a converted Salesforce lead, whichever record is read first', () => {
  let h: Harness;
  let other: { t: TestRedis; runtime: Runtime } | null = null;

  beforeAll(async () => {
    h = await startHarness({ people: 150, seed: 11, configYaml: CONFIG, label: 'inv-convert' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    const t = await testRedis('inv-convert-b');
    const env = harnessEnv(h.sandboxes, t, writeConfig(CONFIG));
    other = { t, runtime: await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }) }) };
  }, 120_000);

  afterAll(async () => {
    await other?.runtime.close();
    await other?.t.cleanup();
    await h?.close();
  });

  // Found by the chaos run: the Contact's view replaced the converted Lead's (and with it the
  // conversion), and a converted Lead read after its Contact was ignored, so a converted person
  // ended at `lead` when both were read before an evaluation. Fixed: the conversion follows from
  // links.salesforce.convertedFrom (src/sync/compose.ts), which a Lead read after its Contact now
  // sets without replacing the Contact's view (jobs/ingest.ts). Regression test.
  it('ends at sql, whichever record is read first, however soon the other follows', async () => {
    const converted = await h.salesforce.query<{ Id: string; ConvertedContactId: string }>('SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true');
    expect(converted.records.length).toBeGreaterThan(0);
    const pair = converted.records[0]!;
    const lead = { object: 'Lead' as const, id: pair.Id };
    const contact = { object: 'Contact' as const, id: pair.ConvertedContactId };
    const stageAfter = async (ctx: SyncContext, first: typeof lead | typeof contact, second: typeof lead | typeof contact) => {
      // As after the initial read (before it, nothing is evaluated): both CRMs were read in full.
      for (const crm of ['hubspot', 'salesforce'] as const) await ctx.cursors.markSynced(crm, ctx.clock.now());
      await processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: [first] });
      await processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: [second] });
      const leadId = await ctx.leads.linkOf('salesforce', 'Contact', contact.id);
      expect(leadId).toBeTruthy();
      await processEvaluate(ctx, leadId as string);
      const stored = await ctx.leads.get(leadId as string);
      return { stage: stored?.lead.stage?.current, converted: stored?.lead.sales.converted ?? null };
    };
    const leadFirst = await stageAfter(h.runtime.ctx, lead, contact);
    const contactFirst = await stageAfter(other!.runtime.ctx, contact, lead);
    expect({ leadFirst: leadFirst.stage, contactFirst: contactFirst.stage }).toEqual({ leadFirst: 'sql', contactFirst: 'sql' });
  }, 60_000);
});

describe('an evaluation run twice', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 60, seed: 11, configYaml: CONFIG, label: 'inv-twice' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  // Found by the chaos run: the lifecycle stage was planned from the last HubSpot read only, so an
  // evaluation before the echo was read wrote it again. Fixed: the written stage is kept with the
  // held values (src/store/held.ts) and planned against (jobs/evaluate.ts). Regression test.
  it('makes no second write (DESIGN.md: any job may run twice, no extra CRM write)', async () => {
    const ctx = h.runtime.ctx;
    expect(await ctx.pending.hubspot.write.size()).toBe(0);
    for await (const page of ctx.leads.all(500)) {
      for (const stored of page) await processEvaluate(ctx, stored.lead.id);
    }
    const planned = { hubspot: await ctx.pending.hubspot.write.size(), salesforce: await ctx.pending.salesforce.write.size() };
    expect(planned).toEqual({ hubspot: 0, salesforce: 0 });
  }, 60_000);
});

describe('creating in Salesforce a person whose record Salesforce has not been read for yet', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 150, seed: 11, configYaml: CONFIG.replace('salesforce: never', 'salesforce: mql'), label: 'inv-create' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    // The two feeds run on their own schedules: HubSpot's first read (and the writes and creates
    // it leads to) can be done before Salesforce's first read reaches the same people, as when
    // `smk start` meets a large org. `syncOnce` has the same race in a smaller window.
    await drainWith(h.runtime.ctx, () => processPoll(h.runtime.ctx, 'hubspot'));
    await drainWith(h.runtime.ctx, () => processPoll(h.runtime.ctx, 'salesforce'));
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  // Found by the chaos run's reference (a fault-free syncOnce created Salesforce duplicates of
  // people whose Salesforce record was not ingested yet: DUPLICATE_CREATED); the product now plans
  // creates only once both CRMs were read in full (jobs/evaluate.ts bothCrmsRead). Kept as a
  // regression test. What remains open: connectors/salesforce/records.ts createRecords still does
  // not look for an existing Lead or Contact by email before creating, so a person a rep adds
  // between two polls can still be duplicated.
  it('does not create a second record for them', async () => {
    const byEmail = new Map<string, number>();
    const seededTwice = new Set(h.sandboxes.world.people.filter((p) => p.salesforce?.duplicateLead || p.salesforce?.converted).map((p) => p.email.toLowerCase()));
    for (const object of ['Lead', 'Contact'] as const) {
      const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
      const rows = await h.salesforce.query<{ Email: string | null }>(`SELECT Id, Email FROM ${object}${where}`, { autoFetch: true, maxFetch: 100_000 });
      for (const r of rows.records) if (r.Email) byEmail.set(r.Email.toLowerCase(), (byEmail.get(r.Email.toLowerCase()) ?? 0) + 1);
    }
    const duplicated = [...byEmail].filter(([email, n]) => n > 1 && !seededTwice.has(email)).map(([email]) => email);
    const reported = (await h.runtime.ctx.errors.list({ code: 'DUPLICATE_CREATED' })).errors;
    expect({ duplicated, reported: reported.length }).toEqual({ duplicated: [], reported: 0 });
  }, 60_000);

});

describe('a handoff before the lead has a Salesforce record, which a rep then adds by hand', () => {
  let h: Harness;

  beforeAll(async () => {
    // Routing hands every MQL to a rep of the seeded org; nobody is created in Salesforce.
    const probe = await startHarness({ people: 5, seed: 33, label: 'inv-task-probe' });
    const reps = probe.sandboxes.world.owners.slice(0, 2).map((o) => `{ owner: "${o.salesforceId}" }`);
    await probe.close();
    const routing = `routing:\n  defaultPool: everyone\n  pools:\n    everyone:\n      members: [${reps.join(', ')}]\n`;
    h = await startHarness({ people: 60, seed: 33, configYaml: CONFIG + routing, label: 'inv-task' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  // Found by the chaos run: the task of a handoff made while the lead had no Salesforce record was
  // kept aside and released only when the connector created the record, never when ingest linked
  // one (a rep adding the person, the feeds' order). The rep got the lead with its SLA running but
  // no task. Fixed: jobs/ingest.ts releases it wherever the lead gains its Salesforce link.
  it('gives the rep the follow-up task once the record is linked', async () => {
    const ctx = h.runtime.ctx;
    const person = h.sandboxes.world.people.find((p) => p.hubspot && !p.salesforce && !/@(gmail|yahoo|hotmail|outlook|icloud|gmx|proton)/.test(p.hubspot.email));
    expect(person, 'the seed has a person known only to HubSpot').toBeDefined();
    const email = person!.hubspot!.email;
    const contact = await h.hubspot.crm.contacts.basicApi.getById(email, ['smk_stage'], undefined, undefined, false, 'email');
    await h.hubspot.crm.contacts.basicApi.update(contact.id, { properties: { jobtitle: 'VP of Marketing', numberofemployees: '800' } });
    let stage = '';
    for (let round = 0; round < 6 && stage !== 'mql'; round += 1) {
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact.id, kind: 'form_submission', count: 1, name: 'Demo request' });
      await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact.id, kind: 'page_view', count: 6 });
      await syncOnce(ctx, { timeoutMs: 60_000 });
      stage = (await h.hubspot.crm.contacts.basicApi.getById(contact.id, ['smk_stage'])).properties.smk_stage ?? '';
    }
    expect(stage, 'the contact became an MQL').toBe('mql');
    const leadId = await ctx.leads.linkOf('hubspot', 'contact', contact.id);
    expect((await ctx.leads.get(leadId ?? ''))?.routedOwnerId, 'routed to a rep').toBeTruthy();

    // A rep adds the person to Salesforce by hand; the next sync links the record.
    const created = await h.salesforce.sobject('Lead').create({ FirstName: 'Handed', LastName: 'Off', Company: 'Added By Hand', Email: email });
    const leadSfId = (created as { id: string }).id;
    await syncOnce(ctx, { timeoutMs: 60_000 });
    expect((await ctx.leads.get(leadId ?? ''))?.lead.links.salesforce?.id).toBe(leadSfId);
    const tasks = await h.salesforce.query<{ Subject: string }>(`SELECT Id, Subject FROM Task WHERE WhoId = '${leadSfId}'`);
    expect(tasks.records.map((t) => t.Subject)).toEqual([expect.stringMatching(/^Follow up on MQL/)]);
  }, 180_000);

  // Found by the chaos run: the evaluation saved the lead (now an MQL) and then put the rep's task
  // in the pending store; a SIGKILL or a Redis restart in between lost the task for good, since the
  // retried job found no new handoff. Fixed: the task is saved with the lead (an outbox) and placed
  // by whichever run comes next.
  it('keeps the task of a handoff whose evaluation failed right after saving the lead', async () => {
    const ctx = h.runtime.ctx;
    const known = new Set(h.sandboxes.world.people.filter((p) => p.hubspot && p.salesforce && !p.salesforce.converted && !p.salesforce.duplicateLead).map((p) => p.hubspot!.email));
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['email', 'smk_stage']);
    const contact = contacts.find((c) => known.has(c.properties.email ?? '') && !['mql', 'sal', 'sql'].includes(c.properties.smk_stage ?? ''));
    expect(contact, 'a person in both CRMs, not yet qualified').toBeDefined();
    await h.hubspot.crm.contacts.basicApi.update(contact!.id, { properties: { jobtitle: 'VP of Marketing', numberofemployees: '800' } });
    // The first time the evaluation hands a task on, it dies (as under SIGKILL or a Redis restart).
    const store = ctx.pending.salesforce.task;
    const add = store.add.bind(store);
    let failed = 0;
    store.add = async (...args: Parameters<typeof store.add>) => {
      if (failed === 0) {
        failed += 1;
        throw new Error('connection lost (injected)');
      }
      return add(...args);
    };
    try {
      let stage = '';
      for (let round = 0; round < 6 && stage !== 'mql'; round += 1) {
        await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact!.id, kind: 'form_submission', count: 1, name: 'Demo request' });
        await sandboxControl(h.sandboxes.hubspot.baseUrl, '/activity', { contactId: contact!.id, kind: 'page_view', count: 6 });
        await syncOnce(ctx, { timeoutMs: 60_000 });
        stage = (await h.hubspot.crm.contacts.basicApi.getById(contact!.id, ['smk_stage'])).properties.smk_stage ?? '';
      }
      expect(stage).toBe('mql');
    } finally {
      store.add = add;
    }
    expect(failed, 'the injected failure happened').toBe(1);
    const leadId = await ctx.leads.linkOf('hubspot', 'contact', contact!.id);
    const sfId = (await ctx.leads.get(leadId ?? ''))?.lead.links.salesforce?.id;
    const tasks = await h.salesforce.query<{ Subject: string }>(`SELECT Id, Subject FROM Task WHERE WhoId = '${sfId}' AND Subject LIKE 'Follow up on MQL%'`);
    expect(tasks.records).toHaveLength(1);
    expect((await ctx.leads.get(leadId ?? ''))?.outboxTasks, 'the outbox is empty once placed').toBeUndefined();
  }, 180_000);
});
