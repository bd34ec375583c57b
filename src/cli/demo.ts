/**
 * `npm run demo`: Redis (a private one if none answers), both sandboxes seeded, the service and
 * workers; provisions the fields; runs the first sync; then simulates marketing engagement and
 * sales activity on a fast clock, printing what happens (MQLs handed off and to whom, SLAs met and
 * breached, feedback synced) and the dashboard's URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DateTime } from 'luxon';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import type { SyncContext } from '../../jobs/context.js';
import { evaluateDueSlas } from '../../jobs/sla.js';
import { processPoll } from '../../jobs/poll.js';
import { waitUntilIdle } from '../../jobs/run-once.js';
import { startWorkers } from '../../jobs/workers.js';
import type { AlertSender } from '../../jobs/alerts.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { deleteMatching, resolveRedis } from '../store/redis.js';
import { checkPortFree, startServer } from '../server/index.js';
import { jobObserver, recordApiCall } from '../server/metrics.js';
import { describeSchemaReport } from './install.js';
import { loadSandboxes } from './sandbox.js';
import { onStopSignals } from './signals.js';

export interface DemoOptions {
  people: number;
  seed: number;
  minutes: number;
  port: number;
  /** Simulated time per round (the SLA clock runs on business hours, so time has to pass). */
  stepMinutes?: number;
  out?: NodeJS.WritableStream;
  /** Stop after this many rounds (tests). */
  rounds?: number;
}

async function control(url: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}/__sandbox${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`sandbox ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

function ownerName(sandboxes: Sandboxes, ownerId: unknown): string {
  const owner = sandboxes.world.owners.find((o) => o.salesforceId === ownerId || o.hubspotId === ownerId);
  return owner ? `${owner.firstName} ${owner.lastName}` : String(ownerId ?? 'nobody');
}

/** Prints the audit events since the last call, in words a RevOps admin would use. */
async function narrate(ctx: SyncContext, sandboxes: Sandboxes, after: string, write: (line: string) => void): Promise<string> {
  const events = await ctx.events.read(after, 5000);
  for (const e of events) {
    const d = e.detail as Record<string, unknown>;
    const who = `lead ${e.leadId.slice(0, 9)}`;
    switch (e.type) {
      case 'mql':
        write(`  MQL        ${who} became a marketing-qualified lead${d.total !== undefined ? ` (score ${String(d.total)})` : ''}`);
        break;
      case 'handoff':
        write(`  handoff    ${who} handed to ${ownerName(sandboxes, d.ownerId)}${d.dueAt ? `; first touch due ${String(d.dueAt)}` : ''}`);
        break;
      case 'sla_met':
        write(`  SLA met    ${who}: the rep touched it in time`);
        break;
      case 'sla_breached':
        write(`  SLA BREACH ${who}: no touch by the due time; flagged in both CRMs`);
        break;
      case 'sla_escalated':
        write(`  escalated  ${who}${d.ownerId ? ` to ${ownerName(sandboxes, d.ownerId)}` : ''}`);
        break;
      case 'sal':
        write(`  accepted   ${who}: sales accepted it (SAL); the marketer sees it on the HubSpot contact`);
        break;
      case 'recycled':
      case 'disqualified':
        write(`  ${e.type.padEnd(10)} ${who}${d.cause ? `: ${String(d.cause)}` : ''}; feedback synced to HubSpot`);
        break;
      case 'sql':
        write(`  SQL        ${who}${d.cause ? `: ${String(d.cause)}` : ''}`);
        break;
      case 'opportunity':
        write(`  opportunity ${who}${d.cause ? `: ${String(d.cause)}` : ''}; lifecycle stage "opportunity" in HubSpot`);
        break;
      case 'customer':
        write(`  CUSTOMER   ${who}: the opportunity was won; lifecycle stage "customer" in HubSpot, Smk_Stage__c in Salesforce`);
        break;
      case 'created':
        write(`  created    ${who} in ${String(d.crm)} (${String(d.object)} ${String(d.id)})`);
        break;
      default:
        break;
    }
  }
  return events.length > 0 ? (events[events.length - 1] as { id: string }).id : after;
}

/**
 * The demo's alert channels print each message instead of sending it. The console never names a
 * lead's person (the narrative may be kept as a log), so the lead's name is shown as its id.
 */
export function printingSender(state: { quiet: boolean; printed: number; lines: string[] }): AlertSender {
  // Kept until the round's events are told, so a message follows the handoff or breach behind it.
  const write = (line: string) => state.lines.push(line);
  return {
    async send(channel, alert) {
      state.printed += 1;
      if (state.quiet) return;
      const hide = (text: string) => (alert.leadName ? text.split(alert.leadName).join(`lead ${alert.leadId?.slice(0, 9) ?? ''}`) : text);
      const where = channel.type === 'email' ? `email to ${alert.to.join(', ')}` : `Slack #${alert.channel}`;
      write(`  message    ${where}: ${hide(alert.message.subject)}`);
      for (const line of hide(alert.message.text).split('\n').slice(1)) if (line.trim() !== '') write(`               ${line}`);
    },
    async close() {},
  };
}

