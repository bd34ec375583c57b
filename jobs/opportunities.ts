/**
 * The opportunity feed of one CRM, read at the end of each poll: every opportunity read is mapped
 * to the leads of the people on it (the link index: Salesforce Contact id or HubSpot contact id ->
 * lead) and kept in each lead's snapshot as an outcome view (src/sync/opportunities.ts), which
 * composes the lead's `sales.opportunity*` fields; a lead whose rule inputs moved is evaluated, so
 * its stage moves to opportunity, customer or recycled and is written to both CRMs.
 *
 * A person the pipeline has not linked yet (a Contact whose page still waits in the ingest queue)
 * has the reading parked under the record; ingest adopts it when it links the record
 * (`adoptParkedOpportunities`). The cursor of a stream moves only after its page was applied: a
 * crash re-reads it, and re-applying a page changes nothing (the recency rule).
 */
import pLimit from 'p-limit';
import { z } from 'zod';
import { isCrmError } from '../connectors/errors.js';
import type { FeedPosition, OpportunityFact, OpportunityPage, RecordRef } from '../connectors/types.js';
import type { CrmName, Lead } from '../src/model/lead.js';
import { opportunityCoreSchema } from '../src/store/leads.js';
import type { StoredLead } from '../src/store/leads.js';
import { ruleInputsDiffer } from '../src/sync/merge.js';
import { applyOpportunity, withOpportunity } from '../src/sync/opportunities.js';
import type { OutcomeViews } from '../src/sync/opportunities.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { bothCrmsRead } from './read-state.js';

export interface OpportunityPollResult {
  pages: number;
  opportunities: number;
  /** Leads whose rule inputs changed. */
  changed: number;
  /** Readings kept for people not linked yet. */
  parked: number;
}

export interface AppliedPage {
  changed: number;
  stale: number;
  parked: number;
  leadIds: string[];
}

/** One person's reading of one opportunity (the fact without its list of people). */
interface Reading {
  fact: OpportunityFact;
  removed: boolean;
  readAt: number;
}

const APPLY_PARALLEL = 16;
/** How long a reading waits for its person to be linked. */
const PARKED_TTL_S = 30 * 86_400;

const parkedSchema = z.object({
  fact: opportunityCoreSchema.extend({
    name: z.string().nullable(),
    deleted: z.boolean(),
  }),
  removed: z.boolean(),
  readAt: z.number(),
});

export function opportunitiesEnabled(ctx: SyncContext, crm: CrmName): boolean {
  return crm === 'salesforce' ? ctx.config.file.sync.opportunities : ctx.config.file.sync.deals;
}

function parkedKey(ctx: SyncContext, crm: CrmName, ref: RecordRef): string {
  return ctx.keys.meta(`opportunities-parked:${crm}:${ref.object}:${ref.id}`);
}

/** The leads carrying one opportunity (so that one no longer listed on it can be taken off). */
function peopleKey(ctx: SyncContext, crm: CrmName, opportunityId: string): string {
  return ctx.keys.meta(`opportunity-people:${crm}:${crm === 'salesforce' ? opportunityId.slice(0, 15) : opportunityId}`);
}

function toEvaluateKey(ctx: SyncContext): string {
  return ctx.keys.meta('to-evaluate');
}

/**
 * The snapshot with these readings applied, and whether its rule inputs moved; null when nothing
 * changed. `stale` collects the opportunities whose reading was older than the one held.
 */
function applyReadings(stored: StoredLead, readings: readonly Reading[], stale?: Set<string>): { lead: Lead; outcomes: OutcomeViews; inputsChanged: boolean } | null {
  let outcomes = stored.outcomes;
  let moved = false;
  for (const r of readings) {
    const applied = applyOpportunity(outcomes, r.fact, r.removed, r.readAt);
    if (applied.views !== outcomes) outcomes = applied.views;
    if (applied.outcome === 'changed') moved = true;
    if (applied.outcome === 'stale') stale?.add(r.fact.id);
  }
  if (!outcomes || outcomes === stored.outcomes) return null;
  const lead = withOpportunity(stored.lead, outcomes);
  return { lead, outcomes, inputsChanged: moved && ruleInputsDiffer(stored.lead, lead) };
}

