/**
 * ingest: change-feed pages and webhook batches -> (read) -> link identity -> merge into the
 * stored snapshot by field ownership -> enqueue evaluate for leads whose rule inputs changed.
 * A bad record lands in sync errors and the rest go on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { RecordRef, RemovedRecord } from '../connectors/types.js';
import { SMK_FIELD_BY_KEY } from '../src/model/fields.js';
import type { SmkFieldKey } from '../src/model/fields.js';
import { leadFragmentSchema, normaliseEmail, salesDecisionSchema } from '../src/model/lead.js';
import type { CrmName, Lead, LeadFragment, LeadLinks } from '../src/model/lead.js';
import { leadIdFor } from '../src/store/leads.js';
import type { StoredLead } from '../src/store/leads.js';
import type { HeldValues } from '../src/store/held.js';
import { isHubSpotEcho, isReadBackOfOwnWrites } from '../src/sync/echo.js';
import { sameValue } from '../src/sync/equality.js';
import type { KnownValues } from '../src/sync/echo.js';
import { conversionToVerify, decideIdentity, decideMerge, linkedRecordId } from '../src/sync/identity.js';
import { mergeFragment } from '../src/sync/merge.js';
import { leadIdFromRecord } from '../src/sync/restore.js';
import type { SmkValues } from '../src/sync/plan.js';
import { asHeld, heldFields } from '../src/sync/field-plan.js';
import type { SyncContext } from './context.js';
import { PRIORITY } from './queues.js';
import type { IngestJob } from './queues.js';
import { enqueueEvaluate } from './enqueue.js';
import { adoptParkedOpportunities } from './opportunities.js';
import { bothCrmsRead } from './read-state.js';
import { releaseDeferredTask, scheduleWriteback } from './schedule-writeback.js';

export interface IngestResult {
  ingested: number;
  changed: number;
  removed: number;
  problems: number;
  /** Fragments older than what the leads already hold of their records (ignored). */
  stale: number;
}

/** How many people of one page are applied at once. */
const INGEST_PARALLEL = 16;

/**
 * A page's fragments by person: those that can be about one lead (the same normalised email, or
 * records tied by a conversion) stay together and in order; the groups are independent.
 */
export function groupByPerson(fragments: readonly LeadFragment[]): LeadFragment[][] {
  const groupOf = new Map<string, LeadFragment[]>();
  const groups: LeadFragment[][] = [];
  for (const fragment of fragments) {
    const raw = fragment as Partial<LeadFragment>;
    const keys = [
      typeof raw.email === 'string' ? normaliseEmail(raw.email) : null,
      typeof raw.recordId === 'string' ? `${raw.source}:${raw.recordId}` : null,
      typeof raw.identity?.convertedContactId === 'string' ? `${raw.source}:${raw.identity.convertedContactId}` : null,
    ].filter((k): k is string => !!k);
    const found = keys.map((k) => groupOf.get(k)).find((g) => g !== undefined);
    const group = found ?? [];
    if (!found) groups.push(group);
    group.push(fragment);
    for (const k of keys) if (!groupOf.has(k)) groupOf.set(k, group);
  }
  return groups;
}

/** Sales' own inputs that arrive through the `Smk_*__c` fields in Salesforce. */
function salesInputsFromSmk(fragment: LeadFragment): void {
  if (fragment.source !== 'salesforce') return;
  const smk = fragment.smk as SmkValues;
  const decision = salesDecisionSchema.safeParse(smk.salesDecision?.toLowerCase());
  if (fragment.sales.decision == null && decision.success) fragment.sales.decision = decision.data;
  if (fragment.sales.rejectReason == null && smk.rejectReason) fragment.sales.rejectReason = smk.rejectReason;
  if (fragment.sales.disqualifyReason == null && smk.disqualifyReason) fragment.sales.disqualifyReason = smk.disqualifyReason;
  if (fragment.sales.qualityRating == null && smk.leadQuality && Number.isFinite(Number(smk.leadQuality))) {
    fragment.sales.qualityRating = Number(smk.leadQuality);
  }
}

