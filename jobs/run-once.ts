/**
 * `smk sync --once`: run both change feeds, then evaluation and write-back until every queue and
 * every pending batch is empty, then return. For cron, tests and admins.
 */
import { backoffMs, CrmError, isCrmError, isRetryable } from '../connectors/errors.js';
import type { CrmName } from '../src/model/lead.js';
import { countsSince } from '../src/store/counters.js';
import type { PendingKind } from '../src/store/pending.js';
import type { SyncContext } from './context.js';
import { processPoll } from './poll.js';
import { bothCrmsRead } from './read-state.js';
import type { PollResult } from './poll.js';
import type { QueueName } from './queues.js';
import { startWorkers } from './workers.js';
import { writeCount } from './writeback.js';

/** The one-line JSON summary of a pass that `smk sync --once --json` prints (DESIGN.md, Interfaces). */
export function syncSummary(result: SyncOnceResult): Record<string, unknown> {
  return {
    ms: result.ms,
    read: { hubspot: result.polls.hubspot?.records ?? 0, salesforce: result.polls.salesforce?.records ?? 0 },
    changed: result.changed,
    evaluated: result.evaluated,
    writes: result.writes,
    created: result.created,
    syncErrors: result.syncErrors,
    ...(result.paused ? { paused: result.paused } : {}),
  };
}

/** A CRM whose API budget is spent: its work waits, in Redis, until `until`. */
export interface PausedCrm {
  crm: CrmName;
  until: string | null;
  /** Writes, creates and tasks waiting for the budget. */
  waiting: number;
}

export interface SyncOnceResult {
  polls: Record<CrmName, PollResult>;
  ms: number;
  /** Leads whose stored view changed during the pass. */
  changed: number;
  /** Leads evaluated during the pass. */
  evaluated: number;
  /** Records written (updates) and created in each CRM during the pass. */
  writes: Record<CrmName, number>;
  created: Record<CrmName, number>;
  syncErrors: number;
  /** Present when the pass stopped because a budget is spent: everything else was done. */
  paused?: PausedCrm[];
}

export interface SyncProgress {
  phase: 'read' | 'drain';
  crm?: CrmName;
  records?: number;
  remaining?: number;
}

const DRAINED_QUEUES: QueueName[] = ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce', 'reconcile'];

/** How long a pass waits for its alerts to go out; what is left (a channel that is down) stays queued for the next. */
const ALERT_DRAIN_MS = 15_000;

