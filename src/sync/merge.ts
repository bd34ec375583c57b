/**
 * Merging one fragment read from a CRM into a lead's snapshot: the decision, with no I/O. The
 * ingest job holds the lead's lock, loads the snapshot, calls `mergeFragment` and writes back
 * what it returns (links, email index, held values, the snapshot, the version).
 *
 * Recency: a fragment carries its record's modification time. One older than the view the lead
 * already holds of that same record is stale (a retried page, a slow worker, a webhook read that
 * raced a poll) and changes nothing; on equal modification times (Salesforce stamps whole
 * seconds) the later read wins. So newer never loses to older, and counters never step back
 * down to count the same engagement twice.
 */
import type { OwnedPath, OwnershipPolicy } from '../model/ownership.js';
import type { CrmName, Lead, LeadFragment, LeadLinks, Sales } from '../model/lead.js';
import { normaliseEmail } from '../model/lead.js';
import { composeLead, flattenFragment, nextView } from './compose.js';
import type { SourceView } from './compose.js';
import { appendEngagement, eventsFromCounters } from './engagement.js';
import { sameValue } from './equality.js';
import { linkedRecordId } from './identity.js';
import { withOpportunity } from './opportunities.js';
import type { OutcomeViews } from './opportunities.js';

/** What the merge needs of a stored lead (the store keeps more beside it). */
export interface Snapshot {
  lead: Lead;
  views: Partial<Record<CrmName, SourceView>>;
  evaluatedSales?: Sales;
  /** The opportunities the person is on (src/sync/opportunities.ts), composed in after the CRM views. */
  outcomes?: OutcomeViews;
}

export type Freshness = 'fresh' | 'stale';

/**
 * Salesforce stamps whole seconds, so several states of a record can share one stamp. While a
 * view's read lies within this long of such a stamp (its second plus clock skew), a re-read with
 * the same stamp and values is saved anyway, for its later read time: a read made earlier in that
 * second, delivered late, could hold a value already replaced, and must then be found stale.
 * (HubSpot stamps milliseconds: its re-reads stay unsaved.)
 */
export const SAME_STAMP_WINDOW_MS = 2_000;

function sharedStampStillOpen(fragment: LeadFragment, heldReadAt: number): boolean {
  const stamp = Date.parse(fragment.modifiedAt);
  return fragment.source === 'salesforce' && stamp % 1000 === 0 && heldReadAt < stamp + SAME_STAMP_WINDOW_MS;
}

/**
 * Whether a fragment of `ref`, modified at `modifiedAt` and read at `readAt`, may replace `view`.
 * Another record (a conversion, a relink) is not compared here.
 */
export function freshness(view: SourceView | undefined, ref: { id: string }, modifiedAt: string, readAt: number): Freshness {
  if (!view || view.ref.id !== ref.id) return 'fresh';
  const incoming = Date.parse(modifiedAt);
  const held = Date.parse(view.modifiedAt);
  if (!Number.isFinite(incoming) || !Number.isFinite(held)) return 'fresh';
  if (incoming > held) return 'fresh';
  if (incoming < held) return 'stale';
  // The same modification time: the later read saw at least as much.
  return view.readAt === undefined || readAt >= view.readAt ? 'fresh' : 'stale';
}

/** Whether this fragment is the record the lead is linked to now (a converted Lead is history). */
export function isCurrentRecord(stored: Snapshot | null, fragment: LeadFragment): boolean {
  if (!stored) return true;
  const current = linkedRecordId(stored.lead.links, fragment.source);
  if (current === undefined || current === fragment.recordId) return true;
  // The Lead that was converted into the linked Contact: its conversion is news (the stage moves
  // to SQL), whichever of the two was read first.
  const converted = fragment.source === 'salesforce' && fragment.object === 'Lead' ? fragment.identity.convertedContactId : null;
  return !!converted && (stored.lead.links.salesforce?.convertedFrom === fragment.recordId || stored.lead.links.salesforce?.id === converted);
}