/** One round of what people do: visitors engage in HubSpot; reps work their leads in Salesforce. */
async function simulateActivity(ctx: SyncContext, sandboxes: Sandboxes, random: () => number): Promise<void> {
  const people = sandboxes.world.people.filter((p) => p.hubspot);
  for (let i = 0; i < Math.max(5, Math.round(people.length / 15)); i += 1) {
    const person = people[Math.floor(random() * people.length)];
    if (!person?.hubspot) continue;
    const kind = random() < 0.4 ? 'form_submission' : random() < 0.5 ? 'email_click' : 'page_view';
    await control(sandboxes.hubspot.baseUrl, '/activity', { email: person.hubspot.email, kind, count: kind === 'page_view' ? 1 + Math.floor(random() * 6) : 1, ...(kind === 'form_submission' ? { name: random() < 0.5 ? 'Demo request' : 'Pricing guide' } : {}) });
  }
  // Reps act on some of the leads handed to them: accept, reject with a reason, or log a call;
  // each in the business hours of their own time zone, as people do.
  const now = ctx.clock.now();
  let acted = 0;
  for await (const page of ctx.leads.all(500)) {
    for (const stored of page) {
      const lead = stored.lead;
      const sf = lead.links.salesforce;
      if (!sf || lead.sla?.status !== 'running' || random() > 0.35 || acted >= 5) continue;
      if (!repAtWork(sandboxes.world.owners, lead.sales.ownerId ?? null, now)) continue;
      acted += 1;
      const roll = random();
      if (roll < 0.4) await control(sandboxes.salesforce.instanceUrl, '/activity', { kind: 'field', id: sf.id, fields: { Smk_Sales_Decision__c: 'accepted', Smk_Lead_Quality__c: 4 } });
      else if (roll < 0.7) await control(sandboxes.salesforce.instanceUrl, '/activity', { kind: 'field', id: sf.id, fields: { Smk_Sales_Decision__c: 'rejected', Smk_Reject_Reason__c: random() < 0.5 ? 'no-budget' : 'bad-timing', Smk_Lead_Quality__c: 2 } });
      else await control(sandboxes.salesforce.instanceUrl, '/activity', { kind: 'call', whoId: sf.id, subject: 'Intro call' });
    }
  }
  await workOpportunities(ctx, sandboxes, random);
}

/** An open opportunity's next stage (the default sales process). */
const NEXT_STAGE: Record<string, string> = {
  Prospecting: 'Qualification',
  Qualification: 'Needs Analysis',
  'Needs Analysis': 'Value Proposition',
  'Value Proposition': 'Negotiation/Review',
};

/**
 * Reps turn some accepted leads into opportunities (a lead conversion with an Opportunity, the
 * person its primary contact role), move open opportunities along, and close some: won with the
 * seeded world's ground-truth chance for the person (connectors/sandbox/ground-truth.ts), else lost.
 */
