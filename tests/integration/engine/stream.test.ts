/**
 * Salesforce Change Data Capture through the pipeline: a rep's change arrives as an ingest job
 * naming the record (one read, no poll), our own write-back seen on the stream causes no read, a
 * restart resumes from the stored replay id with nothing lost or read twice, a replay id the org
 * no longer keeps falls back to a cursor poll, gap events are read and overflow events polled,
 * and a lost stream loses nothing. Counted: jobs, refs, events and API calls.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SyncContext } from '../../../jobs/context.js';
import { processIngest } from '../../../jobs/ingest.js';
import { processPoll } from '../../../jobs/poll.js';
import { scheduleSalesforcePoll, startChangeStream, streamStatus } from '../../../jobs/stream.js';
import type { ChangeStreamRunner } from '../../../jobs/stream.js';
import { resetStats, sandboxControl, stats } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
}

interface StreamJob {
  refs: Array<{ object: string; id: string }>;
}

/** The ingest jobs the stream queued since the last call (removed from the queue). */
async function takeStreamJobs(ctx: SyncContext): Promise<StreamJob[]> {
  const jobs = (await ctx.queues.ingest.getJobs(['wait', 'prioritized', 'delayed'])).filter((j) => j.name === 'stream');
  for (const j of jobs) await j.remove();
  return jobs.map((j) => ({ refs: j.data.refs ?? [] }));
}

async function takePolls(ctx: SyncContext): Promise<number> {
  const jobs = (await ctx.queues.poll.getJobs(['wait', 'prioritized', 'delayed'])).filter((j) => j.name === 'poll' && j.data.crm === 'salesforce' && !j.repeatJobKey && !String(j.id).startsWith('repeat:'));
  for (const j of jobs) await j.remove();
  return jobs.length;
}

/** Runs the ingest jobs waiting in the queue (a poll's pages), here and now. */
async function drainIngest(ctx: SyncContext): Promise<void> {
  for (;;) {
    const jobs = await ctx.queues.ingest.getJobs(['wait', 'prioritized', 'delayed']);
    if (jobs.length === 0) return;
    for (const j of jobs) {
      await j.remove();
      await processIngest(ctx, j.data);
    }
  }
}

const sfCalls = async (h: Harness) => (await stats(h.sandboxes.salesforce.instanceUrl)).total;

