/**
 * Alert channels against real receivers: a local SMTP server the test reads the mail from, and a
 * local HTTP server taking Slack incoming-webhook posts and chat.postMessage calls. Each message
 * carries the lead's name, company, score, grade, top reasons, the due time in the rep's time zone
 * and links to both CRMs; it is sent once whatever reruns and retries happen; a channel that fails
 * is retried, and one that keeps failing lands in sync errors without its secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMqlTarget, processAlert, queueAlerts } from '../../../jobs/alerts.js';
import type { AlertSender } from '../../../jobs/alerts.js';
import { startWorkers } from '../../../jobs/workers.js';
import type { WorkerSet } from '../../../jobs/workers.js';
import type { Lead } from '../../../src/model/lead.js';
import type { AlertEvent } from '../../../src/rules/alerts.js';
import type { StoredLead } from '../../../src/store/leads.js';
import { startSlackReceiver, startSmtpReceiver } from '../../helpers/alert-receivers.js';
import type { SlackReceiver, SmtpReceiver } from '../../helpers/alert-receivers.js';
import { fastSyncConfig, startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncOnce } from '../../../jobs/run-once.js';

const WEBHOOK_PATH = '/services/T0001/B0001/hooksecret0123456789';
const BOT_TOKEN = 'xoxb-test-bot-token-0123456789';

describe('alert channels', () => {
  let h: Harness;
  let smtp: SmtpReceiver;
  let slack: SlackReceiver;
  let workers: WorkerSet;
  let owner: { salesforceId: string; email: string; firstName: string; lastName: string };
  let manager: string;
  let stored: StoredLead;
  let baseline: { posts: number; mails: number };

  const lead = (): Lead => stored.lead;
  const event = (kind: AlertEvent['kind'], at: string, extra: Partial<AlertEvent> = {}): AlertEvent => ({ kind, leadId: lead().id, at, ownerId: owner.salesforceId, pool: 'everyone', ...extra });

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    slack = await startSlackReceiver();
    const probe = await startHarness({ people: 30, seed: 41, label: 'alerts-probe' });
    const owners = probe.sandboxes.world.owners;
    await probe.close();
    owner = owners[0]!;
    manager = 'sales.manager@example.com';
    const config = `${fastSyncConfig()}
routing:
  defaultPool: everyone
  pools:
    everyone: { members: [{ owner: "${owners[0]!.salesforceId}" }, { owner: "${owners[1]!.salesforceId}" }] }
reps:
  "${owners[0]!.salesforceId}": { tz: Europe/Berlin }
targets: { mqlPerMonth: 100000, tz: America/New_York }
alerts:
  channels:
    team: { type: slack, webhookUrlEnv: TEST_SLACK_WEBHOOK_URL }
    bot: { type: slack, tokenEnv: TEST_SLACK_BOT_TOKEN, channel: C0SALES, apiUrl: "${slack.apiUrl}" }
    mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, from: "Smarketing <alerts@example.com>" }
  routes:
    - { events: [handoff, breach], channel: team }
    - { events: [handoff], channel: bot }
    - { events: [handoff, reminder], channel: mail, to: owner }
    - { events: [escalation], channel: mail, to: manager }
    - { events: [target_behind], channel: team }
  managers: { everyone: ${manager} }
  links: { hubspotPortalId: 4455667 }
`;
    h = await startHarness({ people: 30, seed: 41, label: 'alerts', configYaml: config, env: { TEST_SLACK_WEBHOOK_URL: slack.webhookUrl(WEBHOOK_PATH), TEST_SLACK_BOT_TOKEN: BOT_TOKEN } });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
    // A lead known to both CRMs, with a company and a score; its SLA is made to run for the test.
    let found: StoredLead | null = null;
    for await (const page of h.runtime.ctx.leads.all(500)) {
      found ??= page.find((s) => s.lead.links.hubspot && s.lead.links.salesforce && s.lead.company?.name && s.lead.person?.lastName && (s.lead.score?.reasons.length ?? 0) > 0) ?? null;
    }
    expect(found, 'the seed has a lead in both CRMs with a company and reasons').not.toBeNull();
    stored = {
      ...found!,
      lead: {
        ...found!.lead,
        sales: { ...found!.lead.sales, ownerId: owner.salesforceId },
        sla: { startedAt: '2026-11-23T15:00:00.000Z', handoffAt: '2026-11-23T15:00:00.000Z', dueAt: '2026-11-23T19:00:00.000Z', status: 'running', metAt: null, breachedAt: null, escalations: 0 },
      },
    };
    await h.runtime.ctx.leads.save(stored);
    // The first sync handed off the seed's MQLs, and their alerts went out: the tests count from here.
    baseline = { posts: slack.posts.length, mails: smtp.mails.length };
    workers = startWorkers(h.runtime.ctx, { queues: ['alerts'] });
  }, 240_000);

  afterAll(async () => {
    await workers?.close();
    await h?.close();
    await smtp?.close();
    await slack?.close();
  });

  it('the first sync told the reps of the seed\'s MQLs: one message per handoff on each route', async () => {
    const handoffs = (await h.runtime.ctx.events.read('0', 10_000)).filter((e) => e.type === 'handoff' && e.detail.ownerId);
    expect(handoffs.length).toBeGreaterThan(0);
    expect(baseline.posts).toBe(handoffs.length * 2);
    expect(baseline.mails).toBe(handoffs.length);
  });

  it('sends a handoff to the team channel, the bot channel and the owner by email, with what a rep needs', async () => {
    const queued = await queueAlerts(h.runtime.ctx, lead(), [event('handoff', '2026-11-23T15:00:00.000Z')]);
    expect(queued).toBe(3);
    const posts = (await slack.waitFor(baseline.posts + 2)).slice(baseline.posts);
    const mails = (await smtp.waitFor(baseline.mails + 1)).slice(baseline.mails);
    const l = lead();
    const name = `${l.person.firstName ?? ''} ${l.person.lastName ?? ''}`.trim();
    const sfLink = `${h.env.SALESFORCE_INSTANCE_URL}/lightning/r/${l.links.salesforce!.object}/${l.links.salesforce!.id}/view`;
    const hsLink = `https://app.hubspot.com/contacts/4455667/record/0-1/${l.links.hubspot!.id}`;
    // 19:00 UTC is 20:00 in Berlin on 23 November.
    const due = 'Mon 23 Nov 2026, 20:00 GMT+1';

    const webhook = posts.find((p) => p.path === WEBHOOK_PATH);
    expect(webhook, 'the incoming webhook was posted to').toBeDefined();
    const text = String(webhook!.body.text);
    expect(text).toContain(`New MQL for ${owner.firstName} ${owner.lastName}: ${name}`);
    expect(text).toContain(`Company: ${l.company.name}`);
    expect(text).toContain(`Score: ${l.score!.total} (${l.score!.grade.charAt(0).toUpperCase()}${l.score!.grade.slice(1)})`);
    expect(text).toContain(`- ${l.score!.reasons[0]}`);
    expect(text).toContain(`Due: ${due}`);
    expect(text).toContain(sfLink);
    expect(text).toContain(hsLink);
    const blocks = webhook!.body.blocks as Array<{ text: { text: string } }>;
    expect(blocks[0]!.text.text).toContain(`<${sfLink}|Salesforce>`);

    const bot = posts.find((p) => p.path === '/api/chat.postMessage');
    expect(bot, 'the bot posted through chat.postMessage').toBeDefined();
    expect(bot!.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(bot!.body.channel).toBe('C0SALES');
    expect(String(bot!.body.text)).toContain(`Due: ${due}`);

    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([owner.email.toLowerCase()]);
    expect(mails[0]!.from).toBe('alerts@example.com');
    expect(mails[0]!.subject).toBe(`New MQL for ${owner.firstName} ${owner.lastName}: ${name}`);
    expect(mails[0]!.text).toContain(`Lead: ${name}`);
    expect(mails[0]!.text).toContain(`Due: ${due}`);
    expect(mails[0]!.text).toContain(`HubSpot: ${hsLink}`);
  });

  it('sends each message once, however often its event is queued again or its job runs again', async () => {
    const before = { posts: slack.posts.length, mails: smtp.mails.length };
    const again = event('handoff', '2026-11-23T15:00:00.000Z');
    await queueAlerts(h.runtime.ctx, lead(), [again]);
    await queueAlerts(h.runtime.ctx, lead(), [again, again]);
    // A job run a second time (a retry after the send, a second worker) finds the message sent.
    const never: AlertSender = { send: () => Promise.reject(new Error('must not send')), close: async () => undefined };
    const planned = { key: [lead().id, 'handoff', again.at, 'team', 'channel'].join('|'), channel: 'team', recipient: { kind: 'channel' as const }, event: again };
    expect(await processAlert(h.runtime.ctx, planned, never)).toBe('duplicate');
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.posts.length).toBe(before.posts);
    expect(smtp.mails.length).toBe(before.mails);
  });

  it('retries a Slack webhook that fails and a mail server that says try later, and sends once', async () => {
    const before = { posts: slack.posts.length, mails: smtp.mails.length };
    slack.failNext(2, 500);
    smtp.refuseNext(1);
    await queueAlerts(h.runtime.ctx, lead(), [event('breach', '2026-11-23T19:00:00.000Z'), event('reminder', '2026-11-23T18:00:00.000Z')]);
    await slack.waitFor(before.posts + 1, 60_000);
    await smtp.waitFor(before.mails + 1, 60_000);
    const breach = slack.posts.slice(before.posts);
    expect(breach).toHaveLength(1);
    expect(String(breach[0]!.body.text)).toContain(`SLA breached: ${lead().person.firstName ?? ''}`.trim());
    expect(String(breach[0]!.body.text)).toContain('Was due: Mon 23 Nov 2026, 20:00 GMT+1');
    const reminder = smtp.mails.slice(before.mails);
    expect(reminder).toHaveLength(1);
    expect(reminder[0]!.subject).toMatch(/^Reminder: first touch due for /);
    await new Promise((r) => setTimeout(r, 1000));
    expect(slack.posts.length).toBe(before.posts + 1);
    expect(smtp.mails.length).toBe(before.mails + 1);
  }, 90_000);

  it('waits as long as Slack asks on a 429 (Retry-After), then sends once', async () => {
    const before = slack.posts.length;
    slack.failNext(1, 429);
    const started = Date.now();
    await queueAlerts(h.runtime.ctx, lead(), [event('breach', '2026-11-24T19:00:00.000Z')]);
    await slack.waitFor(before + 1, 30_000);
    // The receiver says Retry-After: 1 (second).
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await new Promise((r) => setTimeout(r, 1000));
    expect(slack.posts.length).toBe(before + 1);
    const job = (await h.runtime.ctx.queues.alerts.getJobs(['completed'])).find((j) => j.data.event.at === '2026-11-24T19:00:00.000Z');
    // A rate limit is not a failed attempt.
    expect(job?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
  });

  it('emails the pool manager on an escalation', async () => {
    const before = smtp.mails.length;
    await queueAlerts(h.runtime.ctx, lead(), [event('escalation', '2026-11-24T15:00:00.000Z', { action: 'notify', fromOwnerId: owner.salesforceId })]);
    const mails = await smtp.waitFor(before + 1);
    const mail = mails[before]!;
    expect(mail.to).toEqual([manager]);
    expect(mail.subject).toContain(`is still untouched by ${owner.firstName} ${owner.lastName}`);
  });

  it('tells marketing\'s channel when the month is behind its MQL pace, once a day', async () => {
    const before = slack.posts.length;
    expect(await checkMqlTarget(h.runtime.ctx)).toBe(1);
    await checkMqlTarget(h.runtime.ctx);
    await slack.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 1000));
    const posts = slack.posts.slice(before);
    expect(posts).toHaveLength(1);
    expect(String(posts[0]!.body.text)).toMatch(/^MQL target behind pace\n\n\d+ of 100000 MQLs in \d{4}-\d{2}: behind the pace by \d+ \(\d+ expected by now, \d+ projected\)$/);
  });

  it('reports a channel that keeps failing in sync errors, naming the channel and never its secret', async () => {
    slack.failNext(1, 404);
    await queueAlerts(h.runtime.ctx, lead(), [event('breach', '2026-11-25T19:00:00.000Z')]);
    const deadline = Date.now() + 30_000;
    let entry = (await h.runtime.ctx.errors.list()).errors.find((e) => e.stage === 'alert');
    while (entry === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      entry = (await h.runtime.ctx.errors.list()).errors.find((e) => e.stage === 'alert');
    }
    expect(entry, 'the failed alert is in sync errors').toBeDefined();
    expect(entry).toMatchObject({ crm: 'salesforce', recordId: lead().links.salesforce!.id, leadId: lead().id, code: 'ALERT_FAILED', field: 'team', stage: 'alert' });
    expect(entry!.message).toContain('the breach alert to its channel through channel "team" was not sent');
    expect(entry!.message).toContain('404');
    expect(entry!.message).not.toContain('hooksecret');
  });
});
