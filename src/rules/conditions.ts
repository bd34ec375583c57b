/**
 * One condition on one Lead field, shared by fit rules and routing rules:
 * `{ field, equals | in | matches | gte/lte | freemail | missing }`. Several operators on one
 * condition must all hold (for example `gte` and `lte` form a range). Conditions are compiled once
 * per config object into predicates so that evaluation does no parsing and no regex compilation.
 */
import { isFreemail } from './freemail.js';
import { pathSegments, readLeadPath } from './lead-path.js';
import type { Lead } from '../model/lead.js';

export interface ConditionInput {
  field: string;
  equals?: string | number | boolean | undefined;
  in?: ReadonlyArray<string | number> | undefined;
  /** A case-insensitive regular expression, tested anywhere in the value. */
  matches?: string | undefined;
  gte?: number | undefined;
  lte?: number | undefined;
  /** true: the value is a free-mail address or domain; false: a non-empty company one. */
  freemail?: boolean | undefined;
  /** true: the value is null, empty or absent; false: it is present. */
  missing?: boolean | undefined;
}

export type LeadPredicate = (lead: Lead) => boolean;

export const CONDITION_OPERATORS = ['equals', 'in', 'matches', 'gte', 'lte', 'freemail', 'missing'] as const;

/** Strings compare trimmed and case-insensitively; numbers and booleans by their text. */
export function comparableKey(value: unknown): string | null {
  if (typeof value === 'string') return value.trim().toLowerCase();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return null;
}

function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

export function isMissing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** The message for a regular expression that does not compile, or null when it does. */
export function regexError(source: string): string | null {
  try {
    new RegExp(source, 'i');
    return null;
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^.*: /, '') : String(error);
    return `invalid regular expression "${source}": ${detail}`;
  }
}

export function compileCondition(input: ConditionInput, extraFreemail?: ReadonlySet<string>): LeadPredicate {
  const segments = pathSegments(input.field);
  const checks: Array<(value: unknown) => boolean> = [];

  if (input.missing !== undefined) {
    const wantMissing = input.missing;
    checks.push((value) => isMissing(value) === wantMissing);
  }
  if (input.equals !== undefined) {
    const expected = comparableKey(input.equals);
    checks.push((value) => expected !== null && comparableKey(value) === expected);
  }
  if (input.in !== undefined) {
    const allowed = new Set<string>();
    for (const item of input.in) {
      const key = comparableKey(item);
      if (key !== null) allowed.add(key);
    }
    checks.push((value) => {
      const key = comparableKey(value);
      return key !== null && allowed.has(key);
    });
  }
  if (input.matches !== undefined) {
    // No `g` flag: a global regex keeps lastIndex between calls and would alternate results.
    const pattern = new RegExp(input.matches, 'i');
    checks.push((value) => {
      if (typeof value === 'string') return pattern.test(value);
      if (typeof value === 'number') return pattern.test(String(value));
      return false;
    });
  }
  if (input.gte !== undefined || input.lte !== undefined) {
    const low = input.gte ?? Number.NEGATIVE_INFINITY;
    const high = input.lte ?? Number.POSITIVE_INFINITY;
    checks.push((value) => {
      const n = numberOf(value);
      return n !== null && n >= low && n <= high;
    });
  }
  if (input.freemail !== undefined) {
    const wantFreemail = input.freemail;
    checks.push((value) => {
      if (typeof value !== 'string' || value.trim() === '') return false;
      return isFreemail(value, extraFreemail) === wantFreemail;
    });
  }

  if (checks.length === 1) {
    const only = checks[0] as (value: unknown) => boolean;
    return (lead) => only(readLeadPath(lead, segments));
  }
  return (lead) => {
    const value = readLeadPath(lead, segments);
    for (const check of checks) if (!check(value)) return false;
    return true;
  };
}
