/**
 * Runs a compiled query over a source of records. A query ordered by `SystemModstamp[, Id]` walks
 * the source's modstamp index from the lower bound its WHERE implies and stops at LIMIT, so the
 * change-feed page `WHERE SystemModstamp > X OR (SystemModstamp = X AND Id > Y) ORDER BY
 * SystemModstamp, Id LIMIT 2000` costs O(log n + page). Other ORDER BY + LIMIT use a bounded heap;
 * without LIMIT a full sort on precomputed keys.
 */
import type { SObjectSchema } from '../objects.js';
import { outputValue } from '../values.js';
import type { SfRecord, SfValue } from '../values.js';
import { compareIds } from './bind.js';
import { compileQuery } from './compile.js';
import type { AggregateColumn, CompiledQuery, OrderKey, RecordFinder, SchemaResolver } from './compile.js';
import { parseSoql } from './parser.js';

export interface QuerySource {
  schema: SObjectSchema;
  /** Every row, deleted ones included, in creation order. */
  scanAll(): Iterable<SfRecord>;
  /** Rows with lo <= SystemModstamp <= hi in (SystemModstamp, Id) order, if the source keeps that index. */
  scanByModstamp?(lo: number, hi: number, dir: 'asc' | 'desc'): Iterable<SfRecord>;
  /** A row by a 15- or 18-character id, if the source can look rows up. */
  lookup?(id: string): SfRecord | undefined;
}

export type AggregateRow = Record<string, SfValue | { type: string }>;

export type QueryResult =
  | { kind: 'records'; rows: SfRecord[] }
  | { kind: 'count'; count: number }
  | { kind: 'aggregate'; rows: AggregateRow[] };

export interface ExecuteOptions {
  /** queryAll: include rows with IsDeleted = true. */
  includeDeleted: boolean;
}

/** Parses, compiles and runs one query (used by tests and the uncounted store helpers). */
export function runSoql(
  text: string,
  resolve: SchemaResolver,
  source: (schema: SObjectSchema) => QuerySource,
  now: number,
  options: ExecuteOptions,
  find?: RecordFinder,
): QueryResult {
  const compiled = compileQuery(parseSoql(text), resolve, now, find);
  return executeQuery(compiled, source(compiled.schema), options);
}

export function executeQuery(q: CompiledQuery, source: QuerySource, options: ExecuteOptions): QueryResult {
  const where = q.predicate;
  const visible: (r: SfRecord) => boolean = options.includeDeleted
    ? (where ?? (() => true))
    : where
      ? (r) => r.IsDeleted !== true && where(r)
      : (r) => r.IsDeleted !== true;

  if (q.kind === 'count') {
    let count = 0;
    for (const r of candidates(q, source)) if (visible(r)) count += 1;
    return { kind: 'count', count: q.limit === null ? count : Math.min(count, q.limit) };
  }
  if (q.kind === 'aggregate') return { kind: 'aggregate', rows: aggregate(q, source, visible) };

  const need = q.limit === null ? Infinity : q.limit + q.offset;
  if (need === 0) return { kind: 'records', rows: [] };
  let rows: SfRecord[] = [];
  if (q.modstampOrder && source.scanByModstamp && !(q.idCandidates && source.lookup)) {
    for (const r of source.scanByModstamp(q.modstampRange.lo, q.modstampRange.hi, q.modstampOrder)) {
      if (!visible(r)) continue;
      rows.push(r);
      if (rows.length >= need) break;
    }
  } else {
    for (const r of candidates(q, source)) if (visible(r)) rows.push(r);
    if (q.order.length) rows = need < rows.length / 4 ? topK(rows, need, rowComparator(q.order)) : sortRows(rows, q.order);
  }
  return { kind: 'records', rows: rows.slice(q.offset, need) };
}

/** The rows worth testing: those named by id, the modstamp range WHERE bounds, or everything. */
function candidates(q: CompiledQuery, source: QuerySource): Iterable<SfRecord> {
  if (q.idCandidates && source.lookup) {
    const rows = new Set<SfRecord>();
    for (const id of q.idCandidates) {
      const r = source.lookup(id);
      if (r) rows.add(r);
    }
    return rows;
  }
  const { lo, hi } = q.modstampRange;
  if (source.scanByModstamp && (lo > -Infinity || hi < Infinity)) return source.scanByModstamp(lo, hi, 'asc');
  return source.scanAll();
}

type SortKey = string | number | boolean | null;

function sortKey(key: OrderKey, record: SfRecord): SortKey {
  const v = key.path.read(record);
  if (v === null) return null;
  return key.category === 'text' ? String(v).toLowerCase() : v;
}

function compareKeys(key: OrderKey, a: SortKey, b: SortKey): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    // NULLS FIRST (the default) or LAST, whatever the direction.
    return (a === null) === key.nullsLast ? 1 : -1;
  }
  let c: number;
  if (key.category === 'id') c = compareIds(String(a), String(b));
  else if (typeof a === 'string') c = a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  else c = Number(a) - Number(b);
  return key.desc ? -c : c;
}

