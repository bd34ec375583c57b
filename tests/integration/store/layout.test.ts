/**
 * Upgrading loses nothing: a Redis written by the version before layout 2 (one `{q}` tag for every
 * queue, lead keys without a hash tag) keeps its leads, versions, open-lead counts and queued jobs
 * once `ensureLayout` (run by bootstrap at start) has moved them; one written before layout 3 (a
 * key per email, record link and lead counter) keeps its identity index and counters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { queuePrefix } from '../../../jobs/queues.js';
import { emptyLead } from '../../../src/sync/merge.js';
import { createKeys } from '../../../src/store/keys.js';
import { ensureLayout, LAYOUT_VERSION, layoutThreeEntry, layoutVersion } from '../../../src/store/layout.js';
import { LeadStore } from '../../../src/store/leads.js';
import { OpenLeadIndex } from '../../../src/store/open-leads.js';
import { createRedis, scanKeys } from '../../../src/store/redis.js';
import type { RedisClient } from '../../../src/store/redis.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

let t: TestRedis;
let queueConnection: RedisClient;
beforeEach(async () => {
  t = await testRedis('layout');
  queueConnection = createRedis(t.url, { forQueues: true });
});
afterEach(async () => {
  queueConnection.disconnect();
  await t.cleanup();
});

const AT = '2026-11-01T00:00:00.000Z';

describe('moving the keys of layout 1', () => {
  it('keeps leads, their versions, open-lead counts and waiting and delayed jobs', async () => {
    const p = t.prefix.replace(/:$/, '');
    const keys = createKeys(p);
    // Written as the previous version wrote them.
    const stored = { lead: emptyLead('Lold1', 'old@example.com', AT), views: {} };
    await t.redis.set(`${p}:lead:Lold1`, JSON.stringify(stored));
    await t.redis.zadd(`${p}:leads`, 0, 'Lold1');
    await t.redis.set(`${p}:lead-version:Lold1`, '3');
    await t.redis.set(`${p}:lead-evaluated:Lold1`, '2');
    await t.redis.zadd(`${p}:meta:open-leads:005A`, 1, 'Lold1');
    await t.redis.hset(`${p}:meta:open-leads-holder`, 'Lold1', '005A');
    const old = new Queue('evaluate', { connection: queueConnection, prefix: `${p}:{q}` });
    await old.add('evaluate', { leadId: 'Lold1' }, { jobId: 'waiting-1' });
    await old.add('evaluate', { leadId: 'Lold2' }, { jobId: 'delayed-1', delay: 3_600_000 });
    await old.close();

    const leads = new LeadStore(t.redis, keys);
    // What the new layout would see without the move: nothing.
    expect(await leads.get('Lold1')).toBeNull();
    expect(await layoutVersion(t.redis, keys)).toBe(1);

    const moved = await ensureLayout(t.redis, keys);
    expect(moved).toBeGreaterThanOrEqual(9);
    expect(await layoutVersion(t.redis, keys)).toBe(LAYOUT_VERSION);
    expect((await leads.get('Lold1'))?.lead.email).toBe('old@example.com');
    expect(await leads.versions(['Lold1'])).toEqual([3]);
    expect(await leads.evaluatedVersions(['Lold1'])).toEqual([2]);
    expect(await leads.count()).toBe(1);
    expect(await new OpenLeadIndex(t.redis, keys).counts(['005A'], null)).toEqual({ '005A': 1 });
    const left: string[] = [];
    for await (const batch of scanKeys(t.redis, `${p}:{q}:*`)) left.push(...batch);
    expect(left).toEqual([]);

    const queue = new Queue('evaluate', { connection: queueConnection, prefix: queuePrefix(p, 'evaluate') });
    try {
      expect((await queue.getDelayed()).map((job) => [job.id, job.data])).toEqual([['delayed-1', { leadId: 'Lold2' }]]);
      expect((await queue.getWaiting()).map((job) => job.id)).toEqual(['waiting-1']);
      // A worker of the new layout runs the waiting job.
      const ran: unknown[] = [];
      const worker = new Worker('evaluate', async (job) => void ran.push(job.data), { connection: queueConnection, prefix: queuePrefix(p, 'evaluate') });
      try {
        const deadline = Date.now() + 10_000;
        while (ran.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } finally {
        await worker.close();
      }
      expect(ran).toEqual([{ leadId: 'Lold1' }]);
    } finally {
      await queue.close();
    }

    // Once moved, a start moves nothing.
    expect(await ensureLayout(t.redis, keys)).toBe(0);
  });
});

describe('moving the keys of layout 2', () => {
  it('keeps the email index, the record links and the lead counters, and leaves no old key', async () => {
    const p = t.prefix.replace(/:$/, '');
    const keys = createKeys(p);
    // Written as the previous version wrote them: a key per entry.
    await t.redis.set(keys.meta('layout'), '2');
    await t.redis.set(`${p}:email:ada@example.com`, 'Lada');
    await t.redis.set(`${p}:email:{odd}+tag@example.com`, 'Lodd');
    await t.redis.set(`${p}:link:hubspot:contact:101`, 'Lada');
    await t.redis.set(`${p}:link:salesforce:Lead:00Q000000000001AAA`, 'Lada');
    await t.redis.set(`${p}:link:salesforce:Contact:003000000000001AAA`, 'Lada');
    await t.redis.set(`${p}:lead-version:{Lada}`, '7');
    await t.redis.set(`${p}:lead-evaluated:{Lada}`, '6');
    await t.redis.set(`${p}:lead-version:{Lodd}`, '1');
    const leads = new LeadStore(t.redis, keys);
    // What the new layout would see without the move: nothing.
    expect(await leads.leadByEmail('ada@example.com')).toBeNull();
    expect(await leads.versions(['Lada'])).toEqual([0]);

    expect(await ensureLayout(t.redis, keys)).toBe(8);
    expect(await layoutVersion(t.redis, keys)).toBe(LAYOUT_VERSION);
    expect(await leads.leadByEmail('ada@example.com')).toBe('Lada');
    expect(await leads.leadByEmail('{odd}+tag@example.com')).toBe('Lodd');
    expect(await leads.linkOf('hubspot', 'contact', '101')).toBe('Lada');
    expect(await leads.linkOf('salesforce', 'Lead', '00Q000000000001AAA')).toBe('Lada');
    expect(await leads.linkOf('salesforce', 'Contact', '003000000000001AAA')).toBe('Lada');
    expect(await leads.versions(['Lada', 'Lodd'])).toEqual([7, 1]);
    expect(await leads.evaluatedVersions(['Lada', 'Lodd'])).toEqual([6, 0]);
    // The moved values behave as the store's own: the claim is taken, the counters go on.
    expect(await leads.claimEmail('ada@example.com', 'Lother')).toBe(false);
    expect(await leads.bumpVersion('Lada')).toBe(8);
    expect(await leads.finishEvaluation('Lada', 8)).toBe(8);
    expect(await leads.evaluatedVersions(['Lada'])).toEqual([8]);

    const left: string[] = [];
    for await (const batch of scanKeys(t.redis, `${p}:*`)) left.push(...batch);
    expect(left.filter((key) => layoutThreeEntry(keys, key) !== null)).toEqual([]);
    expect(left.filter((key) => /:lead-(version|evaluated):|:email:[^{]|:link:[^:]+:[^{]/.test(key))).toEqual([]);
    // Once moved, a start moves nothing.
    expect(await ensureLayout(t.redis, keys)).toBe(0);
  });

  it('never takes a bucket of the new layout for a key to move', () => {
    const keys = createKeys('smk');
    for (const entry of [keys.emailIndex('ada@example.com'), keys.link('hubspot', 'contact', '101'), keys.link('salesforce', 'Lead', '00Q1')]) {
      expect(layoutThreeEntry(keys, entry.key)).toBeNull();
    }
    expect(layoutThreeEntry(keys, keys.leadCounters('L1'))).toBeNull();
    expect(layoutThreeEntry(keys, keys.lead('L1'))).toBeNull();
    expect(layoutThreeEntry(keys, 'smk:email:ada@example.com')).toEqual(keys.emailIndex('ada@example.com'));
    expect(layoutThreeEntry(keys, 'smk:lead-evaluated:{L1}')).toEqual({ key: keys.leadCounters('L1'), field: 'e' });
  });
});
