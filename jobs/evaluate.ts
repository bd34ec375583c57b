/**
 * evaluate: one lead at a time (its lock), call the pure rules, keep the new score, stage and SLA,
 * and plan the writes: the desired `smk` values of every linked record minus what it holds.
 * When nothing differs, nothing is enqueued. While the lead's version moves during the run
 * (a change landed meanwhile), it evaluates again, so no change is lost to BullMQ's job-id dedupe.
 */
import pLimit from 'p-limit';
import type { CreateRequest, RecordRef } from '../connectors/types.js';
import type { CrmName, Lead } from '../src/model/lead.js';
import { alertEventsOf } from '../src/rules/alerts.js';
import { compileCondition } from '../src/rules/conditions.js';
import type { LeadPredicate } from '../src/rules/conditions.js';
import { evaluateLead } from '../src/rules/evaluate.js';
import type { EvaluateOutput } from '../src/rules/evaluate.js';
import { planLifecycleWrite } from '../src/rules/lifecycle.js';
import { cappedOwners, emptyPoolState, openCountsAfter, openLeadHolding } from '../src/rules/routing.js';
import type { PoolState } from '../src/rules/routing.js';
import type { TimeOffByRep } from '../src/rules/availability.js';
import type { StoredLead } from '../src/store/leads.js';
import { planWrites } from '../src/sync/plan.js';
import { createFieldValues, heldFields, planFieldWrites } from '../src/sync/field-plan.js';
import { restoreRuleState } from '../src/sync/restore.js';
import type { SmkValues } from '../src/sync/plan.js';
import { queueAlerts } from './alerts.js';
import { recordBreaches } from './availability.js';
import type { SyncContext } from './context.js';
import { matchLeadAccounts } from './accounts.js';
import { salesActivityFor } from './activities.js';
import { evaluateJobOptions } from './queues.js';
import { publishedModel } from './likelihood.js';
import type { LikelihoodModel } from '../src/rules/learn/model.js';
import { bothCrmsRead } from './read-state.js';
import { scheduleWriteback } from './schedule-writeback.js';

const MAX_ROUNDS = 5;
const ADVANCED_STAGES = new Set(['mql', 'sal', 'sql', 'opportunity', 'customer']);

export interface EvaluateResult {
  leadId: string;
  planned: number;
  rounds: number;
  skipped?: 'missing' | 'initial-read';
}

/**
 * The round-robin state, and (`withCounts`) each capped owner's open leads now, within
 * routing.capWindowDays: counted from the open-lead index, so a lead accepted, converted, recycled
 * or disqualified frees its owner's place. Only a routing decision needs the counts.
 */
async function loadPoolState(ctx: SyncContext, withCounts: boolean): Promise<PoolState> {
  const raw = await ctx.redis.get(ctx.keys.poolState());
  const stored = raw ? (JSON.parse(raw) as PoolState) : emptyPoolState();
  const owners = withCounts ? cappedOwners(ctx.config.file.routing) : [];
  if (owners.length === 0) return { wrr: stored.wrr ?? {}, open: {} };
  return { wrr: stored.wrr ?? {}, open: await ctx.openLeads.counts(owners, capWindowStart(ctx)) };
}

/** Leads handed off before this do not count against a cap (routing.capWindowDays; null: all do). */
function capWindowStart(ctx: SyncContext): number | null {
  const days = ctx.config.file.routing.capWindowDays;
  return days === null ? null : ctx.clock.now() - days * 86_400_000;
}

/** At most this many routing decisions are made in one hold of the routing lock. */
const ROUTING_ROUND = 64;

interface RoutingRequest {
  leadId: string;
  stored: StoredLead;
  inputs: EvaluateInputs;
  resolve: (output: EvaluateOutput) => void;
  reject: (err: unknown) => void;
}

/**
 * The routing decisions waiting in one process, made together: one hold of the routing lock, one
 * read and one write of the pool's state for all of them, each decided with the state the one
 * before it left (the round-robin's turn, its rep's new open lead). At the end of a full sync a
 * third of the people are handed off at once, and one lock round each kept the workers waiting.
 */