/**
 * Applies one page of the feed: each opportunity to the leads of its people, each lead under its
 * lock. Returns the leads whose rule inputs changed (their evaluation is enqueued).
 */
export async function applyOpportunityPage(ctx: SyncContext, crm: CrmName, page: OpportunityPage, readAt: number, options: { pass?: string } = {}): Promise<AppliedPage> {
  const result: AppliedPage = { changed: 0, stale: 0, parked: 0, leadIds: [] };
  for (const p of page.problems) {
    await ctx.errors.record({ crm, object: page.stream, recordId: p.ref?.id, code: p.code, message: p.message, field: p.field, value: p.value, stage: 'read' }, ctx.clock.now());
  }
  const byLead = new Map<string, Reading[]>();
  const add = (leadId: string, reading: Reading) => byLead.set(leadId, [...(byLead.get(leadId) ?? []), reading]);
  /** Per opportunity: the leads on it now, and those taken off it. */
  const membership: Array<{ id: string; key: string; on: string[]; off: string[] }> = [];
  for (const fact of page.opportunities) {
    const on: string[] = [];
    const off: string[] = [];
    const bare = { ...fact, contacts: [] };
    for (const person of fact.contacts) {
      const reading: Reading = { fact: bare, removed: person.removed, readAt };
      const leadId = await ctx.leads.linkOf(crm, person.ref.object, person.ref.id);
      if (!leadId) {
        const key = parkedKey(ctx, crm, person.ref);
        await ctx.redis.multi().hset(key, fact.id, JSON.stringify(reading)).expire(key, PARKED_TTL_S).exec();
        result.parked += 1;
        continue;
      }
      (person.removed || fact.deleted ? off : on).push(leadId);
      add(leadId, reading);
    }
    // A page that lists every person on each opportunity: a lead that carried it and is no longer
    // listed was taken off it (a HubSpot association removed; a role gone without a trace).
    const key = peopleKey(ctx, crm, fact.id);
    if (page.complete) {
      for (const leadId of await ctx.redis.smembers(key)) {
        if (on.includes(leadId) || off.includes(leadId)) continue;
        off.push(leadId);
        add(leadId, { fact: bare, removed: true, readAt });
      }
    }
    membership.push({ id: fact.id, key, on, off });
  }
  const changed: string[] = [];
  const touched: string[] = [];
  /** `leadId:opportunityId` whose reading was stale: the index keeps what the newer reading said. */
  const staleFor = new Set<string>();
  const limit = pLimit(APPLY_PARALLEL);
  await Promise.all([...byLead].map(([leadId, readings]) => limit(() => ctx.locks.with(`lead:${leadId}`, async () => {
    const stored = await ctx.leads.get(leadId);
    if (!stored) return;
    touched.push(leadId);
    const stale = new Set<string>();
    const applied = applyReadings(stored, readings, stale);
    for (const id of stale) staleFor.add(`${leadId}:${id}`);
    if (!applied) {
      result.stale += readings.length;
      return;
    }
    // The intent to evaluate is durable before the change (as in ingest): a rerun of this page
    // finds nothing new to apply, and still enqueues the evaluation its first run owed.
    if (applied.inputsChanged) await ctx.redis.sadd(toEvaluateKey(ctx), leadId);
    const lead = applied.inputsChanged ? { ...applied.lead, updatedAt: new Date(ctx.clock.now()).toISOString() } : applied.lead;
    await ctx.leads.save({ ...stored, lead, outcomes: applied.outcomes });
    if (applied.inputsChanged) {
      await ctx.leads.bumpVersion(leadId);
      changed.push(leadId);
    }
  }))));
  // The index follows what was applied (a crash before this re-reads the page, which restores it).
  for (const m of membership) {
    m.on = m.on.filter((leadId) => !staleFor.has(`${leadId}:${m.id}`));
    m.off = m.off.filter((leadId) => !staleFor.has(`${leadId}:${m.id}`));
    if (m.on.length === 0 && m.off.length === 0) continue;
    const tx = ctx.redis.multi();
    if (m.on.length > 0) tx.sadd(m.key, ...m.on);
    if (m.off.length > 0) tx.srem(m.key, ...m.off);
    await tx.exec();
  }
  const marked = touched.length > 0 ? await ctx.redis.smismember(toEvaluateKey(ctx), ...touched) : [];
  const toEvaluate = [...new Set([...changed, ...touched.filter((_, i) => marked[i] === 1)])];
  if (changed.length > 0) await ctx.counters.add({ changed: changed.length });
  if (toEvaluate.length > 0 && (await bothCrmsRead(ctx))) await enqueueEvaluate(ctx, toEvaluate, `${crm} opportunity change`, { pass: options.pass });
  if (toEvaluate.length > 0) await ctx.redis.srem(toEvaluateKey(ctx), ...toEvaluate);
  result.changed = changed.length;
  result.leadIds = changed;
  return result;
}

