/**
 * `POST /crm/v3/objects/contacts/search` (reference H3): filter groups (AND within, OR across),
 * one sort, offset paging with the 10,000-result cap, default order by creation. Filters are
 * compiled once per query into predicates; the matching, sorted list is cached per store version
 * so that paging through a large result costs one scan.
 */
import { z } from 'zod';
import { validationError } from './errors.js';
import { rawValue, type ContactState } from './contact-model.js';
import type { PropertyDefinition } from './property-defs.js';
import { parseTimeInput } from './properties.js';
import type { HubSpotStore, TimeRange } from './store.js';

export const SEARCH_OPERATORS = [
  'LT', 'LTE', 'GT', 'GTE', 'EQ', 'NEQ', 'BETWEEN', 'IN', 'NOT_IN',
  'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const filterSchema = z.object({
  propertyName: z.string().min(1),
  operator: z.enum(SEARCH_OPERATORS),
  value: scalar.optional(),
  highValue: scalar.optional(),
  values: z.array(scalar).optional(),
});
export type SearchFilter = z.infer<typeof filterSchema>;

export const searchBodySchema = z.object({
  filterGroups: z.array(z.object({ filters: z.array(filterSchema) })).optional(),
  sorts: z
    .array(z.union([z.string().min(1), z.object({ propertyName: z.string().min(1), direction: z.enum(['ASCENDING', 'DESCENDING']).optional() })]))
    .optional(),
  query: z.string().optional(),
  properties: z.array(z.string()).optional(),
  limit: z.number().int().min(0).optional(),
  after: z.union([z.string(), z.number().int()]).transform(String).optional(),
});
export type SearchBody = z.infer<typeof searchBodySchema>;

export const SEARCH_LIMITS = { groups: 5, filtersPerGroup: 6, filtersTotal: 18, maxLimit: 200, maxResults: 10_000, maxBodyChars: 3000 } as const;
/** Properties the free-text `query` looks in (reference H3). */
const QUERY_PROPERTIES = ['firstname', 'lastname', 'email', 'phone', 'hs_additional_emails', 'fax', 'mobilephone', 'company'];

type Predicate = (doc: ContactState) => boolean;
type Kind = 'numeric' | 'string' | 'enumeration' | 'bool';

function kindOf(def: PropertyDefinition): Kind {
  switch (def.type) {
    case 'number':
    case 'datetime':
    case 'date':
      return 'numeric';
    case 'enumeration':
      return 'enumeration';
    case 'bool':
      return 'bool';
    default:
      return 'string';
  }
}

function numberGetter(name: string): (doc: ContactState) => number | undefined {
  switch (name) {
    case 'createdate':
      return (d) => d.createdAt;
    case 'lastmodifieddate':
      return (d) => d.updatedAt;
    case 'hs_object_id':
      return (d) => d.num;
    default:
      return (d) => {
        const v = d.props[name];
        if (typeof v === 'number') return v;
        return typeof v === 'string' ? Number(v) : undefined;
      };
  }
}

function parseNumber(def: PropertyDefinition, text: string): number {
  const n = def.type === 'number' ? (text.trim() === '' ? NaN : Number(text)) : (parseTimeInput(text) ?? NaN);
  if (!Number.isFinite(n)) {
    throw validationError(`Invalid value '${text}' for property ${def.name} of type ${def.type}`, {
      errors: [{ message: `invalid ${def.type} value`, in: def.name, code: 'INVALID_FILTER_VALUE' }],
    });
  }
  return n;
}

const TOKEN_SEPARATORS = /[\s,;.@_\-/:()]+/;

function tokensOf(text: string): string[] {
  return text.toLowerCase().split(TOKEN_SEPARATORS).filter(Boolean);
}

/**
 * CONTAINS_TOKEN: a word of the value, or with `*` a wildcard over the whole value or one of its
 * space-separated words (so `*@hubspot.com` matches an email). The cheap substring test runs first.
 */