/** Waits until no alert waits to be sent now (retries backing off do not count), or the time is up. */
async function drainAlerts(ctx: SyncContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await ctx.queues.alerts.getJobCounts('waiting', 'active', 'prioritized');
    if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Jobs still to run and writes still pending, SLA timers excepted (they may be days away), by where they wait. */
export async function outstandingByPlace(ctx: SyncContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const pendingByCrm: Record<string, number> = {};
  for (const crm of ['hubspot', 'salesforce'] as const) {
    pendingByCrm[crm] = 0;
    for (const kind of ['write', 'create', 'task'] as const) {
      const n = await ctx.pending[crm][kind].size();
      pendingByCrm[crm] += n;
      if (n > 0) out[`${crm} pending ${kind}s`] = n;
    }
  }
  const queues = [
    { queue: ctx.queues.ingest, timersMatter: true },
    { queue: ctx.queues.evaluate, timersMatter: true },
    // A drain timer with nothing pending for its CRM has nothing left to do.
    { queue: ctx.queues.writeback.hubspot, timersMatter: (pendingByCrm.hubspot ?? 0) > 0 },
    { queue: ctx.queues.writeback.salesforce, timersMatter: (pendingByCrm.salesforce ?? 0) > 0 },
    { queue: ctx.queues.reconcile, timersMatter: true },
  ];
  await Promise.all(queues.map(async ({ queue, timersMatter }) => {
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
    let n = Object.values(counts).reduce((a, b) => a + b, 0);
    if (timersMatter) {
      // A job scheduler's next run (the daily reconcile that `smk start` schedules) is not work
      // this pass left: only delayed jobs of the pass itself (retries, drain timers) are.
      const delayed = queue.name === 'reconcile' ? (await queue.getDelayed()).filter((job) => !job.repeatJobKey).length : (await queue.getJobCounts('delayed')).delayed ?? 0;
      n += delayed;
    }
    if (n > 0) out[`queue ${queue.name}`] = n;
  }));
  return out;
}

export async function outstandingWork(ctx: SyncContext): Promise<number> {
  return Object.values(await outstandingByPlace(ctx)).reduce((a, b) => a + b, 0);
}

/**
 * The CRMs whose spent budget is all that is left: no job runs or waits to run, no other CRM has
 * writes pending, and the paused CRMs' writes are parked. Empty when anything else can still move.
 */
export async function pausedOnly(ctx: SyncContext): Promise<PausedCrm[]> {
  const reports = await Promise.all((['hubspot', 'salesforce'] as const).map((crm) => ctx.connectors[crm].quota()));
  if (!reports.some((r) => r.paused)) return [];
  const busy = await Promise.all([
    ...[ctx.queues.ingest, ctx.queues.evaluate, ctx.queues.reconcile].map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
    ...Object.values(ctx.queues.writeback).map((q) => q.getJobCounts('waiting', 'active', 'prioritized')),
  ]);
  if (busy.some((counts) => Object.values(counts).some((n) => n > 0))) return [];
  const paused: PausedCrm[] = [];
  for (const report of reports) {
    const stores = Object.values(ctx.pending[report.crm]);
    const waiting = (await Promise.all(stores.map((store) => store.size()))).reduce((a, b) => a + b, 0);
    if (!report.paused && waiting > 0) return [];
    if (report.paused) paused.push({ crm: report.crm, until: report.resumesAt ?? null, waiting });
  }
  return paused;
}

export async function waitUntilIdle(
  ctx: SyncContext,
  options: { timeoutMs?: number; onProgress?: (remaining: number) => void; stopWhenPaused?: boolean } = {},
): Promise<{ paused?: PausedCrm[] }> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let quietRounds = 0;
  let pausedRounds = 0;
  while (quietRounds < 2) {
    const remaining = await outstandingWork(ctx);
    options.onProgress?.(remaining);
    quietRounds = remaining === 0 ? quietRounds + 1 : 0;
    if (remaining > 0 && options.stopWhenPaused) {
      const paused = await pausedOnly(ctx);
      pausedRounds = paused.length > 0 ? pausedRounds + 1 : 0;
      if (pausedRounds >= 2) return { paused };
    }
    if (Date.now() > deadline) {
      const where = Object.entries(await outstandingByPlace(ctx)).map(([k, n]) => `${n} in ${k}`).join(', ');
      throw new Error(`sync did not finish within ${Math.round((options.timeoutMs ?? 30 * 60_000) / 1000)} s; still waiting: ${where || 'nothing (it just finished)'}`);
    }
    await new Promise((r) => setTimeout(r, remaining === 0 ? 50 : 150));
  }
  return {};
}

type PendingKeys = Array<{ crm: CrmName; kind: PendingKind; keys: string[] }>;

/** What a pass has seen done so far (each only moves forward). */
interface PassProgress {
  jobs: Set<string>;
  leads: Map<string, number>;
  /** The pending entries of the pass's leads, taken once its leads are evaluated. */
  writes?: PendingKeys;
  /** Writes already owed when the pass began (a stopped service's, an earlier pass's): a cron pass sends them too. */
  owed: PendingKeys;
  /** Evaluations queued and SLA timers due when the pass began: a cron pass runs them too (not a webhook backlog's ingest). */
  owedJobs: Array<{ queue: 'evaluate' | 'sla'; id: string; leadIds: string[] }>;
  /** The ledger's leads, kept once the pass's pages are all ingested (nothing adds to it after). */
  watched?: Map<string, number>;
}

function leadsOfJob(data: unknown): string[] {
  const d = (data ?? {}) as { leadId?: unknown; leadIds?: unknown };
  const ids = Array.isArray(d.leadIds) ? d.leadIds : [d.leadId];
  return ids.filter((id): id is string => typeof id === 'string');
}

/** Delayed SLA timers read at once when looking for those due. */
const SLA_PAGE = 100;

