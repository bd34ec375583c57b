/**
 * Opportunities on a lead: each opportunity a person is on (a Salesforce Opportunity through a
 * contact role, a HubSpot deal through an association) is kept in the stored snapshot as an
 * outcome view beside the CRM views, and the lead's `sales.opportunity*` fields are composed from
 * them. composeLead rebuilds `lead.sales` from the CRM views on every merge, so the merge applies
 * `withOpportunity` after it: a later read of the person keeps the opportunity facts.
 *
 * Recency, as for records (merge.ts): a reading of an opportunity older than the one held (by
 * the CRM's modification time) changes nothing; on equal times the later read wins; a reading
 * equal to the one held changes nothing. A person taken off an opportunity (the role or
 * association removed, the opportunity deleted) keeps it as `gone`, so that an older reading
 * applied late does not put it back.
 */
import type { OpportunityFact } from '../../connectors/types.js';
import type { Lead } from '../model/lead.js';
import { sameValue } from './equality.js';

/** What the lead keeps of a reading: the fact without its name and deletion flag, with its read time. */
export interface OpportunityView extends Omit<OpportunityFact, 'name' | 'deleted' | 'contacts'> {
  /** Our clock (ms) when it was read. */
  readAt: number;
  /** No longer this person's (role or association removed, opportunity deleted). */
  gone: boolean;
}

/** By `source:id`. */
export type OutcomeViews = Record<string, OpportunityView>;

export type OpportunityOutcome = 'changed' | 'same' | 'stale';

function keyOf(fact: Pick<OpportunityFact, 'source' | 'id'>): string {
  // Salesforce ids compare on their first 15 characters (18 adds a checksum).
  return `${fact.source}:${fact.source === 'salesforce' ? fact.id.slice(0, 15) : fact.id}`;
}

function content(view: OpportunityView): unknown {
  return [view.stage, view.closed, view.won, view.amount, view.closeDate, view.createdAt, view.modifiedAt, view.gone, view.id];
}

/** Applies one reading of an opportunity to a person's outcome views; `removed`: the person is no longer on it. */
export function applyOpportunity(views: OutcomeViews | undefined, fact: OpportunityFact, removed: boolean, readAt: number): { views: OutcomeViews; outcome: OpportunityOutcome } {
  const current = views ?? {};
  const key = keyOf(fact);
  const held = current[key];
  const next: OpportunityView = {
    source: fact.source,
    id: fact.id,
    stage: fact.stage,
    closed: fact.closed,
    won: fact.won,
    amount: fact.amount,
    closeDate: fact.closeDate,
    createdAt: fact.createdAt,
    modifiedAt: fact.modifiedAt,
    readAt,
    gone: removed || fact.deleted,
  };
  if (held) {
    const incoming = Date.parse(fact.modifiedAt);
    const had = Date.parse(held.modifiedAt);
    if (incoming < had || (incoming === had && readAt < held.readAt)) return { views: current, outcome: 'stale' };
    if (sameValue(content(held), content(next))) return { views: current, outcome: 'same' };
  } else if (next.gone) {
    // Taken off an opportunity the lead never carried: nothing to remember but the tombstone.
    return { views: { ...current, [key]: next }, outcome: 'same' };
  }
  return { views: { ...current, [key]: next }, outcome: 'changed' };
}

const newest = (a: string | null, b: string | null): number => (a ?? '').localeCompare(b ?? '');

/**
 * The person's current opportunity. The funnel's rule is "the newest open one, else the newest
 * closed one"; here a won opportunity beats both (the newest won, by close date): a customer with an
 * open upsell, or a later lost one, is still a customer, and the revenue reports count the won amount.
 * Open ones are ordered by creation, closed ones by close date (then creation).
 */
export function currentOpportunity(views: OutcomeViews | undefined): OpportunityView | null {
  let won: OpportunityView | null = null;
  let open: OpportunityView | null = null;
  let lost: OpportunityView | null = null;
  for (const view of Object.values(views ?? {})) {
    if (view.gone) continue;
    if (view.closed && view.won) {
      if (!won || newest(view.closeDate, won.closeDate) > 0 || (view.closeDate === won.closeDate && newest(view.createdAt, won.createdAt) > 0)) won = view;
    } else if (!view.closed) {
      if (!open || newest(view.createdAt, open.createdAt) > 0) open = view;
    } else if (!lost || newest(view.closeDate, lost.closeDate) > 0 || (view.closeDate === lost.closeDate && newest(view.createdAt, lost.createdAt) > 0)) {
      lost = view;
    }
  }
  return won ?? open ?? lost;
}

/** The lead with its `sales.opportunity*` fields from its current opportunity (none: the fields are absent). */
export function withOpportunity(lead: Lead, views: OutcomeViews | undefined): Lead {
  const sales = { ...lead.sales };
  delete sales.opportunityId;
  delete sales.opportunityStage;
  delete sales.opportunityWon;
  delete sales.opportunityAmount;
  delete sales.opportunityCloseDate;
  delete sales.opportunityCreatedAt;
  const current = currentOpportunity(views);
  if (current) {
    sales.opportunityId = current.id;
    sales.opportunityStage = current.stage;
    sales.opportunityWon = current.closed ? current.won : null;
    sales.opportunityAmount = current.amount;
    sales.opportunityCloseDate = current.closeDate;
    sales.opportunityCreatedAt = current.createdAt;
  }
  return { ...lead, sales };
}
