/**
 * Upgrading loses nothing: a Redis written by the version before layout 2 (one `{q}` tag for every
 * queue, lead keys without a hash tag) keeps its leads, versions, open-lead counts and queued jobs
 * once `ensureLayout` (run by bootstrap at start) has moved them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { queuePrefix } from '../../../jobs/queues.js';
import { emptyLead } from '../../../src/sync/merge.js';
import { createKeys } from '../../../src/store/keys.js';
import { ensureLayout, LAYOUT_VERSION, layoutVersion } from '../../../src/store/layout.js';
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
