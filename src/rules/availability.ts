/**
 * Reps' availability: each rep's time zone, working days and hours, and time off as date ranges
 * (from the config, and from the admin API, a CSV import or the mark-away rule, which the shell
 * keeps in Redis and passes in). Routing skips a rep who is away on the day (in the rep's zone);
 * with `sla.firstTouch.clock: rep`, the SLA runs on the rep's calendar with their time off as days
 * off. Pure: the ranges and `now` come in.
 */
import { DateTime } from 'luxon';
import type { CalendarInput } from './business-time.js';
import type { RulesConfig, SlaConfig, TimeOff } from './config.js';

export type { TimeOff } from './config.js';
export { timeOffSchema } from './config.js';

/** Time off kept outside the config (admin API, CSV import, mark-away), by rep. */
export type TimeOffByRep = Readonly<Record<string, readonly TimeOff[]>>;

/** The rep's zone: their own, else the SLA calendar's. */
export function repZone(config: RulesConfig, ownerId: string): string {
  const rep = Object.hasOwn(config.reps, ownerId) ? config.reps[ownerId] : undefined;
  return rep?.tz ?? config.sla.firstTouch.calendar.tz;
}

function rangesOf(config: RulesConfig, ownerId: string, extra: TimeOffByRep): TimeOff[] {
  const rep = Object.hasOwn(config.reps, ownerId) ? config.reps[ownerId] : undefined;
  const more = Object.hasOwn(extra, ownerId) ? (extra[ownerId] ?? []) : [];
  return [...(rep?.timeOff ?? []), ...more];
}

/** Whether the rep is away on the local date of `now` in their zone. */
export function isAway(config: RulesConfig, ownerId: string, extra: TimeOffByRep, now: Date): boolean {
  const ranges = rangesOf(config, ownerId, extra);
  if (ranges.length === 0) return false;
  const today = DateTime.fromMillis(now.getTime(), { zone: repZone(config, ownerId) }).toISODate();
  return today !== null && ranges.some((range) => range.from <= today && today <= range.to);
}

/** Every rep away today: the pools' members and the reps the config or the store knows. */
export function awayOwners(config: RulesConfig, extra: TimeOffByRep, now: Date): string[] {
  const owners = new Set<string>([...Object.keys(config.reps), ...Object.keys(extra)]);
  for (const pool of Object.values(config.routing.pools)) for (const member of pool.members) owners.add(member.owner);
  return [...owners].filter((owner) => isAway(config, owner, extra, now)).sort();
}

/** The most days of one range turned into days off of a calendar (a range is for leave, not for ever). */
const MAX_RANGE_DAYS = 400;

function datesOf(range: TimeOff): string[] {
  const out: string[] = [];
  let day = DateTime.fromISO(range.from, { zone: 'UTC' });
  const end = DateTime.fromISO(range.to, { zone: 'UTC' });
  while (day <= end && out.length < MAX_RANGE_DAYS) {
    const iso = day.toISODate();
    if (iso !== null) out.push(iso);
    day = day.plus({ days: 1 });
  }
  return out;
}

const repCalendars = new WeakMap<RulesConfig, Map<string, CalendarInput>>();

/** The rep's own calendar: their zone, days and hours (the team's where unset), time off as days off. */
export function repCalendar(config: RulesConfig, ownerId: string, extra: TimeOffByRep = {}): CalendarInput {
  const ranges = rangesOf(config, ownerId, extra);
  const key = `${ownerId}\u0000${JSON.stringify(ranges)}`;
  let cache = repCalendars.get(config);
  if (cache === undefined) {
    cache = new Map();
    repCalendars.set(config, cache);
  }
  const hit = cache.get(key);
  // The same object for the same inputs: business-time compiles each calendar object once.
  if (hit !== undefined) return hit;
  const team = config.sla.firstTouch.calendar;
  const rep = Object.hasOwn(config.reps, ownerId) ? config.reps[ownerId] : undefined;
  const calendar: CalendarInput = {
    tz: rep?.tz ?? team.tz,
    days: rep?.days ?? team.days,
    hours: rep?.hours ?? team.hours,
    holidays: [...new Set([...(rep?.holidays ?? team.holidays), ...ranges.flatMap(datesOf)])].sort(),
  };
  if (cache.size > 10_000) cache.clear();
  cache.set(key, calendar);
  return calendar;
}

const slaConfigs = new WeakMap<CalendarInput, SlaConfig>();

/** The SLA config a lead's clock runs on: the team's calendar, or with `clock: rep` its owner's. */
export function slaConfigFor(config: RulesConfig, ownerId: string | null | undefined, extra: TimeOffByRep = {}): SlaConfig {
  if (config.sla.firstTouch.clock !== 'rep' || !ownerId) return config.sla;
  const calendar = repCalendar(config, ownerId, extra);
  let sla = slaConfigs.get(calendar);
  if (sla === undefined) {
    sla = { ...config.sla, firstTouch: { ...config.sla.firstTouch, calendar: calendar as SlaConfig['firstTouch']['calendar'] } };
    slaConfigs.set(calendar, sla);
  }
  return sla;
}

/**
 * The mark-away rule (sla.escalate.markAway): given the instants of a rep's breaches, the range of
 * time off it calls for at the latest breach, or null. Pure and repeatable: the same breaches give
 * the same range, so a rerun adds nothing new.
 */
export function markAwayFor(config: RulesConfig, ownerId: string, breachTimes: readonly string[]): TimeOff | null {
  const rule = config.sla.escalate?.markAway;
  if (!rule || breachTimes.length === 0) return null;
  const times = breachTimes.map((t) => Date.parse(t)).filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
  const last = times[times.length - 1];
  if (last === undefined) return null;
  const since = last - rule.withinDays * 86_400_000;
  const recent = times.filter((t) => t > since);
  if (recent.length < rule.breaches) return null;
  const start = DateTime.fromMillis(last, { zone: repZone(config, ownerId) }).startOf('day');
  const from = start.toISODate();
  const to = start.plus({ days: rule.awayDays - 1 }).toISODate();
  if (from === null || to === null) return null;
  return { from, to, reason: `${recent.length} SLA breaches within ${rule.withinDays} days` };
}