/**
 * Reads the CRM's opportunity feed from its cursors (`full`: from the start) and applies it page
 * by page; each stream's cursor moves after its page. Nothing when the CRM has no such feed or the
 * config leaves it off.
 */
export async function pollOpportunities(ctx: SyncContext, crm: CrmName, options: { full?: boolean; pass?: string } = {}): Promise<OpportunityPollResult> {
  const result: OpportunityPollResult = { pages: 0, opportunities: 0, changed: 0, parked: 0 };
  const connector = ctx.connectors[crm];
  if (!connector.opportunities || !opportunitiesEnabled(ctx, crm)) return result;
  const position: FeedPosition = options.full ? {} : await ctx.cursors.get(crm);
  const feed = connector.opportunities(position, { now: new Date(ctx.clock.now()), safetyMarginMs: ctx.config.file.sync.searchSafetyMargin });
  try {
    for await (const page of feed) {
      const applied = await applyOpportunityPage(ctx, crm, page, ctx.clock.now(), options);
      if (page.position) await ctx.cursors.set(crm, page.stream, page.position);
      result.pages += 1;
      result.opportunities += page.opportunities.length;
      result.changed += applied.changed;
      result.parked += applied.parked;
    }
  } catch (err) {
    // Not allowed to read them (a HubSpot app without crm.objects.deals.read, an integration user
    // without access to Opportunities): the people still sync; the report says what to grant.
    if (!isCrmError(err) || err.code !== 'PERMISSION') throw err;
    const what = crm === 'salesforce' ? 'Opportunities and OpportunityContactRoles (give the integration user read access to them, or set sync.opportunities: false)' : 'deals (add the crm.objects.deals.read scope to the app, or set sync.deals: false)';
    await ctx.errors.record({ crm, object: null, recordId: null, leadId: null, code: err.code, stage: 'read', message: `cannot read ${what}: ${err.message}` }, ctx.clock.now());
  }
  return result;
}

/**
 * Ingest has just linked `ref` to a lead: the opportunity readings parked for it, applied to the
 * snapshot about to be saved (the caller holds the lead's lock and saves). Returns null when none
 * are parked; `done` forgets them once the snapshot is saved.
 */
export async function adoptParkedOpportunities(ctx: SyncContext, crm: CrmName, ref: RecordRef, snapshot: StoredLead): Promise<{ snapshot: StoredLead; inputsChanged: boolean; done: () => Promise<void> } | null> {
  const key = parkedKey(ctx, crm, ref);
  const raw = await ctx.redis.hgetall(key);
  const readings: Reading[] = [];
  for (const value of Object.values(raw)) {
    const parsed = parkedSchema.safeParse(JSON.parse(value));
    if (parsed.success) readings.push({ ...parsed.data, fact: { ...parsed.data.fact, contacts: [] } });
  }
  if (readings.length === 0) return null;
  const applied = applyReadings(snapshot, readings);
  // Each opportunity's people set is a hash slot of its own (a cluster refuses one MULTI over
  // them): the sets first, the parked readings last, so that a crash in between applies them again.
  const done = async () => {
    await Promise.all(readings.map((r) => (r.removed || r.fact.deleted ? ctx.redis.srem(peopleKey(ctx, crm, r.fact.id), snapshot.lead.id) : ctx.redis.sadd(peopleKey(ctx, crm, r.fact.id), snapshot.lead.id))));
    await ctx.redis.del(key);
  };
  if (!applied) return { snapshot, inputsChanged: false, done };
  return { snapshot: { ...snapshot, lead: applied.lead, outcomes: applied.outcomes }, inputsChanged: applied.inputsChanged, done };
}
