/**
 * The chaos scenario, shared by the CI test (small) and `npm run chaos` (large):
 *
 * 1. Chaos: sandboxes of the seed that answer a fraction of the API calls with each CRM's rate
 *    limit (HubSpot's 429 TEN_SECONDLY_ROLLING; Salesforce's 403 REQUEST_LIMIT_EXCEEDED for too many
 *    concurrent requests), 5xx, slow and dropped answers; `workers` worker processes
 *    (`node bin/smk.js worker`) on a private Redis with AOF on; the change feeds read from this
 *    process. Meanwhile a monkey SIGKILLs a worker (started again) and stops and starts the Redis
 *    server on its port and dir, each at random moments while jobs run.
 *    After the first full sync, users keep changing people in both CRMs (a visit, a form, a new
 *    title in HubSpot; a status, a rating, a sales decision, a call, a conversion in Salesforce),
 *    round after round, while the feeds are read, until every planned fault of every kind, every
 *    planned SIGKILL and every planned Redis restart has happened, or the run's bound (rounds,
 *    seconds) is reached: then the plan's shortfall is reported and the run fails.
 * 2. After the queues drain: faults off, what both CRMs hold, then a quiet sync that must make zero
 *    write calls.
 * 3. Reference: sandboxes of the same seed, no faults, one `syncOnce`, and then the same user
 *    changes, generation by generation, each followed by a `syncOnce`; both CRMs are compared with
 *    the chaos run's (records per person, every smk value, tasks).
 *
 * A person is changed at most once per generation, and a generation starts only once the previous
 * one has drained: so the chaos run may read a generation's changes in any order and interleaving
 * (a round's changes meet the next round's reads while they are being written back), yet must end
 * where the reference, which applies them all at once, ends.
 *
 * Everything runs on the private Redis under this run's own prefixes; the shared one is untouched.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@hubspot/api-client';
import type jsforce from 'jsforce';
import { bootstrap } from '../../../jobs/bootstrap.js';
import type { Runtime } from '../../../jobs/bootstrap.js';
import { processPoll } from '../../../jobs/poll.js';
import { startChangeStream, streamStatus } from '../../../jobs/stream.js';
import type { ChangeStreamRunner, StreamStatus } from '../../../jobs/stream.js';
import { outstandingByPlace, outstandingWork, syncOnce } from '../../../jobs/run-once.js';
import { writeCount } from '../../../jobs/writeback.js';
import { createRandom } from '../../../connectors/sandbox/common.js';
import type { FaultKind } from '../../../connectors/sandbox/common.js';
import { startSandboxes } from '../../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../../connectors/sandbox/start.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { describeDifferences, diffCrmStates, personOf, readCrmState } from './crm-state.js';
import type { CrmState, StateDifference } from './crm-state.js';
import { startRestartableRedis } from './private-redis.js';
import type { RestartableRedis } from './private-redis.js';
import { officialClients, resetStats, serviceEnv, stats, writeCalls } from '../../helpers/sandbox-io.js';
import { LogTally, WorkerProcess } from './worker-process.js';

export type CrmName = 'hubspot' | 'salesforce';
export const CRMS: readonly CrmName[] = ['hubspot', 'salesforce'];
export const FAULT_KINDS: readonly FaultKind[] = ['rateLimit', 'serverError', 'slow', 'drop'];
/**
 * Faults of the Salesforce change stream (Change Data Capture over CometD), struck by the monkey
 * while the service streams: the org forgets the client (its next connect answered `403::Unknown
 * client`), the streaming server restarts (the held long poll cut without an answer), every session
 * expires (the handshake again refused with `401::Authentication invalid`), and the service stops
 * for longer than the 72-hour retention (the stored replay id refused with `400::The replayId ...
 * you provided was invalid`: a cursor poll reads what came meanwhile).
 */
export const STREAM_FAULTS = ['unknownClient', 'serverRestart', 'sessionExpired', 'replayExpired'] as const;
export type StreamFault = (typeof STREAM_FAULTS)[number];

/** What a run must have done before it may end: faults per CRM and kind, SIGKILLs, Redis restarts. */
export interface ChaosPlan {
  faults: Record<CrmName, Record<FaultKind, number>>;
  stream: Record<StreamFault, number>;
  kills: number;
  redisRestarts: number;
}

