import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../../src/store/keys.js';
import { LeadStore } from '../../../src/store/leads.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';
import { twoViewLead } from '../../helpers/stored-lead.js';

describe('LeadStore in Redis', () => {
  let t: TestRedis;
  beforeAll(async () => { t = await testRedis('lead-encoding'); });
  afterAll(async () => { await t.cleanup(); });

  it('keeps a person known to both CRMs in under 1,200 bytes of Redis memory, and reads it back whole', async () => {
    const keys = createKeys(t.prefix);
    const leads = new LeadStore(t.redis, keys);
    const stored = twoViewLead(7);
    await leads.save(stored);
    const bytes = Number(await t.redis.call('MEMORY', 'USAGE', keys.lead(stored.lead.id), 'SAMPLES', '0'));
    expect(bytes).toBeLessThan(1200);
    expect(await leads.get(stored.lead.id)).toEqual(stored);
    const many = await leads.getMany([stored.lead.id, 'Lmissing']);
    expect(many.get(stored.lead.id)).toEqual(stored);
    expect(many.size).toBe(1);
  });

  it('reads a lead an earlier version stored as JSON, and re-encodes it at the next save', async () => {
    const keys = createKeys(t.prefix);
    const leads = new LeadStore(t.redis, keys);
    const stored = twoViewLead(8);
    await t.redis.set(keys.lead(stored.lead.id), JSON.stringify(stored));
    await t.redis.zadd(keys.leadIndex(), 0, stored.lead.id);
    const read = await leads.get(stored.lead.id);
    expect(read?.lead.email).toBe(stored.lead.email);
    expect((await leads.getMany([stored.lead.id])).get(stored.lead.id)?.lead.id).toBe(stored.lead.id);
    await leads.save(read!);
    const raw = await t.redis.getBuffer(keys.lead(stored.lead.id));
    expect(raw?.[0]).toBe(1);
    expect((await leads.get(stored.lead.id))?.lead.email).toBe(stored.lead.email);
  });
});