type Resolved =
  /** `linked`: the record's link already names this lead. */
  | { leadId: string; linked: boolean; convertedFrom?: string }
  | { ambiguous: string; leadId: string };

/**
 * A Contact whose email names a lead linked to a Salesforce Lead may be that Lead converted: the
 * Contact does not say so (only the Lead names its ConvertedContactId), so the Lead is read to see.
 * Returns the Lead's id when it was converted into this Contact.
 */
async function convertedLeadOf(ctx: SyncContext, leadRecordId: string, contactId: string): Promise<string | null> {
  // A pair found not converted is not read again for a while: a real duplicate (a Contact with a
  // Lead's email) would otherwise cost a call on every read of the Contact. A conversion made
  // meanwhile changes the Lead, whose own read then links the two (the Lead-first path).
  const checked = ctx.keys.meta(`not-converted:${leadRecordId}:${contactId}`);
  if (await ctx.redis.exists(checked)) return null;
  const read = await ctx.connectors.salesforce.read([{ object: 'Lead', id: leadRecordId }]);
  const lead = read.fragments.find((f) => f.recordId === leadRecordId);
  if (lead?.identity.convertedContactId === contactId) return leadRecordId;
  await ctx.redis.set(checked, '1', 'EX', 3600);
  return null;
}

/**
 * The id of a lead this record would start: the one the record carries from an earlier install
 * (smk_lead_id, when no stored lead has it), so that a rebuild keeps every id; else one derived
 * from the record, so that a retried ingest of the same first record makes the same lead.
 */
async function newLeadIdFor(ctx: SyncContext, fragment: LeadFragment): Promise<string> {
  const carried = leadIdFromRecord(fragment.smk);
  if (carried && !(await ctx.redis.exists(ctx.keys.lead(carried)))) return carried;
  return leadIdFor(fragment.source, fragment.object, fragment.recordId);
}

/**
 * How long an ingest waits, one try after another, for a lead whose email another ingest has just
 * claimed to be saved: about 5 s in all. A lost claim's first retry goes at once.
 */
const CLAIMED_EMAIL_WAITS_MS = [0, 20, 50, 100, 200, 400, 800, 1000, 1200, 1200];

async function resolveLeadId(ctx: SyncContext, fragment: LeadFragment): Promise<Resolved> {
  const email = normaliseEmail(fragment.email);
  for (let attempt = 0; ; attempt += 1) {
    const byRecord = await ctx.leads.linkOf(fragment.source, fragment.object, fragment.recordId);
    let byEmail: { leadId: string; links: LeadLinks } | null = null;
    if (!byRecord && email) {
      const leadId = await ctx.leads.leadByEmail(email);
      const stored = leadId ? await ctx.leads.get(leadId) : null;
      if (leadId && stored) byEmail = { leadId, links: stored.lead.links };
    }
    // Only a record no lead is linked to yet can start one (a re-read costs no look-up here).
    const newLeadId = byRecord ?? (await newLeadIdFor(ctx, fragment));
    let decision = decideIdentity(fragment, { byRecord, byConversion: null, byEmail }, newLeadId);
    let convertedFrom: string | undefined;
    const toVerify = decision.kind === 'ambiguous' ? conversionToVerify(fragment, byEmail) : null;
    if (toVerify && byEmail && (await convertedLeadOf(ctx, toVerify, fragment.recordId))) {
      convertedFrom = toVerify;
      decision = decideIdentity(fragment, { byRecord, byConversion: byEmail.leadId, byEmail }, newLeadId);
    }
    if (decision.kind === 'ambiguous') return { ambiguous: decision.message, leadId: decision.leadId };
    if (decision.kind === 'new' && email) {
      // Another worker may be creating the lead for this email right now: the first one wins.
      const claimed = await ctx.leads.claimEmail(email, decision.leadId);
      if (!claimed && (await ctx.leads.leadByEmail(email)) !== decision.leadId) {
        // The claimer saves its lead a moment after its claim (the same person read from the
        // other CRM at the same time): wait for it, then join it.
        const wait = CLAIMED_EMAIL_WAITS_MS[attempt];
        if (wait === undefined) break;
        await sleep(wait);
        continue;
      }
    }
    return { leadId: decision.leadId, linked: byRecord === decision.leadId, ...(convertedFrom ? { convertedFrom } : {}) };
  }
  throw new Error(`could not settle the identity of ${fragment.source} ${fragment.object} ${fragment.recordId}: its email is claimed by a lead that was not saved within 5 s`);
}