export interface ChaosOptions {
  people: number;
  seed: number;
  /** Fraction of API calls that meet a fault, spread evenly over 429, 5xx, slow and drop. */
  rate: number;
  /** Planned SIGKILLs of a worker process at random moments (each is started again). */
  kills: number;
  workers: number;
  /** Planned faults of each kind in each CRM (default 2, or 0 with `rate` 0). */
  faultsPerKind?: number;
  /**
   * Planned faults of each kind in the Salesforce change stream (default 1). With 0 the service
   * does not stream: Salesforce is polled every round, as before Change Data Capture.
   */
  streamFaultsPerKind?: number;
  /** Planned stops and starts of the private Redis (default 1; `restartRedis: false` makes it 0). */
  redisRestarts?: number;
  /** `sync.create.salesforce` of both runs (default `mql`, the product's default). */
  salesforceCreates?: 'never' | 'mql' | 'always';
  /** Stop and start the private Redis mid-run (default true; see `redisRestarts`). */
  restartRedis?: boolean;
  /** How long a slow answer takes. */
  slowMs?: number;
  /** People changed per round (default people / 40, 3 to 25). */
  changesPerRound?: number;
  /** How long a round waits for its work to settle before the next round's changes (default 1 s). */
  roundMs?: number;
  /** The run's bound: at most this many rounds of user changes (default 500)... */
  maxRounds?: number;
  /** ...and this long after the first sync (the rounds' own time): no round starts after it (default 10 minutes). */
  maxSeconds?: number;
  /** Limit of each wait for the queues to drain. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Why a run may differ from its reference without an update being lost silently:
 * - dropped: a change the sync-errors report names as INGEST_FAILED (a record whose data breaks
 *   the code: visible to the admin, not silent).
 * The chaos run found three more: a converted lead losing its conversion and a handoff task never
 * created (both fixed and kept as regression tests in pipeline-invariants.test.ts), and, once
 * Salesforce's rate-limit answers were on, writes and handoff tasks given up into sync errors as
 * RATE_LIMITED after a short burst of them (the connector reported a call that failed as a whole
 * as a failure of each record, and the pipeline counted it against each record's five attempts;
 * fixed in connectors/salesforce/batch.ts). Any such difference now counts as unexplained.
 */
export type KnownCause = 'dropped';

export interface ChaosFigures {
  people: number;
  seed: number;
  rate: number;
  workers: number;
  /** What the run had to do, and what it did (faults counted by the sandboxes themselves). */
  planned: ChaosPlan;
  faultsInjected: Record<CrmName, Record<FaultKind, number>>;
  /**
   * The change stream: faults struck, and after how many of them change events flowed again; events
   * received (ours among them); stored replay ids found expired and refused sessions refreshed (as
   * the service logged them); records the safety-net poll at the end of each generation read.
   */
  stream: { faults: Record<StreamFault, number>; recovered: number; events: number; own: number; replayExpired: number; sessionsRefreshed: number; safetyPollRecords: number };
  kills: number;
  workerStarts: number;
  redisRestarts: number;
  /** Every planned kind that fell short, as "what: fired of planned" (empty when the plan was met). */
  shortfall: string[];
  /** Rounds of user changes and the generations they formed; changes made (and replayed in the reference). */
  changes: { rounds: number; generations: number; applied: number; byKind: Record<string, number>; notReplayed: number };
  /** Jobs that failed and were retried by the queue; API calls retried inside a job. */
  retries: { jobs: number; calls: number; deadLetters: number };
  apiCalls: { reference: Record<CrmName, number>; chaos: Record<CrmName, number> };
  syncErrors: { reference: Record<string, number>; chaos: Record<string, number>; samples: string[] };
  records: { reference: number; chaos: number };
  differences: number;
  /** Differences a known cause explains (see KnownCause). */
  explained: Record<KnownCause, number>;
  /** Differences no known cause explains: updates lost (or made) without a trace. */
  unexplained: StateDifference[];
  droppedChanges: number;
  /** Keys that hold more records than in the reference: duplicates. */
  duplicated: string[];
  sample: StateDifference[];
  /** Extra reads at the ends of generations and of the run (as syncOnce: again while the previous read led to writes). */
  rounds: number;
  /** Write calls of the first sync after the pass (echoes the pass left behind). */
  lateWrites: Record<string, number>;
  /** Write calls of the sync after that, with no outside change (must be none: no loop). */
  quietSyncWrites: Record<string, number>;
  seconds: { reference: number; chaos: number };
}

const config = (createSalesforce: string) => `
sync:
  batchWait: 200ms
  jobLock: 3s
  writeLease: 3s
  searchSafetyMargin: 0s
  create: { salesforce: ${createSalesforce} }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Side {
  sandboxes: Sandboxes;
  runtime: Runtime;
  env: Record<string, string>;
  hubspot: Client;
  salesforce: jsforce.Connection;
  close(): Promise<void>;
}

async function openSide(redis: RestartableRedis, options: ChaosOptions & { worldNow: number }, label: string, configPath: string, tally: LogTally): Promise<Side> {
  // Both sides seed the same world: the seed's dates are relative to its "now", and an engagement
  // date that falls on another UTC day in one of them would score a point apart.
  const sandboxes = await startSandboxes({ people: options.people, seed: options.seed, hubspotPerTenSeconds: 0, now: options.worldNow });
  const t = redis.asTestRedis(label);
  const env = serviceEnv(sandboxes, t, configPath);
  const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'debug', destination: tally.destination() }) });
  const { hubspot, salesforce } = officialClients(sandboxes);
  for (const crm of ['hubspot', 'salesforce'] as const) {
    const report = await runtime.ctx.connectors[crm].ensureSchema();
    if (report.problems.length > 0) throw new Error(`${crm} schema problems: ${JSON.stringify(report.problems)}`);
  }
  return {
    sandboxes,
    runtime,
    env,
    hubspot,
    salesforce,
    close: async () => {
      await runtime.close();
      await t.cleanup();
      await sandboxes.close();
    },
  };
}

type FaultSettings = Record<string, number | string>;

/**
 * The fault rate spread over the four kinds each CRM answers with: its rate limit, 5xx, slow,
 * dropped. HubSpot's rate limit is the 429 of its ten-secondly window. Salesforce's is the 403
 * REQUEST_LIMIT_EXCEEDED it sends when too many long requests run at once (`ConcurrentRequests`,
 * `ConcurrentPerOrgLongTxn`), which clears in seconds: the connector retries it after 5 s. The other
 * REQUEST_LIMIT_EXCEEDED, `TotalRequests Limit exceeded.`, comes only once the org's rolling 24-hour
 * allocation is spent (the sandbox's own default rate-limit fault): the connector then holds the
 * work until the org reports room again (quota.test.ts and salesforce-connector/quota.test.ts cover
 * that hold), and a chaos run would only stop the clock on it, so the run sends the concurrent kind.
 */
export function faultMix(options: Pick<ChaosOptions, 'rate' | 'slowMs' | 'seed'>): { hubspot: FaultSettings; salesforce: FaultSettings } {
  const slowMs = options.slowMs ?? 400;
  const h = options.rate / 4;
  return {
    hubspot: { rateLimit: h, serverError: h, slow: h, drop: h, slowMs, seed: options.seed },
    salesforce: { rateLimit: h, salesforceRateLimit: 'concurrent', serverError: h, slow: h, drop: h, slowMs, seed: options.seed + 1 },
  };
}

/**
 * The mix once some kinds have fired their planned number: in each CRM, a kind that has keeps a
 * background share (a sixteenth of the rate) and the kinds that have not share the rest, so that
 * the run's remaining calls go to what is still missing (and HubSpot's 429, which costs a 10-second
 * wait each time, stops eating the clock once it has fired enough). The total stays at `rate`.
 * A new `seed` each time: the sandbox restarts its random sequence on every change.
 */
export function steeredMix(
  options: Pick<ChaosOptions, 'rate' | 'slowMs' | 'seed'>,
  plan: ChaosPlan,
  fired: Record<CrmName, Record<FaultKind, number>>,
  seq: number,
): { hubspot: FaultSettings; salesforce: FaultSettings } {
  const mix = faultMix(options);
  for (const crm of CRMS) {
    mix[crm].seed = options.seed * 1000 + seq * 2 + (crm === 'hubspot' ? 0 : 1);
    const missing = FAULT_KINDS.filter((k) => fired[crm][k] < plan.faults[crm][k]);
    if (missing.length === FAULT_KINDS.length) continue;
    const background = options.rate / 16;
    if (missing.length === 0) {
      // Every planned fault of this CRM fired: while the rounds go on for the others (the stream's),
      // faults stay in the background, so that the extra rounds do not pile faults on one job.
      for (const k of FAULT_KINDS) mix[crm][k] = background;
      continue;
    }
    const share = (options.rate - background * (FAULT_KINDS.length - missing.length)) / missing.length;
    for (const k of FAULT_KINDS) mix[crm][k] = missing.includes(k) ? share : background;
  }
  return mix;
}

async function setFaults(side: Side, settings: { hubspot: FaultSettings; salesforce: FaultSettings }): Promise<void> {
  for (const [url, body] of [[side.sandboxes.hubspot.baseUrl, settings.hubspot], [side.sandboxes.salesforce.instanceUrl, settings.salesforce]] as const) {
    const res = await fetch(`${url}/__sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`PUT /__sandbox/faults: ${res.status} ${await res.text()}`);
  }
}