/** The evaluations queued and the SLA timers due now. */
export async function owedJobsNow(ctx: SyncContext): Promise<PassProgress['owedJobs']> {
  const out: PassProgress['owedJobs'] = [];
  for (const job of await ctx.queues.evaluate.getJobs(['waiting', 'prioritized', 'active', 'delayed'])) if (job.id) out.push({ queue: 'evaluate', id: job.id, leadIds: leadsOfJob(job.data) });
  for (const job of await ctx.queues.sla.getJobs(['waiting', 'prioritized', 'active'])) if (job.id) out.push({ queue: 'sla', id: job.id, leadIds: leadsOfJob(job.data) });
  // Delayed timers come soonest first: those due now are read from the front, and the first one
  // not yet due ends the look (a lead with a running SLA has timers days ahead: a million of them
  // at a million people).
  const now = Date.now();
  for (let start = 0; ; start += SLA_PAGE) {
    const page = await ctx.queues.sla.getJobs(['delayed'], start, start + SLA_PAGE - 1, true);
    const due = page.filter((job) => job.timestamp + (job.opts.delay ?? 0) <= now);
    for (const job of due) if (job.id) out.push({ queue: 'sla', id: job.id, leadIds: leadsOfJob(job.data) });
    if (due.length < SLA_PAGE) return out;
  }
}

/** The keys of every pending write, create and task now. */
export async function pendingNow(ctx: SyncContext): Promise<PendingKeys> {
  const out: PendingKeys = [];
  for (const crm of ['hubspot', 'salesforce'] as const) {
    for (const kind of ['write', 'create', 'task'] as const) out.push({ crm, kind, keys: await ctx.pending[crm][kind].keys() });
  }
  return out;
}

const LOOKUP_CHUNK = 1000;

/**
 * The work of one pass still to do, by where it waits: its queued pages, the evaluations of the
 * leads its reads changed (each at the version it saw), then the writes those evaluations
 * planned. Whatever else is queued (a running service's webhook backlog, another pass) is not
 * the pass's business, whichever worker runs it.
 */
export async function passOutstanding(ctx: SyncContext, pass: string, progress: PassProgress): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let pages = 0;
  for (const id of await ctx.passes.jobs(pass)) {
    if (progress.jobs.has(id)) continue;
    const state = await ctx.queues.ingest.getJobState(id);
    // Done, or failed for good (then its records are in sync errors): removed jobs read 'unknown'.
    if (state === 'completed' || state === 'failed' || state === 'unknown') progress.jobs.add(id);
    else pages += 1;
  }
  if (pages > 0) out['its pages to ingest'] = pages;
  let owedJobs = 0;
  const open = progress.owedJobs.filter((job) => !progress.jobs.has(`${job.queue}:${job.id}`));
  for (let i = 0; i < open.length; i += 100) {
    const chunk = open.slice(i, i + 100);
    const states = await Promise.all(chunk.map((job) => ctx.queues[job.queue].getJobState(job.id)));
    chunk.forEach((job, j) => {
      const state = states[j];
      if (state === 'completed' || state === 'failed' || state === 'unknown') progress.jobs.add(`${job.queue}:${job.id}`);
      else owedJobs += 1;
    });
  }
  if (owedJobs > 0) out['evaluations owed when it began'] = owedJobs;
  // Before both CRMs are read in full nobody is evaluated (jobs/evaluate.ts): nothing is owed yet.
  const watched = progress.watched ?? (await ctx.passes.leads(pass));
  if (pages === 0) progress.watched = watched;
  if (await bothCrmsRead(ctx)) {
    const open = [...watched].filter(([id, version]) => (progress.leads.get(id) ?? -1) < version);
    let waiting = 0;
    for (let i = 0; i < open.length; i += LOOKUP_CHUNK) {
      const chunk = open.slice(i, i + LOOKUP_CHUNK);
      const evaluated = await ctx.leads.evaluatedVersions(chunk.map(([id]) => id));
      chunk.forEach(([id, version], j) => {
        if ((evaluated[j] ?? 0) >= version) progress.leads.set(id, version);
        else waiting += 1;
      });
    }
    if (waiting > 0) out['its leads to evaluate'] = waiting;
  }
  if (Object.keys(out).length > 0) return out;
  if (!progress.writes) {
    const leadIds = new Set([...watched.keys(), ...progress.owedJobs.flatMap((job) => job.leadIds)]);
    progress.writes = [];
    for (const crm of ['hubspot', 'salesforce'] as const) {
      for (const kind of ['write', 'create', 'task'] as const) {
        const owed = progress.owed.find((o) => o.crm === crm && o.kind === kind)?.keys ?? [];
        const keys = new Set([...owed, ...(await ctx.pending[crm][kind].keysOfLeads(leadIds))]);
        progress.writes.push({ crm, kind, keys: [...keys] });
      }
    }
  }
  for (const entry of progress.writes) {
    entry.keys = await ctx.pending[entry.crm][entry.kind].stillPending(entry.keys);
    if (entry.keys.length > 0) out[`${entry.crm} pending ${entry.kind}s`] = entry.keys.length;
  }
  return out;
}

