/**
 * Layer 2 of the model-based tests: short generated sequences of user operations in both CRMs and
 * sync passes, run twice on identical worlds. The reference runs every sync fault-free; the other
 * side meets faults at its syncs (a connector call failing once, a writer stopped after its batch
 * reached the CRM, duplicated and reordered webhook ingest jobs, pages delivered after newer ones).
 * Both then drain; the CRMs must hold the same values, no record may be created twice, a quiet
 * sync must evaluate and write nothing, every record must be synced or in sync errors with a
 * reason, and no HubSpot write may carry a value older than one already written.
 */
import fc from 'fast-check';
import { syncOnce } from '../../../jobs/run-once.js';
import type { SyncOnceResult } from '../../../jobs/run-once.js';
import type { CrmName } from '../../../src/model/lead.js';
import { describeDifferences, diffCrmStates, readCrmState } from '../../reliability/helpers/crm-state.js';
import type { CrmState, StateDifference } from '../../reliability/helpers/crm-state.js';
import { syncInPhases } from '../../reliability/helpers/phased-sync.js';
import { startRestartableRedis } from '../../reliability/helpers/private-redis.js';
import { errorTally, unsyncedRecords, WriteOrderWatch } from './checks.js';
import type { Armed, FaultCall, StashedPage } from './faults.js';
import { armStopAfterWrite, armStopMidIngest, armTransient, currentRefs, deliverLate, enqueueWebhooks, keepFeedPages, readPage } from './faults.js';
import type { UserOp } from './ops.js';
import { applyUserOp, describeOp, initialPeople } from './ops.js';
import type { People } from './ops.js';
import { openSide } from './side.js';
import type { Side } from './side.js';

export type SyncFault =
  | { kind: 'none' }
  | { kind: 'transient'; crm: CrmName; call: FaultCall }
  | { kind: 'stopAfterWrite'; crm: CrmName }
  | { kind: 'stopMidIngest' }
  | { kind: 'webhooks'; copies: number[]; order: number[] }
  | { kind: 'late' }
  /** Every feed page of the pass is delivered once more after the pass, the last one first (BullMQ retries). */
  | { kind: 'pageRetry' }
  /** The faulty side's Redis (a private redis-server with AOF) stops and starts while the pass runs. */
  | { kind: 'redisRestart'; afterMs: number };

export type Step =
  | { kind: 'user'; op: UserOp }
  | { kind: 'sync'; fault: SyncFault }
  /** Read this person's record now (faulty side only); a later `late` sync delivers it after newer reads. */
  | { kind: 'stash'; who: number; crm: CrmName }
  /**
   * A sync pass with user edits landing while it runs (after `afterMs`) on the faulty side; the
   * reference makes them just before its pass. Only edits whose outcome does not hang on the sync
   * point (no creates, deletes, conversions or merges).
   */
  | { kind: 'concurrent'; ops: UserOp[]; afterMs: number };

/** The people of the seeded world that operations name (new people are added as they are created). */
export const HANDLES = 6;

// -------------------------------------------------------------------------------------------
// Generators

const who = fc.nat({ max: 7 });
const crm = fc.constantFrom<CrmName>('hubspot', 'salesforce');
const titles = fc.constantFrom('CEO', 'Intern', 'VP of Marketing', 'Student', 'Head of Growth');

export const userOpArbitrary: fc.Arbitrary<UserOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('hsEdit' as const), who, property: fc.constantFrom('jobtitle' as const, 'phone' as const, 'city' as const), value: fc.constantFrom('CEO', 'Intern', '+1 555 0100', 'Lyon', 'Head of Growth') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sfEdit' as const), who, field: fc.constantFrom('Title' as const, 'Phone' as const, 'City' as const), value: fc.constantFrom('CTO', 'Student', '+1 555 0199', 'Oslo', 'VP of Marketing') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sfStatus' as const), who, status: fc.constantFrom('Working - Contacted', 'Closed - Not Converted') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('activity' as const), who, activity: fc.constantFrom('page_view' as const, 'form_submission' as const, 'email_click' as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hsCreate' as const), title: titles }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sfCreate' as const), title: titles }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hsDelete' as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sfDelete' as const), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('convert' as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hsMerge' as const), who, into: who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('emailChange' as const), who, crm }) },
);

/** Edits that may land in the middle of a pass. */
const concurrentOpArbitrary: fc.Arbitrary<UserOp> = fc.oneof(
  fc.record({ kind: fc.constant('hsEdit' as const), who, property: fc.constant('jobtitle' as const), value: titles }),
  fc.record({ kind: fc.constant('sfEdit' as const), who, field: fc.constant('Title' as const), value: titles }),
  fc.record({ kind: fc.constant('activity' as const), who, activity: fc.constantFrom('page_view' as const, 'email_click' as const), count: fc.integer({ min: 1, max: 12 }) }),
);