async function injected(url: string): Promise<Record<FaultKind, number>> {
  const body = (await (await fetch(`${url}/__sandbox/faults`)).json()) as { injected: Record<FaultKind, number> };
  return body.injected;
}

async function errorCodes(runtime: Runtime, samples?: string[]): Promise<Record<string, number>> {
  const { errors } = await runtime.ctx.errors.list({ limit: 100_000 });
  const out: Record<string, number> = {};
  for (const e of errors) {
    const key = `${e.crm} ${e.stage} ${e.code}`;
    if (out[key] === undefined) samples?.push(`${key}: ${e.object ?? ''} ${e.recordId ?? ''} ${e.message.slice(0, 300)}`);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** `fn` again until it succeeds: the feed's read meets the same faults as everything else. */
async function persist<T>(what: string, fn: () => Promise<T>, log: (line: string) => void, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      log(`  ${what} failed (${err instanceof Error ? err.message : String(err)}); again`);
      await sleep(Math.min(5000, 100 * 2 ** attempt));
    }
  }
}

/** Jobs being processed right now (null while Redis does not answer). */
async function activeJobs(runtime: Runtime): Promise<number | null> {
  try {
    const q = runtime.ctx.queues;
    const counts = await Promise.all([q.ingest, q.evaluate, q.writeback.hubspot, q.writeback.salesforce].map((queue) => queue.getJobCounts('active')));
    return counts.reduce((n, c) => n + (c.active ?? 0), 0);
  } catch {
    return null;
  }
}

async function outstandingSafe(runtime: Runtime): Promise<number | null> {
  try {
    return await outstandingWork(runtime.ctx);
  } catch {
    return null;
  }
}

/** Waits until no job is waiting, running or delayed and no write is pending, three looks in a row. */
async function drain(runtime: Runtime, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 3) {
    const n = await outstandingSafe(runtime);
    quiet = n === 0 ? quiet + 1 : 0;
    if (Date.now() > deadline) {
      const where = await outstandingByPlace(runtime.ctx).catch(() => ({}));
      throw new Error(`the queues did not drain within ${Math.round(timeoutMs / 1000)} s: ${JSON.stringify(where)}`);
    }
    await sleep(n === 0 ? 100 : 250);
  }
}

// ---------------------------------------------------------------------------------------------
// User changes

/**
 * One thing a user does in a CRM's own UI: never an API call, so never met by a fault. Made in
 * the chaos run as rounds go, and replayed in the same order in the reference.
 */
export type UserChange =
  | { crm: 'hubspot'; email: string; what: 'page_view' | 'form_submission' | 'email_click'; count: number }
  | { crm: 'hubspot'; email: string; what: 'edit'; properties: Record<string, string> }
  | { crm: 'salesforce'; email: string; what: 'edit'; fields: Record<string, string | number> }
  | { crm: 'salesforce'; email: string; what: 'call'; subject: string }
  | { crm: 'salesforce'; email: string; what: 'convert' };

export function changeKind(c: UserChange): string {
  if (c.what !== 'edit') return `${c.crm} ${c.what}`;
  return `${c.crm} edit ${Object.keys(c.crm === 'hubspot' ? c.properties : c.fields).sort().join('+')}`;
}

const TITLES = ['VP Marketing', 'Director of Operations', 'Head of Growth', 'Chief Revenue Officer', 'Marketing Analyst', 'Intern'];
const REJECT_REASONS = ['No budget', 'Not the decision maker', 'Bad timing', 'Competitor customer'];

/** The person's one live Salesforce record (an unconverted Lead or a Contact), if exactly one. */
function salesforceRecordOf(sandboxes: Sandboxes, email: string): { id: string; object: 'Lead' | 'Contact' } | null {
  const store = sandboxes.salesforce.store;
  const same = (r: Record<string, unknown>) => typeof r.Email === 'string' && r.Email.toLowerCase() === email;
  const hits = [
    ...store.list('Lead').filter((r) => r.IsConverted !== true && same(r)).map((r) => ({ id: String(r.Id), object: 'Lead' as const })),
    ...store.list('Contact').filter(same).map((r) => ({ id: String(r.Id), object: 'Contact' as const })),
  ];
  return hits.length === 1 ? (hits[0] as { id: string; object: 'Lead' | 'Contact' }) : null;
}

function hubspotHolds(sandboxes: Sandboxes, email: string): boolean {
  return sandboxes.hubspot.store.findByEmail(email, false) !== undefined;
}