async function workOpportunities(ctx: SyncContext, sandboxes: Sandboxes, random: () => number): Promise<void> {
  const { opportunityTruth } = await loadSandboxes();
  const now = ctx.clock.now();
  const sf = sandboxes.salesforce.instanceUrl;
  let converted = 0;
  for await (const page of ctx.leads.all(500)) {
    for (const stored of page) {
      const lead = stored.lead;
      const link = lead.links.salesforce;
      if (!link || link.object !== 'Lead' || lead.sales.decision !== 'accepted' || converted >= 3 || random() > 0.4) continue;
      if (!repAtWork(sandboxes.world.owners, lead.sales.ownerId ?? null, now)) continue;
      const result = (await control(sf, '/activity', { kind: 'convert', id: link.id, createOpportunity: true })) as { opportunityId?: string | null };
      converted += 1;
      const employees = lead.company.employees ?? 50;
      if (result.opportunityId) await control(sf, '/activity', { kind: 'field', id: result.opportunityId, fields: { StageName: 'Qualification', Amount: Math.round((2_000 + Math.sqrt(employees) * 600 * (0.5 + random())) / 100) * 100 } });
    }
  }
  const store = sandboxes.salesforce.store;
  const roles = store.list('OpportunityContactRole');
  for (const row of store.list('Opportunity').filter((o) => o.IsClosed !== true)) {
    const id = String(row.Id);
    if (!repAtWork(sandboxes.world.owners, typeof row.OwnerId === 'string' ? row.OwnerId : null, now) || random() > 0.3) continue;
    const contactId = roles.find((r) => r.OpportunityId === id)?.ContactId;
    const email = String((typeof contactId === 'string' ? store.get(contactId)?.Email : null) ?? '').toLowerCase();
    const person = sandboxes.world.people.find((p) => p.email.toLowerCase() === email);
    const next = NEXT_STAGE[String(row.StageName)];
    let stage = next;
    if (!next || random() < 0.35) {
      const win = person ? opportunityTruth(person, sandboxes.world.companies[person.company], now).win : 0.3;
      stage = random() < win ? 'Closed Won' : 'Closed Lost';
    }
    if (stage) await control(sf, '/activity', { kind: 'field', id, fields: { StageName: stage } });
  }
}

/** The funnel's end as the leads now show it: opportunities open, won (with their revenue), lost. */
async function revenueSummary(ctx: SyncContext): Promise<string> {
  let open = 0;
  let won = 0;
  let lost = 0;
  let revenue = 0;
  for await (const page of ctx.leads.all(500)) {
    for (const { lead } of page) {
      if (!lead.sales.opportunityId) continue;
      if (lead.sales.opportunityWon === true) {
        won += 1;
        revenue += lead.sales.opportunityAmount ?? 0;
      } else if (lead.sales.opportunityWon === false) lost += 1;
      else open += 1;
    }
  }
  return `Opportunities: ${open} open, ${won} won (revenue ${revenue.toLocaleString('en-US')}), ${lost} lost.`;
}

/** The demo's reps: the first half sell in North America (New York time), the rest from London. */
export function repZone(owners: ReadonlyArray<{ salesforceId: string }>, ownerId: string | null): string {
  const index = owners.findIndex((o) => o.salesforceId === ownerId);
  return index >= 0 && index >= Math.ceil(owners.length / 2) ? 'Europe/London' : 'America/New_York';
}

/** Whether a rep is at work at `ms`: Monday to Friday, 09:00 to 17:00 in their own time zone. */
export function repAtWork(owners: ReadonlyArray<{ salesforceId: string }>, ownerId: string | null, ms: number): boolean {
  const local = DateTime.fromMillis(ms, { zone: repZone(owners, ownerId) });
  return local.weekday <= 5 && local.hour >= 9 && local.hour < 17;
}

/**
 * The demo's rules: the built-in scoring, and routing over the seeded reps (North America and the
 * rest of the world; the last rep is away), with the SLA on New York business hours.
 */