type Applied = 'changed' | 'same' | 'stale' | 'problem';
type AppliedTo = { outcome: Applied; leadId: string | null };

/** Applies one fragment under its lead's lock; returns whether the rule inputs changed. */
async function applyFragment(ctx: SyncContext, fragment: LeadFragment, readAt: number): Promise<AppliedTo> {
  salesInputsFromSmk(fragment);
  const resolved = await resolveLeadId(ctx, fragment);
  if ('ambiguous' in resolved) {
    await ctx.errors.record({
      crm: fragment.source, object: fragment.object, recordId: fragment.recordId, leadId: resolved.leadId,
      code: 'AMBIGUOUS_MATCH', message: resolved.ambiguous, stage: 'identity', field: 'email',
    }, ctx.clock.now());
    return { outcome: 'problem', leadId: null };
  }
  const { leadId } = resolved;
  const outcome = await ctx.locks.with(`lead:${leadId}`, async (): Promise<Applied> => {
    const stored = await ctx.leads.get(leadId);
    const nowIso = new Date(ctx.clock.now()).toISOString();
    const decision = mergeFragment(stored, { leadId, fragment, readAt, nowIso, ownership: ctx.ownership, ...(resolved.convertedFrom ? { convertedFrom: resolved.convertedFrom } : {}) });
    if (decision.outcome === 'stale') return 'stale';
    if (decision.outcome === 'not-current') return 'same';
    const { lead, views } = decision;
    // Asked before this read is recorded as what the record holds (below).
    const ownWritesOnly = decision.changed && (await readBackOfOwnWrites(ctx, fragment, stored, decision));
    let conflict: string | null = null;
    if (lead.email !== decision.emailBefore) {
      if (decision.emailBefore) await ctx.leads.removeEmail(decision.emailBefore, leadId);
      if (lead.email) conflict = await claimEmail(ctx, lead.email, leadId);
    }
    // Links first, so that a crash after them re-finds the same lead. A link already in place (a
    // re-read) is not written again; nor is a converted Lead's Contact link that the stored lead
    // already had (its save came after the link was set).
    if (!resolved.linked) await ctx.leads.setLink(fragment.source, fragment.object, fragment.recordId, leadId);
    const links = lead.links;
    if (links.salesforce && fragment.source === 'salesforce' && links.salesforce.id !== fragment.recordId && stored?.lead.links.salesforce?.id !== links.salesforce.id) {
      await ctx.leads.setLink('salesforce', links.salesforce.object, links.salesforce.id, leadId);
    }
    // What a record holds is known for the record the lead writes to, not for a converted Lead;
    // when the lead moves to another record (a conversion), what the old one held no longer counts.
    if (decision.linkedBefore !== undefined && decision.linkedBefore !== decision.linkedAfter) await ctx.held.forget(fragment.source, leadId);
    if (decision.holdsCurrent) {
      const lifecycle = fragment.source === 'hubspot' ? fragment.marketing.lifecycleStage : null;
      await ctx.held.recordRead(fragment.source, leadId, heldFrom(fragment), readAt, fragment.sales.ownerId ?? null, typeof lifecycle === 'string' ? lifecycle : null);
    }
    // The intent to evaluate is durable before the change is: a worker killed after saving the lead
    // but before this job enqueues its evaluation leaves the mark, and the job's rerun (which finds
    // nothing new to apply) still enqueues it.
    // The record is newly the one the lead follows: opportunity readings parked for it (read before
    // it was linked, jobs/opportunities.ts) are applied with this save.
    let snapshot: StoredLead = { ...(stored ?? {}), lead, views };
    const adopted = decision.linkedAfter !== undefined && decision.linkedBefore !== decision.linkedAfter
      ? await adoptParkedOpportunities(ctx, fragment.source, { object: fragment.source === 'hubspot' ? 'contact' : (links.salesforce?.object ?? 'Lead'), id: decision.linkedAfter }, snapshot)
      : null;
    if (adopted) snapshot = adopted.snapshot;
    const changed = (decision.changed && !ownWritesOnly) || (adopted?.inputsChanged ?? false);
    if (changed) await markForEvaluation(ctx, [leadId]);
    if (decision.save || adopted) await ctx.leads.save(snapshot, { indexed: stored !== null });
    await adopted?.done();
    if (fragment.source === 'salesforce' && decision.linkedBefore === undefined && links.salesforce) {
      if (await releaseDeferredTask(ctx, leadId, links.salesforce.id, ctx.clock.now())) await scheduleWriteback(ctx, 'salesforce');
    }
    if (conflict) {
      await ctx.errors.record({
        crm: fragment.source, object: fragment.object, recordId: fragment.recordId, leadId,
        code: 'EMAIL_CONFLICT', stage: 'identity', field: 'email', message: conflict,
      }, ctx.clock.now());
    }
    if (changed) {
      await ctx.leads.bumpVersion(leadId);
      return conflict ? 'problem' : 'changed';
    }
    return conflict ? 'problem' : 'same';
  });
  return { outcome, leadId };
}

