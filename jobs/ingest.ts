/**
 * ingest: change-feed pages and webhook batches -> (read) -> link identity -> merge into the
 * stored snapshot by field ownership -> enqueue evaluate for leads whose rule inputs changed.
 * A bad record lands in sync errors and the rest go on.
 */
import pLimit from 'p-limit';
import type { RecordRef, RemovedRecord } from '../connectors/types.js';
import { normaliseSmkValue, SMK_FIELD_BY_KEY, SMK_FIELDS } from '../src/model/fields.js';
import type { SmkFieldKey } from '../src/model/fields.js';
import { leadFragmentSchema, normaliseEmail, salesDecisionSchema } from '../src/model/lead.js';
import type { CrmName, Lead, LeadFragment, LeadLinks } from '../src/model/lead.js';
import { leadIdFor } from '../src/store/leads.js';
import type { StoredLead } from '../src/store/leads.js';
import { composeLead, flattenFragment, nextView, relevantSignature } from '../src/sync/compose.js';
import type { SourceView } from '../src/sync/compose.js';
import { appendEngagement, eventsFromCounters } from '../src/sync/engagement.js';
import { decideIdentity, linkedRecordId } from '../src/sync/identity.js';
import type { SmkValues } from '../src/sync/plan.js';
import type { SyncContext } from './context.js';
import type { IngestJob } from './queues.js';
import { bothCrmsRead } from './evaluate.js';
import { evaluateJobOptions } from './queues.js';
import { releaseDeferredTask, scheduleWriteback } from './writeback.js';