function writeDemoConfig(sandboxes: Sandboxes): string {
  const owners = sandboxes.world.owners;
  const member = (o: (typeof owners)[number], weight = 1) => `{ owner: "${o.salesforceId}", weight: ${weight}${o.away ? ', away: true' : ''} }`;
  const half = Math.ceil(owners.length / 2);
  const yaml = `
routing:
  rules:
    - { when: { field: person.country, in: [US, CA] }, pool: north-america }
  defaultPool: rest-of-world
  pools:
    north-america:
      members: [${owners.slice(0, half).map((o, i) => member(o, i === 0 ? 2 : 1)).join(', ')}]
    rest-of-world:
      members: [${owners.slice(half).map((o) => member(o)).join(', ')}]
reps:
${owners.slice(half).map((o) => `  "${o.salesforceId}": { tz: Europe/London }`).join('\n')}
sla:
  firstTouch:
    within: 4h
    calendar: { tz: America/New_York, days: Mon-Fri, hours: "09:00-17:00" }
  reminders: [1h]
  escalate: { after: 6h, action: reassign }
alerts:
  channels:
    reps-email: { type: email, host: localhost, port: 25, from: "Smarketing <alerts@localhost>" }
  routes:
    - { events: [handoff, reminder, escalation], channel: reps-email, to: owner }
sync:
  batchWait: 300ms
  searchSafetyMargin: 0s
`;
  const dir = mkdtempSync(join(tmpdir(), 'smk-demo-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, yaml);
  return path;
}

/** Until the alert queue has nothing waiting or running (at most a few seconds). */
async function waitForAlerts(ctx: SyncContext): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const counts = await ctx.queues.alerts.getJobCounts('waiting', 'active', 'prioritized');
    if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The next weekday 09:30 in New York from `now`: the demo starts as the sales day begins. */
export function nextBusinessMorning(now: number): number {
  let day = DateTime.fromMillis(now, { zone: 'America/New_York' }).plus({ days: 1 }).set({ hour: 9, minute: 30, second: 0, millisecond: 0 });
  while (day.weekday > 5) day = day.plus({ days: 1 });
  return day.toMillis();
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const write = (line: string) => out.write(`${line}\n`);
  // A taken port is said before anything starts (no Redis, sandbox or field is touched).
  await checkPortFree(options.port, 'choose another with smk demo --port <port> (0 = any free port)', '127.0.0.1');
  // The sandboxes are loaded on demand (not in the Docker image): fail before starting anything.
  const { startSandboxes, sandboxEnv, createRandom } = await loadSandboxes();
  const redis = await resolveRedis({ allowPrivate: true });
  if (redis.origin === 'private') write(`Started a private Redis at ${redis.url} (it goes away when the demo stops).`);
  const sandboxes = await startSandboxes({ people: options.people, seed: options.seed });
  write(`Sandboxes: HubSpot at ${sandboxes.hubspot.baseUrl}, Salesforce at ${sandboxes.salesforce.instanceUrl} (${options.people} people).`);
  const adminToken = randomBytes(18).toString('base64url');
  const env = {
    ...process.env,
    ...sandboxEnv(sandboxes.connection),
    REDIS_URL: redis.url,
    SMK_ADMIN_TOKEN: adminToken,
    SMK_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    SMK_KEY_PREFIX: `smk-demo-${randomBytes(4).toString('hex')}`,
  };
  const configPath = writeDemoConfig(sandboxes);
  const config = loadConfig({ env: { ...env, SMK_CONFIG: configPath } });
  let runtime: Runtime | null = null;
  let server: { url: string; close(): Promise<void> } | null = null;
  let workers: { close(): Promise<void> } | null = null;
  const stop = async () => {
    await server?.close();
    await workers?.close();
    // The demo's keys are its own: remove them so a shared Redis keeps nothing of it.
    let removed = 0;
    if (runtime) {
      const { redis: client, keys } = runtime.ctx;
      removed = await deleteMatching(client, `${keys.prefix}:*`);
      await runtime.close();
    }
    await sandboxes.close();
    rmSync(dirname(configPath), { recursive: true, force: true });
    await redis.stop();
    write(`Demo stopped: removed its ${removed} Redis key(s)${redis.origin === 'private' ? ' and its private Redis' : ''}, stopped both sandboxes, and deleted ${dirname(configPath)}.`);
  };
  // Ctrl-C (npm run and tsx deliver it twice at once) ends the simulation and cleans up; a second
  // Ctrl-C a few seconds later ends the process without waiting.
  let stopping = false;
  const signals = onStopSignals(() => {
    stopping = true;
    write('Stopping the demo: removing its data...');
  }, { forced: () => process.exit(130), watchOrphan: false });
  try {
    runtime = await bootstrap({ config, logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }), controllableClock: true, onApiCall: (crm, kind, calls) => recordApiCall(crm, kind, calls) });
    const { ctx } = runtime;
    // Start the demo's clock (service and sandboxes alike) as a sales day begins, so SLAs run.
    const morning = nextBusinessMorning(Date.now());
    await (ctx.clock as unknown as { set(ms: number): Promise<void> }).set(morning);
    sandboxes.clock.set(morning);
    for (const crm of ['hubspot', 'salesforce'] as const) {
      for (const line of describeSchemaReport(await ctx.connectors[crm].ensureSchema())) write(line);
    }
    // Alerts are printed, not sent: quiet through the first sync (its handoffs are summed up below).
    const printed = { quiet: true, printed: 0, lines: [] as string[] };
    workers = startWorkers(ctx, { observer: jobObserver, alertSender: printingSender(printed) });
    const gate = runtime.gate;
    // The demo prints its admin token: it listens on this machine only.
    const running = await startServer(ctx, { port: options.port, host: '127.0.0.1', quotaFallback: (crm) => gate.report(crm) });
    server = running;
    write(`Dashboard: ${running.url}/  (admin token: ${adminToken})`);
    write('First sync: reading both CRMs, scoring every person, writing scores back...');
    const started = Date.now();
    for (const crm of ['hubspot', 'salesforce'] as const) await processPoll(ctx, crm);
    await waitUntilIdle(ctx);
    write(`First sync done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${await ctx.leads.count()} leads; ${await ctx.errors.count()} sync error(s).`);
    const firstEvents = await ctx.events.read('0', 100_000);
    const handoffs = firstEvents.filter((e) => e.type === 'handoff');
    const byOwner = new Map<string, number>();
    for (const e of handoffs) {
      const name = ownerName(sandboxes, (e.detail as Record<string, unknown>).ownerId);
      byOwner.set(name, (byOwner.get(name) ?? 0) + 1);
    }
    write(`${handoffs.length} MQLs handed off to sales: ${[...byOwner.entries()].map(([n, c]) => `${n} ${c}`).join(', ') || 'none'}.`);
    await waitForAlerts(ctx);
    write(`${printed.printed} alert message(s) for these handoffs (printed from here on; in production they go to Slack and email: alerts in smarketing.yaml).`);
    printed.quiet = false;
    let cursor = firstEvents.length > 0 ? (firstEvents[firstEvents.length - 1] as { id: string }).id : '0';
    write('Simulating marketing engagement and sales activity (each round is 30 minutes of business time; Ctrl-C stops):');
    const random = createRandom(options.seed);
    const stepMs = (options.stepMinutes ?? 30) * 60_000;
    const deadline = options.minutes > 0 ? Date.now() + options.minutes * 60_000 : Infinity;
    for (let round = 1; !stopping && Date.now() < deadline && (options.rounds === undefined || round <= options.rounds); round += 1) {
      const clock = ctx.clock as unknown as { advance(ms: number): Promise<void> };
      await clock.advance(stepMs);
      sandboxes.clock.advance(stepMs);
      await simulateActivity(ctx, sandboxes, random);
      // The demo clock runs faster than real time: SLA timers are swept rather than waited for.
      await evaluateDueSlas(ctx);
      for (const crm of ['hubspot', 'salesforce'] as const) await processPoll(ctx, crm);
      await waitUntilIdle(ctx);
      write(`round ${round} (${new Date(ctx.clock.now()).toISOString().slice(0, 16).replace('T', ' ')} UTC):`);
      cursor = await narrate(ctx, sandboxes, cursor, write);
      await waitForAlerts(ctx);
      for (const line of printed.lines.splice(0)) write(line);
      if (!stopping && options.rounds === undefined) await new Promise((r) => setTimeout(r, 2000));
    }
    write(await revenueSummary(ctx));
  } finally {
    await stop();
    signals.dispose();
  }
}
