/**
 * The HubSpot change feed: CRM search on `lastmodifieddate` with a `(timestamp, id)` cursor.
 *
 * Vendor behaviour relied on (reference H3): search pages hold at most 200 results; one query can
 * page through at most 10,000 results (`after` beyond that is a 400); filters in a group are ANDed
 * and groups ORed; only one sort; `hs_object_id` is a number property; the index lags writes by
 * "a few moments"; archived records are never returned; 5 requests a second.
 *
 * How the cursor moves (keyset paging, never `after`): every query starts just past the cursor,
 *   (lastmodifieddate = c.ts AND hs_object_id > c.id) OR (c.ts < lastmodifieddate <= upper)
 * sorted by lastmodifieddate. Ties inside a page come in no promised order, so of a full page only
 * the records strictly older than the page's last timestamp are handed on; the next query re-reads
 * the rest. A full page that is all one timestamp (a bulk import: more than 200 records in one ms)
 * switches to the tie-breaker query `lastmodifieddate = T AND hs_object_id > id`, sorted by id, until
 * that timestamp is drained. Because no query ever pages with `after`, the 10,000-result cap cannot
 * be reached however large a window is, so a window never needs splitting, and a record that changes
 * while the feed runs moves forward in the order instead of shifting an offset (which would skip one).
 * `upper = now - safetyMarginMs` keeps the cursor behind the index lag.
 */
import type { ChangePage, RecordProblem, StreamPosition } from '../types.js';
import { LAST_MODIFIED, OBJECT_ID } from './properties.js';
import type { MappedContacts } from './mapping.js';
import { parseTimestamp } from './mapping.js';
import { CrmError } from '../errors.js';

export const SEARCH_PAGE_LIMIT = 200;
export const CONTACTS_STREAM = 'contacts';
export const DEFAULT_SAFETY_MARGIN_MS = 10_000;

export interface Cursor {
  ts: number;
  id: string;
}

export type FeedMode = { kind: 'range' } | { kind: 'tie'; ts: number };

export interface FeedState {
  cursor: Cursor | null;
  /** Inclusive upper bound of lastmodifieddate: now - safety margin. */
  upper: number;
  mode: FeedMode;
}

/** Numeric ids compare as numbers (HubSpot's `hs_object_id GT` does); others as strings. */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareCursors(a: Cursor, b: Cursor): number {
  return a.ts !== b.ts ? a.ts - b.ts : compareIds(a.id, b.id);
}

export function cursorFromPosition(position: StreamPosition | null | undefined): Cursor | null {
  if (!position) return null;
  const ts = Date.parse(position.ts);
  if (!Number.isFinite(ts)) return null;
  return { ts, id: position.id };
}

export function positionFromCursor(cursor: Cursor | null): StreamPosition | null {
  return cursor ? { ts: new Date(cursor.ts).toISOString(), id: cursor.id } : null;
}

export interface SearchFilter {
  propertyName: string;
  operator: 'EQ' | 'GT' | 'GTE' | 'LT' | 'LTE';
  value: string;
}

export interface SearchRequest {
  filterGroups: Array<{ filters: SearchFilter[] }>;
  sorts: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>;
  properties: string[];
  limit: number;
}

/** The one search the state calls for next. */
export function searchRequestFor(state: FeedState, properties: readonly string[], limit = SEARCH_PAGE_LIMIT, lastModified: string = LAST_MODIFIED): SearchRequest {
  const LAST_MODIFIED = lastModified;
  const upper: SearchFilter = { propertyName: LAST_MODIFIED, operator: 'LTE', value: String(state.upper) };
  if (state.mode.kind === 'tie') {
    const filters: SearchFilter[] = [{ propertyName: LAST_MODIFIED, operator: 'EQ', value: String(state.mode.ts) }];
    if (state.cursor && state.cursor.ts === state.mode.ts && state.cursor.id !== '') filters.push({ propertyName: OBJECT_ID, operator: 'GT', value: state.cursor.id });
    return { filterGroups: [{ filters }], sorts: [{ propertyName: OBJECT_ID, direction: 'ASCENDING' }], properties: [...properties], limit };
  }
  const c = state.cursor;
  // An empty id starts the feed at a timestamp, inclusive (after a full read).
  const filterGroups = c && c.id === ''
    ? [{ filters: [{ propertyName: LAST_MODIFIED, operator: 'GTE', value: String(c.ts) }, upper] satisfies SearchFilter[] }]
    : c
    ? [
        {
          filters: [
            { propertyName: LAST_MODIFIED, operator: 'EQ', value: String(c.ts) },
            { propertyName: OBJECT_ID, operator: 'GT', value: c.id },
          ] satisfies SearchFilter[],
        },
        { filters: [{ propertyName: LAST_MODIFIED, operator: 'GT', value: String(c.ts) }, upper] satisfies SearchFilter[] },
      ]
    : [{ filters: [upper] }];
  return { filterGroups, sorts: [{ propertyName: LAST_MODIFIED, direction: 'ASCENDING' }], properties: [...properties], limit };
}

export interface FeedStep {
  /** The records to hand on, in cursor order. */
  take: Cursor[];
  /** The state after this page, or null when the feed has caught up with `upper`. */
  next: FeedState | null;
}

/**
 * Pure: given the state and the keys of the page the search returned (in its order), which
 * records are handed on and what the next state is. `pageSize` is how many results came back.
 */
