/**
 * Routing decides under one lock, because the round-robin position and each rep's count of open
 * leads are shared by every worker. At the end of a full sync a third of the people are handed off
 * at once: each took the lock and read and wrote the pool's state on its own (at a million people
 * the evaluations queued behind it, the workers 43 % idle). The decisions waiting in one process
 * now go together: one lock round, one read and one write of the state for the lot, each decided
 * with the state the one before left (its rep's new lead counted, a cap reached stopping the rep).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEvaluate } from '../../../jobs/evaluate.js';
import type { Lead } from '../../../src/model/lead.js';
import { writeConfig } from '../../helpers/pipeline.js';
import { watchCommands } from '../../helpers/redis-monitor.js';
import { makeLead, startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;
const LEADS = 40;

beforeAll(async () => {
  const config = writeConfig([
    'routing:',
    '  defaultPool: team',
    '  capWindowDays: 30',
    '  pools:',
    '    team: { members: [{ owner: "005A" }, { owner: "005B" }, { owner: "005C" }, { owner: "005D", cap: 3 }] }',
    '',
  ].join('\n'));
  h = await startHarness('routing-batch', { env: { SMK_CONFIG: config } });
});

afterAll(async () => {
  await h?.close();
});

function mql(n: number): Lead {
  const at = new Date(h.ctx.clock.now()).toISOString();
  const id = `L${String(n).padStart(4, '0')}`;
  return makeLead(id, {
    updatedAt: at,
    links: { salesforce: { object: 'Lead', id: `00Q${String(n).padStart(15, '0')}` } },
    person: { firstName: 'Ana', lastName: id, title: 'VP Sales' },
    company: { name: 'Acme', employees: 500 },
    marketing: { engagement: [{ kind: 'demo_request', at }, { kind: 'meeting', at }], lifecycleStage: 'lead' },
  });
}

describe('routing many hand-offs at once', () => {
  it('takes the routing lock a few times for many hand-offs at once, and decides as one after another would', async () => {
    const leads = Array.from({ length: LEADS }, (_, i) => mql(i + 1));
    for (const lead of leads) await h.ctx.leads.save({ lead, views: {} });
    // Both CRMs read in full: evaluations decide (the end of a full sync).
    for (const crm of ['hubspot', 'salesforce'] as const) await h.ctx.cursors.markSynced(crm, h.ctx.clock.now());
    const watch = await watchCommands(h.ctx.redis, h.ctx.keys.prefix);
    // As the evaluate jobs of a worker run them: many at once (32 jobs of 8 by default).
    await Promise.all(leads.map((l) => processEvaluate(h.ctx, l.id, { bothRead: true })));
    const seen = await watch.stop();

    const owners = new Map<string, number>();
    for (const lead of leads) {
      const stored = await h.ctx.leads.get(lead.id);
      expect(stored?.lead.stage?.current).toBe('mql');
      const owner = stored?.lead.sales.ownerId ?? 'none';
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
    }
    // The capped rep got exactly their cap; the others took turns.
    expect(owners.get('005D')).toBe(3);
    const rest = ['005A', '005B', '005C'].map((o) => owners.get(o) ?? 0);
    expect(rest.reduce((a, b) => a + b, 0)).toBe(LEADS - 3);
    expect(Math.max(...rest) - Math.min(...rest)).toBeLessThanOrEqual(1);
    expect(await h.ctx.openLeads.counts(['005A', '005B', '005C', '005D'], null)).toEqual(Object.fromEntries(['005A', '005B', '005C', '005D'].map((o) => [o, owners.get(o) ?? 0])));

    const lockTakes = seen.filter((args) => args[0]?.toLowerCase() === 'set' && (args[1] ?? '').endsWith(':lock:routing')).length;
    expect(lockTakes).toBeGreaterThan(0);
    // One each before (40).
    expect(lockTakes).toBeLessThanOrEqual(LEADS / 8);
  }, 60_000);
});