export interface IngestResult {
  ingested: number;
  changed: number;
  removed: number;
  problems: number;
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

function emptyLead(id: string, email: string | null, at: string): Lead {
  return { id, email, updatedAt: at, links: {}, person: {}, company: {}, marketing: { engagement: [] }, sales: {} };
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

function withLink(links: LeadLinks, fragment: LeadFragment): LeadLinks {
  if (fragment.source === 'hubspot') {
    return { ...links, hubspot: { id: fragment.recordId, ...(fragment.identity.mergedIds?.length ? { mergedIds: fragment.identity.mergedIds } : {}) } };
  }
  const accountId = fragment.identity.accountId ?? undefined;
  // A converted Lead hands its identity to the Contact it became; writes then go to the Contact.
  if (fragment.object === 'Lead' && fragment.identity.convertedContactId) {
    return {
      ...links,
      salesforce: {
        object: 'Contact',
        id: fragment.identity.convertedContactId,
        convertedFrom: fragment.recordId,
        ...(fragment.identity.convertedAccountId ? { accountId: fragment.identity.convertedAccountId } : {}),
      },
    };
  }
  const convertedFrom = links.salesforce?.convertedFrom;
  return {
    ...links,
    salesforce: {
      object: fragment.object === 'Contact' ? 'Contact' : 'Lead',
      id: fragment.recordId,
      ...(convertedFrom && fragment.object === 'Contact' ? { convertedFrom } : {}),
      ...(accountId ? { accountId } : {}),
    },
  };
}

/** Whether this fragment is the record the lead is linked to now (a converted Lead is history). */
function isCurrentRecord(stored: StoredLead | null, fragment: LeadFragment): boolean {
  if (!stored) return true;
  const current = linkedRecordId(stored.lead.links, fragment.source);
  if (current === undefined || current === fragment.recordId) return true;
  // The Lead that was converted into the linked Contact: its conversion is news (the stage moves
  // to SQL), whichever of the two was read first.
  const converted = fragment.source === 'salesforce' && fragment.object === 'Lead' ? fragment.identity.convertedContactId : null;
  return !!converted && (stored.lead.links.salesforce?.convertedFrom === fragment.recordId || stored.lead.links.salesforce?.id === converted);
}

async function resolveLeadId(ctx: SyncContext, fragment: LeadFragment): Promise<{ leadId: string } | { ambiguous: string; leadId: string }> {
  const email = normaliseEmail(fragment.email);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const byRecord = await ctx.leads.linkOf(fragment.source, fragment.object, fragment.recordId);
    let byEmail: { leadId: string; links: LeadLinks } | null = null;
    if (!byRecord && email) {
      const leadId = await ctx.leads.leadByEmail(email);
      const stored = leadId ? await ctx.leads.get(leadId) : null;
      if (leadId && stored) byEmail = { leadId, links: stored.lead.links };
    }
    const decision = decideIdentity(fragment, { byRecord, byConversion: null, byEmail }, leadIdFor(fragment.source, fragment.object, fragment.recordId));
    if (decision.kind === 'ambiguous') return { ambiguous: decision.message, leadId: decision.leadId };
    if (decision.kind === 'new' && email) {
      // Another worker may be creating the lead for this email right now: the first one wins.
      const claimed = await ctx.redis.set(ctx.keys.emailIndex(email), decision.leadId, 'NX');
      if (claimed !== 'OK' && (await ctx.leads.leadByEmail(email)) !== decision.leadId) continue;
    }
    return { leadId: decision.leadId };
  }
  throw new Error(`could not settle the identity of ${fragment.source} ${fragment.object} ${fragment.recordId}`);
}

/** Applies one fragment under its lead's lock; returns whether the rule inputs changed. */
async function applyFragment(ctx: SyncContext, fragment: LeadFragment, readAt: number): Promise<'changed' | 'same' | 'problem'> {
  salesInputsFromSmk(fragment);
  const resolved = await resolveLeadId(ctx, fragment);
  if ('ambiguous' in resolved) {
    await ctx.errors.record({
      crm: fragment.source, object: fragment.object, recordId: fragment.recordId, leadId: resolved.leadId,
      code: 'AMBIGUOUS_MATCH', message: resolved.ambiguous, stage: 'identity', field: 'email',
    }, ctx.clock.now());
    return 'problem';
  }
  const { leadId } = resolved;
  return ctx.locks.with(`lead:${leadId}`, async () => {
    const stored = await ctx.leads.get(leadId);
    if (stored && !isCurrentRecord(stored, fragment)) return 'same';
    const nowIso = new Date(ctx.clock.now()).toISOString();
    const base: StoredLead = stored ?? { lead: emptyLead(leadId, normaliseEmail(fragment.email), nowIso), views: {} };
    const before = stored ? relevantSignature(stored.lead) : '';
    const previousView = base.views[fragment.source];
    const links = withLink(base.lead.links, fragment);
    // A converted Lead read after the Contact it became is history: it gives the link its
    // `convertedFrom` (and so the conversion), while the Contact's values stay the lead's view.
    const history = fragment.source === 'salesforce' && fragment.object === 'Lead' && !!fragment.identity.convertedContactId
      && previousView?.ref.id === fragment.identity.convertedContactId;
    const view: SourceView = history && previousView ? previousView : nextView(previousView, { object: fragment.object, id: fragment.recordId }, fragment.modifiedAt, flattenFragment(fragment));
    const views = { ...base.views, [fragment.source]: view };

    let lead: Lead = { ...base.lead, links };
    if (fragment.source === 'hubspot' && fragment.marketing.counters) {
      const added = eventsFromCounters(base.lead.marketing.counters, fragment.marketing.counters, nowIso, fragment.marketing.campaign ?? null);
      lead = { ...lead, marketing: { ...lead.marketing, engagement: appendEngagement(lead.marketing.engagement, added, nowIso), counters: fragment.marketing.counters } };
    }
    lead = composeLead(lead, views, ctx.ownership);
    const email = normaliseEmail(views.hubspot?.values.email as string | null | undefined) ?? normaliseEmail(views.salesforce?.values.email as string | null | undefined);
    if (email !== base.lead.email) {
      if (base.lead.email) await ctx.leads.removeEmail(base.lead.email, leadId);
      if (email) await ctx.redis.set(ctx.keys.emailIndex(email), leadId, 'NX');
    }
    lead.email = email;

    const after = relevantSignature(lead);
    const viewChanged = JSON.stringify(previousView?.values) !== JSON.stringify(view.values);
    // Links first, so that a crash after them re-finds the same lead.
    await ctx.leads.setLink(fragment.source, fragment.object, fragment.recordId, leadId);
    if (links.salesforce && fragment.source === 'salesforce' && links.salesforce.id !== fragment.recordId) {
      await ctx.leads.setLink('salesforce', links.salesforce.object, links.salesforce.id, leadId);
    }
    // What a record holds is known for the record the lead writes to, not for a converted Lead;
    // when the lead moves to another record (a conversion), what the old one held no longer counts.
    const linkedBefore = linkedRecordId(base.lead.links, fragment.source);
    if (linkedBefore !== undefined && linkedBefore !== linkedRecordId(links, fragment.source)) await ctx.held.forget(fragment.source, leadId);
    if (linkedRecordId(links, fragment.source) === fragment.recordId) {
      const lifecycle = fragment.source === 'hubspot' ? fragment.marketing.lifecycleStage : null;
      await ctx.held.recordRead(fragment.source, leadId, heldFrom(fragment), readAt, fragment.sales.ownerId ?? null, typeof lifecycle === 'string' ? lifecycle : null);
    }
    if (!stored || before !== after || viewChanged) {
      lead.updatedAt = nowIso;
      await ctx.leads.save({ ...base, lead, views });
    }
    if (fragment.source === 'salesforce' && linkedBefore === undefined && links.salesforce) {
      if (await releaseDeferredTask(ctx, leadId, links.salesforce.id, ctx.clock.now())) await scheduleWriteback(ctx, 'salesforce');
    }
    if (!stored || before !== after) {
      await ctx.leads.bumpVersion(leadId);
      return 'changed';
    }
    return 'same';
  });
}

/** The `smk` values a record holds, keyed by field, as read. */
function heldFrom(fragment: LeadFragment): SmkValues {
  const out: SmkValues = {};
  for (const [key, value] of Object.entries(fragment.smk)) {
    if (SMK_FIELD_BY_KEY.has(key as SmkFieldKey)) out[key as SmkFieldKey] = value;
  }
  return out;
}

async function applyRemoval(ctx: SyncContext, crm: CrmName, removed: RemovedRecord): Promise<string | null> {
  const leadId = await ctx.leads.linkOf(crm, removed.ref.object, removed.ref.id);
  if (!leadId) return null;
  return ctx.locks.with(`lead:${leadId}`, async () => {
    const stored = await ctx.leads.get(leadId);
    await ctx.leads.removeLink(crm, removed.ref.object, removed.ref.id);
    if (!stored || linkedRecordId(stored.lead.links, crm) !== removed.ref.id) return null;
    if (removed.reason === 'merged' && removed.survivorId) {
      const survivorLead = await ctx.leads.linkOf(crm, removed.ref.object, removed.survivorId);
      if (!survivorLead || survivorLead === leadId) {
        // HubSpot keeps the surviving id: the lead follows it.
        await ctx.leads.setLink(crm, removed.ref.object, removed.survivorId, leadId);
        const links = { ...stored.lead.links, hubspot: { id: removed.survivorId, mergedIds: [...(stored.lead.links.hubspot?.mergedIds ?? []), removed.ref.id] } };
        await ctx.leads.save({ ...stored, lead: { ...stored.lead, links } });
        await ctx.leads.bumpVersion(leadId);
        return leadId;
      }
    }
    const links: LeadLinks = { ...stored.lead.links };
    const views = { ...stored.views };
    if (crm === 'hubspot') delete links.hubspot;
    else delete links.salesforce;
    delete views[crm];
    await ctx.held.forget(crm, leadId);
    if (!links.hubspot && !links.salesforce) {
      if (stored.lead.email) await ctx.leads.removeEmail(stored.lead.email, leadId);
      await ctx.leads.delete(leadId);
      await ctx.events.append([{ type: 'removed', leadId, at: new Date(ctx.clock.now()).toISOString(), detail: { crm, reason: removed.reason } }]);
      return null;
    }
    await ctx.leads.save({ ...stored, lead: { ...stored.lead, links }, views });
    await ctx.leads.bumpVersion(leadId);
    return leadId;
  });
}

/** From this many leads on, evaluations go in many-lead jobs of this size (BullMQ's cost is per job). */
export const EVALUATE_BATCH = 50;

export async function enqueueEvaluate(ctx: SyncContext, leadIds: Iterable<string>, cause: string): Promise<void> {
  const ids = [...new Set(leadIds)];
  if (ids.length === 0) return;
  if (ids.length >= EVALUATE_BATCH) {
    // Every lead of a many-lead job is evaluated when it runs (under its lock, with its version
    // check), so no change is lost to the per-lead job ids' dedupe here.
    const batches: Array<{ name: string; data: { leadIds: string[]; cause: string } }> = [];
    for (let i = 0; i < ids.length; i += EVALUATE_BATCH) batches.push({ name: 'evaluate-many', data: { leadIds: ids.slice(i, i + EVALUATE_BATCH), cause } });
    await ctx.queues.evaluate.addBulk(batches);
    return;
  }
  const jobs = ids.map((leadId) => ({ name: 'evaluate', data: { leadId, cause }, opts: evaluateJobOptions(leadId) }));
  const added = await ctx.queues.evaluate.addBulk(jobs);
  // BullMQ ignores an id that is waiting or active. An active evaluation re-checks the lead's
  // version when it ends; a follow-up job covers a change landing after that check.
  const states = await Promise.all(added.map(async (job) => ({ job, state: await job.getState() })));
  const followUps = states.filter((s) => s.state === 'active').map((s) => s.job.data.leadId).filter((id): id is string => !!id);
  if (followUps.length > 0) {
    await ctx.queues.evaluate.addBulk(followUps.map((leadId) => ({ name: 'evaluate', data: { leadId, cause: `${cause} (follow-up)` }, opts: { jobId: `lead-${leadId}-again`, delay: 200 } })));
  }
}

const SMK_BY_HUBSPOT_PROPERTY = new Map(SMK_FIELDS.flatMap((f) => (f.hubspot ? [[f.hubspot, f] as const] : [])));

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
    const sources: Array<{ smk: SmkValues; lifecycle?: string; ownerId?: string | null }> = [];
    if (inFlight) sources.push({ smk: inFlight.smk, ...(inFlight.lifecycleStage ? { lifecycle: inFlight.lifecycleStage.value } : {}), ...(inFlight.ownerId !== undefined ? { ownerId: inFlight.ownerId } : {}) });
    if (held) sources.push({ smk: held.values, ...(held.lifecycle !== undefined ? { lifecycle: held.lifecycle } : {}), ownerId: held.ownerId });
    const echo = sources.length > 0 && named.every((change) => sources.some((known) => {
      if (change.property === 'lifecyclestage') return known.lifecycle !== undefined && known.lifecycle === change.value;
      if (change.property === 'hubspot_owner_id') return known.ownerId !== undefined && (known.ownerId ?? null) === (change.value || null);
      const field = SMK_BY_HUBSPOT_PROPERTY.get(change.property);
      return field !== undefined && Object.prototype.hasOwnProperty.call(known.smk, field.key) && normaliseSmkValue(field, known.smk[field.key]) === normaliseSmkValue(field, change.value);
    }));
    if (!echo) out.push(ref);
  }
  return out;
}

