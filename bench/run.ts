/**
 * `npm run bench [-- --leads 200000 --seed 1 --skip-naive --phases 1,2,3,4 --runs limited,unlimited]`
 *
 * Seeds both CRM sandboxes (a child process) with N people and runs the service's workers as
 * `smk worker` child processes and its HTTP server as another, all on a Redis key prefix of their
 * own. Then, once with HubSpot's real rate limit on (190 calls per 10 s, our budget share 1.0) and
 * once with every limit off:
 *   1. the initial full sync: read both CRMs, score, write back (then the feed catches up once);
 *   2. a burst of changes to 1% of people in each CRM, through the official clients; HubSpot's
 *      arrive by signed webhook, Salesforce's by polling;
 *   3. a quiet poll cycle with no changes;
 *   4. a reconcile after a rule change that moves about a tenth of the scores.
 * And the same work as phase 2 done by a naive per-record script, pure rule speed on one core,
 * memory of every process and of Redis. Prints a table, writes bench/results/<timestamp>.json,
 * and ends stdout with one JSON line of the headline figures. See bench/README.md.
 */
import type { Candidate, Recorder } from './lib/recorder.js';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir, hostname, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@hubspot/api-client';
import { Job } from 'bullmq';
import { Command, InvalidArgumentError } from 'commander';
import type { RedisClient } from '../src/store/redis.js';
import jsforce from 'jsforce';
import { bootstrap } from '../jobs/bootstrap.js';
import type { Runtime } from '../jobs/bootstrap.js';
import type { SyncContext } from '../jobs/context.js';
import { outstandingByPlace, waitUntilIdle } from '../jobs/run-once.js';
import { createConnectors } from '../jobs/connectors.js';
import { startChangeStream, streamStatus } from '../jobs/stream.js';
import type { ChangeStreamRunner } from '../jobs/stream.js';
import type { QuotaGate, QuotaReport } from '../connectors/types.js';
import { sandboxEnv } from '../connectors/sandbox/start.js';
import type { SandboxConnection } from '../connectors/sandbox/start.js';
import { loadConfig, parseConfigText } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { clusterUrlFromNodes, createRedis, deleteMatching, isClusterUrl, mastersOf, redactUrl, redisUrlFromEnv, resolveRedis, startPrivateCluster } from '../src/store/redis.js';
import { normaliseEmail } from '../src/model/lead.js';
import type { CrmName, Lead } from '../src/model/lead.js';
import { benchConfigYaml, SENIOR_TITLE } from './lib/config.js';
import type { BenchSyncSettings } from './lib/config.js';
import { measureEvalSpeed } from './lib/eval-speed.js';
import { measureAuc } from './lib/auc.js';
import type { AucFigures, TruthRow } from './lib/auc.js';
import type { EvalSpeed } from './lib/eval-speed.js';
import { batchingFloor, byEndpoint, callRate, changeLatency, HUBSPOT_BATCH, percentile, SALESFORCE_COLLECTION, splitCalls, subtractCalls } from './lib/figures.js';
import type { CallStats, Floor, FloorInput, Timeline } from './lib/figures.js';
import { runNaive } from './lib/naive.js';
import { redisCensus } from './lib/redis-census.js';
import type { RedisCensus } from './lib/redis-census.js';
import type { NaiveResult } from './lib/naive.js';
import { procMemory, sandboxHeapMb, spawnChild } from './lib/proc.js';
import { duplicateChecks, parseWorkerCounts, scaleOutSummary } from './lib/scale-out.js';
import type { DuplicateChecks, DuplicateReport } from './lib/scale-out.js';
import type { Child } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HUBSPOT_CEILING = 190;

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  leads: number;
  seed: number;
  skipNaive: boolean;
  phases: Set<number>;
  /** Phases of the run without limits (raw speed is the full sync's, by default). */
  unlimitedPhases: Set<number>;
  runs: Array<'limited' | 'unlimited'>;
  workers: number;
  batchWait: string;
  pollEvery: string;
  safetyMargin: string;
  changes: 'api' | 'ui';
  evalSeconds: number;
  phaseTimeoutMin: number;
  out: string;
  /** Write V8 CPU profiles of the worker processes into the run's log folder. */
  profile: boolean;
  /** How Salesforce changes reach the service in phase 2: Change Data Capture (`cdc`) or polling only (`off`). */
  salesforceStream: 'cdc' | 'off';
  /** With the stream on: the unlimited run's phase 2 polls every this instead (today's way), for comparison; `off`: no comparison. */
  comparePollEvery: string;
  /** Seed HubSpot deals and read them (sync.deals): more people with an outcome for the AUC figures. */
  deals: boolean;
  /** Salesforce Bulk API 2.0 thresholds (sync.bulkThreshold, sync.bulkQueryThreshold); null: off. */
  bulkThreshold: number | null;
  /**
   * `--redis-cluster [nodes]`: run on a Redis Cluster (null: the usual single Redis). The nodes
   * given, else REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL, else a local 3-master cluster
   * started for the run. `redisUrl` is the one the runs use (set in main).
   */
  redisCluster: string | null;
  redisUrl?: string;
  /** `--scale-out 1,2,4`: after the usual runs, the unlimited full sync once per worker count (null: off). */
  scaleOut: number[] | null;
  /** `--worker-heap-mb`: each worker's V8 old-space limit, or null for V8's own. */
  workerHeapMb: number | null;
  /** `--workers-from`: the compiled build (production's JavaScript) or the sources through tsx. */
  workersFrom: 'build' | 'source';
  /** The script a worker process runs (`smk worker`). */
  workerEntry: string;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** `--scale-out`'s list, its error as commander's. */