/** A change for this person, drawn from what the CRMs hold now; null when neither holds the person alone. */
function drawChange(sandboxes: Sandboxes, email: string, random: () => number): UserChange | null {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const inHubSpot = hubspotHolds(sandboxes, email);
  const sf = salesforceRecordOf(sandboxes, email);
  const hubspotChange = (): UserChange => {
    const r = random();
    if (r < 0.45) return { crm: 'hubspot', email, what: 'page_view', count: 2 + Math.floor(random() * 9) };
    if (r < 0.75) return { crm: 'hubspot', email, what: 'form_submission', count: 1 };
    if (r < 0.85) return { crm: 'hubspot', email, what: 'email_click', count: 1 + Math.floor(random() * 3) };
    return { crm: 'hubspot', email, what: 'edit', properties: { jobtitle: pick(TITLES) } };
  };
  const salesforceChange = (record: { object: 'Lead' | 'Contact' }): UserChange => {
    const r = random();
    if (r < 0.3) {
      const decision = random() < 0.6 ? 'accepted' : 'rejected';
      return {
        crm: 'salesforce', email, what: 'edit',
        fields: { Smk_Sales_Decision__c: decision, Smk_Lead_Quality__c: 1 + Math.floor(random() * 5), ...(decision === 'rejected' ? { Smk_Reject_Reason__c: pick(REJECT_REASONS) } : {}) },
      };
    }
    if (r < 0.5) return { crm: 'salesforce', email, what: 'call', subject: 'Follow-up call' };
    if (r < 0.6 && record.object === 'Lead') return { crm: 'salesforce', email, what: 'convert' };
    if (record.object === 'Lead' && r < 0.8) return { crm: 'salesforce', email, what: 'edit', fields: random() < 0.5 ? { Status: 'Working - Contacted' } : { Rating: pick(['Hot', 'Warm', 'Cold']) } };
    return { crm: 'salesforce', email, what: 'edit', fields: { Title: pick(TITLES) } };
  };
  const preferHubSpot = random() < 0.5;
  if (inHubSpot && (preferHubSpot || !sf)) return hubspotChange();
  if (sf) return salesforceChange(sf);
  return null;
}

async function control(url: string, method: string, body: unknown): Promise<{ ok: boolean; text: string }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { ok: res.ok, text: res.ok ? '' : `${res.status} ${await res.text()}` };
}

/** Makes one change through the sandboxes' uncounted control routes; the reason when it could not. */
async function applyChange(sandboxes: Sandboxes, c: UserChange): Promise<string | null> {
  if (c.crm === 'hubspot') {
    const base = `${sandboxes.hubspot.baseUrl}/__sandbox`;
    const res = c.what === 'edit'
      ? await control(`${base}/contacts/${encodeURIComponent(c.email)}`, 'PATCH', { properties: c.properties })
      : await control(`${base}/activity`, 'POST', { email: c.email, kind: c.what, count: c.count, ...(c.what === 'form_submission' ? { name: 'Pricing webinar' } : {}) });
    return res.ok ? null : res.text;
  }
  const record = salesforceRecordOf(sandboxes, c.email);
  if (!record) return 'no single live Salesforce record';
  const activity = c.what === 'edit' ? { kind: 'field', id: record.id, fields: c.fields } : c.what === 'call' ? { kind: 'call', whoId: record.id, subject: c.subject } : { kind: 'convert', id: record.id };
  const res = await control(`${sandboxes.salesforce.instanceUrl}/__sandbox/activity`, 'POST', activity);
  return res.ok ? null : res.text;
}

/** The people of the world, each once, in the order a generation changes them. */
function shuffledPeople(sandboxes: Sandboxes, random: () => number): string[] {
  const emails = [...new Set(sandboxes.world.people.map((p) => p.email.toLowerCase()))].sort();
  for (let i = emails.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [emails[i], emails[j]] = [emails[j] as string, emails[i] as string];
  }
  return emails;
}

// ---------------------------------------------------------------------------------------------
// Plan

export function planFor(options: ChaosOptions): ChaosPlan {
  const each = options.faultsPerKind ?? (options.rate > 0 ? 2 : 0);
  const perCrm = () => Object.fromEntries(FAULT_KINDS.map((k) => [k, options.rate > 0 ? each : 0])) as Record<FaultKind, number>;
  const streamEach = options.streamFaultsPerKind ?? 1;
  return {
    faults: { hubspot: perCrm(), salesforce: perCrm() },
    stream: Object.fromEntries(STREAM_FAULTS.map((k) => [k, streamEach])) as Record<StreamFault, number>,
    kills: options.kills,
    redisRestarts: options.restartRedis === false ? 0 : (options.redisRestarts ?? 1),
  };
}

const FAULT_LABELS: Record<CrmName, Record<FaultKind, string>> = {
  hubspot: { rateLimit: '429 TEN_SECONDLY_ROLLING', serverError: '5xx', slow: 'slow', drop: 'dropped' },
  salesforce: { rateLimit: '403 REQUEST_LIMIT_EXCEEDED (concurrent)', serverError: '5xx', slow: 'slow', drop: 'dropped' },
};
const CRM_LABELS: Record<CrmName, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce' };
const STREAM_LABELS: Record<StreamFault, string> = {
  unknownClient: 'stream dropped by the org (403 Unknown client)',
  serverRestart: 'stream server restart (long poll cut)',
  sessionExpired: 'stream session expired (401, refreshed)',
  replayExpired: 'stored replay id expired (400, cursor poll)',
};

/** Every planned kind with what fired, in the table's order. */
export function planRows(planned: ChaosPlan, fired: { faults: Record<CrmName, Record<FaultKind, number>>; stream: Record<StreamFault, number>; kills: number; redisRestarts: number }): Array<{ what: string; planned: number; fired: number }> {
  return [
    ...CRMS.flatMap((crm) => FAULT_KINDS.map((k) => ({ what: `${CRM_LABELS[crm]} ${FAULT_LABELS[crm][k]}`, planned: planned.faults[crm][k], fired: fired.faults[crm][k] }))),
    ...STREAM_FAULTS.map((k) => ({ what: `Salesforce ${STREAM_LABELS[k]}`, planned: planned.stream[k], fired: fired.stream[k] })),
    { what: 'SIGKILL of a worker', planned: planned.kills, fired: fired.kills },
    { what: 'Redis restart', planned: planned.redisRestarts, fired: fired.redisRestarts },
  ];
}

