/**
 * A pass over every stored lead (the MQL pace check, training the likelihood model, its bands on
 * the dashboard, a rules dry-run from the API or `smk rules test`, `smk rules backtest`) reads the
 * store a page at a time and is done with a page before it asks for the next. Holding every lead
 * at once does not fit a worker at a million people: a decoded lead takes several KB of heap.
 *
 * A probe on LeadStore.all wraps each lead it hands out: when the next page is asked for, it counts
 * the leads of the previous page whose contents nothing has looked at yet (an id or an email read
 * to file the lead away does not count). 1,200 people make three pages.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkMqlTarget } from '../../../jobs/alerts.js';
import { processRetrain } from '../../../jobs/likelihood.js';
import { backtestReport, rulesTestReport } from '../../../src/cli/rules.js';
import { parseConfigText } from '../../../src/config.js';
import { LeadStore } from '../../../src/store/leads.js';
import type { StoredLead } from '../../../src/store/leads.js';
import { outcomeWorld } from '../../helpers/outcome-world.js';
import { writeConfig } from '../../helpers/pipeline.js';
import { authHeaders, startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

const PEOPLE = 1200;
const CONFIG = `
targets: { mqlPerMonth: 100000, tz: America/New_York }
alerts:
  channels:
    team: { type: slack, webhookUrlEnv: TEST_SLACK_WEBHOOK_URL }
  routes:
    - { events: [target_behind], channel: team }
likelihood: { autoPublish: true }
`;

/** Leads of a page handed out and not yet looked into when the next page was asked for, per pass. */
function probeLeadStore(): { passes: number[][]; restore: () => void } {
  const original = LeadStore.prototype.all;
  const passes: number[][] = [];
  const spy = vi.spyOn(LeadStore.prototype, 'all').mockImplementation(function (this: LeadStore, pageSize?: number) {
    const unread: number[] = [];
    passes.push(unread);
    const source = original.call(this, pageSize);
    return (async function* probed() {
      let handedOut: Array<{ used: boolean }> = [];
      for await (const page of source) {
        unread.push(handedOut.filter((h) => !h.used).length);
        handedOut = [];
        yield page.map((stored): StoredLead => {
          const flag = { used: false };
          handedOut.push(flag);
          const watch = <T extends object>(target: T, free: ReadonlySet<PropertyKey>): T =>
            new Proxy(target, { get: (t, key, receiver) => { if (!free.has(key)) flag.used = true; return Reflect.get(t, key, receiver) as unknown; } });
          return { ...stored, lead: watch(stored.lead, new Set(['id', 'email'])), views: watch(stored.views, new Set()) };
        });
      }
    })();
  });
  return { passes, restore: () => spy.mockRestore() };
}

let h: ServerHarness;

beforeAll(async () => {
  h = await startHarness('whole-store-passes', { env: { SMK_CONFIG: writeConfig(CONFIG), TEST_SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook' } });
  const leads = outcomeWorld({ people: PEOPLE, seed: 3 });
  for (let i = 0; i < leads.length; i += 100) await Promise.all(leads.slice(i, i + 100).map((lead) => h.ctx.leads.save({ lead, views: {} })));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('passes over every stored lead', () => {
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['the MQL pace check of each reconcile', () => checkMqlTarget(h.ctx)],
    ['retraining the likelihood model (and publishing it)', () => processRetrain(h.ctx, 'test')],
    ['the likelihood bands of /api/model', async () => {
      expect(await h.ctx.models.publishedVersion()).not.toBeNull();
      const res = await fetch(`${h.url}/api/model`, { headers: authHeaders() });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { bands: unknown[] }).bands).toHaveLength(5);
    }],
    ['a rules dry-run from the API', async () => {
      const res = await fetch(`${h.url}/api/rules/test`, { method: 'POST', headers: authHeaders({ 'Content-Type': 'application/yaml' }), body: 'scoring:\n  fit:\n    - { field: company.employees, gte: 500, points: 40, reason: Large company }\n' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { leads: number }).leads).toBe(PEOPLE);
    }],
    ['`smk rules test` (the dry-run, then the field writes)', async () => {
      const candidate = parseConfigText('scoring:\n  fit:\n    - { field: company.employees, gte: 500, points: 40, reason: Large company }\n', 'the candidate');
      expect(await rulesTestReport(h.ctx, candidate, 2)).toMatch(new RegExp(`^${PEOPLE} stored leads`));
    }],
    ['`smk rules backtest`', async () => {
      expect(await backtestReport(h.ctx)).toMatch(/score band/);
    }],
  ];

  it.each(cases)('%s reads a page at a time', async (_name, run) => {
    const probe = probeLeadStore();
    try {
      await run();
    } finally {
      probe.restore();
    }
    expect(probe.passes.length).toBeGreaterThan(0);
    for (const unread of probe.passes) {
      // Three pages: the second and third were asked for after the one before was used.
      expect(unread.length).toBe(Math.ceil(PEOPLE / 500));
      expect(unread).toEqual(unread.map(() => 0));
    }
  }, 60_000);
});