/** What a record is known to hold (the held store), as echo recognition compares it. */
function knownFromHeld(held: HeldValues): KnownValues {
  return { smk: held.values, ...(held.lifecycle !== undefined ? { lifecycle: held.lifecycle } : {}), ownerId: held.ownerId, fields: heldFields(held.values) };
}

/**
 * A record read back with only what we wrote there ourselves changed (the catch-up after a sync):
 * saved, but not evaluated again (src/sync/echo.ts isReadBackOfOwnWrites). Looked at only when the
 * record is the lead's already, its links and engagement are unchanged, and the merge saw a change.
 */
async function readBackOfOwnWrites(ctx: SyncContext, fragment: LeadFragment, stored: StoredLead | null, decision: { lead: Lead; views: StoredLead['views'] }): Promise<boolean> {
  if (!stored || stored.lead.email !== decision.lead.email || !sameValue(stored.lead.links, decision.lead.links)
    || !sameValue(stored.lead.marketing.engagement, decision.lead.marketing.engagement)) return false;
  const previous = stored.views[fragment.source];
  const next = decision.views[fragment.source];
  if (!previous || !next) return false;
  const held = await ctx.held.get(fragment.source, stored.lead.id);
  return isReadBackOfOwnWrites(fragment.source, previous, next, held ? knownFromHeld(held) : null, ctx.syncFields);
}

function toEvaluateKey(ctx: SyncContext): string {
  return ctx.keys.meta('to-evaluate');
}

/** Marks leads whose change is about to be saved: their evaluation is owed (see processIngest). */
async function markForEvaluation(ctx: SyncContext, leadIds: string[]): Promise<void> {
  if (leadIds.length > 0) await ctx.redis.sadd(toEvaluateKey(ctx), ...leadIds);
}

/** Of these leads, those whose evaluation an earlier, interrupted run of the job still owes. */
async function owedEvaluations(ctx: SyncContext, leadIds: string[]): Promise<string[]> {
  if (leadIds.length === 0) return [];
  const marked = await ctx.redis.smismember(toEvaluateKey(ctx), ...leadIds);
  return leadIds.filter((_, i) => marked[i] === 1);
}

