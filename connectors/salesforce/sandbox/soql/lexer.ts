/**
 * SOQL tokens. Salesforce's lexer reads quoted strings with backslash escapes (`\'`, `\\`, `\n`,
 * `\"`, and `\%` `\_` for literal wildcards in LIKE), date and date-time literals,
 * relative date literals (`LAST_N_DAYS:30`), numbers, identifiers and the comparison operators.
 * An escaped quote never ends a literal: `'x\' OR Name != \''` is one string.
 */

export type SoqlErrorCode =
  | 'MALFORMED_QUERY'
  | 'INVALID_FIELD'
  | 'INVALID_TYPE'
  | 'INVALID_QUERY_FILTER_OPERATOR'
  | 'NUMBER_OUTSIDE_VALID_RANGE'
  | 'EXCEEDED_ID_LIMIT';

/** A query error carrying Salesforce's code and, where known, the offending offset in the query. */
export class SoqlError extends Error {
  constructor(
    readonly code: SoqlErrorCode,
    readonly detail: string,
    readonly pos: number | null,
    readonly query: string,
  ) {
    super(pos === null ? detail : withCaret(query, pos, detail));
    this.name = code;
  }
}

/** Salesforce's query error layout: the query line, a caret, `ERROR at Row:r:Column:c`, the detail. */
function withCaret(query: string, pos: number, detail: string): string {
  const before = query.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = query.indexOf('\n', pos);
  const line = query.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const column = pos - lineStart + 1;
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}

export type TokenKind =
  | 'ident'
  | 'string'
  | 'number'
  | 'date'
  | 'datetime'
  | 'relativeDate'
  | 'op'
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  pos: number;
  /** string: the unescaped value. */
  value?: string;
  /** string: the value with escaped wildcards marked (see LIKE_PERCENT / LIKE_UNDERSCORE). */
  like?: string;
  /** number: its value; date/datetime: epoch ms; relativeDate: N (or 0). */
  num?: number;
}

/** Placeholders for `\%` and `\_` inside a LIKE pattern (literal, not wildcards). */
export const LIKE_PERCENT = '\u0001';
export const LIKE_UNDERSCORE = '\u0002';

/** "Quoted String Escape Sequences" (SOQL and SOSL Reference): any other backslash is an error. */
const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n', N: '\n', r: '\r', R: '\r', t: '\t', T: '\t', b: '\b', B: '\b', f: '\f', F: '\f', '"': '"', "'": "'", '\\': '\\',
};

// Fractional seconds are optional and may run past milliseconds (`10:47:53.299852-06:00` is
// accepted by Salesforce [S: https://bitbucket.org/RoseSilverSoftware/illuminatedcloud/issues/2283]).
const DATETIME_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})/y;
const DATE_RE = /\d{4}-\d{2}-\d{2}(?![\dT])/y;
const NUMBER_RE = /[+-]?(?:\d+(?:\.\d+)?|\.\d+)/y;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const N_LITERAL_RE = /:(\d+)/y;

/** Relative date literals that take `:n`. */
export const N_DATE_LITERALS = new Set(['LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO', 'LAST_N_WEEKS', 'NEXT_N_WEEKS', 'LAST_N_MONTHS', 'NEXT_N_MONTHS']);
/** Relative date literals without a number. */
export const DATE_LITERALS = new Set(['YESTERDAY', 'TODAY', 'TOMORROW', 'LAST_WEEK', 'THIS_WEEK', 'NEXT_WEEK', 'LAST_MONTH',
  'THIS_MONTH', 'NEXT_MONTH', 'LAST_90_DAYS', 'NEXT_90_DAYS', 'THIS_YEAR', 'LAST_YEAR', 'NEXT_YEAR']);

function match(re: RegExp, text: string, pos: number): string | null {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m ? m[0] : null;
}

function lexError(query: string, pos: number): SoqlError {
  const ch = query[pos] ?? '<EOF>';
  return new SoqlError('MALFORMED_QUERY', `line 1:${pos} no viable alternative at character '${ch}'`, null, query);
}

function readString(query: string, start: number): { token: Token; end: number } {
  let value = '';
  let like = '';
  let i = start + 1;
  for (;;) {
    const ch = query[i];
    if (ch === undefined) {
      throw new SoqlError('MALFORMED_QUERY', `line 1:${start} mismatched character '<EOF>' expecting '''`, null, query);
    }
    if (ch === "'") break;
    if (ch === '\\') {
      const next = query[i + 1];
      if (next === undefined) {
        throw new SoqlError('MALFORMED_QUERY', `line 1:${start} mismatched character '<EOF>' expecting '''`, null, query);
      }
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        value += simple;
        like += simple;
        i += 2;
        continue;
      }
      if (next === '%' || next === '_') {
        value += next;
        like += next === '%' ? LIKE_PERCENT : LIKE_UNDERSCORE;
        i += 2;
        continue;
      }
      const literal = query.slice(start, query.indexOf("'", i + 2) + 1 || undefined);
      throw new SoqlError(
        'MALFORMED_QUERY',
        `Invalid string literal '${literal}'. Illegal character sequence '\\${next}' in string literal.`,
        start,
        query,
      );
    }
    value += ch;
    like += ch;
    i += 1;
  }
  return { token: { kind: 'string', text: query.slice(start, i + 1), pos: start, value, like }, end: i + 1 };
}

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = query.length;
  while (i < n) {
    const ch = query[i] as string;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (ch === "'") {
      const { token, end } = readString(query, i);
      tokens.push(token);
      i = end;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma', text: ch, pos: i });
      i += 1;
      continue;
    }
    const two = query.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', text: two === '<>' ? '!=' : two, pos: i });
      i += 2;
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>') {
      tokens.push({ kind: 'op', text: ch, pos: i });
      i += 1;
      continue;
    }
    if (/[0-9]/.test(ch)) {
      const dt = match(DATETIME_RE, query, i);
      if (dt) {
        tokens.push({ kind: 'datetime', text: dt, pos: i });
        i += dt.length;
        continue;
      }
      const d = match(DATE_RE, query, i);
      if (d) {
        tokens.push({ kind: 'date', text: d, pos: i });
        i += d.length;
        continue;
      }
    }
    if (/[0-9+\-.]/.test(ch)) {
      const num = match(NUMBER_RE, query, i);
      if (num && !/[A-Za-z_]/.test(query[i + num.length] ?? '')) {
        tokens.push({ kind: 'number', text: num, pos: i, num: Number(num) });
        i += num.length;
        continue;
      }
      throw lexError(query, i);
    }
    const ident = match(IDENT_RE, query, i);
    if (ident) {
      const upper = ident.toUpperCase();
      if (N_DATE_LITERALS.has(upper)) {
        const nText = match(N_LITERAL_RE, query, i + ident.length);
        if (!nText) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${ident}'`, i, query);
        tokens.push({ kind: 'relativeDate', text: ident + nText, pos: i, num: Number(nText.slice(1)) });
        i += ident.length + nText.length;
        continue;
      }
      tokens.push({ kind: 'ident', text: ident, pos: i });
      i += ident.length;
      continue;
    }
    throw lexError(query, i);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', pos: n });
  return tokens;
}