function tokenMatcher(value: string): (stored: string) => boolean {
  const needle = value.toLowerCase();
  if (needle.includes('*')) {
    const pattern = new RegExp(`^${needle.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const fixed = needle.split('*').filter(Boolean);
    return (stored) => {
      const low = stored.toLowerCase();
      if (!fixed.every((part) => low.includes(part))) return false;
      return pattern.test(low) || low.split(/\s+/).some((t) => pattern.test(t));
    };
  }
  if (tokensOf(needle).length > 1) return (stored) => stored.toLowerCase().includes(needle);
  return (stored) => {
    const low = stored.toLowerCase();
    return low.includes(needle) && tokensOf(low).includes(needle);
  };
}

function compileFilter(def: PropertyDefinition, f: SearchFilter): Predicate {
  const name = def.name;
  const op = f.operator;
  const kind = kindOf(def);
  const needValue = (): string => {
    if (f.value === undefined) throw validationError(`Operator ${op} on ${name} requires a value`);
    return f.value;
  };
  const needValues = (): string[] => {
    if (!f.values || f.values.length === 0) throw validationError(`Operator ${op} on ${name} requires values`);
    return f.values;
  };
  const multi = def.type === 'enumeration' && def.fieldType === 'checkbox';

  if (op === 'HAS_PROPERTY') return (d) => rawValue(d, name) !== undefined;
  if (op === 'NOT_HAS_PROPERTY') return (d) => rawValue(d, name) === undefined;
  if (op === 'CONTAINS_TOKEN' || op === 'NOT_CONTAINS_TOKEN') {
    const match = tokenMatcher(needValue());
    const has: Predicate = (d) => {
      const v = rawValue(d, name);
      return v !== undefined && match(v);
    };
    return op === 'CONTAINS_TOKEN' ? has : (d) => !has(d);
  }

  if (kind === 'numeric') {
    const get = numberGetter(name);
    const cmp = (test: (n: number) => boolean): Predicate => (d) => {
      const n = get(d);
      return n !== undefined && test(n);
    };
    switch (op) {
      case 'EQ': { const v = parseNumber(def, needValue()); return cmp((n) => n === v); }
      case 'NEQ': { const v = parseNumber(def, needValue()); return (d) => get(d) !== v; }
      case 'LT': { const v = parseNumber(def, needValue()); return cmp((n) => n < v); }
      case 'LTE': { const v = parseNumber(def, needValue()); return cmp((n) => n <= v); }
      case 'GT': { const v = parseNumber(def, needValue()); return cmp((n) => n > v); }
      case 'GTE': { const v = parseNumber(def, needValue()); return cmp((n) => n >= v); }
      case 'BETWEEN': {
        const lo = parseNumber(def, needValue());
        if (f.highValue === undefined) throw validationError(`Operator BETWEEN on ${name} requires a highValue`);
        const hi = parseNumber(def, f.highValue);
        return cmp((n) => n >= lo && n <= hi);
      }
      case 'IN': { const set = new Set(needValues().map((v) => parseNumber(def, v))); return cmp((n) => set.has(n)); }
      case 'NOT_IN': { const set = new Set(needValues().map((v) => parseNumber(def, v))); return (d) => { const n = get(d); return n === undefined || !set.has(n); }; }
    }
  }

  // Strings compare case-insensitively; enumerations are case-sensitive; IN/NOT_IN on strings
  // compare the lower-cased stored value with the values as given, so they must be lower case.
  const caseless = kind === 'string' || kind === 'bool';
  const norm = (s: string) => (caseless ? s.toLowerCase() : s);
  const valuesOf = (d: ContactState): string[] | undefined => {
    const v = rawValue(d, name);
    if (v === undefined) return undefined;
    return multi ? v.split(';').map(norm) : [norm(v)];
  };
  const any = (test: (s: string) => boolean): Predicate => (d) => {
    const vs = valuesOf(d);
    return vs !== undefined && vs.some(test);
  };
  switch (op) {
    case 'EQ': { const v = norm(needValue()); return any((s) => s === v); }
    case 'NEQ': { const v = norm(needValue()); return (d) => !(valuesOf(d) ?? []).includes(v); }
    case 'LT': { const v = norm(needValue()); return any((s) => s < v); }
    case 'LTE': { const v = norm(needValue()); return any((s) => s <= v); }
    case 'GT': { const v = norm(needValue()); return any((s) => s > v); }
    case 'GTE': { const v = norm(needValue()); return any((s) => s >= v); }
    case 'BETWEEN': {
      const lo = norm(needValue());
      if (f.highValue === undefined) throw validationError(`Operator BETWEEN on ${name} requires a highValue`);
      const hi = norm(f.highValue);
      return any((s) => s >= lo && s <= hi);
    }
    case 'IN': { const set = new Set(needValues()); return any((s) => set.has(s)); }
    case 'NOT_IN': { const set = new Set(needValues()); return (d) => !(valuesOf(d) ?? []).some((s) => set.has(s)); }
  }
  throw validationError(`Unsupported operator ${String(op)}`);
}

function compileQuery(query: string): Predicate {
  const needle = query.trim().toLowerCase();
  return (d) => QUERY_PROPERTIES.some((name) => rawValue(d, name)?.toLowerCase().includes(needle) ?? false);
}

interface CompiledSort {
  name: string;
  descending: boolean;
  numeric: boolean;
}

export interface SearchPage {
  total: number;
  results: ContactState[];
  nextAfter: string | null;
}

export class SearchEngine {
  private cache: Array<{ key: string; version: number; matches: ContactState[] }> = [];

  constructor(private readonly store: HubSpotStore) {}

  search(body: SearchBody, now: number): SearchPage {
    const groups = body.filterGroups ?? [];
    if (groups.length > SEARCH_LIMITS.groups) {
      throw validationError(`Too many filter groups: ${groups.length}. The maximum is ${SEARCH_LIMITS.groups}.`);
    }
    let total = 0;
    for (const g of groups) {
      if (g.filters.length > SEARCH_LIMITS.filtersPerGroup) {
        throw validationError(`Too many filters in a filter group: ${g.filters.length}. The maximum is ${SEARCH_LIMITS.filtersPerGroup} per group.`);
      }
      total += g.filters.length;
    }
    if (total > SEARCH_LIMITS.filtersTotal) {
      throw validationError(`Too many filters: ${total}. The maximum is ${SEARCH_LIMITS.filtersTotal} across all filter groups.`);
    }
    const sorts = body.sorts ?? [];
    if (sorts.length > 1) throw validationError('Only one sort is allowed per search request.');
    const limit = body.limit ?? 10;
    if (limit > SEARCH_LIMITS.maxLimit) {
      throw validationError(`limit must be at most ${SEARCH_LIMITS.maxLimit}, got ${limit}`, {
        errors: [{ message: `must be less than or equal to ${SEARCH_LIMITS.maxLimit}`, in: 'limit' }],
      });
    }
    const after = body.after === undefined || body.after === '' ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0) throw validationError(`after must be a non-negative integer string, got '${body.after}'`);
    if (after + Math.max(limit, 1) > SEARCH_LIMITS.maxResults) {
      throw validationError(
        `Search results are limited to ${SEARCH_LIMITS.maxResults} per query: after (${after}) plus limit (${limit}) goes past result ${SEARCH_LIMITS.maxResults}. Narrow the filters to page further.`,
      );
    }

    const predicate = this.compile(body);
    const sort = this.compileSort(sorts[0]);
    const from = modifiedLowerBound(body);
    if (from !== null && sort?.name === 'lastmodifieddate' && !sort.descending) {
      const page = this.byModifiedTime(body, predicate, from, after, limit, now);
      if (page) return page;
    }
    const matches = this.matches(body, predicate, sort, now);
    const results = matches.slice(after, after + limit);
    const nextAfter = limit > 0 && after + limit < matches.length ? String(after + limit) : null;
    return { total: matches.length, results, nextAfter };
  }

  /**
   * The change feed's search (bounded below on lastmodifieddate, sorted by it ascending) from the
   * store's index by modification time, which already holds the records in that order. The page is
   * read from the index at the search's lower bound: the matches up to the page's end and the ties
   * of its last time (which go by id) are kept and sorted. `total` is counted from the index too: a filter group on
   * lastmodifieddate alone matches every searchable record in its span, which the store counts
   * without looking at them; only the spans of other groups that no such group covers are looked at
   * record by record. While search lags a write (its older state has its own time), every record
   * modified since is looked at, and null (the general path) when one is seen in its older state.
   */
  private byModifiedTime(body: SearchBody, predicate: Predicate, from: number, after: number, limit: number, now: number): SearchPage | null {
    const store = this.store;
    if (store.searchLagPending(now)) return this.byModifiedTimeLagging(predicate, from, after, limit, now);
    const wanted = after + limit;
    const head: ContactState[] = [];
    let cutAt: number | null = null;
    const [start, end] = store.modifiedPositions({ from, fromOpen: false, to: Infinity, toOpen: false });
    for (let i = start; i < end; i += 1) {
      if (cutAt !== null && store.modifiedTimeAt(i) > cutAt) break;
      const c = store.modifiedRecordAt(i);
      const doc = c && store.searchState(c, now);
      if (!doc || !predicate(doc)) continue;
      head.push(doc);
      if (cutAt === null && head.length >= wanted) cutAt = doc.updatedAt;
    }
    head.sort((a, b) => a.updatedAt - b.updatedAt || a.num - b.num);

    const spans = timeSpans(body);
    const counted = mergePositions(spans.filter((s) => s.timeOnly).map((s) => store.modifiedPositions(s.range)));
    const looked = mergePositions(spans.filter((s) => !s.timeOnly).map((s) => store.modifiedPositions(s.range)));
    let total = 0;
    for (const [s, e] of counted) total += store.liveModifiedCount(s, e);
    for (const [s, e] of subtractPositions(looked, counted)) {
      for (let i = s; i < e; i += 1) {
        const c = store.modifiedRecordAt(i);
        const doc = c && store.searchState(c, now);
        if (doc && predicate(doc)) total += 1;
      }
    }
    const results = head.slice(after, wanted);
    const nextAfter = limit > 0 && wanted < total ? String(wanted) : null;
    return { total, results, nextAfter };
  }

  /** byModifiedTime while search lags a write: every record modified since is looked at. */
  private byModifiedTimeLagging(predicate: Predicate, from: number, after: number, limit: number, now: number): SearchPage | null {
    const candidates = this.store.modifiedSince(from, now);
    if (candidates === null) return null;
    const head: ContactState[] = [];
    const wanted = after + limit;
    let cutAt: number | null = null;
    let total = 0;
    for (const c of candidates) {
      const doc = this.store.searchState(c, now);
      if (!doc || !predicate(doc)) continue;
      if (doc.updatedAt !== c.updatedAt) return null;
      total += 1;
      if (cutAt === null) {
        head.push(doc);
        if (head.length >= wanted) cutAt = doc.updatedAt;
      } else if (doc.updatedAt === cutAt) head.push(doc);
    }
    head.sort((a, b) => a.updatedAt - b.updatedAt || a.num - b.num);
    const results = head.slice(after, after + limit);
    const nextAfter = limit > 0 && after + limit < total ? String(after + limit) : null;
    return { total, results, nextAfter };
  }

  private compile(body: SearchBody): Predicate {
    const registry = this.store.registry;
    const groupPredicates = (body.filterGroups ?? []).map((g) => {
      const filters = g.filters.map((f) => {
        const def = registry.get(f.propertyName);
        if (!def) {
          throw validationError(`Property "${f.propertyName}" does not exist`, {
            errors: [{ message: `Property "${f.propertyName}" does not exist`, code: 'PROPERTY_DOESNT_EXIST', in: f.propertyName }],
          });
        }
        return compileFilter(def, f);
      });
      return (d: ContactState) => filters.every((p) => p(d));
    });
    const byGroups: Predicate = groupPredicates.length === 0 ? () => true : (d) => groupPredicates.some((p) => p(d));
    if (body.query && body.query.trim() !== '') {
      const byQuery = compileQuery(body.query);
      return (d) => byGroups(d) && byQuery(d);
    }
    return byGroups;
  }

  private compileSort(sort: NonNullable<SearchBody['sorts']>[number] | undefined): CompiledSort | null {
    if (sort === undefined) return null;
    const spec = typeof sort === 'string'
      ? { name: sort.replace(/^-/, ''), descending: sort.startsWith('-') }
      : { name: sort.propertyName, descending: sort.direction === 'DESCENDING' };
    const def = this.store.registry.get(spec.name);
    if (!def) throw validationError(`Cannot sort on property "${spec.name}": it does not exist`);
    return { ...spec, numeric: kindOf(def) === 'numeric' };
  }

  private matches(body: SearchBody, predicate: Predicate, sort: CompiledSort | null, now: number): ContactState[] {
    const store = this.store;
    // With index lag, visibility depends on the time: only cache when there is none.
    const cacheable = store.searchIndexLagMs <= 0;
    const key = JSON.stringify([body.filterGroups ?? [], body.sorts ?? [], body.query ?? '']);
    if (cacheable) {
      const hit = this.cache.find((e) => e.key === key && e.version === store.version);
      if (hit) return hit.matches;
    }
    const matches: ContactState[] = [];
    // A search bounded below on lastmodifieddate (the change feed's) looks only at the records
    // modified since; any other looks at them all.
    const from = modifiedLowerBound(body);
    for (const c of (from === null ? null : store.modifiedSince(from, now)) ?? store.all()) {
      const doc = store.searchState(c, now);
      if (doc && predicate(doc)) matches.push(doc);
    }
    if (sort) sortMatches(matches, sort);
    else if (!store.createdInOrder || store.searchIndexLagMs > 0) matches.sort((a, b) => a.createdAt - b.createdAt || a.num - b.num);
    if (cacheable) {
      this.cache.unshift({ key, version: store.version, matches });
      this.cache.length = Math.min(this.cache.length, 4);
    }
    return matches;
  }
}

/**
 * The earliest lastmodifieddate any filter group can match, when every group bounds it below
 * (GT, GTE, EQ or BETWEEN); null when some group does not. Values were validated by compile().
 */
function modifiedLowerBound(body: SearchBody): number | null {
  const groups = body.filterGroups ?? [];
  if (groups.length === 0) return null;
  let bound = Infinity;
  for (const group of groups) {
    let groupBound = -Infinity;
    for (const f of group.filters) {
      if (f.propertyName !== 'lastmodifieddate' || f.value === undefined || !['GT', 'GTE', 'EQ', 'BETWEEN'].includes(f.operator)) continue;
      const at = parseTimeInput(f.value);
      if (at !== null && Number.isFinite(at)) groupBound = Math.max(groupBound, at);
    }
    if (groupBound === -Infinity) return null;
    bound = Math.min(bound, groupBound);
  }
  return bound;
}

/** The span of lastmodifieddate a filter group allows, and whether its filters are on that time alone. */
interface TimeSpan {
  range: TimeRange;
  timeOnly: boolean;
}

/**
 * Each filter group's span of lastmodifieddate (its GT, GTE, LT, LTE, EQ and BETWEEN filters on it,
 * intersected) and whether nothing else filters it (no other filter, no free-text query). Only
 * called for searches every group of which bounds the time below (modifiedLowerBound).
 */
function timeSpans(body: SearchBody): TimeSpan[] {
  const query = body.query !== undefined && body.query.trim() !== '';
  return (body.filterGroups ?? []).map((group) => {
    const range: TimeRange = { from: -Infinity, fromOpen: false, to: Infinity, toOpen: false };
    let timeOnly = !query;
    const above = (at: number, open: boolean) => {
      if (at > range.from) Object.assign(range, { from: at, fromOpen: open });
      else if (at === range.from) range.fromOpen ||= open;
    };
    const below = (at: number, open: boolean) => {
      if (at < range.to) Object.assign(range, { to: at, toOpen: open });
      else if (at === range.to) range.toOpen ||= open;
    };
    for (const f of group.filters) {
      const at = f.propertyName === 'lastmodifieddate' && f.value !== undefined ? parseTimeInput(f.value) : null;
      if (at === null) {
        timeOnly = false;
        continue;
      }
      switch (f.operator) {
        case 'GT': above(at, true); break;
        case 'GTE': above(at, false); break;
        case 'LT': below(at, true); break;
        case 'LTE': below(at, false); break;
        case 'EQ': above(at, false); below(at, false); break;
        case 'BETWEEN': {
          const high = f.highValue === undefined ? null : parseTimeInput(f.highValue);
          above(at, false);
          if (high === null) timeOnly = false;
          else below(high, false);
          break;
        }
        default: timeOnly = false;
      }
    }
    return { range, timeOnly };
  });
}

/** Position spans `[start, end)`, sorted and merged where they touch. */
function mergePositions(spans: Array<[number, number]>): Array<[number, number]> {
  const sorted = spans.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** The parts of merged spans `from` outside merged spans `minus`. */
function subtractPositions(from: Array<[number, number]>, minus: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s0, e] of from) {
    let s = s0;
    for (const [ms, me] of minus) {
      if (me <= s || ms >= e) continue;
      if (ms > s) out.push([s, ms]);
      s = Math.max(s, me);
    }
    if (s < e) out.push([s, e]);
  }
  return out;
}

/** One sort; empty values last in either direction; ties by id ascending. */
function sortMatches(matches: ContactState[], sort: CompiledSort): void {
  const dir = sort.descending ? -1 : 1;
  if (sort.numeric) {
    const get = numberGetter(sort.name);
    const keyed = matches.map((doc) => ({ doc, key: get(doc) }));
    keyed.sort((a, b) => {
      if (a.key === undefined || b.key === undefined) return a.key === b.key ? a.doc.num - b.doc.num : a.key === undefined ? 1 : -1;
      return (a.key - b.key) * dir || a.doc.num - b.doc.num;
    });
    keyed.forEach((k, i) => (matches[i] = k.doc));
    return;
  }
  const keyed = matches.map((doc) => ({ doc, key: rawValue(doc, sort.name)?.toLowerCase() }));
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) return a.key === b.key ? a.doc.num - b.doc.num : a.key === undefined ? 1 : -1;
    return (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) * dir || a.doc.num - b.doc.num;
  });
  keyed.forEach((k, i) => (matches[i] = k.doc));
}