/**
 * Waits until the pass's own work is done (see passOutstanding). Returns the paused CRMs when all
 * that is left of it is writes waiting for a spent budget.
 */
export async function waitForPass(
  ctx: SyncContext,
  pass: string,
  options: { timeoutMs?: number; onProgress?: (remaining: number) => void; owed?: PendingKeys; owedJobs?: PassProgress['owedJobs'] } = {},
): Promise<{ paused?: PausedCrm[] }> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  const progress: PassProgress = { jobs: new Set(), leads: new Map(), owed: options.owed ?? [], owedJobs: options.owedJobs ?? [] };
  let pausedRounds = 0;
  for (;;) {
    const left = await passOutstanding(ctx, pass, progress);
    const remaining = Object.values(left).reduce((a, b) => a + b, 0);
    options.onProgress?.(remaining);
    if (remaining === 0) return {};
    const waitingCrms = new Set(Object.keys(left).map((place) => place.split(' ')[0]));
    if ([...waitingCrms].every((crm) => crm === 'hubspot' || crm === 'salesforce')) {
      const reports = await Promise.all([...waitingCrms].map((crm) => ctx.connectors[crm as CrmName].quota()));
      pausedRounds = reports.every((r) => r.paused) ? pausedRounds + 1 : 0;
      if (pausedRounds >= 2) {
        const paused: PausedCrm[] = [];
        for (const report of reports) {
          const waiting = (await Promise.all(Object.values(ctx.pending[report.crm]).map((store) => store.size()))).reduce((a, b) => a + b, 0);
          paused.push({ crm: report.crm, until: report.resumesAt ?? null, waiting });
        }
        return { paused };
      }
    }
    if (Date.now() > deadline) {
      const where = Object.entries(left).map(([k, n]) => `${n} in ${k}`).join(', ');
      throw new Error(`sync did not finish within ${Math.round(timeoutMs / 1000)} s; still waiting: ${where}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How often a pass tries one feed read that meets passing faults (a 503, a rate limit, an expired session). */
export const FEED_ATTEMPTS = 6;

/**
 * One feed read, with the retries and back-off a queued poll gets: a passing fault (a CRM's 5xx,
 * a rate limit, a session to refresh) is tried again from the cursor, which only moves past pages
 * already handed on. A spent budget ends it (the cursor keeps its place) instead of failing the
 * pass. Anything else, or a fault that outlasts every attempt, fails the pass with its reason.
 */
async function readFeed(ctx: SyncContext, crm: CrmName, options: Parameters<typeof processPoll>[2], sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<PollResult | 'paused'> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await processPoll(ctx, crm, options);
      if (result.authFailed) {
        // A cron pass must not report success while a CRM refuses us: say why, and how to fix it.
        const { message, fix, since } = result.authFailed;
        throw new CrmError({ crm, code: 'AUTH_INVALID', message: `${crm === 'hubspot' ? 'HubSpot' : 'Salesforce'} refuses our authorisation since ${since}${message ? ` (${message})` : ''}; ${fix ?? 'connect it again'}` });
      }
      return result;
    } catch (err) {
      if (isCrmError(err) && err.code === 'QUOTA_EXHAUSTED') {
        ctx.logger.warn({ crm, resumesAt: err.retryAfterMs ? new Date(ctx.clock.now() + err.retryAfterMs).toISOString() : undefined }, 'the API budget is spent: the feed resumes from its cursor later');
        return 'paused';
      }
      if (!isCrmError(err) || !isRetryable(err.code) || attempt >= FEED_ATTEMPTS) {
        if (isCrmError(err) && attempt > 1) err.message = `${err.message} (after ${attempt} attempts)`;
        throw err;
      }
      const wait = backoffMs(attempt, err, { maxMs: 30_000 });
      ctx.logger.warn({ crm, attempt, errorCode: err.code, waitMs: wait }, 'the feed read met a passing fault: trying again from the cursor');
      await sleep(wait);
    }
  }
}

/**
 * Reads both CRMs, waits for its own work (waitForPass: what it read, ingested, evaluated and
 * wrote, and the writes already owed when it began), and reads again while the previous round
 * wrote anything: the echo of a write or a newly created record is read back and may carry facts
 * of its own (a created Contact's Account), so one pass ends only once a read round plans no
 * write. The counts it reports are the service's counters over the pass: with a running service
 * beside it they include that service's work of the same minutes.
 */
export async function syncOnce(
  ctx: SyncContext,
  options: {
    full?: boolean;
    workers?: boolean;
    /** Send the pass's alerts too (the default; false when `smk worker --queues alerts` processes send them). */
    alerts?: boolean;
    timeoutMs?: number;
    maxRounds?: number;
    onProgress?: (p: SyncProgress) => void;
  } = {},
): Promise<SyncOnceResult> {
  const started = Date.now();
  const countsBefore = await ctx.counters.read();
  const sendAlerts = options.alerts !== false && ctx.config.file.alerts.routes.length > 0;
  const workers = options.workers === false ? null : startWorkers(ctx, { queues: [...DRAINED_QUEUES, 'sla', ...(sendAlerts ? (['alerts'] as QueueName[]) : [])] });
  const pass = ctx.passes.open();
  try {
    const owed = await pendingNow(ctx);
    const owedJobs = await owedJobsNow(ctx);
    const polls = {} as Record<CrmName, PollResult>;
    const maxRounds = options.maxRounds ?? 3;
    let paused: PausedCrm[] | undefined;
    const feedPaused = new Set<CrmName>();
    for (let round = 1; round <= maxRounds; round += 1) {
      const writesBefore = await writeCount(ctx);
      for (const crm of ['hubspot', 'salesforce'] as const) {
        let records = 0;
        const poll = await readFeed(ctx, crm, {
          pass,
          full: round === 1 ? options.full : false,
          onPage: (n) => {
            records += n;
            options.onProgress?.({ phase: 'read', crm, records });
          },
        });
        if (poll === 'paused') {
          feedPaused.add(crm);
          polls[crm] ??= { pages: 0, records: 0, removed: 0, full: false };
          continue;
        }
        const before = polls[crm];
        polls[crm] = before ? { ...poll, pages: before.pages + poll.pages, records: before.records + poll.records, removed: before.removed + poll.removed, full: before.full || poll.full } : poll;
      }
      const idle = await waitForPass(ctx, pass, { owed: round === 1 ? owed : [], owedJobs: round === 1 ? owedJobs : [], timeoutMs: options.timeoutMs, onProgress: (remaining) => options.onProgress?.({ phase: 'drain', remaining }) });
      paused = idle.paused;
      if (paused) break;
      if ((await writeCount(ctx)) === writesBefore) break;
    }
    // A feed that could not be read for the budget: the pass is paused even with nothing pending.
    if (!paused && feedPaused.size > 0) {
      paused = [];
      for (const crm of feedPaused) {
        const report = await ctx.connectors[crm].quota();
        const waiting = (await Promise.all(Object.values(ctx.pending[crm]).map((store) => store.size()))).reduce((a, b) => a + b, 0);
        paused.push({ crm, until: report.resumesAt ?? null, waiting });
      }
    }
    if (workers && sendAlerts) await drainAlerts(ctx, ALERT_DRAIN_MS);
    const done = countsSince(countsBefore, await ctx.counters.read());
    return {
      polls,
      ms: Date.now() - started,
      changed: done.changed,
      evaluated: done.evaluated,
      writes: { hubspot: done['writes.hubspot'], salesforce: done['writes.salesforce'] },
      created: { hubspot: done['created.hubspot'], salesforce: done['created.salesforce'] },
      syncErrors: await ctx.errors.count(),
      ...(paused && paused.length > 0 ? { paused } : {}),
    };
  } finally {
    await ctx.passes.close(pass).catch(() => undefined);
    await workers?.close();
  }
}