class RoutingRounds {
  private waiting: RoutingRequest[] = [];
  private running = false;

  constructor(private readonly ctx: SyncContext) {}

  decide(leadId: string, stored: StoredLead, inputs: EvaluateInputs): Promise<EvaluateOutput> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ leadId, stored, inputs, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      // The evaluations of this turn of the event loop join the first round.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.waiting.length > 0) {
        const round = this.waiting.splice(0, ROUTING_ROUND);
        try {
          const outputs = await this.ctx.locks.with('routing', () => this.decideRound(round));
          round.forEach((request, i) => request.resolve(outputs[i] as EvaluateOutput));
        } catch (err) {
          for (const request of round) request.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async decideRound(round: readonly RoutingRequest[]): Promise<EvaluateOutput[]> {
    const ctx = this.ctx;
    let poolState = await loadPoolState(ctx, true);
    const since = capWindowStart(ctx);
    const outputs: EvaluateOutput[] = [];
    for (const request of round) {
      const decided = evaluateWith(ctx, request.stored, poolState, request.inputs);
      outputs.push(decided);
      poolState = { ...poolState, wrr: decided.nextPoolState.wrr, open: openCountsAfter(poolState.open, request.stored.lead, decided.lead, since) };
    }
    await ctx.redis.set(ctx.keys.poolState(), JSON.stringify({ wrr: poolState.wrr }));
    // Counted before the lock is let go: the next round (of any process) sees these owners' new leads.
    await Promise.all(round.map((request, i) => ctx.openLeads.place(request.leadId, openLeadHolding((outputs[i] as EvaluateOutput).lead))));
    return outputs;
  }
}

const routingRounds = new WeakMap<SyncContext, RoutingRounds>();

function routingRoundsOf(ctx: SyncContext): RoutingRounds {
  let rounds = routingRounds.get(ctx);
  if (!rounds) {
    rounds = new RoutingRounds(ctx);
    routingRounds.set(ctx, rounds);
  }
  return rounds;
}

/** Whether an evaluation routed the lead (a handoff, or a reassignment): decided again under the routing lock. */
function routed(output: EvaluateOutput): boolean {
  return output.ownerChange !== undefined || output.events.some((e) => e.type === 'handoff' || (e.type === 'sla_escalated' && e.detail.action === 'reassign'));
}

/** What an evaluation reads beside the lead: the matched account's owner, the published model, reps' time off. */
interface EvaluateInputs {
  accountOwnerId: string | null;
  likelihood: LikelihoodModel | null;
  timeOff: TimeOffByRep;
}

function evaluateWith(ctx: SyncContext, stored: StoredLead, poolState: PoolState, inputs: EvaluateInputs): EvaluateOutput {
  return evaluateLead(stored.lead, ctx.config.file, new Date(ctx.clock.now()), {
    poolState,
    accountOwnerId: inputs.accountOwnerId,
    likelihood: inputs.likelihood,
    timeOff: inputs.timeOff,
    existingOwnerId: stored.lead.links.salesforce ? (stored.lead.sales.ownerId ?? null) : null,
    previous: stored.evaluatedSales ? { ...stored.lead, sales: stored.evaluatedSales } : null,
  });
}

function recordRef(lead: Lead, crm: CrmName): RecordRef | null {
  if (crm === 'hubspot') return lead.links.hubspot ? { object: 'contact', id: lead.links.hubspot.id } : null;
  return lead.links.salesforce ? { object: lead.links.salesforce.object, id: lead.links.salesforce.id } : null;
}

/** The inclusion rule, compiled once per config (sync.create.salesforceWhen: every condition holds). */
const inclusionRules = new WeakMap<object, LeadPredicate[]>();
function mayCreateInSalesforce(ctx: SyncContext, lead: Lead): boolean {
  const create = ctx.config.file.sync.create;
  let rules = inclusionRules.get(create);
  if (!rules) {
    rules = create.salesforceWhen.map((condition) => compileCondition(condition));
    inclusionRules.set(create, rules);
  }
  return rules.every((rule) => rule(lead));
}

/** Whether the config asks for this person to be created in the CRM that does not know them. */
function wantsCreate(ctx: SyncContext, lead: Lead, crm: CrmName): boolean {
  const create = ctx.config.file.sync.create;
  if (crm === 'salesforce') {
    if (lead.links.salesforce || !lead.links.hubspot) return false;
    const due = create.salesforce === 'always' || (create.salesforce === 'mql' && ADVANCED_STAGES.has(lead.stage?.current ?? ''));
    return due && mayCreateInSalesforce(ctx, lead);
  }
  if (lead.links.hubspot || !lead.links.salesforce) return false;
  return create.hubspot === 'always';
}

async function planCreates(ctx: SyncContext, lead: Lead, desired: SmkValues, ownerSalesforce: string | null, views: StoredLead['views']): Promise<number> {
  let planned = 0;
  if (!(wantsCreate(ctx, lead, 'hubspot') || wantsCreate(ctx, lead, 'salesforce')) || !(await bothCrmsRead(ctx))) return 0;
  for (const crm of ['hubspot', 'salesforce'] as const) {
    if (!lead.email || !wantsCreate(ctx, lead, crm)) continue;
    // Never twice: a lead whose create already succeeded (even if the link is not stored yet) is skipped.
    if (await ctx.redis.exists(ctx.keys.created(crm, lead.id))) continue;
    const ownerId = crm === 'salesforce' ? ownerSalesforce : ownerSalesforce ? ctx.owners.translate(ownerSalesforce, 'salesforce', 'hubspot') : null;
    const request: CreateRequest = {
      leadId: lead.id,
      email: lead.email,
      person: lead.person,
      company: lead.company,
      marketing: { source: lead.marketing.source ?? null, campaign: lead.marketing.campaign ?? null },
      smk: { ...desired, leadId: lead.id },
      ownerId,
      as: ctx.config.file.sync.create.salesforceAs === 'lead' ? 'Lead' : ctx.config.file.sync.create.salesforceAs === 'contact' ? 'Contact' : 'auto',
    };
    const account = lead.account?.[crm];
    if (account) request.account = { id: account.id, ownerId: account.ownerId ?? null };
    const source = crm === 'hubspot' ? 'salesforce' : 'hubspot';
    const fields = createFieldValues(ctx.syncFields, { crm: source, view: views[source] }, crm);
    if (Object.keys(fields).length > 0) request.fields = fields;
    await ctx.pending[crm].create.add(`create:${lead.id}`, lead.id, request, ctx.clock.now());
    planned += 1;
  }
  return planned;
}

/**
 * The lifecycle write, planned against what the contact is known to hold: the stage we wrote last
 * counts until HubSpot is read again, so evaluating twice before the echo writes nothing twice.
 */
function lifecycleToWrite(output: EvaluateOutput, held: string | undefined): EvaluateOutput['lifecycle'] {
  const stage = output.lead.stage?.current;
  if (!output.lifecycle || held === undefined || !stage) return output.lifecycle;
  const plan = planLifecycleWrite(held, stage);
  return plan.value === null ? null : { value: plan.value, clearFirst: plan.clearFirst };
}

/** Where an evaluation asks for a CRM's write-back drain: at once, or gathered by a many-lead job. */
type DrainRequest = (crm: CrmName) => Promise<void>;

async function evaluateOnce(ctx: SyncContext, leadId: string, requestDrain: DrainRequest): Promise<{ planned: number; missing: boolean }> {
  const found = await ctx.leads.get(leadId);
  if (!found) return { planned: 0, missing: true };
  const [heldHubspot, heldSalesforce] = await Promise.all([ctx.held.get('hubspot', leadId), ctx.held.get('salesforce', leadId)]);
  // Never evaluated here: start from what its records say (a rebuild, a reinstall), not from zero.
  const restored: StoredLead = found.lead.stage ? found : { ...found, lead: restoreRuleState(found.lead, [heldSalesforce?.values, heldHubspot?.values]) };
  // The lead's account in each CRM, matched against the accounts read (its owner is asked first at
  // a handoff); what sales logged on its Salesforce records (the rep's touch to the minute, and
  // engagement); the published likelihood model; the round-robin state; reps' time off.
  const [matched, activity, model, initialPoolState, timeOff] = await Promise.all([
    matchLeadAccounts(ctx, restored.lead),
    salesActivityFor(ctx, restored.lead),
    publishedModel(ctx),
    loadPoolState(ctx, false),
    ctx.timeOff.all(),
  ]);
  const { account: _previousMatch, activity: _previousActivity, ...bare } = restored.lead;
  const stored: StoredLead = { ...restored, lead: { ...bare, ...(matched.account ? { account: matched.account } : {}), ...(activity ? { activity } : {}) } };
  const inputs: EvaluateInputs = { accountOwnerId: matched.ownerId, likelihood: model, timeOff };
  let output = evaluateWith(ctx, stored, initialPoolState, inputs);
  if (routed(output)) {
    // Routing moves shared round-robin state: decided again under the routing lock with fresh
    // state, together with the other decisions waiting in this process.
    output = await routingRoundsOf(ctx).decide(leadId, stored, inputs);
  }
  const lead = output.lead;
  const routedOwnerId = output.ownerChange?.ownerId ?? stored.routedOwnerId;
  // Tasks go out through the lead's own record first (an outbox): see StoredLead.outboxTasks.
  const tasks = [...(stored.outboxTasks ?? []), ...(output.task ? [output.task] : [])].filter((t, i, all) => all.findIndex((o) => o.key === t.key) === i);
  // Alerts the same way: decided once, kept with the lead until their messages are queued.
  const wantsAlerts = ctx.config.file.alerts.routes.length > 0 || ctx.config.file.sla.escalate?.markAway !== undefined;
  const alerts = [...(stored.outboxAlerts ?? []), ...(wantsAlerts ? alertEventsOf(lead, output.events) : [])].filter((a, i, all) => all.findIndex((o) => o.kind === a.kind && o.at === a.at) === i);
  const { outboxTasks: _placed, outboxAlerts: _alerted, ...rest } = stored;
  const saved: StoredLead = { ...rest, lead, evaluatedSales: lead.sales, ...(routedOwnerId ? { routedOwnerId } : {}) };
  await ctx.leads.save(tasks.length > 0 || alerts.length > 0 ? { ...saved, ...(tasks.length > 0 ? { outboxTasks: tasks } : {}), ...(alerts.length > 0 ? { outboxAlerts: alerts } : {}) } : saved, { indexed: true });
  await ctx.events.append(output.events.map((e) => ({ type: e.type, leadId, at: e.at, detail: e.detail ?? {} })));
  // Only a lead that is or was open can be in the index: the others cost no Redis call.
  const holding = openLeadHolding(lead);
  if (holding || openLeadHolding(stored.lead)) await ctx.openLeads.place(leadId, holding);

  const desired: SmkValues = { ...output.desired, leadId };
  const ownerSalesforce = output.ownerChange?.ownerId ?? null;
  const hubspotRef = recordRef(lead, 'hubspot');
  const salesforceRef = recordRef(lead, 'salesforce');
  // What earlier plans still have waiting for these records: this plan supersedes it.
  const [pendingHubspot, pendingSalesforce] = await Promise.all([
    hubspotRef ? ctx.pending.hubspot.write.peek(`${hubspotRef.object}:${hubspotRef.id}`) : null,
    salesforceRef ? ctx.pending.salesforce.write.peek(`${salesforceRef.object}:${salesforceRef.id}`) : null,
  ]);
  if (ownerSalesforce) await ctx.owners.refresh();
  const fields = planFieldWrites({
    fields: ctx.syncFields,
    views: stored.views,
    targets: {
      ...(hubspotRef ? { hubspot: { object: hubspotRef.object, held: heldFields(heldHubspot?.values), pending: pendingHubspot?.payload.fields } } : {}),
      ...(salesforceRef ? { salesforce: { object: salesforceRef.object, held: heldFields(heldSalesforce?.values), pending: pendingSalesforce?.payload.fields } } : {}),
    },
    leadEmail: lead.email,
  });
  const plans = planWrites({
    fields,
    desired,
    targets: {
      ...(hubspotRef ? { hubspot: { ref: hubspotRef, held: heldHubspot?.values ?? {}, pending: pendingHubspot?.payload.smk ?? {}, ownerId: heldHubspot?.ownerId ?? null, writable: true } } : {}),
      ...(salesforceRef ? { salesforce: { ref: salesforceRef, held: heldSalesforce?.values ?? {}, pending: pendingSalesforce?.payload.smk ?? {}, ownerId: heldSalesforce?.ownerId ?? null, writable: true } } : {}),
    },
    owner: ownerSalesforce
      ? { salesforce: ownerSalesforce, hubspot: ctx.owners.translate(ownerSalesforce, 'salesforce', 'hubspot') }
      : undefined,
    lifecycleStage: lifecycleToWrite(output, heldHubspot?.lifecycle),
  });
  const now = ctx.clock.now();
  const touched = new Set<CrmName>();
  for (const plan of plans) {
    await ctx.pending[plan.crm].write.add(`${plan.update.ref.object}:${plan.update.ref.id}`, leadId, plan.update, now);
    touched.add(plan.crm);
  }
  let planned = plans.length;
  // A record created after the handoff (once both CRMs were read) goes to the rep routing chose then.
  const created = await planCreates(ctx, lead, desired, ownerSalesforce ?? routedOwnerId ?? null, stored.views);
  if (created > 0) {
    planned += created;
    for (const crm of ['hubspot', 'salesforce'] as const) if (wantsCreate(ctx, lead, crm)) touched.add(crm);
  }
  for (const task of tasks) {
    if (salesforceRef) {
      await ctx.pending.salesforce.task.add(`task:${task.key}`, leadId, { ...task, whoId: salesforceRef.id }, now);
      touched.add('salesforce');
      planned += 1;
    } else {
      // The rep's record is being created: the task waits for it (see writeback's linkCreated).
      await ctx.redis.set(ctx.keys.meta(`deferred-task:${leadId}`), JSON.stringify(task), 'EX', 7 * 86_400);
    }
  }
  await recordBreaches(ctx, alerts);
  await queueAlerts(ctx, lead, alerts);
  // Placed: the outbox is emptied (what remains of the run is idempotent on a rerun).
  if (tasks.length > 0 || alerts.length > 0) await ctx.leads.save(saved, { indexed: true });
  if (output.slaTimers) {
    const timers = [
      { at: output.slaTimers.dueAt, kind: 'due' as const },
      ...output.slaTimers.reminders.map((at) => ({ at, kind: 'reminder' as const })),
      ...(output.slaTimers.escalateAt ? [{ at: output.slaTimers.escalateAt, kind: 'escalate' as const }] : []),
    ];
    for (const timer of timers) {
      const delay = Date.parse(timer.at) - now;
      if (delay < -60_000) continue;
      await ctx.queues.sla.add('timer', { leadId, dueAt: timer.at, kind: timer.kind }, { jobId: `sla-${leadId}-${timer.kind}-${Date.parse(timer.at)}`, delay: Math.max(0, delay) });
    }
  }
  for (const crm of touched) await requestDrain(crm);
  return { planned, missing: false };
}

export async function processEvaluate(ctx: SyncContext, leadId: string, options: { bothRead?: boolean; counted?: boolean; requestDrain?: DrainRequest } = {}): Promise<EvaluateResult> {
  const requestDrain = options.requestDrain ?? ((crm: CrmName) => scheduleWriteback(ctx, crm));
  await ctx.clock.sync();
  // Before both CRMs were read in full, a lead may lack half its facts (the other CRM's record,
  // its owner, its conversion): scoring, routing and writing it then would write values that
  // change minutes later, and route people sales already has. The end of the initial read
  // evaluates every lead (jobs/poll.ts).
  if (!options.bothRead && !(await bothCrmsRead(ctx))) return { leadId, planned: 0, rounds: 0, skipped: 'initial-read' };
  return ctx.locks.with(`lead:${leadId}`, async () => {
    let planned = 0;
    let version = 0;
    for (let round = 1; round <= MAX_ROUNDS; round += 1) {
      version = await ctx.leads.version(leadId);
      const once = await evaluateOnce(ctx, leadId, requestDrain);
      if (once.missing) {
        await ctx.leads.markEvaluated(leadId, version);
        return { leadId, planned, rounds: round, skipped: 'missing' as const };
      }
      // Counted here, or once for a whole many-lead job by its caller (`counted`).
      if (round === 1 && !options.counted) await ctx.counters.add({ evaluated: 1 });
      planned += once.planned;
      // Unmoved: done, and recorded as done at this version in the same round trip (a
      // `sync --once` pass waiting on this lead may look at its planned writes now).
      if ((await ctx.leads.finishEvaluation(leadId, version)) === version) return { leadId, planned, rounds: round };
    }
    // Still moving: the change that moved it has its own evaluation queued.
    await ctx.leads.markEvaluated(leadId, version);
    return { leadId, planned, rounds: MAX_ROUNDS };
  });
}

/** How many leads of one many-lead job are evaluated at once (each under its own lock). */
const MANY_PARALLEL = 8;

/**
 * A many-lead job's drain requests, gathered: a CRM's drain is scheduled once `every` of its leads
 * have asked, and once more for those left when the job ends. Scheduling costs about seven Redis
 * commands; once per lead, it was a sixth of a full sync's. A batch fills no later for it: a handful
 * of leads plan a handful of writes, against batches of 100 and 200.
 */
function gatheredDrains(ctx: SyncContext, every: number): { request: DrainRequest; flush: () => Promise<void> } {
  const asked = new Map<CrmName, number>();
  return {
    request: async (crm) => {
      const n = (asked.get(crm) ?? 0) + 1;
      asked.set(crm, n % every);
      if (n >= every) await scheduleWriteback(ctx, crm);
    },
    flush: async () => {
      for (const [crm, n] of asked) if (n > 0) await scheduleWriteback(ctx, crm);
      asked.clear();
    },
  };
}

/**
 * Evaluates many leads in one job (see EvaluateJob.leadIds). A lead whose evaluation fails goes on
 * as a job of its own, with its own retries and its own entry in sync errors should they run out:
 * one bad lead never holds back the others of its batch.
 */
export async function processEvaluateMany(ctx: SyncContext, leadIds: readonly string[], cause = 'batch'): Promise<{ leads: number; planned: number; failed: number }> {
  const limit = pLimit(MANY_PARALLEL);
  const unique = [...new Set(leadIds)];
  if (!(await bothCrmsRead(ctx))) return { leads: unique.length, planned: 0, failed: 0 };
  // A job that dies before its drains are scheduled leaves its writes pending: its rerun plans them
  // again (a plan supersedes what waits, it does not subtract it) and schedules them.
  const drains = gatheredDrains(ctx, MANY_PARALLEL);
  let settled: Array<PromiseSettledResult<EvaluateResult>>;
  try {
    settled = await Promise.allSettled(unique.map((leadId) => limit(() => processEvaluate(ctx, leadId, { bothRead: true, counted: true, requestDrain: drains.request }))));
  } finally {
    await drains.flush();
  }
  const evaluated = settled.filter((r) => r.status === 'fulfilled' && r.value.rounds > 0 && r.value.skipped === undefined).length;
  await ctx.counters.add({ evaluated });
  const failed = unique.filter((_, i) => settled[i]?.status === 'rejected');
  if (failed.length > 0) {
    await ctx.queues.evaluate.addBulk(failed.map((leadId) => ({ name: 'evaluate', data: { leadId, cause: `${cause} (on its own after a failure)` }, opts: evaluateJobOptions(leadId) })));
  }
  const planned = settled.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value.planned : 0), 0);
  return { leads: unique.length, planned, failed: failed.length };
}
