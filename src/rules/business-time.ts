/**
 * A business-hours clock: working days, opening hours and holidays in one IANA time zone.
 * Local wall times are turned into instants by luxon, so a DST switch, a 23- or 25-hour day or a
 * zone's history is the time-zone database's business, never a hand-rolled offset. The SLA is
 * computed only at handoff and at timer checks, so luxon stays out of the scoring hot path.
 */
import { DateTime, IANAZone } from 'luxon';
import { DAY_MS, parseInstant as readInstant } from './time.js';
import type { Duration } from './duration.js';

export interface CalendarInput {
  /** IANA zone such as America/New_York. */
  tz: string;
  /** `Mon-Fri`, `Sun-Thu`, `Mon,Wed,Fri` or a list of day names. */
  days: string | readonly string[];
  /** `09:00-17:00`, or several spans: `09:00-12:00, 13:00-17:00`; `24:00` ends at midnight. */
  hours: string;
  /** Local dates (yyyy-MM-dd) on which the clock does not run. */
  holidays: readonly string[];
}

interface Span {
  /** Minutes after local midnight. */
  start: number;
  end: number;
}

/** One local day: its bounds and opening spans as instants, computed once with luxon. */
interface DayInfo {
  /** The instant of local midnight (or of the day's first instant where midnight does not exist). */
  start: number;
  /** The instant the next local day starts. */
  end: number;
  /** Opening spans as [open, close, open, close, ...] instants; empty on a day off. */
  spans: readonly number[];
}

export interface BusinessCalendar {
  tz: string;
  /** Indexed by ISO weekday, 1 = Monday ... 7 = Sunday; index 0 is unused. */
  workdays: readonly boolean[];
  spans: readonly Span[];
  holidays: ReadonlySet<string>;
  /** Nominal length of one working day, used to turn "2d" into working time. */
  dayMs: number;
  /** Local days by their number since 1970-01-01, so luxon runs once per day and zone, not per call. */
  days: Map<number, DayInfo>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A search horizon: ten years without one working minute means the calendar is unusable. */
const MAX_DAYS = 3660;

function dayIndex(name: string): number | null {
  const key = name.trim().toLowerCase().slice(0, 3);
  const index = (DAY_NAMES as readonly string[]).indexOf(key);
  // Accept `Mon`, `monday` and `MONDAY`, but not `mo` or `month`.
  if (index < 0) return null;
  const full = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'][index];
  const given = name.trim().toLowerCase();
  return given === key || given === full ? index + 1 : null;
}

/** Parses working days into a weekday table. Ranges may wrap (`Sun-Thu`, `Fri-Mon`). */
export function parseWeekdays(spec: string | readonly string[]): Parsed<boolean[]> {
  const parts = typeof spec === 'string' ? spec.split(',') : [...spec];
  const table = new Array<boolean>(8).fill(false);
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    const range = part.split('-');
    if (range.length === 1) {
      const day = dayIndex(part);
      if (day === null) return { ok: false, message: `unknown day "${part}" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)` };
      table[day] = true;
    } else if (range.length === 2) {
      const from = dayIndex(range[0] ?? '');
      const to = dayIndex(range[1] ?? '');
      if (from === null || to === null) {
        return { ok: false, message: `invalid day range "${part}" (use a range such as Mon-Fri)` };
      }
      for (let day = from, steps = 0; steps < 7; steps += 1) {
        table[day] = true;
        if (day === to) break;
        day = day === 7 ? 1 : day + 1;
      }
    } else {
      return { ok: false, message: `invalid day range "${part}" (use a range such as Mon-Fri)` };
    }
  }
  if (!table.some(Boolean)) return { ok: false, message: 'no working days: name at least one day, such as Mon-Fri' };
  return { ok: true, value: table };
}

const CLOCK = /^(\d{1,2}):(\d{2})$/;

function minutesOf(clock: string): number | null {
  const match = CLOCK.exec(clock.trim());
  if (match === null) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes > 59 || hours > 24 || (hours === 24 && minutes !== 0)) return null;
  return hours * 60 + minutes;
}

/** Parses opening hours into ordered, non-overlapping spans of local minutes. */
export function parseHours(spec: string): Parsed<Span[]> {
  const spans: Span[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    const [from, to, ...rest] = part.split('-');
    const start = from === undefined ? null : minutesOf(from);
    const end = to === undefined ? null : minutesOf(to);
    if (start === null || end === null || rest.length > 0) {
      return { ok: false, message: `invalid hours "${part}": use HH:MM-HH:MM, such as 09:00-17:00` };
    }
    if (end <= start) return { ok: false, message: `invalid hours "${part}": the end must be after the start` };
    const previous = spans[spans.length - 1];
    if (previous !== undefined && start < previous.end) {
      return { ok: false, message: `invalid hours "${spec}": spans must be in order and must not overlap` };
    }
    spans.push({ start, end });
  }
  return { ok: true, value: spans };
}

export function isValidTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

export function isValidLocalDate(date: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && DateTime.fromISO(date, { zone: 'UTC' }).isValid;
}

const compiled = new WeakMap<object, BusinessCalendar>();

/**
 * Turns a calendar config into lookup tables, once per config object. Config is validated by the
 * schema, so a failure here means a hand-built calendar and is thrown as a RangeError.
 */
