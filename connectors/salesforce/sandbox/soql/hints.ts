/**
 * What a WHERE and ORDER BY tell the executor beyond the predicate: the SystemModstamp range every
 * match lies in, whether the order is the modstamp index's own, and the ids a query names. With
 * them a change-feed page or a read by ids touches a few rows instead of the whole table.
 */
import type { FieldDef } from '../objects.js';
import { bindLiteral } from './bind.js';
import type { Bound } from './bind.js';
import type { Condition, FieldRef } from './parser.js';

export interface OrderHint {
  /** The canonical field path: `SystemModstamp`, or `Account.SystemModstamp` for a parent's. */
  name: string;
  desc: boolean;
}

/** The queried object's own field a reference names; undefined for a parent's field (`Account.Id`). */
export type RootField = (ref: FieldRef) => FieldDef | undefined;

type Range = Extract<Bound, { kind: 'range' }>;

/** Inclusive [lo, hi] on SystemModstamp that every record matching `c` satisfies. */
export function modstampBounds(c: Condition, rootField: RootField, now: number, query: string): { lo: number; hi: number } {
  const all = { lo: -Infinity, hi: Infinity };
  const modstamp = (ref: FieldRef) => {
    const f = rootField(ref);
    return f?.name === 'SystemModstamp' ? f : undefined;
  };
  switch (c.kind) {
    case 'and':
      return c.parts
        .map((p) => modstampBounds(p, rootField, now, query))
        .reduce((a, b) => ({ lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) }), all);
    case 'or':
      return c.parts
        .map((p) => modstampBounds(p, rootField, now, query))
        .reduce((a, b) => ({ lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) }), { lo: Infinity, hi: -Infinity });
    case 'not':
    case 'like':
      return all;
    case 'in': {
      const f = modstamp(c.field);
      if (c.negated || !f) return all;
      const ranges = c.values.map((v) => bindLiteral(f, v, now, query)).filter((b): b is Range => b.kind === 'range');
      if (ranges.length !== c.values.length) return all;
      return { lo: Math.min(...ranges.map((b) => b.range.start)), hi: Math.max(...ranges.map((b) => b.range.end - 1)) };
    }
    case 'compare': {
      const f = modstamp(c.field);
      if (!f) return all;
      const b = bindLiteral(f, c.value, now, query);
      if (b.kind !== 'range') return all;
      const { start, end } = b.range;
      switch (c.op) {
        case '=':
          return { lo: start, hi: end - 1 };
        case '>':
          return { lo: end, hi: Infinity };
        case '>=':
          return { lo: start, hi: Infinity };
        case '<':
          return { lo: -Infinity, hi: start - 1 };
        case '<=':
          return { lo: -Infinity, hi: end - 1 };
        default:
          return all;
      }
    }
  }
}

/** The ids `c` limits matches to (`Id = '...'`, `Id IN (...)`, conjunctions and disjunctions of them), or null. */
export function idCandidates(c: Condition, rootField: RootField): string[] | null {
  const isId = (ref: FieldRef) => rootField(ref)?.name === 'Id';
  switch (c.kind) {
    case 'compare':
      return isId(c.field) && c.op === '=' && c.value.kind === 'string' ? [c.value.value] : null;
    case 'in':
      return isId(c.field) && !c.negated ? c.values.flatMap((v) => (v.kind === 'string' ? [v.value] : [])) : null;
    case 'and': {
      const bounded = c.parts.map((p) => idCandidates(p, rootField)).filter((ids): ids is string[] => ids !== null);
      return bounded.length ? bounded.reduce((a, b) => (b.length < a.length ? b : a)) : null;
    }
    case 'or': {
      const parts = c.parts.map((p) => idCandidates(p, rootField));
      return parts.every((ids) => ids !== null) ? parts.flatMap((ids) => ids ?? []) : null;
    }
    default:
      return null;
  }
}

/** 'asc' or 'desc' when ORDER BY is SystemModstamp[, Id] in one direction: the index's own order. */
export function modstampOrder(order: readonly OrderHint[]): 'asc' | 'desc' | null {
  const [first, second, ...rest] = order;
  if (!first || first.name !== 'SystemModstamp' || rest.length) return null;
  if (second && (second.name !== 'Id' || second.desc !== first.desc)) return null;
  return first.desc ? 'desc' : 'asc';
}
