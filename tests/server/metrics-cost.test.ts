/**
 * `/metrics` keeps its per-lead figures (leads by stage, SLA status, breaches) without reading the
 * lead store on every scrape: one pass, kept in Redis and shared by every process, at most every
 * refresh interval (src/server/lead-summary.ts). Counted here: the lead records the scrapes read.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredLead } from '../../src/store/leads.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { countLeadReads, makeLead, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

const LEADS = 1200;

async function seed(h: ServerHarness, count: number, stage: 'mql' | 'sql', from = 0): Promise<void> {
  for (let start = from; start < from + count; start += 200) {
    const page: Promise<void>[] = [];
    for (let i = start; i < Math.min(from + count, start + 200); i += 1) {
      const stored: StoredLead = { lead: makeLead(`L${String(i).padStart(6, '0')}`, { stage: { current: stage, history: [] }, sla: { status: i % 4 === 0 ? 'breached' : 'running', escalations: 0 } }), views: {} };
      page.push(h.ctx.leads.save(stored));
    }
    await Promise.all(page);
  }
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function gauge(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

describe('/metrics per-lead figures', () => {
  let h: ServerHarness;
  let other: RunningServer | null = null;
  let spy: ReturnType<typeof countLeadReads> | null = null;

  beforeAll(async () => {
    h = await startHarness('metrics-cost', { server: { leadSummary: { minRefreshMs: 60_000 } } });
    await seed(h, LEADS, 'mql');
  });
  afterEach(async () => {
    spy?.restore();
    spy = null;
    await other?.close();
    other = null;
  });
  afterAll(async () => {
    await h.close();
  });

  it('scrapes do not read the lead store each time: six scrapes of 1,200 leads read each lead at most once', async () => {
    spy = countLeadReads(h.t.redis, h.t.prefix);
    for (let i = 0; i < 6; i += 1) {
      const text = await scrape(h.url);
      expect(gauge(text, 'smk_leads{stage="mql"}')).toBe(LEADS);
      expect(gauge(text, 'smk_sla_leads{status="breached"}')).toBe(LEADS / 4);
      expect(gauge(text, 'smk_sla_breaches')).toBe(LEADS / 4);
      expect(gauge(text, 'smk_lead_summary_age_seconds')).toBeGreaterThanOrEqual(0);
    }
    expect(spy.reads()).toBeLessThanOrEqual(LEADS);
  });

  it('several processes on one Redis share one pass: a second service reads no lead for its scrapes', async () => {
    other = await startServer(h.ctx, { port: 0, host: '127.0.0.1', cacheTtlMs: 0, leadSummary: { minRefreshMs: 60_000 } });
    spy = countLeadReads(h.t.redis, h.t.prefix);
    for (let i = 0; i < 3; i += 1) {
      const [a, b] = await Promise.all([scrape(h.url), scrape(other.url)]);
      expect(gauge(a, 'smk_leads{stage="mql"}')).toBe(LEADS);
      expect(gauge(b, 'smk_leads{stage="mql"}')).toBe(LEADS);
    }
    expect(spy.reads()).toBe(0);
  });
});

describe('/metrics per-lead figures over time', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('metrics-fresh', { server: { leadSummary: { minRefreshMs: 300 } } });
    await seed(h, 10, 'mql');
  });
  afterAll(async () => {
    await h.close();
  });

  it('follows the store within the refresh interval', async () => {
    expect(gauge(await scrape(h.url), 'smk_leads{stage="mql"}')).toBe(10);
    await seed(h, 5, 'sql', 100);
    await vi.waitFor(async () => {
      const text = await scrape(h.url);
      expect(gauge(text, 'smk_leads{stage="sql"}')).toBe(5);
      expect(gauge(text, 'smk_leads{stage="mql"}')).toBe(10);
    }, { timeout: 5000, interval: 100 });
  });

  it('counts again, from what the store holds, when Redis lost the figures (a restart or flush)', async () => {
    expect(gauge(await scrape(h.url), 'smk_leads{stage="mql"}')).toBe(10);
    // What an empty Redis looks like to this feature: no summary, no lock, and a store being rebuilt.
    for await (const ids of h.ctx.leads.ids(100)) for (const id of ids) await h.ctx.leads.delete(id);
    await seed(h, 3, 'mql', 200);
    await Promise.all([h.t.redis.del(h.ctx.keys.meta('lead-summary')), h.t.redis.del(h.ctx.keys.lock('lead-summary'))]);
    const text = await scrape(h.url);
    expect(gauge(text, 'smk_leads{stage="mql"}')).toBe(3);
    expect(gauge(text, 'smk_leads{stage="sql"}')).toBe(0);
  });
});