function shortfallOf(planned: ChaosPlan, fired: Parameters<typeof planRows>[1]): string[] {
  return planRows(planned, fired).filter((r) => r.fired < r.planned).map((r) => `${r.what}: ${r.fired} of ${r.planned}`);
}

// ---------------------------------------------------------------------------------------------
// The run

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const runStarted = Date.now();
  const log = (line: string) => options.log?.(`[${((Date.now() - runStarted) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const random = createRandom(options.seed * 7919 + 17);
  const changeRandom = createRandom(options.seed * 104_729 + 3);
  const plan = planFor(options);
  const drainMs = options.drainTimeoutMs ?? 600_000;
  const perRound = options.changesPerRound ?? Math.min(25, Math.max(3, Math.round(options.people / 40)));
  const roundMs = options.roundMs ?? 1000;
  const maxRounds = options.maxRounds ?? 500;
  const maxMs = (options.maxSeconds ?? 600) * 1000;
  const redis = await startRestartableRedis();
  const configDir = mkdtempSync(join(tmpdir(), 'smk-chaos-config-'));
  const configPath = join(configDir, 'smarketing.yaml');
  writeFileSync(configPath, config(options.salesforceCreates ?? 'mql'));
  const tally = new LogTally();
  const workers: WorkerProcess[] = [];
  const apiCalls = { reference: { hubspot: 0, salesforce: 0 }, chaos: { hubspot: 0, salesforce: 0 } };
  const seconds = { reference: 0, chaos: 0 };
  const sides = { ...options, worldNow: Math.floor(Date.now() / 60_000) * 60_000 };
  /** The user changes of each generation, in the order they were made. */
  const generations: UserChange[][] = [];
  try {
    // 1. The seed under faults, kills, Redis restarts and rounds of user changes.
    const started = Date.now();
    log(`chaos: ${options.people} people, seed ${options.seed}, fault rate ${options.rate}; plan ${JSON.stringify(plan)}`);
    const side = await openSide(redis, sides, 'chaos', configPath, tally);
    try {
      await Promise.all([resetStats(side.sandboxes.hubspot.baseUrl), resetStats(side.sandboxes.salesforce.instanceUrl)]);
      if (options.rate > 0) await setFaults(side, faultMix(options));
      for (let i = 0; i < options.workers; i += 1) workers.push(new WorkerProcess(side.env, tally, `worker ${i + 1}`));
      await Promise.all(workers.map((w) => w.start()));
      log(`chaos: ${options.workers} worker processes up (pids ${workers.map((w) => w.pid).join(', ')})`);

      // The service streams Salesforce's changes (as `smk start` does) unless no stream fault is planned.
      const streaming = STREAM_FAULTS.some((k) => plan.stream[k] > 0);
      const streamFired: Record<StreamFault, number> = { unknownClient: 0, serverRestart: 0, sessionExpired: 0, replayExpired: 0 };
      let streamRecovered = 0;
      let safetyPollRecords = 0;
      let runner: ChangeStreamRunner | null = null;
      const ctx = side.runtime.ctx;
      const streamNow = async (): Promise<StreamStatus | null> => streamStatus(ctx).catch(() => null);
      const waitUntil = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (await check()) return true;
          await sleep(100);
        }
        return false;
      };
      let streamUp: () => void = () => undefined;
      const firstStreamUp = new Promise<void>((resolve) => (streamUp = resolve));
      const startStream = async () => {
        runner = startChangeStream(ctx, { retryMs: 500 });
        if (!(await waitUntil(async () => (await streamNow())?.state === 'connected', 30_000))) log('  stream: not connected within 30 s');
      };

      const firedNow = async () => ({
        faults: { hubspot: await injected(side.sandboxes.hubspot.baseUrl), salesforce: await injected(side.sandboxes.salesforce.instanceUrl) },
        stream: { ...streamFired },
        kills: workers.reduce((n, w) => n + w.kills, 0),
        redisRestarts: redis.restarts,
      });
      const poll = async (what: string, crms: readonly CrmName[] = CRMS) => {
        for (const crm of crms) await persist(`${crm} poll (${what})`, () => processPoll(side.runtime.ctx, crm), log);
      };

      // The monkey strikes at random moments while jobs are running (a kill of an idle worker or a
      // restart of an idle Redis would test little), until its part of the plan is done.
      let monkeyStopped = false;
      const waitForWork = async (minMs: number, maxMs: number): Promise<number | null> => {
        await sleep(minMs + random() * (maxMs - minMs));
        for (;;) {
          if (monkeyStopped) return null;
          const active = await activeJobs(side.runtime);
          if (active !== null && active > 0) return active;
          await sleep(50);
        }
      };
      // A worker that finds Redis down as it starts exits at once (`smk worker` checks Redis
      // first): it is started again, as a supervisor (systemd, Kubernetes) would.
      const startAgain = async (w: WorkerProcess) => {
        for (let attempt = 1; ; attempt += 1) {
          try {
            await w.start();
            return;
          } catch (err) {
            if (attempt >= 10) throw err;
            log(`  ${w.name} did not start (${(err instanceof Error ? err.message : String(err)).split('\n')[0]}); again`);
            await sleep(300 * attempt);
          }
        }
      };
      const kills = (async () => {
        for (let k = 0; workers.reduce((n, w) => n + w.kills, 0) < plan.kills; k += 1) {
          const active = await waitForWork(k === 0 ? 200 : 500, k === 0 ? 1500 : 3000);
          if (active === null) return;
          const victim = workers[Math.floor(random() * workers.length)] as WorkerProcess;
          log(`  SIGKILL ${victim.name} (pid ${victim.pid}) with ${active} jobs running`);
          await victim.kill();
          await sleep(200 + random() * 800);
          await startAgain(victim);
        }
      })();
      const restarts = (async () => {
        for (let k = 0; redis.restarts < plan.redisRestarts; k += 1) {
          const active = await waitForWork(k === 0 ? 500 : 1500, k === 0 ? 2500 : 4000);
          if (active === null) return;
          log(`  restarting Redis with ${active} jobs running (stop, then start on the same port and AOF dir)`);
          await redis.restart({ downMs: 300 });
        }
      })();
      // The stream's faults, one at a time, each followed by a wait until change events flow again
      // (the rounds keep changing people in Salesforce).
      // Set once the stream monkey has struck its last fault and waited for events to flow after
      // it: users keep changing people until then, so that a fault struck as the rounds would end
      // still has changes after it (the check below counts events after each fault).
      let streamMonkeyDone = !streaming;
      const streamMonkey = (async () => {
        if (!streaming) return;
        await Promise.race([firstStreamUp, new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (monkeyStopped) {
              clearInterval(check);
              resolve();
            }
          }, 100);
        })]);
        for (;;) {
          const next = STREAM_FAULTS.find((k) => streamFired[k] < plan.stream[k]);
          if (!next) return;
          await sleep(200 + random() * 600);
          if (monkeyStopped) return;
          const before = (await streamNow())?.events ?? 0;
          log(`  stream: ${STREAM_LABELS[next]}`);
          switch (next) {
            case 'unknownClient':
              side.sandboxes.salesforce.dropStreamingClients();
              break;
            case 'serverRestart':
              side.sandboxes.salesforce.restartStreaming();
              break;
            case 'sessionExpired':
              // Every session ends: the held connect is answered with the next event, and the
              // following connect refused with 401 (so are the workers' REST calls: they refresh).
              side.sandboxes.salesforce.auth.expireAllSessions();
              break;
            case 'replayExpired': {
              // The service stops; changes are published meanwhile and then pass the retention, so
              // the replay id it stored is refused when it starts again.
              await (runner as ChangeStreamRunner | null)?.stop();
              await sleep(Math.max(roundMs, 500) * 2);
              side.sandboxes.salesforce.changeEvents.expireRetained();
              await startStream();
              break;
            }
          }
          streamFired[next] += 1;
          const flowing = await waitUntil(async () => {
            const now = await streamNow();
            return now !== null && now.state === 'connected' && (now.events ?? 0) > before;
          }, 20_000);
          if (flowing) streamRecovered += 1;
          else log(`  stream: no change event within 20 s of the fault (${JSON.stringify(await streamNow())})`);
        }
      })();
      // However it ends (a failure is reported where the monkeys are awaited).
      streamMonkey.then(() => { streamMonkeyDone = true; }, () => { streamMonkeyDone = true; });
      const monkey = Promise.all([kills, restarts, streamMonkey]);

      // Drained, and read again while the previous read round led to writes (as syncOnce ends a
      // pass: a created record's echo carries facts of its own): a point where nothing moves.
      let writesAtLastRead = await writeCount(side.runtime.ctx);
      let settleReads = 0;
      const settle = async () => {
        await drain(side.runtime, drainMs);
        if (runner) {
          // The safety-net poll (every 5 minutes in the service): what the stream did not deliver.
          const read = await persist('salesforce safety-net poll', () => processPoll(side.runtime.ctx, 'salesforce'), log);
          safetyPollRecords += read.records;
          await drain(side.runtime, drainMs);
        }
        for (let again = 0; again < 3; again += 1) {
          const written = await writeCount(side.runtime.ctx);
          if (written === writesAtLastRead) return;
          writesAtLastRead = written;
          settleReads += 1;
          await poll('read again after writes');
          await drain(side.runtime, drainMs);
        }
      };

      // The first (full) read of both CRMs, then a generation boundary.
      await poll('first read');
      await settle();
      log(`first sync done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (streaming) {
        side.sandboxes.salesforce.changeEvents.select(['Lead', 'Contact']);
        await startStream();
        streamUp();
        log('the change stream is up: rounds poll HubSpot only, Salesforce changes come by the stream');
      }
      // The bound is on the rounds, not on the first sync: on a loaded machine the first sync alone
      // can take most of a short bound, and the faults planned for the rounds would never fire.
      const roundsStarted = Date.now();

      let rounds = 0;
      let applied = 0;
      const byKind: Record<string, number> = {};
      let pool: string[] = [];
      let current: UserChange[] | null = null;
      let steering = '';
      for (;;) {
        const firedSoFar = await firedNow();
        const missing = shortfallOf(plan, firedSoFar);
        if (missing.length === 0 && streamMonkeyDone) break;
        if (options.rate > 0) {
          // Send the fault rate where the plan still falls short (see steeredMix).
          const shortKinds = JSON.stringify(CRMS.flatMap((crm) => FAULT_KINDS.map((k) => firedSoFar.faults[crm][k] < plan.faults[crm][k])));
          if (shortKinds !== steering) {
            steering = shortKinds;
            await setFaults(side, steeredMix(options, plan, firedSoFar.faults, rounds));
          }
        }
        if (rounds >= maxRounds || Date.now() - roundsStarted > maxMs) {
          log(`  the bound is reached (${rounds} rounds, ${((Date.now() - roundsStarted) / 1000).toFixed(0)} s of rounds), still missing ${missing.join(', ')}`);
          break;
        }
        if (pool.length === 0) {
          // A new generation: everyone may be changed once more, once the last one has settled.
          if (current) await settle();
          current = [];
          generations.push(current);
          pool = shuffledPeople(side.sandboxes, changeRandom);
        }
        rounds += 1;
        let made = 0;
        while (made < perRound && pool.length > 0) {
          const email = pool.shift() as string;
          const change = drawChange(side.sandboxes, email, changeRandom);
          if (!change) continue;
          const problem = await applyChange(side.sandboxes, change);
          if (problem) {
            log(`  round ${rounds}: ${changeKind(change)} of ${email} not made: ${problem}`);
            continue;
          }
          (current as UserChange[]).push(change);
          byKind[changeKind(change)] = (byKind[changeKind(change)] ?? 0) + 1;
          applied += 1;
          made += 1;
        }
        writesAtLastRead = await writeCount(side.runtime.ctx);
        await poll(`round ${rounds}`, streaming ? ['hubspot'] : CRMS);
        // Let the round's work run a little, then go on: the next changes meet it half-done.
        const until = Date.now() + roundMs;
        while (Date.now() < until && (await outstandingSafe(side.runtime)) !== 0) await sleep(100);
        if (rounds % 10 === 0) log(`  round ${rounds} (generation ${generations.length}): still missing ${missing.join(', ')}`);
      }
      monkeyStopped = true;
      await monkey;
      await settle();
      const streamEnd = await streamNow();
      await (runner as ChangeStreamRunner | null)?.stop();
      seconds.chaos = (Date.now() - started) / 1000;
      log(`drained in ${seconds.chaos.toFixed(1)} s: ${rounds} rounds of changes in ${generations.length} generations, ${applied} changes`);

      // 2. Faults off; what the CRMs hold now.
      const off = { rateLimit: 0, serverError: 0, slow: 0, drop: 0 };
      await setFaults(side, { hubspot: off, salesforce: off });
      const fired = await firedNow();
      apiCalls.chaos.hubspot = (await stats(side.sandboxes.hubspot.baseUrl)).total;
      apiCalls.chaos.salesforce = (await stats(side.sandboxes.salesforce.instanceUrl)).total;
      const actual = await readCrmState(side.hubspot, side.salesforce);
      const errorSamples: string[] = [];
      const chaosErrors = await errorCodes(side.runtime, errorSamples);

      // Syncs with no outside change. The first may still catch up on echoes (see lateWrites);
      // the second must make reads only: a write there would come back every cycle (a loop).
      type StoreChange = { kind: string; objectId: string; propertyName?: string; propertyValue?: string };
      let listening: ((e: StoreChange) => void) | null = null;
      side.sandboxes.hubspot.store.onEvent((e) => listening?.(e as StoreChange));
      const quietSync = async (): Promise<{ writes: Record<string, number>; changes: string[] }> => {
        await Promise.all([resetStats(side.sandboxes.hubspot.baseUrl), resetStats(side.sandboxes.salesforce.instanceUrl)]);
        const changes: string[] = [];
        listening = (e) => {
          if (e.kind === 'propertyChange' && changes.length < 20) changes.push(`HubSpot contact ${e.objectId} ${e.propertyName} = ${JSON.stringify(e.propertyValue).slice(0, 80)}`);
        };
        await syncOnce(side.runtime.ctx, { timeoutMs: drainMs });
        listening = null;
        const writes = {
          ...Object.fromEntries(Object.entries(writeCalls(await stats(side.sandboxes.hubspot.baseUrl))).map(([k, v]) => [`hubspot ${k}`, v])),
          ...Object.fromEntries(Object.entries(writeCalls(await stats(side.sandboxes.salesforce.instanceUrl))).map(([k, v]) => [`salesforce ${k}`, v])),
        };
        return { writes, changes };
      };
      const late = await quietSync();
      if (Object.keys(late.writes).length > 0) log(`the first sync after the drain wrote ${JSON.stringify(late.writes)}${late.changes.length ? `, changing:\n  ${late.changes.join('\n  ')}` : ' (values HubSpot already held)'}`);
      const quiet = await quietSync();
      if (Object.keys(quiet.writes).length > 0) log(`the quiet sync wrote ${JSON.stringify(quiet.writes)}${quiet.changes.length ? `, changing:\n  ${quiet.changes.join('\n  ')}` : ''}`);
      await Promise.all(workers.map((w) => w.stop()));

      // 3. The reference: the same seed and the same user changes, no faults, a sync after each generation.
      const refStarted = Date.now();
      log(`reference: no faults; the first sync, then ${generations.length} generations of changes, each followed by a sync`);
      const ref = await openSide(redis, sides, 'reference', configPath, new LogTally());
      let reference: CrmState;
      let referenceErrors: Record<string, number>;
      const notReplayed: StateDifference[] = [];
      try {
        await Promise.all([resetStats(ref.sandboxes.hubspot.baseUrl), resetStats(ref.sandboxes.salesforce.instanceUrl)]);
        await syncOnce(ref.runtime.ctx, { timeoutMs: drainMs });
        for (const changes of generations) {
          for (const change of changes) {
            const problem = await applyChange(ref.sandboxes, change);
            if (problem) notReplayed.push({ key: `${change.crm}:${change.email}`, what: `user change ${changeKind(change)}`, expected: 'made (as in the chaos run)', actual: `not made: ${problem}` });
          }
          await syncOnce(ref.runtime.ctx, { timeoutMs: drainMs });
        }
        apiCalls.reference.hubspot = (await stats(ref.sandboxes.hubspot.baseUrl)).total;
        apiCalls.reference.salesforce = (await stats(ref.sandboxes.salesforce.instanceUrl)).total;
        reference = await readCrmState(ref.hubspot, ref.salesforce);
        referenceErrors = await errorCodes(ref.runtime);
      } finally {
        await ref.close();
      }
      seconds.reference = (Date.now() - refStarted) / 1000;
      log(`reference done in ${seconds.reference.toFixed(1)} s: ${reference.records.length} records`);

      // 4. The chaos run's CRMs against the reference's.
      const differences = [...notReplayed, ...diffCrmStates(reference, actual)];
      for (const key of new Set([...Object.keys(referenceErrors), ...Object.keys(chaosErrors)])) {
        if ((referenceErrors[key] ?? 0) !== (chaosErrors[key] ?? 0)) {
          differences.push({ key: 'sync errors', what: key, expected: String(referenceErrors[key] ?? 0), actual: String(chaosErrors[key] ?? 0) });
        }
      }
      if (differences.length > 0) log(`differences:\n${describeDifferences(differences)}`);
      const { errors: chaosEntries } = await side.runtime.ctx.errors.list({ limit: 100_000 });
      const dropped = chaosEntries.filter((e) => e.code === 'INGEST_FAILED');
      const droppedPeople = new Set(dropped.flatMap((e) => (e.recordId && actual.keyById[e.recordId] ? [personOf(actual.keyById[e.recordId] as string)] : [])));
      const causeOf = (d: StateDifference): KnownCause | null => {
        if (d.key === 'sync errors') return d.what.endsWith(' INGEST_FAILED') ? 'dropped' : null;
        const person = personOf(d.key.replace(/ .*$/, ''));
        return droppedPeople.has(person) ? 'dropped' : null;
      };
      const explained: Record<KnownCause, number> = { dropped: 0 };
      for (const d of differences) {
        const cause = causeOf(d);
        if (cause) explained[cause] += 1;
      }
      const unexplained = differences.filter((d) => causeOf(d) === null);
      if (unexplained.length > 0) log(`unexplained differences:\n${describeDifferences(unexplained)}`);
      const duplicated = differences.filter((d) => d.what === 'record count' && Number(d.actual) > Number(d.expected)).map((d) => d.key);
      if (process.env.SMK_CHAOS_DEBUG) {
        for (const d of differences.slice(0, 3)) {
          const email = d.key.replace(/ .*$/, '').split(':').pop() ?? '';
          const leadId = await side.runtime.ctx.leads.leadByEmail(email.toLowerCase());
          log(`post-mortem ${d.key}: lead ${leadId} ${JSON.stringify((await side.runtime.ctx.leads.get(leadId ?? ''))?.lead.links)}`);
          log(`  user changes: ${JSON.stringify(generations.flatMap((g, i) => g.filter((c) => c.email === email.toLowerCase()).map((c) => ({ generation: i + 1, ...c }))))}`);
          for (const line of tally.kept.filter((l) => (leadId && l.includes(leadId)) || l.includes(email)).slice(0, 30)) log(`  ${line.slice(0, 500)}`);
        }
      }

      // SMK_CHAOS_DEBUG=1 SMK_CHAOS_DUMP=<file>: every worker log line of the run, for a post-mortem of your own.
      if (process.env.SMK_CHAOS_DUMP) writeFileSync(process.env.SMK_CHAOS_DUMP, tally.kept.join('\n'));
      const shortfall = shortfallOf(plan, fired);
      if (shortfall.length > 0) log(`SHORTFALL: planned kinds that did not fire within the bound: ${shortfall.join(', ')}`);
      return {
        people: options.people,
        seed: options.seed,
        rate: options.rate,
        workers: options.workers,
        planned: plan,
        faultsInjected: fired.faults,
        stream: {
          faults: fired.stream, recovered: streamRecovered, events: streamEnd?.events ?? 0, own: streamEnd?.own ?? 0,
          replayExpired: tally.streamReplayExpired, sessionsRefreshed: tally.streamSessionRefreshed, safetyPollRecords,
        },
        kills: fired.kills,
        workerStarts: workers.reduce((n, w) => n + w.starts, 0),
        redisRestarts: fired.redisRestarts,
        shortfall,
        changes: { rounds, generations: generations.length, applied, byKind, notReplayed: notReplayed.length },
        retries: { jobs: tally.jobRetries, calls: tally.callRetries, deadLetters: tally.deadLetters },
        apiCalls,
        syncErrors: { reference: referenceErrors, chaos: chaosErrors, samples: errorSamples },
        records: { reference: reference.records.length, chaos: actual.records.length },
        differences: differences.length,
        explained,
        unexplained,
        droppedChanges: dropped.length,
        duplicated,
        sample: differences.slice(0, 20),
        rounds: settleReads,
        lateWrites: late.writes,
        quietSyncWrites: quiet.writes,
        seconds,
      };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await side.close();
    }
  } finally {
    await redis.stop();
    rmSync(configDir, { recursive: true, force: true });
  }
}

