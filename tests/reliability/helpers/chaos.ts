/**
 * The chaos scenario, shared by the CI test (small) and `npm run chaos` (large):
 *
 * 1. Reference: fresh sandboxes of the seed, one fault-free `syncOnce`, and what both CRMs then hold.
 * 2. Chaos: fresh sandboxes of the same seed that inject 429s, 5xx, slow and dropped answers at
 *    `rate`; `workers` worker processes (`node bin/smk.js worker`) on a private Redis with AOF on;
 *    the change feeds read from this process; meanwhile a worker is SIGKILLed at random moments
 *    (and started again) and the Redis server is stopped and started once on its port and dir.
 * 3. After the queues drain: faults off, both CRMs compared with the reference (records per person,
 *    every smk value, tasks), then a quiet sync that must make zero write calls.
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

export interface ChaosOptions {
  people: number;
  seed: number;
  /** Fraction of API calls that meet a fault, spread evenly over 429, 5xx, slow and drop. */
  rate: number;
  /** SIGKILLs of a worker process at random moments (each is started again). */
  kills: number;
  workers: number;
  /** `sync.create.salesforce` of both runs (default `mql`, the product's default). */
  salesforceCreates?: 'never' | 'mql' | 'always';
  /** Stop and start the private Redis once mid-run (default true). */
  restartRedis?: boolean;
  /** How long a slow answer takes. */
  slowMs?: number;
  /** Whole-run limit for the drain. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Why a run may differ from its reference without an update being lost silently:
 * - dropped: a change the sync-errors report names as INGEST_FAILED (a record whose data breaks
 *   the code: visible to the admin, not silent).
 * The chaos run found two more (a converted lead losing its conversion, a handoff task never
 * created); both are fixed and kept as regression tests in pipeline-invariants.test.ts, so any
 * such difference now counts as unexplained.
 */
export type KnownCause = 'dropped';