function rowComparator(order: OrderKey[]): (a: SfRecord, b: SfRecord) => number {
  return (a, b) => {
    for (const key of order) {
      const c = compareKeys(key, sortKey(key, a), sortKey(key, b));
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** A full, stable sort on keys computed once per row. */
function sortRows(rows: SfRecord[], order: OrderKey[]): SfRecord[] {
  const decorated = rows.map((r, i) => ({ r, i, k: order.map((key) => sortKey(key, r)) }));
  decorated.sort((x, y) => {
    for (let j = 0; j < order.length; j++) {
      const c = compareKeys(order[j] as OrderKey, x.k[j] as SortKey, y.k[j] as SortKey);
      if (c !== 0) return c;
    }
    return x.i - y.i;
  });
  return decorated.map((d) => d.r);
}

/** The first k rows in order, with a max-heap of k entries (ties keep scan order). */
function topK(rows: SfRecord[], k: number, compare: (a: SfRecord, b: SfRecord) => number): SfRecord[] {
  const heap: Array<{ r: SfRecord; i: number }> = [];
  const worse = (x: { r: SfRecord; i: number }, y: { r: SfRecord; i: number }) => {
    const c = compare(x.r, y.r);
    return c !== 0 ? c > 0 : x.i > y.i;
  };
  const siftUp = (n: number) => {
    while (n > 0) {
      const parent = (n - 1) >> 1;
      if (!worse(heap[n]!, heap[parent]!)) break;
      [heap[n], heap[parent]] = [heap[parent]!, heap[n]!];
      n = parent;
    }
  };
  const siftDown = (n: number) => {
    for (;;) {
      const l = 2 * n + 1;
      const r = l + 1;
      let top = n;
      if (l < heap.length && worse(heap[l]!, heap[top]!)) top = l;
      if (r < heap.length && worse(heap[r]!, heap[top]!)) top = r;
      if (top === n) return;
      [heap[n], heap[top]] = [heap[top]!, heap[n]!];
      n = top;
    }
  };
  rows.forEach((r, i) => {
    const entry = { r, i };
    if (heap.length < k) {
      heap.push(entry);
      siftUp(heap.length - 1);
    } else if (worse(heap[0]!, entry)) {
      heap[0] = entry;
      siftDown(0);
    }
  });
  return heap.sort((x, y) => compare(x.r, y.r) || x.i - y.i).map((e) => e.r);
}

interface Accumulator {
  count: number;
  distinct: Set<SfValue>;
  min: SfValue;
  max: SfValue;
  sum: number;
}

function accumulate(acc: Accumulator, column: AggregateColumn, v: SfValue): void {
  if (v === null) return;
  acc.count += 1;
  if (column.fn === 'COUNT_DISTINCT') acc.distinct.add(typeof v === 'string' ? v.toLowerCase() : v);
  if (typeof v === 'number') acc.sum += v;
  if (acc.min === null || v < acc.min) acc.min = v;
  if (acc.max === null || v > acc.max) acc.max = v;
}

function finish(acc: Accumulator, column: AggregateColumn): SfValue {
  switch (column.fn) {
    case 'COUNT':
      return acc.count;
    case 'COUNT_DISTINCT':
      return acc.distinct.size;
    case 'SUM':
      return acc.count ? acc.sum : null;
    case 'AVG':
      return acc.count ? acc.sum / acc.count : null;
    case 'MIN':
      return outputValue(column.path.field, acc.min);
    case 'MAX':
      return outputValue(column.path.field, acc.max);
  }
}

function aggregate(q: CompiledQuery, source: QuerySource, visible: (r: SfRecord) => boolean): AggregateRow[] {
  const columns = q.outputs.flatMap((o) => (o.kind === 'aggregate' ? [o.column] : []));
  const groups = new Map<string, { sample: SfRecord; accs: Accumulator[] }>();
  const newAccs = () => columns.map(() => ({ count: 0, distinct: new Set<SfValue>(), min: null, max: null, sum: 0 }));
  if (q.groupBy.length === 0) groups.set('', { sample: {}, accs: newAccs() });
  for (const r of candidates(q, source)) {
    if (!visible(r)) continue;
    const key = q.groupBy.length === 0 ? '' : JSON.stringify(q.groupBy.map((path) => {
      const v = path.read(r);
      return typeof v === 'string' ? v.toLowerCase() : v;
    }));
    let group = groups.get(key);
    if (!group) {
      group = { sample: r, accs: newAccs() };
      groups.set(key, group);
    }
    columns.forEach((c, i) => accumulate(group.accs[i]!, c, c.path.read(r)));
  }
  let entries = [...groups.values()];
  if (q.order.length) {
    const cmp = rowComparator(q.order);
    entries.sort((a, b) => cmp(a.sample, b.sample));
  }
  entries = entries.slice(q.offset, q.limit === null ? undefined : q.offset + q.limit);
  return entries.map((g) => {
    const row: AggregateRow = { attributes: { type: 'AggregateResult' } };
    let i = 0;
    for (const o of q.outputs) {
      // A grouped parent field is named by its own field name (`Account.Industry` → `Industry`).
      if (o.kind === 'group') row[o.path.field.name] = outputValue(o.path.field, o.path.read(g.sample));
      else row[o.column.name] = finish(g.accs[i++]!, o.column);
    }
    return row;
  });
}