export function stepFeed(state: FeedState, keys: readonly Cursor[], pageSize: number, limit = SEARCH_PAGE_LIMIT): FeedStep {
  const seen = new Set<string>();
  const candidates = keys
    .filter((k) => k.ts <= state.upper && (state.cursor === null || compareCursors(k, state.cursor) > 0))
    .filter((k) => (state.mode.kind === 'tie' ? k.ts === state.mode.ts : true))
    .filter((k) => (seen.has(k.id) ? false : (seen.add(k.id), true)))
    .sort(compareCursors);
  const full = pageSize >= limit;
  const last = (list: Cursor[]): Cursor | null => list[list.length - 1] ?? null;

  if (state.mode.kind === 'tie') {
    const cursor = last(candidates) ?? state.cursor;
    return { take: candidates, next: full ? { ...state, cursor } : { ...state, cursor, mode: { kind: 'range' } } };
  }
  if (!full) return { take: candidates, next: null };
  const lastTs = Math.max(...keys.map((k) => k.ts));
  const older = candidates.filter((k) => k.ts < lastTs);
  if (older.length === 0) {
    // A whole page at one timestamp: drain it in id order.
    return { take: [], next: { ...state, mode: { kind: 'tie', ts: lastTs } } };
  }
  return { take: older, next: { ...state, cursor: last(older) } };
}

/** The cursor key of a raw search result, read loosely so that a record that fails the schema still moves the cursor. */
export function keyOf(raw: unknown, lastModified: string = LAST_MODIFIED): Cursor | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { id, properties, updatedAt } = raw as { id?: unknown; properties?: unknown; updatedAt?: unknown };
  if (typeof id !== 'string' || id.length === 0) return null;
  const props = typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>) : {};
  const lm = props[lastModified];
  const ts =
    parseTimestamp(typeof lm === 'string' ? lm : null) ??
    (updatedAt instanceof Date ? updatedAt.getTime() : parseTimestamp(typeof updatedAt === 'string' ? updatedAt : null));
  return ts === null ? null : { ts, id };
}

export interface ChangeFeedDeps {
  search(request: SearchRequest): Promise<{ results: readonly unknown[] }>;
  map(raw: readonly unknown[]): MappedContacts;
  properties: readonly string[];
}

export interface ChangeFeedOptions {
  now: number;
  safetyMarginMs: number;
  maxPages?: number;
  signal?: AbortSignal;
}

/** What a search feed of one object needs: the search call, the properties, its modification-time property. */
export interface SearchFeedDeps {
  search(request: SearchRequest): Promise<{ results: readonly unknown[] }>;
  properties: readonly string[];
  /** Contacts `lastmodifieddate`; deals and companies `hs_lastmodifieddate`. */
  lastModified?: string;
}

/**
 * The raw records changed from `start` up to `now - safetyMarginMs`, one page per search that hands
 * records on, in cursor order, with the position after them. Any object HubSpot searches.
 */
export async function* readSearchPages(
  deps: SearchFeedDeps,
  start: StreamPosition | null,
  options: ChangeFeedOptions,
): AsyncGenerator<{ raws: unknown[]; problems: RecordProblem[]; position: StreamPosition | null }> {
  const lastModified = deps.lastModified ?? LAST_MODIFIED;
  const upper = options.now - options.safetyMarginMs;
  let state: FeedState | null = { cursor: cursorFromPosition(start), upper, mode: { kind: 'range' } };
  if (state.cursor && state.cursor.ts > upper) return;
  let pages = 0;
  let idle = 0;
  while (state) {
    if (options.signal?.aborted) return;
    if (options.maxPages !== undefined && pages >= options.maxPages) return;
    const request = searchRequestFor(state, deps.properties, SEARCH_PAGE_LIMIT, lastModified);
    const answer = await deps.search(request);
    const problems: RecordProblem[] = [];
    const byId = new Map<string, unknown>();
    const keys: Cursor[] = [];
    for (const raw of answer.results) {
      const key = keyOf(raw, lastModified);
      if (!key) {
        problems.push({ ref: null, code: 'VALIDATION', message: `a HubSpot search result has no id or ${lastModified}` });
        continue;
      }
      keys.push(key);
      byId.set(key.id, raw);
    }
    const step = stepFeed(state, keys, answer.results.length);
    const before = JSON.stringify(state);
    state = step.next;
    // A search that ignored our filters could return the same page forever: stop instead of looping.
    idle = state && JSON.stringify(state) === before ? idle + 1 : 0;
    if (idle > 1) {
      throw new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'HubSpot search made no progress past the cursor; will retry from it' });
    }
    if (step.take.length === 0 && problems.length === 0) continue;
    const lastTaken = step.take[step.take.length - 1];
    pages += 1;
    yield { raws: step.take.map((k) => byId.get(k.id)), problems, position: positionFromCursor(lastTaken ?? null) };
  }
}

/** Reads contact changes from `start` up to `now - safetyMarginMs`, one ChangePage per search that hands on records. */
export async function* readContactChanges(
  deps: ChangeFeedDeps,
  start: StreamPosition | null,
  options: ChangeFeedOptions,
): AsyncGenerator<ChangePage> {
  for await (const page of readSearchPages(deps, start, options)) {
    const mapped = deps.map(page.raws);
    yield {
      stream: CONTACTS_STREAM,
      fragments: mapped.fragments,
      removed: mapped.removed,
      problems: [...page.problems, ...mapped.problems],
      position: page.position,
    };
  }
}
