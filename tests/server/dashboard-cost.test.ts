/**
 * A dashboard refresh asks for the reports and the funnel of the period on screen at once: one
 * pass over the lead store serves both (src/server/snapshot.ts), as one pass served every report
 * before the funnel took a period. Counted here: the lead records read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPeriodFunnel } from '../../jobs/reports.js';
import type { FunnelQuery } from '../../src/rules/periods.js';
import { ServerData } from '../../src/server/snapshot.js';
import { countLeadReads, makeLead, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

const LEADS = 300;
const MARCH: FunnelQuery = { from: '2025-03-01', to: '2025-03-31' };

describe('the funnel on the dashboard', () => {
  let h: ServerHarness;

  beforeAll(async () => {
    h = await startHarness('dashboard-cost');
    for (let i = 0; i < LEADS; i += 1) {
      const at = `2025-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00.000Z`;
      await h.ctx.leads.save({ lead: makeLead(`L${i}`, { stage: { current: i % 3 === 0 ? 'mql' : 'lead', history: [{ stage: 'lead', at, cause: 'first seen' }, ...(i % 3 === 0 ? [{ stage: 'mql' as const, at, cause: 'score' }] : [])] } }), views: {} });
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is the report readPeriodFunnel computes', async () => {
    const data = new ServerData(h.ctx, { reportTtlMs: 60_000 });
    const funnel = await data.funnel(MARCH);
    expect(funnel).toEqual(await readPeriodFunnel(h.ctx, MARCH));
    expect(funnel.steps.slice(0, 2).map((s) => s.count)).toEqual([LEADS, LEADS / 3]);
  });

  it('costs one pass over the store with the other reports, refresh after refresh', async () => {
    // No caching: every refresh computes afresh.
    const data = new ServerData(h.ctx, { reportTtlMs: 0 });
    await data.funnel(MARCH);
    const counter = countLeadReads(h.ctx.redis, h.ctx.keys.prefix + ':');
    try {
      for (let refresh = 1; refresh <= 2; refresh += 1) {
        const [reports, funnel] = await Promise.all([data.reports(), data.funnel(MARCH)]);
        expect(reports.leads).toBe(LEADS);
        expect(funnel.steps[0]?.count).toBe(LEADS);
        expect(counter.reads()).toBe(LEADS * refresh);
      }
      // Another period is one more pass, the first time it is asked for.
      await data.funnel({ period: 'quarter' });
      expect(counter.reads()).toBe(LEADS * 3);
    } finally {
      counter.restore();
    }
  });
});