export function formatFigures(f: ChaosFigures): string {
  const rows = planRows(f.planned, { faults: f.faultsInjected, stream: f.stream.faults, kills: f.kills, redisRestarts: f.redisRestarts });
  const width = Math.max(...rows.map((r) => r.what.length));
  const table = rows.map((r) => `    ${r.what.padEnd(width)}  planned ${String(r.planned).padStart(3)}  fired ${String(r.fired).padStart(4)}${r.fired < r.planned ? '  SHORT' : ''}`);
  const kinds = Object.entries(f.changes.byKind).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ');
  return [
    `chaos run: ${f.people} people, seed ${f.seed}, fault rate ${f.rate}, ${f.workers} worker processes`,
    `  planned vs fired:`,
    ...table,
    ...(f.shortfall.length > 0 ? [`  SHORTFALL: ${f.shortfall.join('; ')}`] : []),
    `  user changes: ${f.changes.applied} in ${f.changes.rounds} rounds, ${f.changes.generations} generations (${kinds || 'none'}); ${f.changes.notReplayed} could not be replayed in the reference`,
    `  change stream: ${f.stream.events} events (${f.stream.own} our own writes); events flowed again after ${f.stream.recovered} of ${Object.values(f.stream.faults).reduce((a, b) => a + b, 0)} faults; ${f.stream.replayExpired} expired replay ids polled instead; ${f.stream.sessionsRefreshed} refused sessions refreshed; ${f.stream.safetyPollRecords} records read by the safety-net polls`,
    `  worker starts: ${f.workerStarts}`,
    `  retries: ${f.retries.jobs} job retries, ${f.retries.calls} API call retries inside jobs, ${f.retries.deadLetters} dead-lettered jobs`,
    `  API calls: reference HubSpot ${f.apiCalls.reference.hubspot} / Salesforce ${f.apiCalls.reference.salesforce}; chaos HubSpot ${f.apiCalls.chaos.hubspot} / Salesforce ${f.apiCalls.chaos.salesforce}`,
    `  sync errors: reference ${JSON.stringify(f.syncErrors.reference)}; chaos ${JSON.stringify(f.syncErrors.chaos)}`,
    ...f.syncErrors.samples.map((line) => `    e.g. ${line}`),
    `  records compared: ${f.records.reference} (reference) vs ${f.records.chaos} (chaos)`,
    `  differences at the end: ${f.differences}: ${f.explained.dropped} about people whose change was dropped into sync errors as INGEST_FAILED (${f.droppedChanges} entries); ${f.unexplained.length} unexplained; ${f.duplicated.length} duplicated records`,
    `  write calls of the first sync after the drain: ${Object.keys(f.lateWrites).length === 0 ? 'none' : JSON.stringify(f.lateWrites)}`,
    `  write calls of the quiet sync after that (a loop if any): ${Object.keys(f.quietSyncWrites).length === 0 ? 'none' : JSON.stringify(f.quietSyncWrites)}`,
    `  time: chaos ${f.seconds.chaos.toFixed(1)} s to drained (${f.rounds} extra read rounds after writes), reference ${f.seconds.reference.toFixed(1)} s`,
  ].join('\n');
}
