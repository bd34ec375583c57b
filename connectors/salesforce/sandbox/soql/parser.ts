/**
 * A recursive-descent parser for the SOQL subset the connector and an admin use:
 * `SELECT fields | COUNT() | aggregates | FIELDS(ALL|STANDARD|CUSTOM) FROM object [WHERE cond]
 * [GROUP BY fields] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`.
 * Fields may be child-to-parent relationship paths (`Account.Name`, `Account.Owner.Email`).
 * Like Salesforce, it rejects AND and OR mixed at one level without parentheses.
 * The result is syntax only; evaluate.ts binds names to an object's fields.
 */
import { DATE_LITERALS, SoqlError, tokenize } from './lexer.js';
import type { Token } from './lexer.js';
import { parseDate, parseDateTime } from '../values.js';

/**
 * A field as written: `Email`, or a child-to-parent path such as `Account.Name` or
 * `Account.Owner.Email` (relationship names, then a field of the last parent). Binding the path to
 * the objects' relationships is compile.ts's job (paths.ts).
 */
export interface FieldRef {
  /** The text as written, e.g. `account.name`. */
  name: string;
  /** Its dot-separated parts: one for a field of the queried object, more for a parent's field. */
  path: string[];
  pos: number;
}

export type Literal =
  | { kind: 'string'; value: string; like: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'boolean'; value: boolean; pos: number }
  | { kind: 'null'; pos: number }
  | { kind: 'date'; value: number; pos: number }
  | { kind: 'datetime'; value: number; pos: number }
  | { kind: 'relativeDate'; name: string; n: number; pos: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and' | 'or'; parts: Condition[] }
  | { kind: 'not'; part: Condition }
  | { kind: 'compare'; field: FieldRef; op: CompareOp; value: Literal }
  | { kind: 'in'; field: FieldRef; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldRef; value: Literal };

export type AggregateFn = 'COUNT' | 'COUNT_DISTINCT' | 'MIN' | 'MAX' | 'SUM' | 'AVG';

export type SelectItem =
  | { kind: 'field'; field: FieldRef }
  | { kind: 'countAll'; pos: number }
  | { kind: 'aggregate'; fn: AggregateFn; field: FieldRef; alias: string | null; pos: number }
  | { kind: 'fields'; which: 'ALL' | 'STANDARD' | 'CUSTOM'; pos: number };

export interface OrderItem {
  field: FieldRef;
  desc: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  text: string;
  select: SelectItem[];
  from: FieldRef;
  where: Condition | null;
  groupBy: FieldRef[];
  orderBy: OrderItem[];
  limit: number | null;
  offset: number | null;
}

const AGGREGATES = new Set<string>(['COUNT', 'COUNT_DISTINCT', 'MIN', 'MAX', 'SUM', 'AVG']);
/** Words that end a select item or cannot be an alias. */
const RESERVED = new Set(['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'LIKE', 'ORDER', 'BY', 'GROUP', 'HAVING',
  'LIMIT', 'OFFSET', 'WITH', 'USING', 'FOR', 'NULLS', 'ASC', 'DESC', 'TYPEOF', 'INCLUDES', 'EXCLUDES', 'NULL', 'TRUE', 'FALSE']);

export function parseSoql(text: string): SoqlQuery {
  return new Parser(text).parseQuery();
}

class Parser {
  private tokens: Token[];
  private i = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i += 1;
    return t;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private unexpected(t: Token = this.peek()): SoqlError {
    return new SoqlError('MALFORMED_QUERY', `unexpected token: ${t.kind === 'eof' ? '<EOF>' : `'${t.text}'`}`, t.pos, this.text);
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) throw this.unexpected();
    return this.next();
  }

  private expect(kind: Token['kind']): Token {
    if (this.peek().kind !== kind) throw this.unexpected();
    return this.next();
  }

  private fieldRef(): FieldRef {
    const t = this.peek();
    if (t.kind !== 'ident' || RESERVED.has(t.text.toUpperCase())) throw this.unexpected();
    this.next();
    return { name: t.text, path: t.text.split('.'), pos: t.pos };
  }

  /** The object after FROM: one name, no path. */
  private objectRef(): FieldRef {
    const t = this.peek();
    if (t.kind !== 'ident' || RESERVED.has(t.text.toUpperCase()) || t.text.includes('.')) throw this.unexpected();
    this.next();
    return { name: t.text, path: [t.text], pos: t.pos };
  }

  parseQuery(): SoqlQuery {
    this.expectKeyword('SELECT');
    const select = this.selectList();
    this.expectKeyword('FROM');
    const from = this.objectRef();
    let where: Condition | null = null;
    let groupBy: FieldRef[] = [];
    let orderBy: OrderItem[] = [];
    let limit: number | null = null;
    let offset: number | null = null;
    if (this.isKeyword('WHERE')) {
      this.next();
      where = this.condition();
    }
    if (this.isKeyword('GROUP')) {
      this.next();
      this.expectKeyword('BY');
      groupBy = this.commaList(() => this.fieldRef());
    }
    if (this.isKeyword('ORDER')) {
      this.next();
      this.expectKeyword('BY');
      orderBy = this.commaList(() => this.orderItem());
    }
    if (this.isKeyword('LIMIT')) {
      this.next();
      limit = this.nonNegativeInteger();
    }
    if (this.isKeyword('OFFSET')) {
      this.next();
      offset = this.nonNegativeInteger();
      if (offset > 2000) {
        throw new SoqlError('NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000', null, this.text);
      }
    }
    if (this.peek().kind !== 'eof') throw this.unexpected();
    return { text: this.text, select, from, where, groupBy, orderBy, limit, offset };
  }

  private commaList<T>(item: () => T): T[] {
    const items = [item()];
    while (this.peek().kind === 'comma') {
      this.next();
      items.push(item());
    }
    return items;
  }

  private nonNegativeInteger(): number {
    const t = this.peek();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) throw this.unexpected();
    this.next();
    return Number(t.text);
  }

  private selectList(): SelectItem[] {
    return this.commaList(() => this.selectItem());
  }

  private selectItem(): SelectItem {
    const t = this.peek();
    if (t.kind === 'lparen') {
      throw new SoqlError('MALFORMED_QUERY', 'Subqueries (relationship queries) are not supported by the Salesforce sandbox', t.pos, this.text);
    }
    if (t.kind !== 'ident') throw this.unexpected();
    const upper = t.text.toUpperCase();
    if (this.peek(1).kind === 'lparen' && (AGGREGATES.has(upper) || upper === 'FIELDS')) {
      this.next();
      this.next();
      if (upper === 'FIELDS') {
        const which = this.next();
        const w = which.text.toUpperCase();
        if (which.kind !== 'ident' || (w !== 'ALL' && w !== 'STANDARD' && w !== 'CUSTOM')) throw this.unexpected(which);
        this.expect('rparen');
        return { kind: 'fields', which: w, pos: t.pos };
      }
      if (upper === 'COUNT' && this.peek().kind === 'rparen') {
        this.next();
        return { kind: 'countAll', pos: t.pos };
      }
      const field = this.fieldRef();
      this.expect('rparen');
      let alias: string | null = null;
      const a = this.peek();
      if (a.kind === 'ident' && !RESERVED.has(a.text.toUpperCase()) && !a.text.includes('.')) {
        this.next();
        alias = a.text;
      }
      return { kind: 'aggregate', fn: upper as AggregateFn, field, alias, pos: t.pos };
    }
    if (RESERVED.has(upper)) throw this.unexpected();
    return { kind: 'field', field: this.fieldRef() };
  }

  private orderItem(): OrderItem {
    const field = this.fieldRef();
    let desc = false;
    let nullsLast = false;
    if (this.isKeyword('ASC')) this.next();
    else if (this.isKeyword('DESC')) {
      this.next();
      desc = true;
    }
    if (this.isKeyword('NULLS')) {
      this.next();
      if (this.isKeyword('LAST')) nullsLast = true;
      else if (!this.isKeyword('FIRST')) throw this.unexpected();
      this.next();
    }
    return { field, desc, nullsLast };
  }

  /** condition := unary ((AND unary)* | (OR unary)*) — one connective per level, as in SOQL. */
  private condition(): Condition {
    const first = this.unary();
    const word = this.isKeyword('AND') ? 'AND' : this.isKeyword('OR') ? 'OR' : null;
    if (!word) return first;
    const parts = [first];
    while (this.isKeyword(word)) {
      this.next();
      parts.push(this.unary());
    }
    if (this.isKeyword(word === 'AND' ? 'OR' : 'AND')) throw this.unexpected();
    return { kind: word === 'AND' ? 'and' : 'or', parts };
  }

  private unary(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', part: this.unary() };
    }
    if (this.peek().kind === 'lparen') {
      this.next();
      const inner = this.condition();
      this.expect('rparen');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const field = this.fieldRef();
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { kind: 'compare', field, op: t.text as CompareOp, value: this.literal() };
    }
    if (this.isKeyword('LIKE')) {
      this.next();
      return { kind: 'like', field, value: this.literal() };
    }
    let negated = false;
    if (this.isKeyword('NOT') && this.isKeyword('IN', 1)) {
      this.next();
      negated = true;
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expect('lparen');
      if (this.isKeyword('SELECT')) {
        throw new SoqlError('MALFORMED_QUERY', 'Semi-join subqueries are not supported by the Salesforce sandbox', this.peek().pos, this.text);
      }
      const values = this.commaList(() => this.literal());
      this.expect('rparen');
      return { kind: 'in', field, negated, values };
    }
    throw this.unexpected();
  }

  private literal(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.value ?? '', like: t.like ?? '', pos: t.pos };
      case 'number':
        return { kind: 'number', value: t.num ?? 0, pos: t.pos };
      case 'date': {
        const value = parseDate(t.text);
        if (value === null) throw new SoqlError('MALFORMED_QUERY', `invalid date: ${t.text}`, t.pos, this.text);
        return { kind: 'date', value, pos: t.pos };
      }
      case 'datetime': {
        const value = parseDateTime(t.text);
        if (value === null) throw new SoqlError('MALFORMED_QUERY', `invalid date time: ${t.text}`, t.pos, this.text);
        return { kind: 'datetime', value, pos: t.pos };
      }
      case 'relativeDate': {
        const name = t.text.slice(0, t.text.indexOf(':')).toUpperCase();
        return { kind: 'relativeDate', name, n: t.num ?? 0, pos: t.pos };
      }
      case 'ident': {
        const upper = t.text.toUpperCase();
        if (upper === 'NULL') return { kind: 'null', pos: t.pos };
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'boolean', value: upper === 'TRUE', pos: t.pos };
        if (DATE_LITERALS.has(upper)) return { kind: 'relativeDate', name: upper, n: 0, pos: t.pos };
        throw this.unexpected(t);
      }
      default:
        throw this.unexpected(t);
    }
  }
}
