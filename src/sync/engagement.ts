/**
 * HubSpot gives engagement as counters and timestamps, not as events. An increase of a counter
 * between two snapshots becomes one dated event (weight = the increase), so that decay has dates
 * to work on. The first sight of a person turns the whole count into one event dated at the most
 * telling timestamp HubSpot has (last visit, most recent conversion), else at the time it was seen.
 */
import type { EngagementEvent, EngagementKind } from '../model/lead.js';

/** Counter name in `marketing.counters` -> event kind and the timestamp counter that dates it. */
const COUNTER_EVENTS: ReadonlyArray<{ counter: string; kind: EngagementKind; datedBy: string | null }> = [
  { counter: 'pageViews', kind: 'page_view', datedBy: 'lastVisitAt' },
  { counter: 'visits', kind: 'visit', datedBy: 'lastVisitAt' },
  { counter: 'formSubmissions', kind: 'form_submission', datedBy: 'recentConversionAt' },
  { counter: 'emailOpens', kind: 'email_open', datedBy: null },
  { counter: 'emailClicks', kind: 'email_click', datedBy: null },
];

/** Events older than this no longer move a decayed score; they are dropped to bound the snapshot. */
export const ENGAGEMENT_HORIZON_DAYS = 365;
export const MAX_ENGAGEMENT_EVENTS = 300;

function toIso(ms: number | undefined, fallback: string): string {
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : fallback;
}

/**
 * New events implied by `next` counters given the `previous` ones. A counter that went down
 * (HubSpot resets analytics on a merge or a privacy deletion) produces nothing.
 */
export function eventsFromCounters(
  previous: Record<string, number> | undefined,
  next: Record<string, number> | undefined,
  seenAt: string,
  detail?: string | null,
): EngagementEvent[] {
  if (!next) return [];
  const events: EngagementEvent[] = [];
  for (const { counter, kind, datedBy } of COUNTER_EVENTS) {
    const now = next[counter];
    if (now === undefined || !Number.isFinite(now) || now <= 0) continue;
    const before = previous?.[counter] ?? 0;
    const increase = now - before;
    if (increase <= 0) continue;
    const datedAt = datedBy ? next[datedBy] : undefined;
    // A later increase with an unchanged timestamp happened after that timestamp: date it when seen.
    const timestampMoved = datedBy !== null && previous?.[datedBy] !== datedAt;
    const at = previous === undefined || timestampMoved ? toIso(datedAt, seenAt) : seenAt;
    const event: EngagementEvent = { kind, at, weight: increase };
    if (kind === 'form_submission' && detail) event.detail = detail.slice(0, 200);
    events.push(event);
  }
  return events;
}

/** Appends events, drops those past the horizon, and keeps the newest `MAX_ENGAGEMENT_EVENTS`. */
export function appendEngagement(existing: EngagementEvent[], added: EngagementEvent[], nowIso: string): EngagementEvent[] {
  if (added.length === 0 && existing.length <= MAX_ENGAGEMENT_EVENTS) return existing;
  const horizon = Date.parse(nowIso) - ENGAGEMENT_HORIZON_DAYS * 86_400_000;
  const all = [...existing, ...added].filter((e) => Date.parse(e.at) >= horizon);
  all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return all.slice(-MAX_ENGAGEMENT_EVENTS);
}