/**
 * Takes the email index for this lead, unless another lead holds the email: that is a conflict an
 * admin settles (two records of one person), reported naming both; the index stays with its holder.
 */
async function claimEmail(ctx: SyncContext, email: string, leadId: string): Promise<string | null> {
  if (await ctx.leads.claimEmail(email, leadId)) return null;
  const holder = await ctx.leads.leadByEmail(email);
  if (!holder || holder === leadId) return null;
  const other = await ctx.leads.get(holder);
  const records = other ? describeLinks(other.lead.links) : 'no record';
  return `the email was changed to one that lead ${holder} (${records}) already has; both records stay as they are: merge the two people in the CRMs, or change one email back`;
}

function describeLinks(links: LeadLinks): string {
  const parts: string[] = [];
  if (links.hubspot) parts.push(`HubSpot contact ${links.hubspot.id}`);
  if (links.salesforce) parts.push(`Salesforce ${links.salesforce.object} ${links.salesforce.id}`);
  return parts.join(', ') || 'no record';
}

/** The `smk` values a record holds, keyed by field, as read, with its synced fields (`field:<name>`). */
function heldFrom(fragment: LeadFragment): SmkValues {
  const out: SmkValues = {};
  for (const [key, value] of Object.entries(fragment.smk)) {
    if (SMK_FIELD_BY_KEY.has(key as SmkFieldKey)) out[key as SmkFieldKey] = value;
  }
  return { ...out, ...asHeld(fragment.fields) } as SmkValues;
}

/** Returns the leads whose rule inputs changed. */
async function applyRemoval(ctx: SyncContext, crm: CrmName, removed: RemovedRecord): Promise<string[]> {
  const leadId = await ctx.leads.linkOf(crm, removed.ref.object, removed.ref.id);
  if (!leadId) return [];
  if (removed.reason === 'merged' && removed.survivorId) {
    const survivorLead = await ctx.leads.linkOf(crm, removed.ref.object, removed.survivorId);
    if (survivorLead && survivorLead !== leadId) return mergeIntoOtherLead(ctx, crm, removed as RemovedRecord & { survivorId: string }, leadId, survivorLead);
  }
  return ctx.locks.with(`lead:${leadId}`, async () => {
    const stored = await ctx.leads.get(leadId);
    await ctx.leads.removeLink(crm, removed.ref.object, removed.ref.id);
    if (!stored || linkedRecordId(stored.lead.links, crm) !== removed.ref.id) return [];
    if (removed.reason === 'merged' && removed.survivorId) {
      // HubSpot keeps the surviving id, which no other lead knows: the lead follows it.
      await ctx.leads.setLink(crm, removed.ref.object, removed.survivorId, leadId);
      const links = { ...stored.lead.links, hubspot: { id: removed.survivorId, mergedIds: [...(stored.lead.links.hubspot?.mergedIds ?? []), removed.ref.id] } };
      await markForEvaluation(ctx, [leadId]);
      await ctx.leads.save({ ...stored, lead: { ...stored.lead, links } });
      await ctx.leads.bumpVersion(leadId);
      return [leadId];
    }
    // The record is gone: nothing said of it in the report (a merge conflict included) holds any more.
    await ctx.errors.resolveRecord(crm, removed.ref.object, removed.ref.id);
    const links: LeadLinks = { ...stored.lead.links };
    const views = { ...stored.views };
    if (crm === 'hubspot') delete links.hubspot;
    else delete links.salesforce;
    delete views[crm];
    await ctx.held.forget(crm, leadId);
    if (!links.hubspot && !links.salesforce) {
      await deleteLead(ctx, stored, { crm, reason: removed.reason });
      return [];
    }
    await markForEvaluation(ctx, [leadId]);
    await ctx.leads.save({ ...stored, lead: { ...stored.lead, links }, views });
    await ctx.leads.bumpVersion(leadId);
    return [leadId];
  });
}