/** The links after this fragment; `convertedFrom` names the Lead a Contact is known to come from. */
export function withLink(links: LeadLinks, fragment: LeadFragment, convertedFrom?: string): LeadLinks {
  if (fragment.source === 'hubspot') {
    const companyId = fragment.identity.companyId ?? undefined;
    return {
      ...links,
      hubspot: {
        id: fragment.recordId,
        ...(fragment.identity.mergedIds?.length ? { mergedIds: fragment.identity.mergedIds } : {}),
        ...(companyId ? { companyId } : {}),
      },
    };
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
  const keptFrom = convertedFrom ?? links.salesforce?.convertedFrom;
  return {
    ...links,
    salesforce: {
      object: fragment.object === 'Contact' ? 'Contact' : 'Lead',
      id: fragment.recordId,
      ...(keptFrom && fragment.object === 'Contact' ? { convertedFrom: keptFrom } : {}),
      ...(accountId ? { accountId } : {}),
    },
  };
}

export function emptyLead(id: string, email: string | null, at: string): Lead {
  return { id, email, updatedAt: at, links: {}, person: {}, company: {}, marketing: { engagement: [] }, sales: {} };
}

/** The fields whose change calls for a new evaluation: everything a rule could read. */
function ruleInputs(lead: Lead): unknown {
  return [lead.email, lead.person, lead.company, { ...lead.marketing, counters: undefined }, lead.sales, lead.links];
}

/** Whether two leads differ in anything a rule reads (compared by value, never by key order). */
export function ruleInputsDiffer(a: Lead, b: Lead): boolean {
  return !sameValue(ruleInputs(a), ruleInputs(b));
}

export type MergeDecision =
  /** Another record's fragment (a converted Lead's pre-conversion state): nothing to do. */
  | { outcome: 'not-current' }
  /** Older than what the lead holds of this record: nothing to do. */
  | { outcome: 'stale'; heldModifiedAt: string }
  | {
      outcome: 'merged';
      lead: Lead;
      views: Partial<Record<CrmName, SourceView>>;
      /** Rule inputs changed: evaluate the lead. */
      changed: boolean;
      /** Anything stored changed (rule inputs, a view's values or times, or a same-second read time): save the snapshot. */
      save: boolean;
      emailBefore: string | null;
      /** The record the lead wrote to in this CRM before, and now. */
      linkedBefore: string | undefined;
      linkedAfter: string | undefined;
      /** This fragment is the record the lead writes to: what it holds of the smk fields is known. */
      holdsCurrent: boolean;
    };

export interface MergeInput {
  leadId: string;
  fragment: LeadFragment;
  /** Our clock (ms) when the fragment was read from the CRM. */
  readAt: number;
  /** Our clock now, as an ISO time. */
  nowIso: string;
  ownership: Record<OwnedPath, OwnershipPolicy>;
  /** The identity decision found that this Contact was converted from this Lead. */
  convertedFrom?: string;
}

/** The earlier of two ISO times (either may be missing). */
function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}

export function mergeFragment<S extends Snapshot>(stored: S | null, input: MergeInput): MergeDecision {
  const { fragment, readAt, nowIso, leadId } = input;
  if (stored && !isCurrentRecord(stored, fragment) && !input.convertedFrom) return { outcome: 'not-current' };
  const base: Snapshot = stored ?? { lead: emptyLead(leadId, normaliseEmail(fragment.email), nowIso), views: {} };
  const previousView = base.views[fragment.source];
  const ref = { object: fragment.object, id: fragment.recordId };
  if (freshness(previousView, ref, fragment.modifiedAt, readAt) === 'stale') {
    return { outcome: 'stale', heldModifiedAt: previousView?.modifiedAt ?? fragment.modifiedAt };
  }
  const links = withLink(base.lead.links, fragment, input.convertedFrom);
  // A converted Lead read after the Contact it became is history: it gives the link its
  // `convertedFrom` (and so the conversion), while the Contact's values stay the lead's view.
  const history = fragment.source === 'salesforce' && fragment.object === 'Lead' && !!fragment.identity.convertedContactId
    && previousView?.ref.id === fragment.identity.convertedContactId;
  const view: SourceView = history && previousView
    ? previousView
    : { ...nextView(previousView, ref, fragment.modifiedAt, flattenFragment(fragment), fragment.fields), readAt };
  const views = { ...base.views, [fragment.source]: view };

  let lead: Lead = { ...base.lead, links };
  const createdAt = earliest(base.lead.createdAt, fragment.createdAt);
  if (createdAt !== undefined) lead.createdAt = createdAt;
  if (fragment.source === 'hubspot' && fragment.marketing.counters) {
    const added = eventsFromCounters(base.lead.marketing.counters, fragment.marketing.counters, nowIso, fragment.marketing.campaign ?? null);
    lead = { ...lead, marketing: { ...lead.marketing, engagement: appendEngagement(lead.marketing.engagement, added, nowIso), counters: fragment.marketing.counters } };
  }
  lead = composeLead(lead, views, input.ownership);
  if (base.outcomes) lead = withOpportunity(lead, base.outcomes);
  lead.email = normaliseEmail(views.hubspot?.values.email as string | null | undefined) ?? normaliseEmail(views.salesforce?.values.email as string | null | undefined);

  // A synced field that changed calls for planning too (its copy in the other CRM), even where no rule reads it.
  const fieldsChanged = !sameValue(previousView?.fields ?? {}, view.fields ?? {});
  const changed = !stored || ruleInputsDiffer(stored.lead, lead) || fieldsChanged;
  const viewChanged = !sameValue(previousView?.values, view.values) || !sameValue(previousView?.changedAt, view.changedAt)
    || !sameValue(previousView?.fieldChangedAt ?? {}, view.fieldChangedAt ?? {})
    || previousView?.modifiedAt !== view.modifiedAt || !sameValue(base.lead.marketing.counters, lead.marketing.counters)
    || base.lead.createdAt !== lead.createdAt;
  const heldReadAt = previousView?.readAt ?? Number.NEGATIVE_INFINITY;
  const laterReadOfOpenStamp = previousView !== undefined && view !== previousView && previousView.ref.id === view.ref.id
    && readAt > heldReadAt && sharedStampStillOpen(fragment, heldReadAt);
  const linkedBefore = linkedRecordId(base.lead.links, fragment.source);
  const linkedAfter = linkedRecordId(links, fragment.source);
  return {
    outcome: 'merged',
    lead: changed ? { ...lead, updatedAt: nowIso } : { ...lead, updatedAt: base.lead.updatedAt },
    views,
    changed,
    save: changed || viewChanged || laterReadOfOpenStamp,
    emailBefore: stored ? base.lead.email : null,
    linkedBefore,
    linkedAfter,
    holdsCurrent: linkedAfter === fragment.recordId,
  };
}