/**
 * Faults that strike an open product bug: left out of generated sequences unless asked for
 * (`knownBugs`), so that a run finds other bugs. None now (stopMidIngest's bug is fixed).
 */
export const KNOWN_BUG_FAULTS: ReadonlySet<SyncFault['kind']> = new Set();

export function syncFaultArbitrary(options: { knownBugs?: boolean } = {}): fc.Arbitrary<SyncFault> {
  const all: Array<{ kind: SyncFault['kind']; weight: number; arbitrary: fc.Arbitrary<SyncFault> }> = [
    { kind: 'none', weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    { kind: 'transient', weight: 3, arbitrary: fc.record({ kind: fc.constant('transient' as const), crm, call: fc.constantFrom<FaultCall>('read', 'write', 'create', 'changes') }) },
    { kind: 'stopAfterWrite', weight: 2, arbitrary: fc.record({ kind: fc.constant('stopAfterWrite' as const), crm }) },
    { kind: 'stopMidIngest', weight: 1, arbitrary: fc.constant({ kind: 'stopMidIngest' as const }) },
    { kind: 'webhooks', weight: 3, arbitrary: fc.record({ kind: fc.constant('webhooks' as const), copies: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 8 }), order: fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 16 }) }) },
    { kind: 'late', weight: 2, arbitrary: fc.constant({ kind: 'late' as const }) },
    { kind: 'pageRetry', weight: 2, arbitrary: fc.constant({ kind: 'pageRetry' as const }) },
    { kind: 'redisRestart', weight: 1, arbitrary: fc.record({ kind: fc.constant('redisRestart' as const), afterMs: fc.integer({ min: 0, max: 600 }) }) },
  ];
  return fc.oneof(...all.filter((a) => options.knownBugs || !KNOWN_BUG_FAULTS.has(a.kind)).map(({ weight, arbitrary }) => ({ weight, arbitrary })));
}

/**
 * Edits landing while a sync runs race the sync's reads, and the two runs of a sequence can meet
 * them at different points; with two-way fields that can end differently (KNOWN_LIMITATION_TWO_WAY
 * in core.model.test.ts). CI leaves them out so that its verdict does not depend on timing; the
 * runner and developer runs keep them (`concurrent`, default: not in CI).
 */
const CONCURRENT_BY_DEFAULT = !process.env.CI;

export function stepArbitrary(options: { knownBugs?: boolean; concurrent?: boolean } = {}): fc.Arbitrary<Step> {
  const steps = [
    { weight: 11, arbitrary: userOpArbitrary.map((op): Step => ({ kind: 'user' as const, op })) },
    { weight: 6, arbitrary: syncFaultArbitrary(options).map((fault): Step => ({ kind: 'sync' as const, fault })) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('stash' as const), who, crm }) as fc.Arbitrary<Step> },
  ];
  if (options.concurrent ?? CONCURRENT_BY_DEFAULT) {
    steps.push({ weight: 2, arbitrary: fc.record({ kind: fc.constant('concurrent' as const), ops: fc.array(concurrentOpArbitrary, { minLength: 1, maxLength: 3 }), afterMs: fc.integer({ min: 0, max: 500 }) }) as fc.Arbitrary<Step> });
  }
  return fc.oneof(...steps);
}

export const sequenceArbitrary = (options: { minSteps?: number; maxSteps?: number; knownBugs?: boolean; concurrent?: boolean } = {}) =>
  fc.array(stepArbitrary(options), { minLength: options.minSteps ?? 5, maxLength: options.maxSteps ?? 15 });

export function describeStep(step: Step): string {
  if (step.kind === 'user') return `user ${describeOp(step.op)}`;
  if (step.kind === 'stash') return `stash a read of person ${step.who} in ${step.crm}`;
  if (step.kind === 'concurrent') return `sync with user edits landing after ${step.afterMs} ms: ${step.ops.map(describeOp).join(', ')}`;
  return `sync (${step.fault.kind === 'none' ? 'no fault' : JSON.stringify(step.fault)})`;
}

// -------------------------------------------------------------------------------------------
// Running one side

interface SideResult {
  state: CrmState;
  errors: Record<string, number>;
  errorSamples: string[];
  quiet: Pick<SyncOnceResult, 'changed' | 'evaluated' | 'writes' | 'created'>;
  unsynced: string[];
  regressions: string[];
  notes: string[];
}

const SYNC_TIMEOUT_MS = 90_000;