async function deleteLead(ctx: SyncContext, stored: StoredLead, detail: Record<string, unknown>): Promise<void> {
  const leadId = stored.lead.id;
  if (stored.lead.email) await ctx.leads.removeEmail(stored.lead.email, leadId);
  await Promise.all([ctx.held.forget('hubspot', leadId), ctx.held.forget('salesforce', leadId)]);
  await ctx.leads.delete(leadId);
  await ctx.events.append([{ type: 'removed', leadId, at: new Date(ctx.clock.now()).toISOString(), detail }]);
}

/**
 * HubSpot merged a contact into another that a different lead follows. The rule (decideMerge):
 * the survivor's lead stays; a Salesforce twin of the merged contact moves to it when it has none,
 * else the survivor keeps its own twin and the merged contact's twin stays on a lead of its own,
 * reported as MERGE_CONFLICT (the same person twice in Salesforce) and never recreated in HubSpot.
 */
async function mergeIntoOtherLead(ctx: SyncContext, crm: CrmName, removed: RemovedRecord & { survivorId: string }, mergedLead: string, survivorLead: string): Promise<string[]> {
  return ctx.locks.with(`lead:${mergedLead}`, async () => {
    const merged = await ctx.leads.get(mergedLead);
    if (!merged || linkedRecordId(merged.lead.links, crm) !== removed.ref.id) {
      await ctx.leads.removeLink(crm, removed.ref.object, removed.ref.id);
      return [];
    }
    const adopted = await ctx.locks.with(`lead:${survivorLead}`, async () => {
      const survivor = await ctx.leads.get(survivorLead);
      if (!survivor) return { kind: 'absorb' as const, survivorTwin: undefined };
      const decision = decideMerge(merged.lead.links, survivor.lead.links);
      if (decision.kind === 'adopt-twin' && merged.lead.links.salesforce) {
        const twin = merged.lead.links.salesforce;
        const views = { ...survivor.views, ...(merged.views.salesforce ? { salesforce: merged.views.salesforce } : {}) };
        await ctx.leads.setLink('salesforce', twin.object, twin.id, survivorLead);
        if (twin.convertedFrom) await ctx.leads.setLink('salesforce', 'Lead', twin.convertedFrom, survivorLead);
        await markForEvaluation(ctx, [survivorLead]);
        await ctx.leads.save({ ...survivor, lead: { ...survivor.lead, links: { ...survivor.lead.links, salesforce: twin } }, views });
        await ctx.leads.bumpVersion(survivorLead);
      }
      return { kind: decision.kind, survivorTwin: survivor.lead.links.salesforce };
    });
    await ctx.leads.removeLink(crm, removed.ref.object, removed.ref.id);
    if (adopted.kind !== 'conflict') {
      await deleteLead(ctx, merged, { crm, reason: 'merged', into: survivorLead });
      return [survivorLead];
    }
    const twin = merged.lead.links.salesforce;
    const links: LeadLinks = { ...merged.lead.links };
    delete links.hubspot;
    const views = { ...merged.views };
    delete views.hubspot;
    await ctx.held.forget('hubspot', mergedLead);
    // The person is in HubSpot (as the survivor): never create them there again for this lead.
    await ctx.redis.set(ctx.keys.created('hubspot', mergedLead), removed.survivorId);
    await markForEvaluation(ctx, [mergedLead, survivorLead]);
    await ctx.leads.save({ ...merged, lead: { ...merged.lead, links }, views });
    await ctx.leads.bumpVersion(mergedLead);
    if (twin && adopted.survivorTwin) {
      await ctx.errors.record({
        crm: 'salesforce', object: twin.object, recordId: twin.id, leadId: mergedLead, code: 'MERGE_CONFLICT', stage: 'identity',
        message: `HubSpot merged contact ${removed.ref.id} into ${removed.survivorId}, which syncs with Salesforce ${adopted.survivorTwin.object} ${adopted.survivorTwin.id}; this ${twin.object} was the merged contact's twin and is no longer synced with HubSpot: merge it into ${adopted.survivorTwin.id} in Salesforce`,
      }, ctx.clock.now());
    }
    return [survivorLead, mergedLead];
  });
}