export async function processIngest(ctx: SyncContext, job: IngestJob): Promise<IngestResult> {
  await ctx.clock.sync();
  const connector = ctx.connectors[job.crm];
  const fragments: LeadFragment[] = [];
  const removed: RemovedRecord[] = [...(job.removed ?? [])];
  let problems = 0;

  const toRead = job.refs && job.changes ? await withoutEchoes(ctx, job.crm, job.refs, job.changes) : (job.refs ?? []);
  if (toRead.length > 0) {
    for (let i = 0; i < toRead.length; i += connector.batchSizes.read) {
      const refs = toRead.slice(i, i + connector.batchSizes.read) as RecordRef[];
      const read = await connector.read(refs);
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

  const changed = new Set<string>();
  let ingested = 0;
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
      const outcome = await applyFragment(ctx, parsed.data, job.readAt);
      if (outcome === 'problem') problems += 1;
      else ingested += 1;
      if (outcome === 'changed') {
        const leadId = await ctx.leads.linkOf(parsed.data.source, parsed.data.object, parsed.data.recordId);
        if (leadId) changed.add(leadId);
      }
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
    const leadId = await applyRemoval(ctx, job.crm, r);
    if (leadId) changed.add(leadId);
  }
  // During the initial read nothing is evaluated yet: its end evaluates every lead (jobs/poll.ts).
  if (changed.size > 0 && (await bothCrmsRead(ctx))) await enqueueEvaluate(ctx, changed, `${job.crm} change`);
  return { ingested, changed: changed.size, removed: removed.length, problems };
}