function workerCounts(value: string): number[] {
  try {
    return parseWorkerCounts(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function parseOptions(argv: string[]): Options {
  const program = new Command('bench')
    .description('API calls against the batching floor, throughput within the rate limits, write-back latency, rule speed and memory')
    .option('--leads <n>', 'people seeded in both sandboxes', integer('--leads', 100, 1_000_000), 20_000)
    .option('--seed <s>', 'seed of the world and of the change sample', integer('--seed', 0, 2 ** 31), 1)
    .option('--skip-naive', 'do not run the naive per-record baseline')
    .option('--phases <list>', 'phases after the initial sync (1 always runs: the others need its state)', '1,2,3,4')
    .option('--unlimited-phases <list>', 'phases of the run without limits (default: the full sync only, for raw speed)', '1')
    .option('--runs <list>', 'limited (HubSpot 190/10 s, our share 1.0) and/or unlimited (no limits)', 'limited,unlimited')
    .option('--workers <n>', '`smk worker` processes', integer('--workers', 1, 8), 2)
    .option('--worker-heap-mb <n>', 'V8\'s old-space limit of each worker (--max-old-space-size): the heap production would be given; off by default (V8 sizes it from the machine\'s memory, and lets it grow before collecting)', integer('--worker-heap-mb', 32, 65_536))
    .option('--workers-from <what>', 'build: the workers run the compiled JavaScript of `npm run build` (built into the run\'s folder), as production does; source: the TypeScript through tsx, as `npx smk` does in a clone (its compile time and memory count then)', 'build')
    .option('--batch-wait <d>', 'sync.batchWait: the longest a write waits for its batch', '2s')
    .option('--poll-every <d>', 'Salesforce poll interval during the change burst', '1s')
    .option('--safety-margin <d>', 'sync.searchSafetyMargin: how far the feed cursors stay behind now', '1s')
    .option('--changes <how>', 'api (official clients) or ui (the sandboxes\' uncounted "UI" edits)', 'api')
    .option('--eval-seconds <s>', 'how long the rule-speed loop runs', (v) => Number(v), 3)
    .option('--phase-timeout <min>', 'minutes a phase may take before it is reported as failed (default: 15, or a minute per 1,000 people)', (v) => Number(v))
    .option('--out <dir>', 'results folder', join(ROOT, 'bench', 'results'))
    .option('--profile', 'write V8 CPU profiles of the worker processes (in the run\'s log folder)')
    .option('--salesforce-stream <mode>', 'cdc (Change Data Capture pushes Salesforce changes; the poll is the safety net) or off (polling only)', 'cdc')
    .option('--deals', 'seed HubSpot deals for people only HubSpot knows and read them (sync.deals): about seven times the people the AUC figures are measured on; off by default, so the other figures compare with earlier runs')
    .option('--bulk-threshold <n>', 'Salesforce Bulk API 2.0: writes above n records by one ingest job, full reads of a stream above n (2,000 at least) by one query job; off by default', integer('--bulk-threshold', 200, 10_000_000))
    .option('--redis-cluster [nodes]', 'run on a Redis Cluster: these host:port,host:port, else REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL, else a local 3-master cluster started for the run and stopped after')
    .option('--scale-out <list>', 'after the usual runs, the full sync with limits off once per worker count (e.g. 1,2,4), each on a freshly seeded world, with duplicate checks; off by default', workerCounts)
    .option('--compare-poll-every <d>', 'with the stream on, the unlimited run also runs phase 2 polling every this, with no stream, for comparison (off: no comparison)', '1s')
    .parse(argv);
  const o = program.opts<{
    leads: number; seed: number; skipNaive?: boolean; phases: string; unlimitedPhases: string; runs: string; workers: number; batchWait: string;
    pollEvery: string; safetyMargin: string; changes: string; evalSeconds: number; phaseTimeout?: number; out: string; profile?: boolean;
    salesforceStream: string; comparePollEvery: string; deals?: boolean; bulkThreshold?: number; redisCluster?: string | boolean;
    scaleOut?: number[]; workersFrom: string; workerHeapMb?: number;
  }>();
  const phaseSet = (list: string) => {
    const set = new Set(list.split(',').map((p) => Number(p.trim())).filter((p) => [1, 2, 3, 4].includes(p)));
    set.add(1);
    return set;
  };
  const phases = phaseSet(o.phases);
  const unlimitedPhases = phaseSet(o.unlimitedPhases);
  const runs = o.runs.split(',').map((r) => r.trim()).filter((r): r is 'limited' | 'unlimited' => r === 'limited' || r === 'unlimited');
  if (runs.length === 0) throw new InvalidArgumentError('--runs takes limited, unlimited or both');
  if (o.changes !== 'api' && o.changes !== 'ui') throw new InvalidArgumentError('--changes takes api or ui');
  if (o.salesforceStream !== 'cdc' && o.salesforceStream !== 'off') throw new InvalidArgumentError('--salesforce-stream takes cdc or off');
  if (o.workersFrom !== 'build' && o.workersFrom !== 'source') throw new InvalidArgumentError('--workers-from takes build or source');
  // The comparison: the unlimited run bursts too, the way the service worked before the stream.
  if (o.salesforceStream === 'cdc' && o.comparePollEvery !== 'off' && runs.includes('unlimited')) unlimitedPhases.add(2);
  return {
    leads: o.leads, seed: o.seed, skipNaive: !!o.skipNaive, phases, unlimitedPhases, runs, workers: o.workers, batchWait: o.batchWait,
    pollEvery: o.pollEvery, safetyMargin: o.safetyMargin, changes: o.changes, evalSeconds: o.evalSeconds,
    phaseTimeoutMin: o.phaseTimeout ?? Math.max(15, Math.ceil(o.leads / 1000)), out: o.out, profile: !!o.profile,
    salesforceStream: o.salesforceStream, comparePollEvery: o.comparePollEvery, deals: !!o.deals, bulkThreshold: o.bulkThreshold ?? null,
    redisCluster: o.redisCluster === undefined ? null : o.redisCluster === true ? '' : String(o.redisCluster),
    scaleOut: o.scaleOut ?? null,
    workerHeapMb: o.workerHeapMb ?? null, workersFrom: o.workersFrom as 'build' | 'source', workerEntry: join(ROOT, 'bin', 'smk.js'),
  };
}

// ---------------------------------------------------------------------------------------------
// small helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const round = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits)));

/**
 * A fetch of the bench's own sandboxes. A GET that fails on the network (a keep-alive socket the
 * sandbox closed as it was reused: the sandbox process, holding a million people, stalls in
 * collections of seconds) is tried again, up to three times; the error names undici's cause.
 */
async function benchFetch(url: string, init?: RequestInit): Promise<Response> {
  const retryable = (init?.method ?? 'GET') === 'GET';
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fetch(url, init);
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `${(err.cause as { code?: string }).code ?? err.cause.name}: ${err.cause.message}` : null;
      if (!retryable || attempt >= 3) throw new Error(`${init?.method ?? 'GET'} ${url}: ${err instanceof Error ? err.message : String(err)}${cause ? ` (${cause})` : ''}${attempt > 1 ? ` after ${attempt} tries` : ''}`, { cause: err });
      log(`${init?.method ?? 'GET'} ${url} failed${cause ? ` (${cause})` : ''}; trying again`);
      await sleep(500 * attempt);
    }
  }
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await benchFetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
const postJson = <T>(url: string, body: unknown = {}, method = 'POST') =>
  getJson<T>(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 500ms, 2s or 1m, got ${text}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

/** Summed over every master of a cluster (each holds its share of the keys). */
async function redisUsedMemory(redis: RedisClient): Promise<number> {
  const infos = await Promise.all(mastersOf(redis).map((node) => node.info('memory')));
  return infos.reduce((sum, info) => sum + Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN), 0);
}

async function redisCpuSeconds(redis: RedisClient): Promise<number> {
  const infos = await Promise.all(mastersOf(redis).map((node) => node.info('cpu')));
  return infos.reduce((sum, info) => sum + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN), 0);
}

/** Deletes the bench's keys by SCAN (on every master of a cluster). */
async function deletePrefix(redis: RedisClient, prefix: string): Promise<number> {
  return deleteMatching(redis, `${prefix}:*`);
}

// ---------------------------------------------------------------------------------------------
// what the sandbox child reports

interface BenchConnection extends SandboxConnection {
  bench: { url: string };
}

interface PhaseReport {
  startedAt: number;
  endedAt: number;
  /** `fieldSyncOnly`: records written for field sync alone (no smk value, owner or lifecycle stage in any write). */
  hubspot: { written: number; fieldSyncOnly: number; created: number; callTimes: number[]; statuses: Record<string, number> };
  salesforce: { written: Record<string, number>; fieldSyncOnly: number; created: Record<string, number>; statuses: Record<string, number> };
}

/**
 * What field sync costs on its own: the records written for it alone, and the batch calls those
 * need at the floor (its values ride in the same calls as the rules' when both change a record).
 */
function fieldSyncNote(report: PhaseReport): string[] {
  const hs = report.hubspot.fieldSyncOnly ?? 0;
  const sf = report.salesforce.fieldSyncOnly ?? 0;
  if (hs === 0 && sf === 0) return [];
  return [`field sync alone wrote ${hs} HubSpot and ${sf} Salesforce records: ${Math.ceil(hs / HUBSPOT_BATCH)} + ${Math.ceil(sf / SALESFORCE_COLLECTION)} batch calls at the floor`];
}

/** What the sandbox process counts (GET /counts), and the records whose changes the bench times. */
type Counts = ReturnType<Recorder['counts']>;

// ---------------------------------------------------------------------------------------------
// results

interface LatencyFigures {
  changes: number;
  arrived: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

interface PhaseResult {
  phase: number;
  name: string;
  ok: boolean;
  error?: string;
  wallMs: number;
  /** Phase 1: until the sync was idle, before the feed's catch-up poll. */
  syncMs?: number;
  leads: number;
  leadsPerSec: number | null;
  calls: Record<CrmName, CallStats>;
  endpoints: Record<CrmName, Record<string, number>>;
  reads: Record<CrmName, number>;
  writes: Record<CrmName, number>;
  totalCalls: number;
  callsPer1000Leads: number | null;
  floor: Floor;
  floorInput: FloorInput;
  floorRatio: number | null;
  touched: { hubspotWritten: number; hubspotCreated: number; salesforceWritten: Record<string, number>; salesforceCreated: Record<string, number> };
  statuses: Record<CrmName, Record<string, number>>;
  hubspotRate?: { calls: number; spanMs: number; avgPer10s: number; peakPer10s: number; ceilingFraction: number };
  latency?: { hubspot: { toOther: LatencyFigures; toBoth: LatencyFigures }; salesforce: { toOther: LatencyFigures; toBoth: LatencyFigures } };
  userCalls?: Record<CrmName, Record<string, number>>;
  polls?: number;
  /** Phase 2: Salesforce read calls until every change was in both CRMs (the phase's catch-up poll not included). */
  salesforceReadsToArrival?: number;
  /** Where work waited during the phase: per queue or pending batch, the largest and the mean backlog sampled each second. */
  backlog?: Record<string, { max: number; mean: number }>;
  /** CPU seconds each kind of process used during the phase (Redis is shared with other users). */
  cpuSeconds?: Record<string, number | null>;
  /** Lead evaluations the service counted during the phase (a lead evaluated twice counts twice). */
  evaluations?: number | null;
  notes: string[];
}

interface RunResult {
  kind: 'limited' | 'unlimited';
  prefix: string;
  hubspotLimit: number;
  counts: Counts | null;
  phases: PhaseResult[];
  rssMb: Record<string, number | null>;
  redis: { beforeBytes: number; afterSyncBytes: number | null; afterBytes: number | null; deltaMb: number | null; keysDeleted: number; afterSync?: RedisCensus };
  changeSet?: { hubspot: Array<{ hubspotId: string; salesforceId: string }>; salesforce: Array<{ hubspotId: string; salesforceId: string }> };
  /** The learned likelihood, the rule score and the ground truth on the same people, after the full sync. */
  auc?: AucFigures;
  logDir: string;
  error?: string;
}

/** One full sync of `--scale-out` (limits off) and the sandboxes' duplicate checks after it. */
interface ScaleOutResult {
  workers: number;
  prefix: string;
  ok: boolean;
  error?: string;
  leads: number;
  /** As `fullSyncLeadsPerSec.unlimited`: leads in the store / phase 1's wall time (sync and feed catch-up). */
  leadsPerSec: number | null;
  wallSeconds: number | null;
  syncSeconds: number | null;
  workerCpuSeconds: number | null;
  cpuSeconds: Record<string, number | null> | null;
  totalCalls: number | null;
  checks: DuplicateChecks | null;
  /** The 1-minute load average before and after. */
  loadAverage: Array<number | null>;
  rssMb?: Record<string, number | null>;
  logDir: string;
}

// ---------------------------------------------------------------------------------------------
// one run: sandboxes, service processes, phases

class BenchRun {
  readonly prefix = `smk-bench-${randomBytes(4).toString('hex')}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'smk-bench-'));
  private sandbox: Child | null = null;
  private server: Child | null = null;
  private workers: Child[] = [];
  private retired: Child[] = [];
  private conn!: BenchConnection;
  private runtime!: Runtime;
  private env!: NodeJS.ProcessEnv;
  private redis!: RedisClient;
  private redisUrl!: string;
  readonly result: RunResult;
  private changeSet: RunResult['changeSet'];

  constructor(
    private readonly o: Options,
    readonly kind: 'limited' | 'unlimited',
  ) {
    this.result = {
      kind, prefix: this.prefix, hubspotLimit: kind === 'limited' ? HUBSPOT_CEILING : 0, counts: null, phases: [], rssMb: {},
      redis: { beforeBytes: 0, afterSyncBytes: null, afterBytes: null, deltaMb: null, keysDeleted: 0 }, logDir: this.dir,
    };
  }

  private get ctx(): SyncContext {
    return this.runtime.ctx;
  }

  /** Whether this run's Salesforce changes come by Change Data Capture (the unlimited run polls, for comparison). */
  private get streaming(): boolean {
    if (this.o.salesforceStream !== 'cdc') return false;
    return this.kind === 'limited' || this.o.comparePollEvery === 'off' || !this.o.runs.includes('limited');
  }

  /** This run's Salesforce poll interval in phase 2. */
  private get burstPollEvery(): string {
    return this.streaming || this.o.comparePollEvery === 'off' || this.o.salesforceStream !== 'cdc' ? this.o.pollEvery : this.o.comparePollEvery;
  }

  private settings(): BenchSyncSettings {
    return {
      hubspotPerTenSeconds: this.kind === 'limited' ? HUBSPOT_CEILING : 1_000_000,
      batchWait: this.o.batchWait,
      searchSafetyMargin: this.o.safetyMargin,
      pollEvery: this.burstPollEvery,
      deals: this.o.deals,
      bulkThreshold: this.o.bulkThreshold,
    };
  }

  async start(): Promise<void> {
    const limited = this.kind === 'limited';
    const configPath = join(this.dir, 'smarketing.yaml');
    const changedPath = join(this.dir, 'smarketing-rule-change.yaml');
    writeFileSync(configPath, benchConfigYaml(this.settings()));
    writeFileSync(changedPath, benchConfigYaml(this.settings(), { ruleChange: true }));
    log(`${this.kind}: seeding ${this.o.leads} people (seed ${this.o.seed}); logs in ${this.dir}`);
    // Both CRMs live in the sandbox process: a large world needs more than Node's default heap.
    const sandboxHeap = sandboxHeapMb(this.o.leads, totalmem());
    this.sandbox = spawnChild(
      'sandbox',
      [...(sandboxHeap ? [`--max-old-space-size=${sandboxHeap}`] : []), '--import', 'tsx', join(ROOT, 'bench', 'sandbox-child.ts'), '--people', String(this.o.leads), '--seed', String(this.o.seed),
        '--hubspot-rate', String(limited ? HUBSPOT_CEILING : 0), '--salesforce-daily', String(limited ? 100_000 : 0),
        ...(this.streaming ? ['--change-data-capture', 'Lead,Contact'] : []), ...(this.o.deals ? ['--deals'] : [])],
      { env: { ...process.env }, cwd: ROOT, logPath: join(this.dir, 'sandbox.log'), firstLineTimeoutMs: 15 * 60_000 },
    );
    this.conn = JSON.parse(await this.sandbox.firstLine) as BenchConnection;
    this.result.counts = await getJson<Counts>(`${this.conn.bench.url}/counts`);
    const redisInfo = await resolveRedis({ allowPrivate: false, env: this.o.redisUrl ? { REDIS_URL: this.o.redisUrl } : { REDIS_URL: process.env.REDIS_URL, REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES } });
    this.redisUrl = redisInfo.url;
    this.redis = createRedis(this.redisUrl);
    this.result.redis.beforeBytes = await redisUsedMemory(this.redis);
    this.env = {
      ...process.env,
      ...sandboxEnv(this.conn),
      REDIS_URL: this.redisUrl,
      // The resolved Redis is in REDIS_URL (a cluster too): the nodes' spelling would be a second one.
      REDIS_CLUSTER_NODES: undefined,
      SMK_KEY_PREFIX: this.prefix,
      SMK_CONFIG: configPath,
      SMK_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      SMK_ADMIN_TOKEN: randomBytes(18).toString('hex'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    };
    this.runtime = await bootstrap({ config: loadConfig({ env: this.env }), logger: createLogger({ level: 'silent' }), keyPrefix: this.prefix });
    // `smk install`: provisions the smk fields (before any phase, so not counted).
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const report = await this.ctx.connectors[crm].ensureSchema();
      if (report.problems.length > 0) throw new Error(`${crm} schema: ${report.problems.join('; ')}`);
    }
    this.startWorkers(configPath);
  }

  private startWorkers(configPath: string): void {
    for (let i = 0; i < this.o.workers; i += 1) {
      const n = this.workers.length + this.retired.length + 1;
      this.workers.push(
        spawnChild(`worker-${n}`, [...(this.o.profile ? ['--cpu-prof', '--cpu-prof-dir', join(this.dir, 'profiles')] : []), ...(this.o.workerHeapMb ? [`--max-old-space-size=${this.o.workerHeapMb}`] : []), this.o.workerEntry, 'worker'], {
          env: { ...this.env, SMK_CONFIG: configPath },
          cwd: ROOT,
          logPath: join(this.dir, `worker-${n}.log`),
        }),
      );
    }
  }

  private async restartWorkers(configPath: string): Promise<void> {
    for (const w of this.workers) {
      await w.stop('SIGTERM', 60_000);
      this.retired.push(w);
    }
    this.workers = [];
    this.startWorkers(configPath);
  }

  // --- measurement ---------------------------------------------------------------------------

  private async stats(crm: CrmName): Promise<CallStats> {
    const base = crm === 'hubspot' ? this.conn.hubspot.baseUrl : this.conn.salesforce.instanceUrl;
    return getJson<CallStats>(`${base}/__sandbox/stats`);
  }

  private cpuAtBegin: Record<string, number | null> = {};
  /** The service's count of lead evaluations when the phase began. */
  private evaluatedAtBegin = 0;
  private backlogTimer: NodeJS.Timeout | null = null;
  private backlogSamples: Array<Record<string, number>> = [];

  private startBacklog(): void {
    this.backlogSamples = [];
    const sample = async () => {
      try {
        const places = await outstandingByPlace(this.ctx);
        const polls = await this.pollQueueBusy();
        if (polls > 0) places['queue poll'] = polls;
        this.backlogSamples.push(places);
        if (this.backlogSamples.length % 30 === 0) {
          const where = Object.entries(places).map(([k, n]) => `${n} in ${k}`).join(', ');
          log(`${this.kind}: ${this.backlogSamples.length} s into the phase; waiting: ${where || 'nothing'}`);
        }
      } catch {
        // a missed sample
      }
    };
    this.backlogTimer = setInterval(() => void sample(), 1000);
  }

  private stopBacklog(): Record<string, { max: number; mean: number }> {
    if (this.backlogTimer) clearInterval(this.backlogTimer);
    this.backlogTimer = null;
    const out: Record<string, { max: number; mean: number }> = {};
    const n = Math.max(1, this.backlogSamples.length);
    for (const sample of this.backlogSamples) {
      for (const [k, v] of Object.entries(sample)) {
        const o = (out[k] ??= { max: 0, mean: 0 });
        o.max = Math.max(o.max, v);
        o.mean += v / n;
      }
    }
    for (const o of Object.values(out)) o.mean = Math.round(o.mean);
    return Object.fromEntries(Object.entries(out).sort((a, b) => b[1].mean - a[1].mean));
  }

  /** CPU seconds so far of each kind of process. */
  private async cpu(): Promise<Record<string, number | null>> {
    const sum = (children: Child[]) => children.reduce((a, c) => a + (c.cpuSeconds() ?? 0), 0);
    const usage = process.cpuUsage();
    return {
      workers: sum([...this.retired, ...this.workers]),
      server: this.server?.cpuSeconds() ?? 0,
      sandbox: this.sandbox?.cpuSeconds() ?? null,
      bench: (usage.user + usage.system) / 1e6,
      redis: await redisCpuSeconds(this.redis).catch(() => null),
    };
  }

  private async beginPhase(): Promise<void> {
    await postJson(`${this.conn.hubspot.baseUrl}/__sandbox/reset-stats`);
    await postJson(`${this.conn.salesforce.instanceUrl}/__sandbox/reset-stats`);
    await postJson(`${this.conn.bench.url}/phase`);
    this.cpuAtBegin = await this.cpu();
    this.evaluatedAtBegin = (await this.ctx.counters.read()).evaluated;
    this.startBacklog();
  }

  private async endPhase(): Promise<{ calls: Record<CrmName, CallStats>; report: PhaseReport; cpuSeconds: Record<string, number | null>; backlog: Record<string, { max: number; mean: number }>; evaluations: number | null }> {
    const backlog = this.stopBacklog();
    const calls = { hubspot: await this.stats('hubspot'), salesforce: await this.stats('salesforce') };
    const report = await postJson<PhaseReport>(`${this.conn.bench.url}/phase`);
    const now = await this.cpu();
    const cpuSeconds: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(now)) {
      const before = this.cpuAtBegin[k];
      cpuSeconds[k] = v === null || before === null || before === undefined ? null : round(v - before, 1);
    }
    const evaluations = await this.ctx.counters.read().then((c) => c.evaluated - this.evaluatedAtBegin, () => null);
    return { calls, report, cpuSeconds, backlog, evaluations };
  }

  private async pollQueueBusy(): Promise<number> {
    const counts = await this.ctx.queues.poll.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * Every queue, pending batch and webhook delivery empty, twice in a row. A phase whose work stops
   * moving (the same backlog and no API call for `STALL_MS`) fails at once with what is stuck.
   */
  private async settle(deadline: number): Promise<void> {
    const STALL_MS = 180_000;
    let quiet = 0;
    let signature = '';
    let movedAt = Date.now();
    while (quiet < 2) {
      const places = await outstandingByPlace(this.ctx);
      const polls = await this.pollQueueBusy();
      const hooks = await getJson<{ pending: number }>(`${this.conn.bench.url}/webhooks`);
      const calls = (await this.stats('hubspot')).total + (await this.stats('salesforce')).total;
      const where = Object.entries({ ...places, ...(polls ? { 'queue poll': polls } : {}), ...(hooks.pending ? { 'webhook deliveries': hooks.pending } : {}) })
        .map(([k, n]) => `${n} in ${k}`)
        .join(', ');
      const now = JSON.stringify([where, calls]);
      if (now !== signature) {
        signature = now;
        movedAt = Date.now();
      }
      const dead = this.workers.find((w) => w.exited);
      if (dead) throw new Error(`${dead.name} exited (${dead.exitedWith ?? 'unknown'}); its log: ${join(this.dir, `${dead.name}.log`)}`);
      if (this.sandbox?.exited) throw new Error(`the sandboxes' process ended (${this.sandbox.exitedWith ?? 'unknown'}); its log: ${join(this.dir, 'sandbox.log')}`);
      if (Date.now() - movedAt > STALL_MS) throw new Error(`no progress for ${STALL_MS / 1000} s (no API call, same backlog): ${where || 'nothing outstanding'}`);
      if (Date.now() > deadline) throw new Error(`not idle within the phase timeout; still waiting: ${where || 'nothing (it just finished)'}`);
      quiet = where === '' ? quiet + 1 : 0;
      await sleep(quiet === 0 ? 250 : 300);
    }
    // The pipeline's own idle check (two quiet rounds of every queue and pending batch).
    await waitUntilIdle(this.ctx, { timeoutMs: Math.max(1000, deadline - Date.now()) });
  }

  /** One poll of each named CRM, run by the workers, then everything it caused. */
  private async pollCycle(crms: CrmName[], deadline: number, full = false): Promise<void> {
    for (const crm of crms) await this.ctx.queues.poll.add('poll', { crm, ...(full ? { full: true } : {}) });
    await this.settle(deadline);
  }

  private phaseResult(
    phase: number,
    name: string,
    measured: { calls: Record<CrmName, CallStats>; report: PhaseReport; cpuSeconds: Record<string, number | null>; backlog: Record<string, { max: number; mean: number }>; evaluations: number | null },
    wallMs: number,
    leads: number,
    floorInput: FloorInput,
  ): PhaseResult {
    const { calls, report } = measured;
    const split = { hubspot: splitCalls(calls.hubspot), salesforce: splitCalls(calls.salesforce) };
    // The service reads side feeds too, whose queries the floor counts (one each per poll at least):
    // Salesforce's opportunities (two streams, sync.opportunities), Accounts (sync.accounts) and
    // Tasks (sync.activities.read); HubSpot's companies (sync.accounts).
    const sync = this.ctx.config.file.sync;
    const floor = batchingFloor({
      opportunityStreams: sync.opportunities ? 2 : 0,
      sideStreams: { salesforce: (sync.accounts ? 1 : 0) + (sync.activities.read ? 1 : 0), hubspot: sync.accounts ? 1 : 0 },
      ...(sync.bulkThreshold !== null || sync.bulkQueryThreshold !== null ? { bulk: { query: sync.bulkQueryThreshold !== null, write: sync.bulkThreshold !== null } } : {}),
      ...floorInput,
    });
    const totalCalls = calls.hubspot.total + calls.salesforce.total;
    return {
      phase,
      name,
      ok: true,
      wallMs,
      leads,
      leadsPerSec: leads > 0 && wallMs > 0 ? leads / (wallMs / 1000) : null,
      calls,
      endpoints: { hubspot: byEndpoint(calls.hubspot), salesforce: byEndpoint(calls.salesforce) },
      reads: { hubspot: split.hubspot.reads, salesforce: split.salesforce.reads },
      writes: { hubspot: split.hubspot.writes, salesforce: split.salesforce.writes },
      totalCalls,
      callsPer1000Leads: leads > 0 ? (totalCalls / leads) * 1000 : null,
      floor,
      floorInput,
      floorRatio: floor.total > 0 ? totalCalls / floor.total : null,
      touched: {
        hubspotWritten: report.hubspot.written,
        hubspotCreated: report.hubspot.created,
        salesforceWritten: report.salesforce.written,
        salesforceCreated: report.salesforce.created,
      },
      statuses: { hubspot: report.hubspot.statuses, salesforce: report.salesforce.statuses },
      cpuSeconds: measured.cpuSeconds,
      backlog: measured.backlog,
      evaluations: measured.evaluations,
      notes: [...fieldSyncNote(report), ...(measured.evaluations !== null ? [`${fmt(measured.evaluations)} lead evaluations${leads > 0 ? ` (${(measured.evaluations / leads).toFixed(2)} per person)` : ''}`] : [])],
    };
  }

  private floorWrites(report: PhaseReport): Pick<FloorInput, 'hubspotWritten' | 'hubspotCreated' | 'salesforceWritten' | 'salesforceCreated'> {
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    return {
      hubspotWritten: report.hubspot.written,
      hubspotCreated: report.hubspot.created,
      salesforceWritten: sum(report.salesforce.written),
      salesforceCreated: sum(report.salesforce.created),
    };
  }

  private failed(phase: number, name: string, started: number, err: unknown): PhaseResult {
    this.stopBacklog();
    const empty: CallStats = { total: 0, calls: {} };
    const floorInput: FloorInput = { hubspotWritten: 0, hubspotCreated: 0, salesforceWritten: 0, salesforceCreated: 0 };
    return {
      phase, name, ok: false, error: `${err instanceof Error ? err.message : String(err)}${this.sandbox?.exited ? ` (the sandboxes' process had ended: ${this.sandbox.exitedWith ?? 'unknown'})` : ''}`, wallMs: Date.now() - started, leads: 0, leadsPerSec: null,
      calls: { hubspot: empty, salesforce: empty }, endpoints: { hubspot: {}, salesforce: {} }, reads: { hubspot: 0, salesforce: 0 },
      writes: { hubspot: 0, salesforce: 0 }, totalCalls: 0, callsPer1000Leads: null, floor: batchingFloor(floorInput), floorInput,
      floorRatio: null, touched: { hubspotWritten: 0, hubspotCreated: 0, salesforceWritten: {}, salesforceCreated: {} },
      statuses: { hubspot: {}, salesforce: {} }, notes: [],
    };
  }

  private deadline(): number {
    return Date.now() + this.o.phaseTimeoutMin * 60_000;
  }

  // --- phase 1: initial full sync --------------------------------------------------------------

  async phase1(): Promise<PhaseResult> {
    const name = 'initial full sync';
    log(`${this.kind}: phase 1, ${name}`);
    await this.beginPhase();
    const started = Date.now();
    try {
      const deadline = this.deadline();
      await this.pollCycle(['hubspot', 'salesforce'], deadline, true);
      const synced = Date.now();
      log(`${this.kind}: phase 1 synced in ${((synced - started) / 1000).toFixed(1)} s; the feeds catch up once`);
      // The feeds re-read what the sync wrote (their cursors start before it): part of the sync's cost.
      await this.pollCycle(['hubspot', 'salesforce'], deadline);
      const wallMs = Date.now() - started;
      const measured = await this.endPhase();
      const counts = this.result.counts as Counts;
      const leads = await this.ctx.leads.count();
      const result = this.phaseResult(1, name, measured, wallMs, leads, {
        fullRead: {
          hubspot: counts.hubspotContacts,
          salesforceLeads: counts.salesforceLeads,
          salesforceContacts: counts.salesforceContacts,
          ...(this.ctx.config.file.sync.accounts ? { hubspotCompanies: counts.hubspotCompanies } : {}),
          salesforceSide: [...(this.ctx.config.file.sync.accounts ? [counts.salesforceAccounts] : []), ...(this.ctx.config.file.sync.activities.read ? [counts.salesforceActivityTasks] : [])],
        },
        hubspotPolls: 1,
        salesforcePolls: 1,
        ...this.floorWrites(measured.report),
      });
      result.syncMs = synced - started;
      const syncTimes = measured.report.hubspot.callTimes.filter((t) => t <= synced);
      const rate = callRate(syncTimes);
      result.hubspotRate = { ...rate, ceilingFraction: rate.avgPer10s / HUBSPOT_CEILING };
      result.notes.push(`sync ${(result.syncMs / 1000).toFixed(1)} s + feed catch-up ${((wallMs - result.syncMs) / 1000).toFixed(1)} s`);
      const { errors } = await this.ctx.errors.list({ limit: 10_000 });
      if (errors.length > 0) {
        const byCode = new Map<string, number>();
        for (const e of errors) byCode.set(`${e.crm} ${e.code}`, (byCode.get(`${e.crm} ${e.code}`) ?? 0) + 1);
        result.notes.push(`sync errors: ${[...byCode].map(([k, n]) => `${n} ${k}`).join(', ')}`);
      }
      this.result.redis.afterSyncBytes = await redisUsedMemory(this.redis);
      // The service's own bytes, key by key (a shared Redis's used_memory moves with other users).
      const census = await redisCensus(this.redis, this.prefix);
      this.result.redis.afterSync = census;
      const perLead = (bytes: number) => Math.round(bytes / this.o.leads);
      result.notes.push(`Redis after the sync: ${fmt(census.keys)} keys, ${fmt(perLead(census.bytes))} bytes per person (MEMORY USAGE): ` +
        census.families.slice(0, 12).map((f) => `${f.family} ${fmt(perLead(f.bytes))}`).join(', '));
      return result;
    } catch (err) {
      return this.failed(1, name, started, err);
    }
  }

  // --- phase 2: a burst of changes -------------------------------------------------------------

  private chooseChanges(candidates: Candidate[], nHubSpot: number, nSalesforce: number) {
    const hubspot: Array<Candidate & { newTitle: string }> = [];
    const salesforce: Array<Candidate & { newEmployees: number }> = [];
    for (const c of candidates) {
      const score = c.hubspotScore;
      if (score === null || c.salesforceScore !== score) continue;
      if (hubspot.length < nHubSpot) {
        // A title change that moves the fit score by 10 or 20 points, away from the bounds.
        const senior = c.title !== null && SENIOR_TITLE.test(c.title);
        if (senior && score > 0) hubspot.push({ ...c, newTitle: 'Software Engineer' });
        // From a manager title +10, from any other +20.
        else if (!senior && score < 100) hubspot.push({ ...c, newTitle: 'Chief Revenue Officer' });
        continue;
      }
      if (salesforce.length < nSalesforce && c.employees !== null) {
        // A company-size change in Salesforce (which owns it) that moves the fit score by 10 or 15.
        if (c.employees >= 200 && score > 0) salesforce.push({ ...c, newEmployees: 10 });
        else if (c.employees < 200 && score < 100) salesforce.push({ ...c, newEmployees: 5000 });
      }
      if (hubspot.length >= nHubSpot && salesforce.length >= nSalesforce) break;
    }
    return { hubspot, salesforce };
  }

  private async hubspotUserClient(): Promise<Client> {
    const base = this.conn.hubspot.baseUrl;
    const info = await getJson<{ clientId: string; clientSecret: string }>(`${base}/__sandbox/info`);
    const { code } = await postJson<{ code: string }>(`${base}/__sandbox/oauth/code`, {});
    // The user's script is another app of the portal: its own token and rate-limit bucket.
    const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: info.clientId, client_secret: info.clientSecret, code });
    const token = await getJson<{ access_token: string }>(`${base}/oauth/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    return new Client({ accessToken: token.access_token, basePath: base, numberOfApiCallRetries: 6 });
  }

  private salesforceUserConnection(): jsforce.Connection {
    const sf = this.conn.salesforce;
    return new jsforce.Connection({
      instanceUrl: sf.instanceUrl,
      accessToken: sf.accessToken,
      refreshToken: sf.refreshToken,
      version: '62.0',
      oauth2: { clientId: sf.clientId, clientSecret: sf.clientSecret, loginUrl: sf.loginUrl },
    });
  }

  async phase2(): Promise<PhaseResult> {
    const name = 'change burst (1% per CRM)';
    log(`${this.kind}: phase 2, ${name}`);
    const started = Date.now();
    let polling = false;
    let pollLoop: Promise<void> = Promise.resolve();
    let stream: ChangeStreamRunner | null = null;
    try {
      const deadline = this.deadline();
      if (!this.server) {
        this.server = spawnChild('server', ['--import', 'tsx', join(ROOT, 'bench', 'server-child.ts')], { env: this.env, cwd: ROOT, logPath: join(this.dir, 'server.log') });
        const { url } = JSON.parse(await this.server.firstLine) as { url: string };
        await postJson(`${this.conn.hubspot.baseUrl}/__sandbox/webhook`, { url: `${url}/webhooks/hubspot` }, 'PUT');
      }
      const counts = await getJson<Counts>(`${this.conn.bench.url}/counts`);
      const nHubSpot = Math.max(1, Math.round(counts.hubspotContacts * 0.01));
      const nSalesforce = Math.max(1, Math.round((counts.salesforceLeads - counts.salesforceConvertedLeads + counts.salesforceContacts) * 0.01));
      const candidates = await getJson<Candidate[]>(`${this.conn.bench.url}/candidates?seed=${this.o.seed}`);
      const chosen = this.chooseChanges(candidates, nHubSpot, nSalesforce);
      this.changeSet = {
        hubspot: chosen.hubspot.map((c) => ({ hubspotId: c.hubspotId, salesforceId: c.salesforceId })),
        salesforce: chosen.salesforce.map((c) => ({ hubspotId: c.hubspotId, salesforceId: c.salesforceId })),
      };
      this.result.changeSet = this.changeSet;
      await postJson(`${this.conn.bench.url}/watch`, {
        hubspot: [...chosen.hubspot, ...chosen.salesforce].map((c) => c.hubspotId),
        salesforce: [...chosen.hubspot, ...chosen.salesforce].map((c) => c.salesforceId),
      });
      const hubspotUser = this.o.changes === 'api' ? await this.hubspotUserClient() : null;
      const salesforceUser = this.salesforceUserConnection();
      // Change Data Capture: the service's stream runs here (as in `smk start`), subscribed before
      // the phase begins (its one Tooling query, which checks the org has it on, is not counted).
      if (this.streaming) {
        stream = startChangeStream(this.ctx, { retryMs: 1000 });
        const until = Date.now() + 60_000;
        while ((await streamStatus(this.ctx)).state !== 'connected') {
          if (Date.now() > until) throw new Error(`the Salesforce change stream did not connect: ${JSON.stringify(await streamStatus(this.ctx))}`);
          await sleep(50);
        }
      }
      await this.beginPhase();
      const t0 = Date.now();

      // Salesforce changes arrive by polling (with the stream: the safety net): one poll at a
      // time, started every pollEvery.
      polling = true;
      let polls = 0;
      const pollJobIds: string[] = [];
      const every = durationMs(this.burstPollEvery);
      pollLoop = (async () => {
        // With the stream, the safety-net poll keeps its own schedule: the burst does not start
        // one (without it, the first poll goes at once, as before).
        if (this.streaming) {
          const first = Date.now() + every;
          while (polling && Date.now() < first) await sleep(100);
        }
        while (polling) {
          const at = Date.now();
          // Kept after completion, so that its start and end times tell when each change was read.
          const job = await this.ctx.queues.poll.add('poll', { crm: 'salesforce' }, { jobId: `bench-poll-sf-${this.prefix}-${polls}`, removeOnComplete: false });
          pollJobIds.push(job.id ?? '');
          polls += 1;
          while (polling || (await job.getState()) === 'active') {
            const state = await job.getState();
            if (state !== 'waiting' && state !== 'active' && state !== 'delayed' && state !== 'prioritized') break;
            await sleep(25);
          }
          // Short naps, so that the end of the phase does not wait out a long interval.
          while (polling && Date.now() < at + every) await sleep(Math.min(100, Math.max(0, at + every - Date.now())));
        }
      })();

      // The burst: HubSpot through the official client (batch update of 100, another app's token),
      // Salesforce through jsforce (collections of 200), at the same time.
      const userCalls: Record<CrmName, Record<string, number>> = { hubspot: {}, salesforce: {} };
      const bump = (crm: CrmName, key: string) => (userCalls[crm][key] = (userCalls[crm][key] ?? 0) + 1);
      const hubspotBurst = (async () => {
        if (hubspotUser) {
          for (let i = 0; i < chosen.hubspot.length; i += 100) {
            const inputs = chosen.hubspot.slice(i, i + 100).map((c) => ({ id: c.hubspotId, properties: { jobtitle: c.newTitle } }));
            bump('hubspot', 'POST /crm/v3/objects/contacts/batch/update');
            await hubspotUser.crm.contacts.batchApi.update({ inputs });
          }
        } else {
          for (const c of chosen.hubspot) {
            await postJson(`${this.conn.hubspot.baseUrl}/__sandbox/contacts/${c.hubspotId}`, { properties: { jobtitle: c.newTitle } }, 'PATCH');
          }
        }
      })();
      const salesforceBurst = (async () => {
        if (this.o.changes === 'api') {
          for (let i = 0; i < chosen.salesforce.length; i += 200) {
            const records = chosen.salesforce.slice(i, i + 200).map((c) => ({ Id: c.salesforceId, NumberOfEmployees: c.newEmployees }));
            bump('salesforce', 'PATCH /services/data/v62.0/composite/sobjects');
            const results = await salesforceUser.sobject('Lead').update(records, { allOrNone: false });
            const failed = results.filter((r) => !r.success);
            if (failed.length > 0) throw new Error(`${failed.length} Salesforce user changes failed: ${JSON.stringify(failed[0])}`);
          }
        } else {
          for (const c of chosen.salesforce) {
            await postJson(`${this.conn.salesforce.instanceUrl}/__sandbox/activity`, { kind: 'field', id: c.salesforceId, fields: { NumberOfEmployees: c.newEmployees } });
          }
        }
      })();
      await Promise.all([hubspotBurst, salesforceBurst]);
      const burstMs = Date.now() - t0;

      // Wait until every change is visible in both CRMs (or stops making progress).
      const total = chosen.hubspot.length + chosen.salesforce.length;
      let arrived = 0;
      let lastProgress = Date.now();
      let timelines: { hubspot: Record<string, Timeline[]>; salesforce: Record<string, Timeline[]> } = { hubspot: {}, salesforce: {} };
      const compute = () => {
        const hub = chosen.hubspot.map((c) => changeLatency(timelines.hubspot[c.hubspotId] ?? [], timelines.salesforce[c.salesforceId] ?? []));
        const sf = chosen.salesforce.map((c) => changeLatency(timelines.salesforce[c.salesforceId] ?? [], timelines.hubspot[c.hubspotId] ?? []));
        return { hub, sf };
      };
      const stallMs = 30_000 + 3 * every + durationMs(this.o.batchWait) * 3;
      for (;;) {
        timelines = await getJson(`${this.conn.bench.url}/timelines`);
        const { hub, sf } = compute();
        const now = [...hub, ...sf].filter((l) => l.toBoth !== null).length;
        if (now > arrived) {
          arrived = now;
          lastProgress = Date.now();
        }
        if (arrived >= total || Date.now() - lastProgress > stallMs || Date.now() > deadline) break;
        await sleep(250);
      }
      const arrivedAt = Date.now();
      // The burst's own reads: those made until every change had arrived, before the phase-ending
      // catch-up below (one poll of each feed and side feed, which every phase ends with).
      const readsToArrival = splitCalls(subtractCalls(await this.stats('salesforce'), userCalls.salesforce)).reads;
      polling = false;
      await pollLoop;
      await this.settle(deadline);
      // The feeds catch up with everything phase 2 wrote (HubSpot was followed by webhook only).
      await this.pollCycle(['hubspot', 'salesforce'], deadline);
      const streamed = stream ? await streamStatus(this.ctx) : null;
      await stream?.stop();
      stream = null;
      const wallMs = Date.now() - t0;
      const measured = await this.endPhase();
      measured.calls.hubspot = subtractCalls(measured.calls.hubspot, userCalls.hubspot);
      measured.calls.salesforce = subtractCalls(measured.calls.salesforce, userCalls.salesforce);
      const { hub, sf } = compute();
      // Both CRMs agree on the new score of every changed person, and it moved.
      const after = new Map((await getJson<Candidate[]>(`${this.conn.bench.url}/candidates?seed=${this.o.seed}`)).map((c) => [c.hubspotId, c]));
      let agree = 0;
      let moved = 0;
      for (const c of [...chosen.hubspot, ...chosen.salesforce]) {
        const now = after.get(c.hubspotId);
        if (now && now.hubspotScore !== null && now.hubspotScore === now.salesforceScore) agree += 1;
        if (now && now.hubspotScore !== c.hubspotScore) moved += 1;
      }
      const figures = (values: Array<number | null>): LatencyFigures => {
        const got = values.filter((v): v is number => v !== null);
        return { changes: values.length, arrived: got.length, p50: percentile(got, 50), p95: percentile(got, 95), p99: percentile(got, 99), max: got.length ? Math.max(...got) : null };
      };
      const result = this.phaseResult(2, name, measured, wallMs, total, {
        hubspotReadById: chosen.hubspot.length,
        salesforcePolls: polls + 1,
        salesforceChanged: chosen.salesforce.length,
        hubspotPolls: 1,
        ...this.floorWrites(measured.report),
      });
      // Throughput of the burst: changes per second until the last one was visible in both CRMs.
      result.leadsPerSec = total / ((arrivedAt - t0) / 1000);
      result.polls = polls;
      result.userCalls = userCalls;
      result.salesforceReadsToArrival = readsToArrival;
      result.latency = {
        hubspot: { toOther: figures(hub.map((l) => l.toOther)), toBoth: figures(hub.map((l) => l.toBoth)) },
        salesforce: { toOther: figures(sf.map((l) => l.toOther)), toBoth: figures(sf.map((l) => l.toBoth)) },
      };
      // Where a Salesforce change's time goes: until the first poll whose window (up to its start
      // minus the safety margin) covers it has finished, and from there to the write-back.
      const margin = durationMs(this.o.safetyMargin);
      const pollTimes: Array<{ start: number; end: number }> = [];
      for (const id of pollJobIds) {
        const job = await Job.fromId(this.ctx.queues.poll, id);
        if (job?.processedOn && job.finishedOn) pollTimes.push({ start: job.processedOn, end: job.finishedOn });
      }
      const readDelays: number[] = [];
      const afterRead: number[] = [];
      for (const l of sf) {
        if (l.changedAt === null) continue;
        const poll = pollTimes.find((p) => p.start - margin >= (l.changedAt as number));
        if (!poll) continue;
        readDelays.push(poll.end - l.changedAt);
        if (l.toOther !== null) afterRead.push(l.toOther - (poll.end - l.changedAt));
      }
      result.notes.push(
        `Salesforce changes: read by a poll after p50 ${percentile(readDelays, 50) ?? '-'} ms (p99 ${percentile(readDelays, 99) ?? '-'} ms), ` +
          `then in HubSpot after p50 ${percentile(afterRead, 50) ?? '-'} ms more (p99 ${percentile(afterRead, 99) ?? '-'} ms); polls took ` +
          `p50 ${percentile(pollTimes.map((p) => p.end - p.start), 50) ?? '-'} ms`,
      );
      result.notes.push(
        `${chosen.hubspot.length} HubSpot and ${chosen.salesforce.length} Salesforce changes made in ${burstMs} ms; ${arrived}/${total} visible in both CRMs after ${((arrivedAt - t0) / 1000).toFixed(1)} s; ${polls} Salesforce polls`,
      );
      if (arrived < total) {
        // Which ones, with what each record saw (user changes and connector writes, ms after the change).
        const missing = [
          ...chosen.hubspot.filter((_, i) => hub[i]?.toBoth === null).map((c) => ({ from: 'HubSpot', c, own: timelines.hubspot[c.hubspotId] ?? [], other: timelines.salesforce[c.salesforceId] ?? [] })),
          ...chosen.salesforce.filter((_, i) => sf[i]?.toBoth === null).map((c) => ({ from: 'Salesforce', c, own: timelines.salesforce[c.salesforceId] ?? [], other: timelines.hubspot[c.hubspotId] ?? [] })),
        ];
        const marks = (list: Timeline[], t0: number) => list.map((m) => `${m.who}@${m.t - t0}`).join(' ') || 'none';
        for (const m of missing) {
          const t0 = m.own.find((x) => x.who === 'user')?.t ?? 0;
          result.notes.push(`never reached both CRMs: ${m.from} change of HubSpot contact ${m.c.hubspotId} / Salesforce Lead ${m.c.salesforceId}; its record saw ${marks(m.own, t0)}; the other ${marks(m.other, t0)}`);
        }
      }
      result.notes.push(streamed
        ? `Salesforce changes pushed by Change Data Capture: ${streamed.events ?? 0} change events, ${streamed.own ?? 0} of them our own write-back (no read); polling every ${this.burstPollEvery} as the safety net`
        : `Salesforce changes read by polling every ${this.burstPollEvery} (no change stream)`);
      result.notes.push(`afterwards ${agree}/${total} changed people have the same smk_score in both CRMs, and ${moved}/${total} scores moved`);
      return result;
    } catch (err) {
      polling = false;
      await pollLoop.catch(() => undefined);
      await stream?.stop().catch(() => undefined);
      return this.failed(2, name, started, err);
    }
  }

  // --- phase 3: a quiet cycle ------------------------------------------------------------------

  async phase3(): Promise<PhaseResult> {
    const name = 'quiet poll cycle';
    log(`${this.kind}: phase 3, ${name}`);
    const started = Date.now();
    try {
      await this.beginPhase();
      await this.pollCycle(['hubspot', 'salesforce'], this.deadline());
      const wallMs = Date.now() - started;
      const measured = await this.endPhase();
      return this.phaseResult(3, name, measured, wallMs, 0, { hubspotPolls: 1, salesforcePolls: 1, ...this.floorWrites(measured.report) });
    } catch (err) {
      return this.failed(3, name, started, err);
    }
  }

  // --- phase 4: reconcile after a rule change --------------------------------------------------

  async phase4(): Promise<PhaseResult> {
    const name = 'reconcile after a rule change';
    log(`${this.kind}: phase 4, ${name}`);
    const started = Date.now();
    try {
      await this.restartWorkers(join(this.dir, 'smarketing-rule-change.yaml'));
      await this.beginPhase();
      const t0 = Date.now();
      const deadline = this.deadline();
      await this.ctx.queues.reconcile.add('reconcile', { reason: 'rule change (bench)' });
      await this.settle(deadline);
      const reconciled = Date.now();
      await this.pollCycle(['hubspot', 'salesforce'], deadline);
      const wallMs = Date.now() - t0;
      const measured = await this.endPhase();
      const leads = await this.ctx.leads.count();
      const result = this.phaseResult(4, name, measured, wallMs, leads, { hubspotPolls: 1, salesforcePolls: 1, ...this.floorWrites(measured.report) });
      const moved = measured.report.hubspot.written;
      const contacts = (this.result.counts as Counts).hubspotContacts;
      result.notes.push(
        `reconcile ${((reconciled - t0) / 1000).toFixed(1)} s + feed catch-up ${((wallMs - (reconciled - t0)) / 1000).toFixed(1)} s; ` +
          `${moved} HubSpot contacts (${((moved / Math.max(1, contacts)) * 100).toFixed(1)}%) rewritten by the rule change`,
      );
      const rate = callRate(measured.report.hubspot.callTimes);
      result.hubspotRate = { ...rate, ceilingFraction: rate.avgPer10s / HUBSPOT_CEILING };
      return result;
    } catch (err) {
      return this.failed(4, name, started, err);
    }
  }

  // --- the whole run ---------------------------------------------------------------------------

  async run(): Promise<RunResult> {
    try {
      await this.start();
      const p1 = await this.phase1();
      this.result.phases.push(p1);
      if (!p1.ok) log(`${this.kind}: phase 1 failed: ${p1.error}`);
      if (p1.ok) await this.measureAuc();
      const wanted = this.kind === 'limited' ? this.o.phases : this.o.unlimitedPhases;
      for (const phase of [2, 3, 4]) {
        if (!wanted.has(phase)) continue;
        if (!p1.ok) break;
        const r = phase === 2 ? await this.phase2() : phase === 3 ? await this.phase3() : await this.phase4();
        if (!r.ok) log(`${this.kind}: phase ${phase} failed: ${r.error}`);
        this.result.phases.push(r);
      }
    } catch (err) {
      this.result.error = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`${this.kind}: run failed: ${this.result.error}`);
    } finally {
      await this.stop();
    }
    return this.result;
  }

  /**
   * `--scale-out`: phase 1 alone (this run is unlimited, on a fresh world and its own key prefix,
   * with `o.workers` workers), then the sandboxes' duplicate checks.
   */
  async scaleOutSync(): Promise<ScaleOutResult> {
    const loadAverage = [round(loadavg()[0], 2)];
    const out: ScaleOutResult = {
      workers: this.o.workers, prefix: this.prefix, ok: false, leads: 0, leadsPerSec: null, wallSeconds: null, syncSeconds: null,
      workerCpuSeconds: null, cpuSeconds: null, totalCalls: null, checks: null, loadAverage, logDir: this.dir,
    };
    try {
      await this.start();
      const p1 = await this.phase1();
      this.result.phases.push(p1);
      Object.assign(out, {
        ok: p1.ok, leads: p1.leads, leadsPerSec: p1.leadsPerSec, wallSeconds: round(p1.wallMs / 1000, 1), syncSeconds: p1.syncMs !== undefined ? round(p1.syncMs / 1000, 1) : null,
        workerCpuSeconds: p1.cpuSeconds?.workers ?? null, cpuSeconds: p1.cpuSeconds ?? null, totalCalls: p1.totalCalls,
      });
      if (p1.error) out.error = p1.error;
      // From the sandboxes, whatever the service thinks it did.
      out.checks = duplicateChecks(await getJson<DuplicateReport>(`${this.conn.bench.url}/duplicates`));
    } catch (err) {
      out.error = err instanceof Error ? err.message : String(err);
      log(`scale-out, ${this.o.workers} workers: ${out.error}`);
    } finally {
      await this.stop();
    }
    loadAverage.push(round(loadavg()[0], 2));
    out.rssMb = this.result.rssMb;
    return out;
  }

  /**
   * After the full sync: the leads as synced against the seeded world's ground truth (bench/lib/auc.ts).
   * A failure here is reported and leaves the other figures alone.
   */
  private async measureAuc(): Promise<void> {
    try {
      const truth = await getJson<TruthRow[]>(`${this.conn.bench.url}/truth`);
      // Only the people the truth covers (a few percent of the world): a million leads stay in Redis.
      const wanted = new Set(truth.map((t) => normaliseEmail(t.email)));
      const leads: Lead[] = [];
      for await (const page of this.ctx.leads.all(1000)) for (const stored of page) if (wanted.has(normaliseEmail(stored.lead.email))) leads.push(stored.lead);
      const figures = measureAuc(leads, truth, this.ctx.config.file, new Date());
      this.result.auc = figures;
      log(`${this.kind}: AUC on ${figures.people} held-out people (${figures.positives} with an opportunity): model ${figures.model ?? '-'}, rules ${figures.rules ?? '-'}, truth ${figures.truth ?? '-'}${figures.note ? ` (${figures.note})` : ''}`);
    } catch (err) {
      log(`${this.kind}: AUC not measured: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Ctrl-C: stop every child and delete this run's keys. */
  async abort(): Promise<void> {
    await this.stop();
  }

  private async stop(): Promise<void> {
    try {
      if (this.redis) this.result.redis.afterBytes = await redisUsedMemory(this.redis);
    } catch {
      // reported as null
    }
    const children = [...this.retired, ...this.workers, ...(this.server ? [this.server] : []), ...(this.sandbox ? [this.sandbox] : [])];
    for (const c of children) {
      const live = procMemory(c.pid);
      this.result.rssMb[c.name] = round(Math.max(c.peakRssMb() ?? 0, live?.peakMb ?? 0), 1);
    }
    for (const c of [...this.workers, ...(this.server ? [this.server] : [])]) await c.stop('SIGTERM', 30_000).catch(() => undefined);
    if (this.runtime) await this.runtime.close().catch(() => undefined);
    if (this.sandbox) await this.sandbox.stop('SIGTERM', 10_000).catch(() => undefined);
    if (this.redis) {
      this.result.redis.keysDeleted = await deletePrefix(this.redis, this.prefix).catch(() => 0);
      const r = this.result.redis;
      r.deltaMb = r.afterBytes !== null ? round((r.afterBytes - r.beforeBytes) / 1_048_576, 1) : null;
      this.redis.disconnect();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the naive baseline

const openGate: QuotaGate = {
  take: async () => undefined,
  observe: async () => undefined,
  report: async () => ({}) as QuotaReport,
};

async function naiveBaseline(o: Options, changeSet: NonNullable<RunResult['changeSet']>): Promise<{ result: NaiveResult; calls: Record<CrmName, CallStats>; rssMb: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'smk-bench-naive-'));
  log(`naive: fresh sandboxes of seed ${o.seed}`);
  const sandbox = spawnChild(
    'naive-sandbox',
    ['--import', 'tsx', join(ROOT, 'bench', 'sandbox-child.ts'), '--people', String(o.leads), '--seed', String(o.seed), '--hubspot-rate', '0', '--salesforce-daily', '0'],
    { env: { ...process.env }, cwd: ROOT, logPath: join(dir, 'sandbox.log'), firstLineTimeoutMs: 15 * 60_000 },
  );
  try {
    const conn = JSON.parse(await sandbox.firstLine) as BenchConnection;
    const env = loadConfig({ env: { ...sandboxEnv(conn) } });
    const connectors = await createConnectors({ env: env.env, sync: env.file.sync, gate: openGate, tokens: null, logger: createLogger({ level: 'silent' }) });
    for (const crm of ['hubspot', 'salesforce'] as const) await connectors[crm].ensureSchema();
    await postJson(`${conn.hubspot.baseUrl}/__sandbox/reset-stats`);
    await postJson(`${conn.salesforce.instanceUrl}/__sandbox/reset-stats`);
    const people = [...changeSet.hubspot, ...changeSet.salesforce];
    const result = await runNaive(conn, {
      hubspotIds: people.map((p) => p.hubspotId),
      salesforce: people.map((p) => ({ object: 'Lead' as const, id: p.salesforceId })),
    });
    // By endpoint: the naive script's calls name one record each.
    const grouped = (stats: CallStats): CallStats => ({ total: stats.total, calls: byEndpoint(stats) });
    const calls = {
      hubspot: grouped(await getJson<CallStats>(`${conn.hubspot.baseUrl}/__sandbox/stats`)),
      salesforce: grouped(await getJson<CallStats>(`${conn.salesforce.instanceUrl}/__sandbox/stats`)),
    };
    return { result, calls, rssMb: sandbox.peakRssMb() };
  } finally {
    await sandbox.stop('SIGTERM', 10_000);
  }
}

// ---------------------------------------------------------------------------------------------
// output

/** CPU milliseconds per person of a run's full sync (phase 1), for one kind of process. */
function cpuMsPerLead(run: RunResult | undefined, who: 'workers' | 'redis', leads: number): number | null {
  const seconds = run?.phases.find((p) => p.phase === 1 && p.ok)?.cpuSeconds?.[who];
  return typeof seconds === 'number' && leads > 0 ? Math.round((seconds * 1000 / leads) * 100) / 100 : null;
}

function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r, k) => {
    const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
    return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

function render(results: { runs: RunResult[]; evalSpeed: EvalSpeed; naive: Awaited<ReturnType<typeof naiveBaseline>> | null; summary: Summary }): string {
  const out: string[] = [];
  for (const run of results.runs) {
    out.push(`\n== ${run.kind === 'limited' ? 'rate limits ON (HubSpot 190 calls/10 s, our share 1.0)' : 'rate limits OFF'}: ${fmt(run.counts?.people)} people, ` +
      `${fmt(run.counts?.hubspotContacts)} HubSpot contacts, ${fmt(run.counts?.salesforceLeads)} SF leads, ${fmt(run.counts?.salesforceContacts)} SF contacts`);
    const rows = [['phase', 'wall s', 'leads', 'leads/s', 'HS reads', 'HS writes', 'SF reads', 'SF writes', 'calls/1k leads', 'floor', 'x floor', '429s']];
    for (const p of run.phases) {
      rows.push([
        `${p.phase}. ${p.name}${p.ok ? '' : ' (FAILED)'}`,
        fmt(p.wallMs / 1000, 1), fmt(p.leads), fmt(p.leadsPerSec, 0),
        fmt(p.reads.hubspot), fmt(p.writes.hubspot), fmt(p.reads.salesforce), fmt(p.writes.salesforce),
        fmt(p.callsPer1000Leads, 1), fmt(p.floor.total), fmt(p.floorRatio, 2),
        fmt((p.statuses.hubspot['429'] ?? 0) + (p.statuses.salesforce['429'] ?? 0)),
      ]);
    }
    out.push(table(rows));
    for (const p of run.phases) {
      if (p.error) out.push(`  phase ${p.phase} failed: ${p.error}`);
      for (const note of p.notes) out.push(`  phase ${p.phase}: ${note}`);
      if (p.hubspotRate) {
        out.push(`  phase ${p.phase}: HubSpot ${fmt(p.hubspotRate.avgPer10s, 1)} calls/10 s on average (busiest 10 s: ${p.hubspotRate.peakPer10s}) = ` +
          `${fmt(p.hubspotRate.ceilingFraction * 100, 1)}% of the 190 ceiling`);
      }
      if (p.backlog && Object.keys(p.backlog).length > 0) {
        out.push(`  phase ${p.phase} backlog (mean/max): ${Object.entries(p.backlog).slice(0, 6).map(([k, v]) => `${k} ${v.mean}/${v.max}`).join(', ')}`);
      }
      if (p.cpuSeconds) out.push(`  phase ${p.phase} CPU s: ${Object.entries(p.cpuSeconds).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')}`);
      const top = (crm: CrmName) => Object.entries(p.endpoints[crm]).slice(0, 6).map(([k, n]) => `${k} ${n}`).join('; ');
      if (p.totalCalls > 0) out.push(`  phase ${p.phase} endpoints: HubSpot: ${top('hubspot') || '-'} | Salesforce: ${top('salesforce') || '-'}`);
      if (p.latency) {
        const l = p.latency;
        const line = (label: string, f: LatencyFigures) => `${label} p50 ${fmt(f.p50)} ms, p95 ${fmt(f.p95)} ms, p99 ${fmt(f.p99)} ms, max ${fmt(f.max)} ms (${f.arrived}/${f.changes})`;
        out.push(`  latency ${line('HubSpot change -> both CRMs:', l.hubspot.toBoth)}`);
        out.push(`  latency ${line('Salesforce change -> HubSpot:', l.salesforce.toOther)}`);
        out.push(`  latency ${line('Salesforce change -> both CRMs:', l.salesforce.toBoth)}`);
      }
    }
    out.push(`  peak RSS (MB): ${Object.entries(run.rssMb).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ')}; parent ${fmt(results.summary.parentRssMb, 0)}`);
    out.push(`  Redis used_memory: +${fmt(run.redis.deltaMb, 1)} MB over the run (after the sync: +${fmt(run.redis.afterSyncBytes !== null ? (run.redis.afterSyncBytes - run.redis.beforeBytes) / 1_048_576 : null, 1)} MB; a shared Redis: other users' keys move it too); ${fmt(run.redis.keysDeleted)} bench keys deleted`);
    if (run.error) out.push(`  run error: ${run.error}`);
  }
  const e = results.evalSpeed;
  out.push(`\nrule speed: ${fmt(e.evalPerSec)} evaluateLead calls per CPU second on one thread in the best round of about a second (${fmt(e.evalPerSecAllRounds)} over all: ${fmt(e.evaluations)} in ${e.cpuSeconds.toFixed(1)} CPU s / ${e.seconds.toFixed(1)} s wall = ${fmt(e.evalPerWallSec)}/s wall), over ${fmt(e.leads)} leads, ${e.avgEngagementEvents.toFixed(1)} engagement events each`);
  if (results.naive) {
    const n = results.naive;
    out.push(`naive per-record script, same work as phase 2: ${fmt(n.calls.hubspot.total + n.calls.salesforce.total)} calls (HubSpot ${fmt(n.calls.hubspot.total)}, Salesforce ${fmt(n.calls.salesforce.total)}) for ${fmt(n.result.records)} records in ${(n.result.ms / 1000).toFixed(1)} s; ` +
      `${fmt(results.summary.naiveCallRatio, 1)}x the connector's calls`);
  }
  const s = results.summary;
  out.push(`\nheadline: floorRatio ${fmt(s.floorRatio, 3)} (target <= 1.1), quietWrites ${s.quietWrites ?? '-'} (target 0), quietEvaluations ${s.quietEvaluations ?? '-'}, ceilingFraction ${fmt(s.ceilingFraction, 3)} (target >= 0.9), ` +
    `p99 HubSpot ${fmt(s.p99Ms.hubspot)} ms (target <= ${fmt(s.p99TargetMs)} ms), p99 Salesforce ${fmt(s.p99Ms.salesforce)} ms, evalPerSec ${fmt(s.evalPerSec)} (target >= 50,000), ` +
    `peakRssMb ${fmt(s.peakRssMb, 0)}${s.rssAtOtherSize ? ` (${fmt(s.rssAtOtherSize.peakRssMb, 0)} at ${fmt(s.rssAtOtherSize.leads)} people)` : ''}, naiveCallRatio ${fmt(s.naiveCallRatio, 1)}`);
  out.push(`per person in the full sync (limited run): worker CPU ${fmt(s.workerCpuMsPerLead, 2)} ms (target <= 0.6), Redis CPU ${fmt(s.redisCpuMsPerLead, 2)} ms (target <= 0.3), ` +
    `Redis ${fmt(s.redisBytesPerLead)} bytes (target <= 2,048); peak worker RSS ${fmt(s.peakRssMb, 0)} MB (target <= 200)`);
  out.push(`Salesforce burst (${s.salesforceStream === 'cdc' ? 'Change Data Capture' : 'polling only'}): p99 change to both CRMs ${fmt(s.p99Ms.salesforce)} ms, ${s.burstSalesforceReads ?? '-'} Salesforce read calls (${s.burstSalesforceReadsToArrival ?? '-'} until every change had arrived)` +
    (s.pollBased ? `; polling every ${s.pollBased.pollEvery} with no stream (unlimited run): p99 ${fmt(s.pollBased.p99Ms.salesforce)} ms, ${s.pollBased.burstSalesforceReads} read calls (${s.pollBased.burstSalesforceReadsToArrival ?? '-'} until every change had arrived)` : ''));
  if (s.auc) out.push(`likelihood AUC on ${fmt(s.auc.people)} held-out people of the seeded world (${fmt(s.auc.positives)} with an opportunity): learned model ${fmt(s.auc.model, 3)}, rule score ${fmt(s.auc.rules, 3)}, ground truth ${fmt(s.auc.truth, 3)}`);
  return out.join('\n');
}

/** The `--scale-out` table, and a failure line for every non-zero duplicate count. */
function renderScaleOut(results: ScaleOutResult[] | null): string {
  if (!results || results.length === 0) return '';
  const out = [`\n== scale-out: the full sync with limits off, per number of worker processes (each on a fresh world)`];
  const pair = (r: Record<CrmName, number> | undefined) => (r ? `${fmt(r.hubspot)} / ${fmt(r.salesforce)}` : '-');
  const rows = [['workers', 'wall s', 'sync s', 'leads', 'leads/s', 'x 1 worker', 'worker CPU s', 'calls', 'dup people HS/SF', 'repeated writes HS/SF', 'no-op writes HS/SF', 'load']];
  const base = results.find((r) => r.workers === 1)?.leadsPerSec ?? null;
  for (const r of results) {
    rows.push([
      `${r.workers}${r.ok ? '' : ' (FAILED)'}`, fmt(r.wallSeconds, 1), fmt(r.syncSeconds, 1), fmt(r.leads), fmt(r.leadsPerSec, 0),
      base && r.leadsPerSec ? fmt(r.leadsPerSec / base, 2) : '-', fmt(r.workerCpuSeconds, 1), fmt(r.totalCalls),
      pair(r.checks?.duplicatePeople), pair(r.checks?.repeatedWrites), pair(r.checks?.unchangedWrites),
      r.loadAverage.map((v) => fmt(v, 1)).join(' -> '),
    ]);
  }
  out.push(table(rows));
  for (const r of results) {
    if (r.error) out.push(`  ${r.workers} workers FAILED: ${r.error}`);
    if (!r.checks) out.push(`  ${r.workers} workers FAILED: no duplicate checks`);
    for (const line of r.checks?.failures ?? []) out.push(`  ${r.workers} workers FAILED duplicate check: ${line}`);
    if (r.checks) out.push(`  ${r.workers} workers: ${fmt(r.checks.writes.hubspot)} HubSpot and ${fmt(r.checks.writes.salesforce)} Salesforce record writes checked; CPU s: ${Object.entries(r.cpuSeconds ?? {}).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')}`);
  }
  return out.join('\n');
}

interface Summary {
  leads: number;
  seed: number;
  floorRatio: number | null;
  floorRatioByPhase: Record<string, number | null>;
  quietWrites: number | null;
  ceilingFraction: number | null;
  p99Ms: { hubspot: number | null; salesforce: number | null };
  /** How Salesforce changes reached the service in the main run's burst. */
  salesforceStream: 'cdc' | 'off';
  /** `--bulk-threshold`: the Salesforce Bulk API 2.0 path's threshold, null when off. */
  bulkThreshold: number | null;
  /** Salesforce read calls (queries, GETs) of the main run's burst, the user's own taken out. */
  burstSalesforceReads: number | null;
  /** Of those, the calls made until every change was in both CRMs: the phase-ending catch-up poll of every feed taken out. */
  burstSalesforceReadsToArrival: number | null;
  /** The same burst in the unlimited run, polling only (today's way), for comparison. */
  pollBased: { pollEvery: string; p99Ms: { hubspot: number | null; salesforce: number | null }; burstSalesforceReads: number; burstSalesforceReadsToArrival: number | null } | null;
  p99TargetMs: number;
  evalPerSec: number;
  peakRssMb: number | null;
  sandboxRssMb: number | null;
  parentRssMb: number;
  naiveCallRatio: number | null;
  redisDeltaMb: number | null;
  /** Bytes the service keeps in Redis per person after the full sync (MEMORY USAGE of its keys). */
  redisBytesPerLead: number | null;
  /** Leads evaluated in the quiet cycle (phase 3; target 0). */
  quietEvaluations: number | null;
  /** CPU of the full sync (phase 1 of the limited run) per person: the worker processes', Redis's. */
  workerCpuMsPerLead: number | null;
  redisCpuMsPerLead: number | null;
  /** The service's peak RSS in the newest earlier result of another size, for "does not grow with N". */
  rssAtOtherSize: { leads: number; peakRssMb: number; file: string } | null;
  fullSyncLeadsPerSec: { limited: number | null; unlimited: number | null };
  /** `--scale-out`: worker count -> the unlimited full sync's leads/s (as `fullSyncLeadsPerSec.unlimited`); null when not run. */
  scaleOut: Record<string, number | null> | null;
  /** On the same held-out people of the seeded world: the learned likelihood, the rule score, the world's own chance (bench/lib/auc.ts). */
  auc: { model: number | null; rules: number | null; truth: number | null; people: number; positives: number } | null;
  wallSeconds: number;
}

/** The newest earlier result in the results folder with another number of people. */
function otherSize(o: Options): Summary['rssAtOtherSize'] {
  if (!existsSync(o.out)) return null;
  const files = readdirSync(o.out).filter((f) => f.endsWith('.json')).sort().reverse();
  for (const file of files) {
    try {
      const summary = (JSON.parse(readFileSync(join(o.out, file), 'utf8')) as { summary?: { leads?: number; peakRssMb?: number | null } }).summary;
      if (summary?.leads && summary.leads !== o.leads && typeof summary.peakRssMb === 'number') return { leads: summary.leads, peakRssMb: summary.peakRssMb, file };
    } catch {
      // not a result file
    }
  }
  return null;
}

function summarise(o: Options, runs: RunResult[], evalSpeed: EvalSpeed, naive: Awaited<ReturnType<typeof naiveBaseline>> | null, startedAt: number, scaleOut: ScaleOutResult[] | null = null): Summary {
  const main = runs.find((r) => r.kind === 'limited') ?? runs[0];
  const phase = (r: RunResult | undefined, n: number) => r?.phases.find((p) => p.phase === n && p.ok);
  const work = (main?.phases ?? []).filter((p) => p.ok && p.phase !== 3);
  const calls = work.reduce((a, p) => a + p.totalCalls, 0);
  const floor = work.reduce((a, p) => a + p.floor.total, 0);
  const quiet = runs.map((r) => phase(r, 3)).filter((p): p is PhaseResult => !!p);
  const burst = phase(main, 2);
  // With the stream on, the unlimited run's burst polled instead (today's way): the comparison.
  const pollBased = o.salesforceStream === 'cdc' && o.comparePollEvery !== 'off' ? phase(runs.find((r) => r.kind === 'unlimited' && r !== main), 2) : undefined;
  const serviceRss = runs.flatMap((r) => Object.entries(r.rssMb).filter(([k]) => k.startsWith('worker') || k === 'server').map(([, v]) => v ?? 0));
  const sandboxRss = runs.map((r) => r.rssMb.sandbox ?? 0);
  const naiveCalls = naive ? naive.calls.hubspot.total + naive.calls.salesforce.total : null;
  return {
    leads: o.leads,
    seed: o.seed,
    floorRatio: floor > 0 ? round(calls / floor, 3) : null,
    floorRatioByPhase: Object.fromEntries((main?.phases ?? []).map((p) => [`${p.phase}`, round(p.floorRatio, 3)])),
    quietWrites: quiet.length ? Math.max(...quiet.map((p) => p.writes.hubspot + p.writes.salesforce)) : null,
    ceilingFraction: round(phase(runs.find((r) => r.kind === 'limited'), 1)?.hubspotRate?.ceilingFraction, 3),
    p99Ms: { hubspot: burst?.latency?.hubspot.toBoth.p99 ?? null, salesforce: burst?.latency?.salesforce.toBoth.p99 ?? null },
    salesforceStream: o.salesforceStream,
    bulkThreshold: o.bulkThreshold,
    burstSalesforceReads: burst ? burst.reads.salesforce : null,
    burstSalesforceReadsToArrival: burst?.salesforceReadsToArrival ?? null,
    pollBased: pollBased
      ? { pollEvery: o.comparePollEvery, p99Ms: { hubspot: pollBased.latency?.hubspot.toBoth.p99 ?? null, salesforce: pollBased.latency?.salesforce.toBoth.p99 ?? null }, burstSalesforceReads: pollBased.reads.salesforce, burstSalesforceReadsToArrival: pollBased.salesforceReadsToArrival ?? null }
      : null,
    p99TargetMs: 2000 + durationMs(o.batchWait),
    evalPerSec: Math.round(evalSpeed.evalPerSec),
    peakRssMb: serviceRss.length ? round(Math.max(...serviceRss), 1) : null,
    sandboxRssMb: sandboxRss.length ? round(Math.max(...sandboxRss), 1) : null,
    parentRssMb: round(process.resourceUsage().maxRSS / 1024, 1) ?? 0,
    naiveCallRatio: naiveCalls !== null && burst && burst.totalCalls > 0 ? round(naiveCalls / burst.totalCalls, 2) : null,
    redisDeltaMb: main?.redis.deltaMb ?? null,
    quietEvaluations: quiet.some((p) => typeof p.evaluations === 'number') ? Math.max(...quiet.map((p) => p.evaluations ?? 0)) : null,
    redisBytesPerLead: main?.redis.afterSync ? Math.round(main.redis.afterSync.bytes / o.leads) : null,
    workerCpuMsPerLead: cpuMsPerLead(runs.find((r) => r.kind === 'limited'), 'workers', o.leads),
    redisCpuMsPerLead: cpuMsPerLead(runs.find((r) => r.kind === 'limited'), 'redis', o.leads),
    rssAtOtherSize: otherSize(o),
    fullSyncLeadsPerSec: {
      limited: round(phase(runs.find((r) => r.kind === 'limited'), 1)?.leadsPerSec, 0),
      unlimited: round(phase(runs.find((r) => r.kind === 'unlimited'), 1)?.leadsPerSec, 0),
    },
    scaleOut: scaleOutSummary(scaleOut),
    auc: main?.auc ? { model: main.auc.model, rules: main.auc.rules, truth: main.auc.truth, people: main.auc.people, positives: main.auc.positives } : null,
    wallSeconds: Math.round((Date.now() - startedAt) / 1000),
  };
}

// ---------------------------------------------------------------------------------------------

/** The Redis Cluster `--redis-cluster` asks for (null without the flag). */
async function benchCluster(o: Options): Promise<{ url: string; started: boolean; stop(): Promise<void> } | null> {
  if (o.redisCluster === null) return null;
  const fromEnv = o.redisCluster ? null : redisUrlFromEnv(process.env);
  const url = o.redisCluster ? clusterUrlFromNodes(o.redisCluster) : fromEnv && isClusterUrl(fromEnv) ? fromEnv : null;
  if (url) return { url, started: false, stop: async () => undefined };
  log('redis: starting a local Redis Cluster of three masters');
  const started = await startPrivateCluster();
  return { url: started.url, started: true, stop: started.stop };
}

/** `--scale-out`: the unlimited full sync once per worker count, one after the other (null: off). */
async function runScaleOut(o: Options, onStart: (run: BenchRun) => void): Promise<ScaleOutResult[] | null> {
  if (!o.scaleOut) return null;
  const out: ScaleOutResult[] = [];
  for (const workers of o.scaleOut) {
    log(`scale-out: the full sync with ${workers} worker${workers === 1 ? '' : 's'}, limits off, on a fresh world`);
    const run = new BenchRun({ ...o, workers }, 'unlimited');
    onStart(run);
    const r = await run.scaleOutSync();
    log(`scale-out, ${workers} workers: ${r.leadsPerSec !== null ? Math.round(r.leadsPerSec) : '-'} leads/s in ${r.wallSeconds ?? '-'} s; ` +
      `${r.checks ? (r.checks.failures.length ? r.checks.failures.join('; ') : 'no duplicate person, no repeated or no-op write') : 'no duplicate checks'}`);
    out.push(r);
  }
  return out;
}

/**
 * The compiled JavaScript production runs (`npm run build`, the Docker image's `node
 * dist/src/cli.js`), built into a folder of this run's own: a worker run through tsx also spends
 * the CPU and memory of compiling the sources at start, which production does not.
 */
function buildWorkers(): string {
  // Inside the clone, so that the build's imports find the project's node_modules.
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'smk-bench-build-'));
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out-dir', out], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed (${built.status}): ${(built.stderr || built.stdout).trim().split('\n').slice(-5).join(' ')}`);
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  log(`workers run the compiled build in ${out}`);
  return join(out, 'src', 'cli.js');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv);
  const startedAt = Date.now();
  const machine = {
    hostname: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    kernel: release(),
    loadAverageAtStart: loadavg().map((v) => round(v, 2)),
  };
  log(`machine: ${machine.cores} x ${machine.cpu}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`);
  if (o.workersFrom === 'build') o.workerEntry = buildWorkers();

  // Pure rule speed first, while none of the benchmark's other processes run.
  const rules = parseConfigText(benchConfigYaml({ hubspotPerTenSeconds: HUBSPOT_CEILING, batchWait: o.batchWait, searchSafetyMargin: o.safetyMargin, pollEvery: o.pollEvery }), 'bench');
  const evalSpeed = measureEvalSpeed(rules, { people: Math.min(o.leads, 20_000), seed: o.seed, seconds: o.evalSeconds });
  log(`rule speed: ${Math.round(evalSpeed.evalPerSec)} evaluations per CPU second (${Math.round(evalSpeed.evalPerWallSec)}/s wall)`);

  const runs: RunResult[] = [];
  let scaleOut: ScaleOutResult[] | null;
  let active: BenchRun | null = null;
  const interrupt = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the benchmark's processes and deleting its keys`);
    void (active?.abort() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const cluster = await benchCluster(o);
  if (cluster) {
    o.redisUrl = cluster.url;
    log(`redis: a Redis Cluster at ${redactUrl(cluster.url)}${cluster.started ? ' (started for this run)' : ''}`);
  }
  try {
    for (const kind of o.runs) {
      active = new BenchRun(o, kind);
      runs.push(await active.run());
      active = null;
    }
    scaleOut = await runScaleOut(o, (run) => (active = run));
    active = null;
  } finally {
    await cluster?.stop();
  }
  const withChanges = runs.find((r) => r.changeSet && r.kind === 'limited') ?? runs.find((r) => r.changeSet);
  let naive: Awaited<ReturnType<typeof naiveBaseline>> | null = null;
  if (!o.skipNaive && withChanges?.changeSet) {
    try {
      naive = await naiveBaseline(o, withChanges.changeSet);
    } catch (err) {
      log(`naive baseline failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const summary = summarise(o, runs, evalSpeed, naive, startedAt, scaleOut);
  const results = { scaleOut, summary, machine: { ...machine, loadAverageAtEnd: loadavg().map((v) => round(v, 2)) }, options: { ...o, phases: [...o.phases], unlimitedPhases: [...o.unlimitedPhases] }, evalSpeed, naive, runs };
  process.stdout.write(`${render({ runs, evalSpeed, naive, summary })}\n${scaleOut ? `${renderScaleOut(scaleOut)}\n` : ''}`);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, `${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}-${o.leads}.json`);
  // Call timestamps are bulky: keep their summary (hubspotRate), not the list.
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${file}`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