async function sync(side: Side, notes: string[]): Promise<SyncOnceResult> {
  try {
    return await syncOnce(side.ctx, { timeoutMs: SYNC_TIMEOUT_MS });
  } catch (err) {
    // A feed read that failed fails the pass, as it fails a poll job: the next pass (or the job's retry) reads again.
    notes.push(`a sync pass failed (${err instanceof Error ? err.message : String(err)}); the next one reads again`);
    return syncOnce(side.ctx, { timeoutMs: SYNC_TIMEOUT_MS });
  }
}

interface SideRun {
  people: People;
  stash: StashedPage[];
  armed: Array<{ fault: SyncFault; armed: Armed }>;
  notes: string[];
  /** Stops and starts this side's Redis (a private server with AOF), when it has one. */
  restartRedis?: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A sync pass of the faulty side. A fault is armed at its pass and stays armed until it strikes
 * (a later pass, or the drain), so that a fault whose call the pass did not make is not wasted.
 */
async function faultySync(side: Side, run: SideRun, fault: SyncFault): Promise<void> {
  const { people, stash, armed, notes } = run;
  switch (fault.kind) {
    case 'none':
      break;
    case 'transient':
      armed.push({ fault, armed: armTransient(side.ctx, fault.crm, fault.call) });
      break;
    case 'stopAfterWrite':
      armed.push({ fault, armed: armStopAfterWrite(side.ctx, fault.crm) });
      break;
    case 'stopMidIngest':
      armed.push({ fault, armed: armStopMidIngest(side.ctx) });
      break;
    case 'webhooks': {
      const n = await enqueueWebhooks(side.ctx, await currentRefs(side, people), fault.copies, fault.order);
      notes.push(`${n} webhook ingest jobs, duplicated and reordered`);
      break;
    }
    case 'late':
      break;
    case 'pageRetry': {
      const pages: StashedPage[] = [];
      const restore = keepFeedPages(side.ctx, pages);
      try {
        await sync(side, notes);
      } finally {
        restore();
      }
      const n = pages.length;
      const late = await deliverLate(side.ctx, pages);
      notes.push(`${n} feed pages delivered again late: ${late.stale} stale, ${late.changed} changed`);
      return;
    }
    case 'redisRestart': {
      if (!run.restartRedis) break;
      const pass = sync(side, notes);
      await sleep(fault.afterMs);
      await run.restartRedis();
      notes.push(`Redis restarted ${fault.afterMs} ms into a pass`);
      await pass;
      return;
    }
  }
  await sync(side, notes);
  if (fault.kind === 'late') {
    const late = await deliverLate(side.ctx, stash);
    notes.push(`late pages: ${late.stale} stale, ${late.changed} changed`);
  }
}

async function runStep(side: Side, run: SideRun, step: Step, faulty: boolean): Promise<string | null> {
  if (step.kind === 'user') return applyUserOp(side, run.people, step.op);
  if (step.kind === 'stash') {
    if (!faulty) return null;
    const p = run.people.list[step.who % run.people.list.length];
    const refs = p ? (await currentRefs(side, { ...run.people, list: [p] }))[step.crm] : [];
    const page = await readPage(side.ctx, step.crm, refs);
    if (page) run.stash.push(page);
    return null;
  }
  if (step.kind === 'concurrent') {
    const did: string[] = [];
    if (!faulty) {
      for (const op of step.ops) did.push(await applyUserOp(side, run.people, op));
      await sync(side, run.notes);
      return did.join('; ');
    }
    const pass = sync(side, run.notes);
    await sleep(step.afterMs);
    for (const op of step.ops) did.push(await applyUserOp(side, run.people, op));
    await pass;
    return did.join('; ');
  }
  if (faulty) await faultySync(side, run, step.fault);
  else await sync(side, run.notes);
  return null;
}

async function runSide(side: Side, steps: readonly Step[], faulty: boolean, log: (line: string) => void, knownBugs: boolean, restartRedis?: () => Promise<void>): Promise<SideResult> {
  await syncInPhases(side.ctx);
  await syncOnce(side.ctx, { timeoutMs: SYNC_TIMEOUT_MS });
  const run: SideRun = { people: initialPeople(side.sandboxes, HANDLES), stash: [], armed: [], notes: [], ...(restartRedis ? { restartRedis } : {}) };
  const watch = await new WriteOrderWatch(side).init(side);
  try {
    for (const [i, step] of steps.entries()) {
      const did = await runStep(side, run, step, faulty);
      if (did) log(`  ${side.label} ${i + 1}. ${describeStep(step)}: ${did}`);
    }
    // The drain: whatever is left, then a pass that reads everything new (faults still armed).
    if (run.stash.length > 0) await deliverLate(side.ctx, run.stash);
    await sync(side, run.notes);
  } finally {
    for (const a of [...run.armed].reverse()) a.armed.restore();
    for (const a of run.armed) run.notes.push(`${JSON.stringify(a.fault)} ${a.armed.struck() ? 'struck' : 'never struck'}`);
  }
  const quietRun = await syncOnce(side.ctx, { timeoutMs: SYNC_TIMEOUT_MS });
  run.notes.push(`write order watched over ${watch.counts.plans} plans and ${watch.counts.written} HubSpot smk writes`);
  const errors = await errorTally(side, { knownBugs });
  for (const line of errors.stale) run.notes.push(`${faulty ? '' : 'fault-free run: '}left out of the comparison (KNOWN_BUG_STALE_NOT_FOUND): ${line}`);
  return {
    state: await readCrmState(side.hubspot, side.salesforce),
    errors: errors.tally,
    errorSamples: errors.samples,
    quiet: { changed: quietRun.changed, evaluated: quietRun.evaluated, writes: quietRun.writes, created: quietRun.created },
    unsynced: await unsyncedRecords(side),
    regressions: watch.regressions(),
    notes: run.notes,
  };
}

// -------------------------------------------------------------------------------------------
// One sequence, both sides

export interface SequenceReport {
  ok: boolean;
  problems: string[];
  differences: StateDifference[];
  notes: string[];
  seconds: number;
}

export interface SequenceOptions {
  redisUrl: string;
  steps: readonly Step[];
  /** The seeded world (both sides). */
  seed: number;
  people?: number;
  /** Compare what known open bugs make differ too (see KNOWN_BUG_* in pipeline.model.test.ts). */
  knownBugs?: boolean;
  log?: (line: string) => void;
}

const QUIET = { changed: 0, evaluated: 0, writes: { hubspot: 0, salesforce: 0 }, created: { hubspot: 0, salesforce: 0 } };

export async function runSequence(options: SequenceOptions): Promise<SequenceReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const worldNow = Math.floor(Date.now() / 60_000) * 60_000;
  const open = (label: string, redisUrl: string) => openSide({ label, redisUrl, people: options.people ?? 10, seed: options.seed, worldNow });
  const results: SideResult[] = [];
  // A Redis restart needs a server of the sequence's own (AOF on); the shared one is never restarted.
  const needsRestart = options.steps.some((s) => s.kind === 'sync' && s.fault.kind === 'redisRestart');
  const privateRedis = needsRestart ? await startRestartableRedis() : null;
  try {
    for (const faulty of [false, true]) {
      const side = await open(faulty ? 'faulty' : 'reference', faulty && privateRedis ? privateRedis.url : options.redisUrl);
      try {
        results.push(await runSide(side, options.steps, faulty, log, options.knownBugs ?? false, faulty && privateRedis ? () => privateRedis.restart({ downMs: 200 }) : undefined));
      } finally {
        await side.close();
      }
    }
  } finally {
    await privateRedis?.stop();
  }
  const [reference, actual] = results as [SideResult, SideResult];
  const problems: string[] = [];
  const differences = diffCrmStates(reference.state, actual.state);
  if (differences.length > 0) problems.push(`the CRMs differ from the fault-free run:\n${describeDifferences(differences)}`);
  for (const key of new Set([...Object.keys(reference.errors), ...Object.keys(actual.errors)])) {
    if ((reference.errors[key] ?? 0) !== (actual.errors[key] ?? 0)) {
      const about = (r: SideResult) => r.errorSamples.filter((e) => e.startsWith(`${key} `)).join('; ') || 'none';
      problems.push(`sync errors ${key}: ${reference.errors[key] ?? 0} in the fault-free run (${about(reference)}), ${actual.errors[key] ?? 0} here (${about(actual)})`);
    }
  }
  for (const [name, r] of [['fault-free run', reference], ['faulty run', actual]] as const) {
    if (JSON.stringify(r.quiet) !== JSON.stringify(QUIET)) problems.push(`${name}: the quiet sync after the drain was not quiet: ${JSON.stringify(r.quiet)}`);
    if (r.unsynced.length > 0) problems.push(`${name}: records neither synced nor in sync errors: ${r.unsynced.join(', ')}`);
    if (r.regressions.length > 0) problems.push(`${name}: writes older than one already written:\n  ${r.regressions.join('\n  ')}`);
  }
  const notes = [...actual.notes, ...reference.notes.filter((n) => n.startsWith('fault-free run: '))];
  return { ok: problems.length === 0, problems, differences, notes, seconds: (Date.now() - started) / 1000 };
}
