import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import { createKeys } from '../../../src/store/keys.js';
import { startWorld, type HubSpotWorld } from './setup.js';

describe('HubSpot readAll against the sandbox', () => {
  let w: HubSpotWorld;
  beforeAll(async () => {
    w = await startWorld('hs-read-all', { people: 10_000, seed: 7 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('reads every contact of 10,000 seeded people through the list endpoint at ceil(n/100) calls', async () => {
    const n = w.sandbox.store.contactCount();
    expect(n).toBeGreaterThan(8_000);
    await w.resetStats();
    const ids = new Set<string>();
    let problems = 0;
    let pages = 0;
    for await (const page of w.connector.readAll()) {
      pages += 1;
      expect(page.stream).toBe('contacts');
      for (const f of page.fragments) ids.add(f.recordId);
      problems += page.problems.length;
    }
    const stats = await w.stats();
    expect(ids.size).toBe(n);
    expect(problems).toBe(0);
    expect(stats.total).toBeLessThanOrEqual(Math.ceil(n / 100) + 3);
    expect(stats.calls).toEqual({ 'GET /crm/v3/objects/contacts': Math.ceil(n / 100) });
    expect(pages).toBe(Math.ceil(n / 100));
  });

  it('maps seeded records faithfully, including the ones naive mappers choke on', async () => {
    const fragments = [];
    for await (const page of w.connector.readAll()) {
      fragments.push(...page.fragments);
      if (fragments.length >= 1_000) break;
    }
    for (const f of fragments) expect(leadFragmentSchema.safeParse(f).success).toBe(true);
    expect(fragments.some((f) => f.person.firstName === null)).toBe(true);
    expect(fragments.some((f) => /[^\p{ASCII}]/u.test(f.person.lastName ?? ''))).toBe(true);
    // "1,200"-style employee counts arrive as numbers.
    expect(fragments.every((f) => f.company.employees === null || f.company.employees === undefined || Number.isFinite(f.company.employees))).toBe(true);
    expect(fragments.filter((f) => (f.company.employees ?? 0) >= 1000).length).toBeGreaterThan(0);
    expect(new Set(fragments.map((f) => f.marketing.lifecycleStage))).toEqual(new Set(['subscriber', 'lead', 'mql']));
  });

  it('reports the X-HubSpot-RateLimit-* headers to the shared gate', async () => {
    const report = await w.connector.quota();
    expect(report).toMatchObject({ crm: 'hubspot', dailyLimit: 1_000_000, paused: false });
    expect(report.dailyUsed).toBeGreaterThan(80);
    const observed = await w.redis.redis.hgetall(createKeys(w.redis.prefix).quotaObserved('hubspot'));
    expect(Number(observed.windowLimit)).toBe(190);
    expect(Number(observed.dailyUsed)).toBeGreaterThan(0);
  });
});
