/**
 * Literals against field types, as SOQL checks them: a string for text and id fields, a number
 * for numbers, true/false for checkboxes, date and date-time literals (or relative ones) for dates.
 * A bound literal is a comparable key (text lower-cased: SOQL compares case-insensitively; ids on
 * their 15-character form) or a half-open range for dates (a date-time literal: its whole second).
 */
import type { FieldDef, FieldType } from '../objects.js';
import { isIdShaped, wholeSecond } from '../values.js';
import type { SfValue } from '../values.js';
import { relativeDateRange } from './dates.js';
import type { DateRange } from './dates.js';
import { LIKE_PERCENT, LIKE_UNDERSCORE, SoqlError } from './lexer.js';
import type { CompareOp, Literal } from './parser.js';

export type Category = 'text' | 'id' | 'boolean' | 'number' | 'date' | 'datetime';

export function categoryOf(type: FieldType): Category {
  switch (type) {
    case 'id':
    case 'reference':
      return 'id';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    default:
      return 'text';
  }
}

export type Bound = { kind: 'null' } | { kind: 'value'; key: string | number | boolean } | { kind: 'range'; range: DateRange };

const TYPE_NAMES: Record<Category, string> = { text: 'string', id: 'id', boolean: 'boolean', number: 'double', date: 'date', datetime: 'dateTime' };
const DAY_MS = 86_400_000;

/** Type-checks a literal against a field and turns it into a comparable key or range. */
export function bindLiteral(f: FieldDef, lit: Literal, now: number, query: string): Bound {
  const cat = categoryOf(f.type);
  if (lit.kind === 'null') return { kind: 'null' };
  const mismatch = () => {
    const typeName = f.type === 'int' ? 'integer' : TYPE_NAMES[cat];
    const quoted = cat === 'text' || cat === 'id';
    return new SoqlError(
      'INVALID_FIELD',
      `value of filter criterion for field '${f.name}' must be of type ${typeName} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
      lit.pos,
      query,
    );
  };
  switch (cat) {
    case 'text':
      if (lit.kind !== 'string') throw mismatch();
      return { kind: 'value', key: lit.value.toLowerCase() };
    case 'id':
      if (lit.kind !== 'string') throw mismatch();
      if (!isIdShaped(lit.value)) throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${lit.value}`, lit.pos, query);
      return { kind: 'value', key: lit.value.slice(0, 15) };
    case 'boolean':
      if (lit.kind !== 'boolean') throw mismatch();
      return { kind: 'value', key: lit.value };
    case 'number':
      if (lit.kind !== 'number') throw mismatch();
      return { kind: 'value', key: lit.value };
    case 'date':
    case 'datetime': {
      if (lit.kind === 'relativeDate') {
        const range = relativeDateRange(lit.name, lit.n, now);
        if (!range) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${lit.name}'`, lit.pos, query);
        return { kind: 'range', range };
      }
      if (cat === 'date' && lit.kind === 'date') return { kind: 'range', range: { start: lit.value, end: lit.value + DAY_MS } };
      if (cat === 'datetime' && lit.kind === 'datetime') {
        // A date-time literal names its whole second: SOQL's formats have none finer
        // (`YYYY-MM-DDThh:mm:ssZ`, [C https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats.md]),
        // dateTime fields have "a precision of one second" (values.ts `wholeSecond`), and an org compares
        // them ignoring milliseconds [S https://salesforce.stackexchange.com/questions/234824]:
        // `SystemModstamp = 10:00:05.437Z` matches the stamp `10:00:05.000`, `> 10:00:05.437Z` does not.
        const second = wholeSecond(lit.value);
        return { kind: 'range', range: { start: second, end: second + 1000 } };
      }
      throw mismatch();
    }
  }
}

/** Compares the 15-character (case-sensitive) forms of two ids. */
export function compareIds(a: string, b: string): number {
  for (let i = 0; i < 15; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0 || Number.isNaN(d)) return Number.isNaN(d) ? a.length - b.length : d;
  }
  return 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A LIKE pattern as a regular expression: `%` any run, `_` one character, escaped ones literal. */
export function likeToRegExp(like: string): RegExp {
  let source = '';
  for (const ch of like) {
    if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else if (ch === LIKE_PERCENT) source += '%';
    else if (ch === LIKE_UNDERSCORE) source += '_';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, 'is');
}

export function opTest(op: CompareOp): (c: number) => boolean {
  switch (op) {
    case '=':
      return (c) => c === 0;
    case '!=':
      return (c) => c !== 0;
    case '<':
      return (c) => c < 0;
    case '<=':
      return (c) => c <= 0;
    case '>':
      return (c) => c > 0;
    case '>=':
      return (c) => c >= 0;
  }
}

/** Compares a stored value with a bound key of the same category. */
export function comparatorFor(cat: Category): (value: SfValue, key: string | number | boolean) => number {
  switch (cat) {
    case 'text':
      return (v, k) => {
        const a = String(v).toLowerCase();
        return a < (k as string) ? -1 : a > (k as string) ? 1 : 0;
      };
    case 'id':
      return (v, k) => compareIds(String(v), k as string);
    case 'boolean':
      return (v, k) => Number(v) - Number(k);
    default:
      return (v, k) => (v as number) - (k as number);
  }
}