/**
 * A webhook's refs less those whose every named change is a value the record is known to hold
 * (what we wrote, or last read): the echo of our own write-back, which a read would only confirm.
 */
async function withoutEchoes(ctx: SyncContext, crm: CrmName, refs: NonNullable<IngestJob['refs']>, changes: NonNullable<IngestJob['changes']>): Promise<NonNullable<IngestJob['refs']>> {
  if (crm !== 'hubspot') return refs;
  const out: NonNullable<IngestJob['refs']> = [];
  for (const ref of refs) {
    const named = changes[ref.id];
    if (!named || named.length === 0) {
      out.push(ref);
      continue;
    }
    // What is being written now (the webhook can beat the write's acknowledgement), then what the
    // record is known to hold. An entry is acknowledged only after its values are held, so one of
    // the two always has them.
    const inFlight = (await ctx.pending.hubspot.write.peek(`${ref.object}:${ref.id}`))?.payload ?? null;
    const leadId = await ctx.leads.linkOf(crm, ref.object, ref.id);
    const held = leadId ? await ctx.held.get(crm, leadId) : null;
    const known: KnownValues[] = [];
    if (inFlight) known.push({ smk: inFlight.smk, ...(inFlight.lifecycleStage ? { lifecycle: inFlight.lifecycleStage.value } : {}), ...(inFlight.ownerId !== undefined ? { ownerId: inFlight.ownerId } : {}), ...(inFlight.fields ? { fields: inFlight.fields } : {}) });
    if (held) known.push(knownFromHeld(held));
    if (!isHubSpotEcho(named, known, ctx.syncFields)) out.push(ref);
  }
  return out;
}

/**
 * `retried`: this job ran before (a failed attempt, or a worker that died holding it): the
 * evaluations its earlier run marked but may not have enqueued are enqueued now.
 */