describe('Salesforce Change Data Capture in the pipeline', () => {
  let h: Harness;
  let runner: ChangeStreamRunner | null = null;
  let leads: string[] = [];

  const start = async () => {
    runner = startChangeStream(h.runtime.ctx, { retryMs: 100 });
    await until(async () => (await streamStatus(h.runtime.ctx)).state === 'connected');
  };
  const stop = async () => {
    await runner?.stop();
    runner = null;
  };
  const edit = async (id: string, title: string) => {
    await h.salesforce.sobject('Lead').update({ Id: id, Title: title });
  };

  beforeAll(async () => {
    h = await syncedHarness({ people: 30, seed: 37, label: 'engine-stream' });
    h.sandboxes.salesforce.changeEvents.select(['Lead', 'Contact']);
    const rows = await h.salesforce.query<{ Id: string }>('SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 6');
    leads = rows.records.map((r) => r.Id);
    expect(leads.length).toBe(6);
  }, 120_000);

  afterAll(async () => {
    await stop();
    await h?.close();
  });

  beforeEach(async () => {
    await stop();
    await takeStreamJobs(h.runtime.ctx);
    await takePolls(h.runtime.ctx);
  });

  it('a rep change becomes one ingest job naming the record, with no Salesforce call until ingest reads it once', async () => {
    const ctx = h.runtime.ctx;
    await start();
    await takePolls(ctx);
    await resetStats(h.sandboxes.salesforce.instanceUrl);
    await edit(leads[0]!, 'VP Streaming');
    const jobs = await until(async () => {
      const j = await takeStreamJobs(ctx);
      return j.length > 0 ? j : null;
    });
    expect(jobs).toEqual([{ refs: [{ object: 'Lead', id: leads[0] }] }]);
    expect(await sfCalls(h)).toBe(1); // the rep's own update, nothing of ours
    expect(await takePolls(ctx)).toBe(0);

    await processIngest(ctx, { crm: 'salesforce', readAt: ctx.clock.now(), refs: jobs[0]!.refs as Array<{ object: 'Lead'; id: string }> });
    expect(await sfCalls(h)).toBe(2); // one read
    const status = await streamStatus(ctx);
    expect(status.lastEventAt).toBeGreaterThan(0);
    expect(status.lagMs).toBeGreaterThanOrEqual(0);
    const link = await ctx.leads.linkOf('salesforce', 'Lead', leads[0]!);
    expect((await ctx.leads.get(link!))?.lead.person.title).toBe('VP Streaming');
  });

  it('our own write-back seen on the stream causes no read and no job', async () => {
    const ctx = h.runtime.ctx;
    await start();
    const before = await streamStatus(ctx);
    await resetStats(h.sandboxes.salesforce.instanceUrl);
    const out = await ctx.connectors.salesforce.write([{ ref: { object: 'Lead', id: leads[1]! }, smk: { salesNotes: null, score: '42' } }]);
    expect(out.every((o) => o.ok)).toBe(true);
    await until(async () => ((await streamStatus(ctx)).own ?? 0) > (before.own ?? 0));
    await sleep(200);
    expect(await takeStreamJobs(ctx), JSON.stringify({ lead: leads[1] })).toEqual([]);
    const s = await stats(h.sandboxes.salesforce.instanceUrl);
    expect(Object.keys(s.calls).filter((k) => k.startsWith('GET'))).toEqual([]);
  });

  it('a restart resumes from the stored replay id: changes made while stopped arrive once, earlier ones are not read again', async () => {
    const ctx = h.runtime.ctx;
    await start();
    await edit(leads[2]!, 'Before stop');
    await until(async () => (await takeStreamJobs(ctx)).length > 0);
    await stop();
    await edit(leads[3]!, 'While stopped A');
    await edit(leads[4]!, 'While stopped B');
    await start();
    const refs: string[] = [];
    await until(async () => {
      for (const j of await takeStreamJobs(ctx)) refs.push(...j.refs.map((r) => r.id));
      return refs.length >= 2;
    });
    await sleep(300);
    for (const j of await takeStreamJobs(ctx)) refs.push(...j.refs.map((r) => r.id));
    expect(refs).toEqual([leads[3], leads[4]]);
  });

  it('a replay id the org no longer keeps falls back to a cursor poll and subscribes for new changes', async () => {
    const ctx = h.runtime.ctx;
    await ctx.redis.hset(ctx.keys.meta('stream:salesforce:replay'), 'Lead', '987654');
    await start();
    expect(await until(async () => takePolls(ctx))).toBe(1);
    const status = await streamStatus(ctx);
    expect(status.state).toBe('connected');
    await edit(leads[5]!, 'After expiry');
    const jobs = await until(async () => {
      const j = await takeStreamJobs(ctx);
      return j.length > 0 ? j : null;
    });
    expect(jobs.flatMap((j) => j.refs.map((r) => r.id))).toEqual([leads[5]]);
  });

  it('after an expired replay id, changes streamed before the fallback poll runs do not move the cursor past what the poll must read', async () => {
    const ctx = h.runtime.ctx;
    await start();
    await edit(leads[0]!, 'Streamed first');
    await until(async () => (await takeStreamJobs(ctx)).length > 0);
    await stop();
    // Made while the service was stopped, and no longer retained when it starts again.
    await edit(leads[1]!, 'Missed by the stream');
    h.sandboxes.salesforce.changeEvents.expireRetained();
    await start();
    expect(await until(async () => takePolls(ctx))).toBe(1);
    // A change streamed before the queued poll runs, a few seconds later (Salesforce stamps whole
    // seconds, and the cursor follows the stream to the second before its last commit).
    await sleep(2500);
    await edit(leads[2]!, 'Streamed before the poll');
    await until(async () => (await takeStreamJobs(ctx)).length > 0);
    await processPoll(ctx, 'salesforce');
    await drainIngest(ctx);
    const link = await ctx.leads.linkOf('salesforce', 'Lead', leads[1]!);
    expect((await ctx.leads.get(link!))?.lead.person.title).toBe('Missed by the stream');
  });

  it('reads the records of a gap event and polls on an overflow event', async () => {
    const ctx = h.runtime.ctx;
    await start();
    await sandboxControl(h.sandboxes.salesforce.instanceUrl, '/cdc/gap', { entity: 'Lead', changeType: 'GAP_UPDATE', recordIds: [leads[0]] });
    const jobs = await until(async () => {
      const j = await takeStreamJobs(ctx);
      return j.length > 0 ? j : null;
    });
    expect(jobs.flatMap((j) => j.refs.map((r) => r.id))).toEqual([leads[0]]);
    await sandboxControl(h.sandboxes.salesforce.instanceUrl, '/cdc/gap', { entity: 'Contact', changeType: 'GAP_OVERFLOW' });
    expect(await until(async () => takePolls(ctx))).toBe(1);
    expect(await takeStreamJobs(ctx)).toEqual([]);
  });

  it('polls Salesforce every 5 minutes while the stream is healthy, at sync.pollEvery while Change Data Capture is off', async () => {
    const ctx = h.runtime.ctx;
    const every = async () => (await ctx.queues.poll.getJobScheduler('poll-salesforce'))?.every;
    runner = startChangeStream(ctx, { retryMs: 100, recheckMs: 100, onHealth: async (healthy) => void (await scheduleSalesforcePoll(ctx, healthy)) });
    expect(await until(async () => (await every()) === 300_000 && 300_000)).toBe(300_000);
    await stop();
    expect(await every()).toBe(ctx.config.file.sync.pollEvery);
    h.sandboxes.salesforce.changeEvents.select(['Lead']);
    try {
      runner = startChangeStream(ctx, { retryMs: 100, recheckMs: 100, onHealth: async (healthy) => void (await scheduleSalesforcePoll(ctx, healthy)) });
      const status = await until(async () => {
        const s = await streamStatus(ctx);
        return s.state === 'off' && s.reason === 'not-enabled' ? s : null;
      });
      expect(status.message).toContain('Contact');
      expect(await every()).toBe(ctx.config.file.sync.pollEvery);
    } finally {
      await stop();
      await ctx.queues.poll.removeJobScheduler('poll-salesforce');
      h.sandboxes.salesforce.changeEvents.select(['Lead', 'Contact']);
    }
  });

  it('a session that expired under the stream is refreshed: the stream subscribes again with the new token from the stored replay id, and loses nothing', async () => {
    const ctx = h.runtime.ctx;
    // A failed stream waits ten minutes before it tries again: a refused session must not need that.
    runner = startChangeStream(ctx, { retryMs: 600_000 });
    await until(async () => (await streamStatus(ctx)).state === 'connected');
    await edit(leads[3]!, 'Before the expiry');
    await until(async () => (await takeStreamJobs(ctx)).length > 0);
    // The org ends every session and the stream's connection with it: the client's handshake
    // again is refused (403 Handshake denied, 401::Authentication invalid, reconnect none).
    await sandboxControl(h.sandboxes.salesforce.instanceUrl, '/expire-sessions', {});
    h.sandboxes.salesforce.dropStreamingClients();
    await edit(leads[4]!, 'While the session was dead');
    const refs: string[] = [];
    const collect = async () => {
      for (const j of await takeStreamJobs(ctx)) refs.push(...j.refs.map((r) => r.id));
    };
    await until(async () => {
      await collect();
      return refs.length > 0;
    }, 20_000);
    await until(async () => (await streamStatus(ctx)).state === 'connected');
    await edit(leads[5]!, 'After the refresh');
    await until(async () => {
      await collect();
      return refs.length >= 2;
    });
    await sleep(300);
    await collect();
    expect(refs).toEqual([leads[4], leads[5]]);
  });

  it('a stream the org dropped (Unknown client) reconnects and loses nothing', async () => {
    const ctx = h.runtime.ctx;
    await start();
    h.sandboxes.salesforce.dropStreamingClients();
    await edit(leads[1]!, 'During the drop');
    const jobs = await until(async () => {
      const j = await takeStreamJobs(ctx);
      return j.length > 0 ? j : null;
    }, 20_000);
    expect(jobs.flatMap((j) => j.refs.map((r) => r.id))).toEqual([leads[1]]);
  });

  it('a delivery that cannot be handed on (Redis down) ends the subscription and is replayed from the stored replay id: nothing is lost, though later changes arrived meanwhile', async () => {
    const ctx = h.runtime.ctx;
    await start();
    await takePolls(ctx);
    // Redis refuses writes for a while: the hand-off's ingest job, the owed poll and its cursor hold.
    let down = true;
    const refuse = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => (down ? Promise.reject(new Error('Connection is closed.')) : fn(...args));
    const { ingest, poll } = ctx.queues;
    const restore = { ingestAdd: ingest.add.bind(ingest), pollAdd: poll.add.bind(poll), set: ctx.redis.set.bind(ctx.redis) };
    ingest.add = refuse(restore.ingestAdd) as typeof ingest.add;
    poll.add = refuse(restore.pollAdd) as typeof poll.add;
    ctx.redis.set = refuse(restore.set as (...args: unknown[]) => Promise<unknown>) as typeof ctx.redis.set;
    try {
      await edit(leads[2]!, 'During the outage');
      await until(async () => (await streamStatus(ctx)).state === 'down', 10_000).catch(() => undefined);
      await sleep(300);
    } finally {
      down = false;
      ingest.add = restore.ingestAdd as typeof ingest.add;
      poll.add = restore.pollAdd as typeof poll.add;
      ctx.redis.set = restore.set;
    }
    await edit(leads[3]!, 'After the outage');
    const refs: string[] = [];
    await until(async () => {
      for (const j of await takeStreamJobs(ctx)) refs.push(...j.refs.map((r) => r.id));
      return refs.includes(leads[3]!) ? refs : null;
    }, 20_000);
    await sleep(300);
    for (const j of await takeStreamJobs(ctx)) refs.push(...j.refs.map((r) => r.id));
    expect(refs).toContain(leads[2]);
    expect(refs.filter((id) => id === leads[3])).toHaveLength(1);
  });
});
