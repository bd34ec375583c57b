/**
 * A reminder timer (the SLA's delayed job) tells the owner while the SLA runs, and the alerts
 * queue keeps to alerts.maxPerMinute whatever arrives at once. Real Redis, BullMQ workers and a
 * local Slack webhook receiver; the CRMs are doubles (nothing here calls them).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueAlerts } from '../../../jobs/alerts.js';
import { processSlaTimer } from '../../../jobs/sla.js';
import { startWorkers } from '../../../jobs/workers.js';
import type { WorkerSet } from '../../../jobs/workers.js';
import type { Lead } from '../../../src/model/lead.js';
import { startSlackReceiver } from '../../helpers/alert-receivers.js';
import type { SlackReceiver } from '../../helpers/alert-receivers.js';
import { makeLead, startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;
let slack: SlackReceiver;
let workers: WorkerSet;

const HOUR = 3_600_000;

function leadWithSla(id: string, dueInMs: number): Lead {
  const now = Date.now();
  return makeLead(id, {
    person: { firstName: 'Ana', lastName: `Ruiz ${id}` },
    company: { name: 'Acme' },
    sales: { ownerId: '005000000000001AAA' },
    stage: { current: 'mql', history: [{ stage: 'mql', at: new Date(now - HOUR).toISOString(), cause: 'test' }] },
    sla: { startedAt: new Date(now - HOUR).toISOString(), handoffAt: new Date(now - HOUR).toISOString(), dueAt: new Date(now + dueInMs).toISOString(), status: 'running', metAt: null, breachedAt: null, escalations: 0 },
  });
}

beforeAll(async () => {
  slack = await startSlackReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'smk-alert-limits-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, [
    'sla:',
    '  reminders: [1h]',
    'alerts:',
    '  maxPerMinute: 2',
    '  channels:',
    '    team: { type: slack, webhookUrlEnv: LIMITS_SLACK_WEBHOOK }',
    '  routes:',
    '    - { events: [reminder, breach], channel: team }',
    '',
  ].join('\n'));
  h = await startHarness('alert-limits', { env: { SMK_CONFIG: path, LIMITS_SLACK_WEBHOOK: slack.webhookUrl() } });
  workers = startWorkers(h.ctx, { queues: ['alerts'] });
});

afterAll(async () => {
  await workers?.close();
  await h?.close();
  await slack?.close();
});

describe('reminder timers', () => {
  it('tell the channel while the SLA runs, and not once it was met', async () => {
    await h.ctx.leads.save({ lead: leadWithSla('L1', 2 * HOUR), views: {} });
    const remindAt = new Date(Date.now() - 60_000).toISOString();
    const result = await processSlaTimer(h.ctx, { leadId: 'L1', dueAt: remindAt, kind: 'reminder' });
    expect(result.reminded).toBe(1);
    const posts = await slack.waitFor(1);
    expect(String(posts[0]!.body.text)).toMatch(/^Reminder: first touch due for Ana Ruiz L1\n/);
    const met = leadWithSla('L2', 2 * HOUR);
    await h.ctx.leads.save({ lead: { ...met, sla: { ...met.sla!, status: 'met', metAt: new Date().toISOString() } }, views: {} });
    expect((await processSlaTimer(h.ctx, { leadId: 'L2', dueAt: remindAt, kind: 'reminder' })).reminded).toBeUndefined();
  });
});

describe('the alerts rate limit', () => {
  it('sends at most maxPerMinute messages a minute; the rest wait their turn', async () => {
    const before = slack.posts.length;
    const lead = leadWithSla('L3', 2 * HOUR);
    await h.ctx.leads.save({ lead, views: {} });
    const at = (i: number) => new Date(Date.parse('2026-11-23T15:00:00Z') + i * 60_000).toISOString();
    await queueAlerts(h.ctx, lead, [0, 1, 2, 3].map((i) => ({ kind: 'breach' as const, leadId: 'L3', at: at(i), ownerId: '005000000000001AAA' })));
    await new Promise((r) => setTimeout(r, 4000));
    // The reminder above already took one of this minute's two.
    expect(slack.posts.length - before).toBeLessThanOrEqual(1);
    const counts = await h.ctx.queues.alerts.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'wait');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
  });
});