export function compileCalendar(input: CalendarInput): BusinessCalendar {
  const hit = compiled.get(input);
  if (hit !== undefined) return hit;
  if (!isValidTimeZone(input.tz)) throw new RangeError(`invalid time zone "${input.tz}"`);
  const days = parseWeekdays(input.days);
  if (!days.ok) throw new RangeError(days.message);
  const hours = parseHours(input.hours);
  if (!hours.ok) throw new RangeError(hours.message);
  for (const holiday of input.holidays) {
    if (!isValidLocalDate(holiday)) throw new RangeError(`invalid holiday "${holiday}": use yyyy-MM-dd`);
  }
  const calendar: BusinessCalendar = {
    tz: input.tz,
    workdays: days.value,
    spans: hours.value,
    holidays: new Set(input.holidays),
    dayMs: hours.value.reduce((sum, span) => sum + (span.end - span.start) * 60_000, 0),
    days: new Map(),
  };
  compiled.set(input, calendar);
  return calendar;
}

/** Working time represented by a config duration: `d` counts whole working days. */
export function businessDurationMs(duration: Duration, calendar: CalendarInput): number {
  return duration.days * compileCalendar(calendar).dayMs + duration.ms;
}

/** The instant of a local wall time on a given local day; luxon moves a time in a DST gap forward. */
function instantOf(day: DateTime, minutes: number): number {
  if (minutes >= 24 * 60) return day.plus({ days: 1 }).startOf('day').toMillis();
  return day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0, millisecond: 0 }).toMillis();
}

function localMidnight(calendar: BusinessCalendar, dayNumber: number): DateTime {
  const civil = new Date(dayNumber * DAY_MS);
  return DateTime.fromObject(
    { year: civil.getUTCFullYear(), month: civil.getUTCMonth() + 1, day: civil.getUTCDate() },
    { zone: calendar.tz },
  );
}

function dayInfo(calendar: BusinessCalendar, dayNumber: number): DayInfo {
  const hit = calendar.days.get(dayNumber);
  if (hit !== undefined) return hit;
  const day = localMidnight(calendar, dayNumber);
  const working = calendar.workdays[day.weekday] === true && !calendar.holidays.has(day.toISODate() ?? '');
  const spans: number[] = [];
  if (working) for (const span of calendar.spans) spans.push(instantOf(day, span.start), instantOf(day, span.end));
  const info: DayInfo = { start: day.toMillis(), end: localMidnight(calendar, dayNumber + 1).toMillis(), spans };
  // Evaluations cluster around now, so a bounded cache keeps nearly every lookup a hit.
  if (calendar.days.size >= 20_000) calendar.days.clear();
  calendar.days.set(dayNumber, info);
  return info;
}

/** The local day that contains an instant (a zone is never more than a day away from UTC). */
function dayOf(calendar: BusinessCalendar, instant: number): number {
  let day = Math.floor(instant / DAY_MS);
  while (instant < dayInfo(calendar, day).start) day -= 1;
  while (instant >= dayInfo(calendar, day).end) day += 1;
  return day;
}

/** The local calendar date (yyyy-MM-dd) of an instant in the calendar's zone. */
export function localDate(iso: string, calendar: CalendarInput): string {
  const day = dayOf(compileCalendar(calendar), parseInstant(iso));
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function parseInstant(iso: string): number {
  const ms = readInstant(iso);
  if (Number.isNaN(ms)) throw new RangeError(`invalid time "${iso}"`);
  return ms;
}

/**
 * The instant when `durationMs` of working time has elapsed after `startIso`. A start outside
 * opening hours starts the clock at the next opening; the result is an ISO instant in UTC.
 * Elapsed time is measured in real milliseconds, so an opening span that crosses a DST switch
 * counts the hours that actually pass.
 */
export function addBusinessDuration(startIso: string, durationMs: number, calendar: CalendarInput): string {
  const cal = compileCalendar(calendar);
  let cursor = parseInstant(startIso);
  let remaining = Math.max(0, durationMs);
  let day = dayOf(cal, cursor);
  for (let i = 0; i < MAX_DAYS; i += 1, day += 1) {
    const spans = dayInfo(cal, day).spans;
    for (let k = 0; k + 1 < spans.length; k += 2) {
      const open = spans[k] as number;
      const close = spans[k + 1] as number;
      if (cursor < open) cursor = open;
      if (cursor >= close) continue;
      const available = close - cursor;
      if (remaining <= available) return new Date(cursor + remaining).toISOString();
      remaining -= available;
      cursor = close;
    }
  }
  throw new RangeError('the calendar has no working time in the next ten years');
}

/** Working time between two instants; negative when `bIso` is before `aIso`. */
export function businessMsBetween(aIso: string, bIso: string, calendar: CalendarInput): number {
  const a = parseInstant(aIso);
  const b = parseInstant(bIso);
  if (b < a) return -businessMsBetween(bIso, aIso, calendar);
  const cal = compileCalendar(calendar);
  let total = 0;
  for (let day = dayOf(cal, a); ; day += 1) {
    const info = dayInfo(cal, day);
    if (info.start > b) break;
    for (let k = 0; k + 1 < info.spans.length; k += 2) {
      const from = Math.max(info.spans[k] as number, a);
      const to = Math.min(info.spans[k + 1] as number, b);
      if (to > from) total += to - from;
    }
  }
  return total;
}
