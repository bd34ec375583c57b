/**
 * The HubSpot `lifecyclestage` that mirrors a stage, and how to write it. HubSpot only lets the
 * API move a contact forward through its lifecycle order; a move back is possible only by clearing
 * the property first. We clear only where a move back is intended (recycled, disqualified) and
 * otherwise never pull a contact back that HubSpot already shows further along.
 */
import { STAGES } from '../model/lead.js';
import type { Stage } from '../model/lead.js';

/** HubSpot's default lifecycle order; `other` sits last, so moving to it is always forward. */
export const HUBSPOT_LIFECYCLE_ORDER = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
] as const;
export type HubspotLifecycle = (typeof HUBSPOT_LIFECYCLE_ORDER)[number];

const RANK: ReadonlyMap<string, number> = new Map(HUBSPOT_LIFECYCLE_ORDER.map((value, index) => [value, index]));

const LIFECYCLE_BY_STAGE: Record<Stage, HubspotLifecycle> = {
  subscriber: 'subscriber',
  lead: 'lead',
  mql: 'marketingqualifiedlead',
  // HubSpot has no SAL; its "sales qualified lead" is defined as accepted by sales for follow-up.
  sal: 'salesqualifiedlead',
  sql: 'salesqualifiedlead',
  opportunity: 'opportunity',
  customer: 'customer',
  recycled: 'lead',
  disqualified: 'other',
};

export function lifecycleFor(stage: Stage): HubspotLifecycle {
  return LIFECYCLE_BY_STAGE[stage];
}

/** HubSpot's value for a lifecycle stage given either way (the common stage `mql`, or `marketingqualifiedlead`). */
function asHubSpotLifecycle(value: string): string {
  const raw = value.trim().toLowerCase();
  return (STAGES as readonly string[]).includes(raw) ? lifecycleFor(raw as Stage) : raw;
}

/** Whether two lifecycle stages, each given either way, are the same HubSpot value. */
export function sameHubSpotLifecycle(a: string | null | undefined, b: string | null | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return (a ?? null) === (b ?? null);
  return asHubSpotLifecycle(a) === asHubSpotLifecycle(b);
}

export interface LifecycleWrite {
  /** Clear the property in a first request, so that the second may move it back. */
  clearFirst: boolean;
  /** The value to write; null when nothing should be written. */
  value: HubspotLifecycle | null;
}

/**
 * Plans the write of HubSpot's lifecycle stage for a desired stage. `current` is the value the
 * contact holds now (null when empty). A portal-defined stage that is not in the default order is
 * treated as unknown: a forward write is attempted and a clear is used only for an intended move back.
 */
export function planLifecycleWrite(current: string | null | undefined, desired: Stage): LifecycleWrite {
  const value = lifecycleFor(desired);
  const raw = typeof current === 'string' ? current.trim().toLowerCase() : '';
  // Connectors may hand over the common stage (mql) rather than HubSpot's value (marketingqualifiedlead).
  const now = (STAGES as readonly string[]).includes(raw) ? lifecycleFor(raw as Stage) : raw;
  if (now === value) return { clearFirst: false, value: null };
  const backIntended = desired === 'recycled' || desired === 'disqualified';
  if (now === '') return { clearFirst: false, value };
  const currentRank = RANK.get(now);
  const desiredRank = RANK.get(value) as number;
  if (currentRank === undefined) return { clearFirst: backIntended, value };
  if (desiredRank > currentRank) return { clearFirst: false, value };
  return backIntended ? { clearFirst: true, value } : { clearFirst: false, value: null };
}
