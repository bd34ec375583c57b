/**
 * Reading back what the connector itself wrote (the feeds' catch-up after a sync: the smk values,
 * the owner and lifecycle stage it set, the fields it copied) is no change to evaluate: the
 * evaluation that planned those writes already decided with them. Each such re-evaluation cost
 * the full sync a second evaluation of most people (2.5 per person at 2,000 in the benchmark).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../../jobs/run-once.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';
import { watchCommands } from '../../helpers/redis-monitor.js';

describe('the catch-up after a sync', () => {
  let h: Harness;
  beforeAll(async () => { h = await syncedHarness({ people: 40, seed: 17, label: 'read-back' }); }, 180_000);
  afterAll(async () => { await h?.close(); });

  it('reads back what the sync wrote and evaluates nobody for it, then a real change is evaluated', async () => {
    const ctx = h.runtime.ctx;
    const before = await ctx.counters.read();
    const catchUp = await syncOnce(ctx);
    // The sync wrote to most people (scores, grades, owners, lifecycle stages, copied fields)...
    expect(before['writes.hubspot'] + before['writes.salesforce']).toBeGreaterThan(20);
    // ...and the pass that reads all of it back evaluates no one and writes nothing.
    expect({ evaluated: catchUp.evaluated, writes: catchUp.writes }).toEqual({ evaluated: 0, writes: { hubspot: 0, salesforce: 0 } });

    // A change made by someone else, to a person the sync had written to, still is one.
    const contacts = await h.hubspot.crm.contacts.basicApi.getPage(100, undefined, ['jobtitle', 'smk_lead_id']);
    const written = contacts.results.find((c) => c.properties.smk_lead_id);
    expect(written).toBeDefined();
    await h.hubspot.crm.contacts.basicApi.update(written!.id, { properties: { jobtitle: 'Chief Revenue Officer' } });
    const busy = await syncOnce(ctx);
    expect(busy.evaluated).toBe(1);
  }, 180_000);
});

describe('the Redis cost of reading back a settled person', () => {
  let h: Harness;
  beforeAll(async () => { h = await syncedHarness({ people: 30, seed: 23, label: 'read-back-cost' }); }, 180_000);
  afterAll(async () => { await h?.close(); });

  it('re-links no record and re-indexes no lead that is already linked and indexed', async () => {
    const ctx = h.runtime.ctx;
    await syncOnce(ctx);
    // Every record is linked and every lead indexed: a full re-read (a reconcile's, a catch-up's)
    // only re-confirms that. Each such SET and ZADD was a round trip per record read.
    const watch = await watchCommands(h.runtime.ctx.redis, ctx.keys.prefix);
    const pass = await syncOnce(ctx, { full: true });
    const seen = await watch.stop();
    expect(pass.evaluated).toBe(0);
    const named = (cmd: string, part: string) => seen.filter((args) => args[0]?.toLowerCase() === cmd && (args[1] ?? '').includes(part)).length;
    expect(named('hget', ':link:')).toBeGreaterThan(30);
    expect({ linkSets: named('hset', ':link:'), indexAdds: named('zadd', `${ctx.keys.prefix}:leads`) }).toEqual({ linkSets: 0, indexAdds: 0 });
  }, 180_000);
});
