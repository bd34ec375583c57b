import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFamily, redisCensus } from '../../../bench/lib/redis-census.js';
import { createKeys } from '../../../src/store/keys.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

describe('keyFamily', () => {
  it.each([
    ['p:lead:L0123456789abcdef0123', 'lead'],
    ['p:lead-version:L0123456789abcdef0123', 'lead-version'],
    ['p:held:hubspot:L0123456789abcdef0123', 'held:hubspot'],
    ['p:link:salesforce:Lead:00Q000000000001AAA', 'link:salesforce'],
    ['p:{q}:evaluate:123', '{q}:evaluate'],
    ['p:pending:{hubspot}:write:ids', 'pending:hubspot'],
    ['p:meta:open-leads:005000000000001', 'meta:open-leads'],
    ['p:acct:{acct-hubspot}:domain:acme.com', 'acct:acct-hubspot'],
    ['p:email:ada@example.com', 'email'],
  ])('%s is in family %s', (key, family) => {
    expect(keyFamily(key, 'p')).toBe(family);
  });

  // The keys of layout 3 (src/store/layout.ts): the index buckets keep their index's family name.
  const keys = createKeys('p');
  it.each([
    [keys.emailIndex('ada@example.com').key, 'email'],
    [keys.link('hubspot', 'contact', '101').key, 'link:hubspot'],
    [keys.link('salesforce', 'Lead', '00Q000000000001AAA').key, 'link:salesforce'],
    [keys.leadCounters('L0123456789abcdef0123'), 'lead-counters'],
  ])('%s is in family %s', (key, family) => {
    expect(keyFamily(key, 'p')).toBe(family);
  });
});

describe('redisCensus', () => {
  let t: TestRedis;
  beforeAll(async () => { t = await testRedis('census'); });
  afterAll(async () => { await t.cleanup(); });

  it("sizes only the prefix's keys, by family, and adds up", async () => {
    const prefix = t.prefix.replace(/:$/, '');
    await t.redis.set(`${prefix}:lead:L0123456789abcdef0123`, 'x'.repeat(2000));
    await t.redis.set(`${prefix}:lead:L0123456789abcdef0124`, 'y'.repeat(1000));
    await t.redis.set(`${prefix}:email:ada@example.com`, 'L0123456789abcdef0123');
    const census = await redisCensus(t.redis, prefix);
    expect(census.keys).toBe(3);
    const lead = census.families.find((f) => f.family === 'lead');
    expect(lead?.keys).toBe(2);
    expect(lead?.bytes).toBeGreaterThan(3000);
    expect(census.families[0]?.family).toBe('lead');
    expect(census.bytes).toBe(census.families.reduce((a, f) => a + f.bytes, 0));
  });
});