export interface ChaosFigures {
  people: number;
  seed: number;
  rate: number;
  workers: number;
  faultsInjected: Record<'hubspot' | 'salesforce', Record<FaultKind, number>>;
  kills: number;
  workerStarts: number;
  redisRestarts: number;
  /** Jobs that failed and were retried by the queue; API calls retried inside a job. */
  retries: { jobs: number; calls: number; deadLetters: number };
  apiCalls: { reference: Record<'hubspot' | 'salesforce', number>; chaos: Record<'hubspot' | 'salesforce', number> };
  syncErrors: { reference: Record<string, number>; chaos: Record<string, number>; samples: string[] };
  records: { reference: number; chaos: number };
  differences: number;
  /** Differences a known open bug explains (each reproduced in pipeline-invariants.test.ts). */
  explained: Record<KnownCause, number>;
  /** Differences no known bug explains: updates lost (or made) without a trace. */
  unexplained: StateDifference[];
  droppedChanges: number;
  /** Keys that hold more records than in the reference: duplicates. */
  duplicated: string[];
  sample: StateDifference[];
  /** Read rounds of the chaos pass (as syncOnce: again while the previous round wrote). */
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

type FaultSettings = Record<string, number>;

/**
 * The fault rate spread over the kinds each CRM answers with. HubSpot: 429 (its ten-secondly
 * limit), 5xx, slow, dropped. Salesforce: 5xx, slow, dropped, but no rate limit: the sandbox's
 * Salesforce rate-limit fault is `REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded`, which is
 * the org's 24-hour allocation being spent, and the connector rightly pauses every worker for an
 * hour on it (quota.test.ts covers that pause); in a chaos run it would only stop the clock.
 */
export function faultMix(options: Pick<ChaosOptions, 'rate' | 'slowMs' | 'seed'>): { hubspot: FaultSettings; salesforce: FaultSettings } {
  const slowMs = options.slowMs ?? 400;
  const h = options.rate / 4;
  const s = options.rate / 3;
  return {
    hubspot: { rateLimit: h, serverError: h, slow: h, drop: h, slowMs, seed: options.seed },
    salesforce: { rateLimit: 0, serverError: s, slow: s, drop: s, slowMs, seed: options.seed + 1 },
  };
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
      await sleep(Math.min(5000, 250 * 2 ** attempt));
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

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  const random = createRandom(options.seed * 7919 + 17);
  const redis = await startRestartableRedis();
  const configDir = mkdtempSync(join(tmpdir(), 'smk-chaos-config-'));
  const configPath = join(configDir, 'smarketing.yaml');
  writeFileSync(configPath, config(options.salesforceCreates ?? 'mql'));
  const tally = new LogTally();
  const workers: WorkerProcess[] = [];
  let reference: CrmState;
  let referenceErrors: Record<string, number>;
  const apiCalls = { reference: { hubspot: 0, salesforce: 0 }, chaos: { hubspot: 0, salesforce: 0 } };
  const seconds = { reference: 0, chaos: 0 };
  const sides = { ...options, worldNow: Math.floor(Date.now() / 60_000) * 60_000 };
  try {
    // 1. The reference: the same seed, no faults, one sync.
    log(`reference: ${options.people} people, seed ${options.seed}, no faults`);
    let started = Date.now();
    const ref = await openSide(redis, sides, 'reference', configPath, new LogTally());
    try {
      await Promise.all([resetStats(ref.sandboxes.hubspot.baseUrl), resetStats(ref.sandboxes.salesforce.instanceUrl)]);
      await syncOnce(ref.runtime.ctx, { timeoutMs: options.drainTimeoutMs ?? 600_000 });
      apiCalls.reference.hubspot = (await stats(ref.sandboxes.hubspot.baseUrl)).total;
      apiCalls.reference.salesforce = (await stats(ref.sandboxes.salesforce.instanceUrl)).total;
      reference = await readCrmState(ref.hubspot, ref.salesforce);
      referenceErrors = await errorCodes(ref.runtime);
    } finally {
      await ref.close();
    }
    seconds.reference = (Date.now() - started) / 1000;
    log(`reference done in ${seconds.reference.toFixed(1)} s: ${reference.records.length} records`);

    // 2. The same seed under faults, kills and a Redis restart.
    started = Date.now();
    const side = await openSide(redis, sides, 'chaos', configPath, tally);
    try {
      await Promise.all([resetStats(side.sandboxes.hubspot.baseUrl), resetStats(side.sandboxes.salesforce.instanceUrl)]);
      if (options.rate > 0) await setFaults(side, faultMix(options));
      for (let i = 0; i < options.workers; i += 1) workers.push(new WorkerProcess(side.env, tally, `worker ${i + 1}`));
      await Promise.all(workers.map((w) => w.start()));
      log(`chaos: ${options.workers} worker processes up (pids ${workers.map((w) => w.pid).join(', ')}); fault rate ${options.rate}`);

      let writesAtStart = await writeCount(side.runtime.ctx);
      let rounds = 1;
      let pollsDone = false;
      const polls = (async () => {
        for (const crm of ['hubspot', 'salesforce'] as const) {
          await persist(`${crm} poll`, () => processPoll(side.runtime.ctx, crm), log);
        }
        pollsDone = true;
      })();

      // The monkey strikes at random moments while jobs are running (a kill of an idle worker or a
      // restart of an idle Redis would test little): SIGKILLs of a worker, each started again
      // after a moment, and one stop-and-start of Redis.
      const waitForWork = async (minMs: number, maxMs: number): Promise<number | null> => {
        await sleep(minMs + random() * (maxMs - minMs));
        for (;;) {
          const active = await activeJobs(side.runtime);
          if (active !== null && active > 0) return active;
          if (pollsDone && (await outstandingSafe(side.runtime)) === 0) return null;
          await sleep(50);
        }
      };
      const kills = (async () => {
        for (let k = 0; k < options.kills; k += 1) {
          const active = await waitForWork(k === 0 ? 200 : 500, k === 0 ? 1500 : 3000);
          if (active === null) break;
          const victim = workers[Math.floor(random() * workers.length)] as WorkerProcess;
          log(`  SIGKILL ${victim.name} (pid ${victim.pid}) with ${active} jobs running`);
          await victim.kill();
          await sleep(200 + random() * 800);
          await victim.start();
        }
      })();
      const redisRestart = (async () => {
        if (options.restartRedis === false) return;
        const active = await waitForWork(500, 2500);
        log(`  restarting Redis with ${active ?? 0} jobs running (stop, then start on the same port and AOF dir)`);
        await redis.restart({ downMs: 300 });
      })();
      const monkey = Promise.all([kills, redisRestart]);

      await Promise.all([polls, monkey]);
      await drain(side.runtime, options.drainTimeoutMs ?? 600_000);
      // A pass ends as `syncOnce` ends one: read again while the previous round wrote anything
      // (a created record's echo carries facts of its own), still under faults.
      for (let round = 2; round <= 3; round += 1) {
        const written = await writeCount(side.runtime.ctx);
        if (written === writesAtStart) break;
        writesAtStart = written;
        rounds = round;
        for (const crm of ['hubspot', 'salesforce'] as const) await persist(`${crm} poll (round ${round})`, () => processPoll(side.runtime.ctx, crm), log);
        await drain(side.runtime, options.drainTimeoutMs ?? 600_000);
      }
      seconds.chaos = (Date.now() - started) / 1000;
      log(`drained in ${seconds.chaos.toFixed(1)} s (${rounds} read rounds)`);

      // 3. Faults off; what the CRMs hold now against the reference.
      const off = { rateLimit: 0, serverError: 0, slow: 0, drop: 0 };
      await setFaults(side, { hubspot: off, salesforce: off });
      apiCalls.chaos.hubspot = (await stats(side.sandboxes.hubspot.baseUrl)).total;
      apiCalls.chaos.salesforce = (await stats(side.sandboxes.salesforce.instanceUrl)).total;
      const faultsInjected = {
        hubspot: await injected(side.sandboxes.hubspot.baseUrl),
        salesforce: await injected(side.sandboxes.salesforce.instanceUrl),
      };
      const actual = await readCrmState(side.hubspot, side.salesforce);
      const errorSamples: string[] = [];
      const chaosErrors = await errorCodes(side.runtime, errorSamples);
      const differences = diffCrmStates(reference, actual);
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
          const email = d.key.split(':').pop() ?? '';
          const leadId = await side.runtime.ctx.leads.leadByEmail(email.toLowerCase());
          log(`post-mortem ${d.key}: lead ${leadId} ${JSON.stringify((await side.runtime.ctx.leads.get(leadId ?? ''))?.lead.links)}`);
          for (const line of tally.kept.filter((l) => (leadId && l.includes(leadId)) || l.includes(email)).slice(0, 30)) log(`  ${line.slice(0, 500)}`);
        }
      }

      // Syncs with no outside change. The first may still catch up on echoes (see lateWrites);
      // the second must make reads only: a write there would come back every cycle (a loop).
      const quietSync = async (): Promise<{ writes: Record<string, number>; changes: string[] }> => {
        await Promise.all([resetStats(side.sandboxes.hubspot.baseUrl), resetStats(side.sandboxes.salesforce.instanceUrl)]);
        const changes: string[] = [];
        const listener = (e: { kind: string; objectId: string; propertyName?: string; propertyValue?: string }) => {
          if (e.kind === 'propertyChange' && changes.length < 20) changes.push(`HubSpot contact ${e.objectId} ${e.propertyName} = ${JSON.stringify(e.propertyValue).slice(0, 80)}`);
        };
        listening = listener;
        await syncOnce(side.runtime.ctx, { timeoutMs: options.drainTimeoutMs ?? 600_000 });
        listening = null;
        const writes = {
          ...Object.fromEntries(Object.entries(writeCalls(await stats(side.sandboxes.hubspot.baseUrl))).map(([k, v]) => [`hubspot ${k}`, v])),
          ...Object.fromEntries(Object.entries(writeCalls(await stats(side.sandboxes.salesforce.instanceUrl))).map(([k, v]) => [`salesforce ${k}`, v])),
        };
        return { writes, changes };
      };
      let listening: ((e: { kind: string; objectId: string; propertyName?: string; propertyValue?: string }) => void) | null = null;
      side.sandboxes.hubspot.store.onEvent((e) => listening?.(e as { kind: string; objectId: string; propertyName?: string; propertyValue?: string }));
      const late = await quietSync();
      if (Object.keys(late.writes).length > 0) log(`the first sync after the drain wrote ${JSON.stringify(late.writes)}${late.changes.length ? `, changing:\n  ${late.changes.join('\n  ')}` : ' (values HubSpot already held)'}`);
      const quiet = await quietSync();
      const quietSyncWrites = quiet.writes;

      return {
        people: options.people,
        seed: options.seed,
        rate: options.rate,
        workers: options.workers,
        faultsInjected,
        kills: workers.reduce((n, w) => n + w.kills, 0),
        workerStarts: workers.reduce((n, w) => n + w.starts, 0),
        redisRestarts: redis.restarts,
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
        rounds,
        lateWrites: late.writes,
        quietSyncWrites,
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
  const faults = (crm: 'hubspot' | 'salesforce') => {
    const i = f.faultsInjected[crm];
    return `${i.rateLimit} rate-limited, ${i.serverError} server errors, ${i.slow} slow, ${i.drop} dropped`;
  };
  return [
    `chaos run: ${f.people} people, seed ${f.seed}, fault rate ${f.rate}, ${f.workers} worker processes`,
    `  faults injected: HubSpot ${faults('hubspot')}; Salesforce ${faults('salesforce')}`,
    `  kills: ${f.kills} SIGKILL of a worker (${f.workerStarts} worker starts); Redis restarts: ${f.redisRestarts}`,
    `  retries: ${f.retries.jobs} job retries, ${f.retries.calls} API call retries inside jobs, ${f.retries.deadLetters} dead-lettered jobs`,
    `  API calls: reference HubSpot ${f.apiCalls.reference.hubspot} / Salesforce ${f.apiCalls.reference.salesforce}; chaos HubSpot ${f.apiCalls.chaos.hubspot} / Salesforce ${f.apiCalls.chaos.salesforce}`,
    `  sync errors: reference ${JSON.stringify(f.syncErrors.reference)}; chaos ${JSON.stringify(f.syncErrors.chaos)}`,
    ...f.syncErrors.samples.map((line) => `    e.g. ${line}`),
    `  records compared: ${f.records.reference} (reference) vs ${f.records.chaos} (chaos)`,
    `  differences at the end: ${f.differences}: ${f.explained.dropped} about people whose change was dropped into sync errors as INGEST_FAILED (${f.droppedChanges} entries); ${f.unexplained.length} unexplained; ${f.duplicated.length} duplicated records`,
    `  write calls of the first sync after the drain: ${Object.keys(f.lateWrites).length === 0 ? 'none' : JSON.stringify(f.lateWrites)}`,
    `  write calls of the quiet sync after that (a loop if any): ${Object.keys(f.quietSyncWrites).length === 0 ? 'none' : JSON.stringify(f.quietSyncWrites)}`,
    `  time: reference ${f.seconds.reference.toFixed(1)} s, chaos ${f.seconds.chaos.toFixed(1)} s to drained (${f.rounds} read rounds)`,
  ].join('\n');
}