export async function processIngest(ctx: SyncContext, job: IngestJob, options: { retried?: boolean; via?: string } = {}): Promise<IngestResult> {
  await ctx.clock.sync();
  const connector = ctx.connectors[job.crm];
  const fragments: LeadFragment[] = [];
  const removed: RemovedRecord[] = [...(job.removed ?? [])];
  let problems = 0;

  // A feed page waits in Redis; the job names it. Expired (a retry days later): read its records again.
  const stored = job.page ? await ctx.pages.get(job.page) : null;
  const pageRefs = job.page && !stored ? (job.refs ?? []) : [];
  const refsToRead = job.page ? pageRefs : (job.refs ?? []);
  const toRead = !job.page && job.refs && job.changes ? await withoutEchoes(ctx, job.crm, job.refs, job.changes) : refsToRead;
  // When each fragment was read: a page carries its read time; records read here are read now.
  const readAtOf = new Map<LeadFragment, number>();
  if (toRead.length > 0) {
    for (let i = 0; i < toRead.length; i += connector.batchSizes.read) {
      const refs = toRead.slice(i, i + connector.batchSizes.read) as RecordRef[];
      const readAt = ctx.clock.now();
      const read = await connector.read(refs);
      for (const f of read.fragments) readAtOf.set(f, readAt);
      fragments.push(...read.fragments);
      removed.push(...read.removed);
      for (const p of read.problems) {
        problems += 1;
        await ctx.errors.record({ crm: job.crm, object: p.ref?.object, recordId: p.ref?.id, code: p.code, message: p.message, field: p.field, value: p.value, stage: 'read' }, ctx.clock.now());
      }
    }
  }
  for (const p of job.problems ?? []) {
    problems += 1;
    await ctx.errors.record({ crm: job.crm, object: p.ref?.object, recordId: p.ref?.id, code: p.code, message: p.message, field: p.field, value: p.value, stage: 'map' }, ctx.clock.now());
  }
  for (const raw of job.fragments ?? []) fragments.push(raw);
  if (stored) {
    fragments.push(...stored.fragments);
    removed.push(...stored.removed);
    for (const p of stored.problems) {
      problems += 1;
      await ctx.errors.record({ crm: job.crm, object: p.ref?.object, recordId: p.ref?.id, code: p.code, message: p.message, field: p.field, value: p.value, stage: 'map' }, ctx.clock.now());
    }
  }

  const changed = new Set<string>();
  const touched = new Set<string>();
  const synced: Array<{ object: string; id: string }> = [];
  let ingested = 0;
  let stale = 0;
  const applyOne = async (raw: LeadFragment): Promise<void> => {
    const parsed = leadFragmentSchema.safeParse(raw);
    if (!parsed.success) {
      problems += 1;
      await ctx.errors.record({
        crm: job.crm, object: raw.object, recordId: raw.recordId, code: 'VALIDATION', stage: 'map',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      }, ctx.clock.now());
      return;
    }
    try {
      const { outcome, leadId } = await applyFragment(ctx, parsed.data, readAtOf.get(raw) ?? job.readAt);
      if (outcome === 'problem') problems += 1;
      else {
        ingested += 1;
        synced.push({ object: parsed.data.object, id: parsed.data.recordId });
      }
      if (outcome === 'stale') stale += 1;
      if (leadId) touched.add(leadId);
      if (outcome === 'changed' && leadId) changed.add(leadId);
    } catch (err) {
      // Only a record whose data breaks the code (a type or range error) is reported and skipped.
      // Anything else (the CRM, Redis going away, a lead locked by a worker that died) retries the
      // job: re-applying the page is harmless, and a change is never dropped for a passing fault.
      if (!(err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError)) throw err;
      problems += 1;
      await ctx.errors.record({
        crm: job.crm, object: parsed.data.object, recordId: parsed.data.recordId, code: 'INGEST_FAILED', stage: 'map',
        message: err instanceof Error ? err.message : String(err),
      }, ctx.clock.now());
    }
  };
  // Different people are applied side by side (each under its lead's lock; Redis waits dominate),
  // the fragments of one person in page order.
  const limit = pLimit(INGEST_PARALLEL);
  await Promise.all(groupByPerson(fragments).map((group) => limit(async () => {
    for (const raw of group) await applyOne(raw);
  })));
  for (const r of removed) {
    for (const leadId of await applyRemoval(ctx, job.crm, r)) changed.add(leadId);
  }
  // Read and merged: whatever the report said of reading or linking these records is no longer true.
  await ctx.errors.resolveRead(job.crm, synced);
  if (changed.size > 0) await ctx.counters.add({ changed: changed.size });
  const owed = options.retried ? await owedEvaluations(ctx, [...touched].filter((id) => !changed.has(id))) : [];
  const toEvaluate = [...changed, ...owed];
  // During the initial read nothing is evaluated yet: its end evaluates every lead (jobs/poll.ts).
  // A webhook delivery's evaluations keep its place: behind feed pages, SLA work and retries.
  if (toEvaluate.length > 0 && (await bothCrmsRead(ctx))) {
    await enqueueEvaluate(ctx, toEvaluate, `${job.crm} change`, { pass: job.pass, ...(options.via === 'webhook' ? { priority: PRIORITY.webhook } : {}) });
  }
  // Enqueued (or covered by the initial read's evaluation of every lead): nothing is owed any more.
  if (toEvaluate.length > 0) await ctx.redis.srem(toEvaluateKey(ctx), ...toEvaluate);
  // Applied: the page's data is not kept (a rerun of this job reads its records again instead).
  if (job.page) await ctx.pages.delete(job.page);
  return { ingested, changed: changed.size, removed: removed.length, problems, stale };
}
