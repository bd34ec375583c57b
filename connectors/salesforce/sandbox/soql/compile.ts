/**
 * Binds a parsed SOQL query to an object's fields and its parents' (child-to-parent paths such as
 * `Account.Name`, paths.ts), type-checks it the way Salesforce does (INVALID_FIELD, INVALID_TYPE,
 * INVALID_QUERY_FILTER_OPERATOR) and compiles the WHERE clause into one predicate, once per query.
 * String comparisons are case-insensitive, as in SOQL; ids compare on their 15-character
 * case-sensitive form. A parent field reads null when the parent is null, like a null field.
 */
import type { FieldDef, SObjectSchema } from '../objects.js';
import type { SfRecord, SfValue } from '../values.js';
import { bindLiteral, categoryOf, comparatorFor, likeToRegExp, opTest } from './bind.js';
import type { Bound, Category } from './bind.js';
import type { DateRange } from './dates.js';
import { idCandidates, modstampBounds, modstampOrder } from './hints.js';
import { SoqlError } from './lexer.js';
import type { AggregateFn, CompareOp, Condition, FieldRef, Literal, SoqlQuery } from './parser.js';
import { PathResolver, addToSelect, rootColumns } from './paths.js';
import type { FieldPath, RecordFinder, SchemaResolver, SelectNode } from './paths.js';

export type { FieldPath, FoundRecord, RecordFinder, SchemaResolver, SelectNode } from './paths.js';

export type Predicate = (record: SfRecord) => boolean;

export interface OrderKey {
  path: FieldPath;
  category: Category;
  desc: boolean;
  nullsLast: boolean;
}

export interface AggregateColumn {
  name: string;
  fn: AggregateFn;
  path: FieldPath;
}

export type AggregateOutput = { kind: 'group'; path: FieldPath } | { kind: 'aggregate'; column: AggregateColumn };

export interface CompiledQuery {
  text: string;
  schema: SObjectSchema;
  kind: 'records' | 'count' | 'aggregate';
  /** The record shape: fields and, nested, parent relationships with their fields. */
  select: SelectNode[];
  /** The queried object's own selected fields, in order. */
  columns: FieldDef[];
  groupBy: FieldPath[];
  outputs: AggregateOutput[];
  predicate: Predicate | null;
  order: OrderKey[];
  limit: number | null;
  offset: number;
  /** Inclusive bounds on SystemModstamp implied by WHERE, for the modstamp index. */
  modstampRange: { lo: number; hi: number };
  /** 'asc' or 'desc' when ORDER BY is SystemModstamp[, Id] in one direction. */
  modstampOrder: 'asc' | 'desc' | null;
  /** The only ids WHERE can match (`Id = '...'`, `Id IN (...)`), so rows are fetched by id; null = scan. */
  idCandidates: string[] | null;
}

/**
 * Compiles a parsed query. `find` looks parents up by id (the store's records); without it every
 * parent relationship reads as null.
 */
export function compileQuery(ast: SoqlQuery, resolve: SchemaResolver, now: number, find?: RecordFinder): CompiledQuery {
  return new Compiler(ast, resolve, now, find).compile();
}

class Compiler {
  private schema!: SObjectSchema;
  private paths!: PathResolver;

  constructor(
    private readonly ast: SoqlQuery,
    private readonly resolve: SchemaResolver,
    private readonly now: number,
    private readonly find: RecordFinder | undefined,
  ) {}

  private error(code: SoqlError['code'], detail: string, pos: number | null): SoqlError {
    return new SoqlError(code, detail, pos, this.ast.text);
  }

  private field(ref: FieldRef): FieldPath {
    return this.paths.path(ref);
  }

  compile(): CompiledQuery {
    const { ast } = this;
    const schema = this.resolve(ast.from.name);
    if (!schema || !schema.flags.queryable) {
      throw this.error(
        'INVALID_TYPE',
        `sObject type '${ast.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
        ast.from.pos,
      );
    }
    this.schema = schema;
    this.paths = new PathResolver(schema, this.resolve, this.find, ast.text);
    const aggregated = ast.groupBy.length > 0 || ast.select.some((s) => s.kind === 'aggregate' || s.kind === 'countAll');
    const base = {
      text: ast.text,
      schema,
      limit: ast.limit,
      offset: ast.offset ?? 0,
      modstampRange: { lo: -Infinity, hi: Infinity },
      modstampOrder: null,
      idCandidates: null,
    };
    let kind: CompiledQuery['kind'] = 'records';
    let select: SelectNode[] = [];
    let groupBy: FieldPath[] = [];
    let outputs: AggregateOutput[] = [];
    if (!aggregated) select = this.selectTree();
    else if (ast.select.length === 1 && ast.select[0]?.kind === 'countAll' && ast.groupBy.length === 0) kind = 'count';
    else {
      kind = 'aggregate';
      ({ groupBy, outputs } = this.aggregateSelect());
    }
    const predicate = ast.where ? this.condition(ast.where) : null;
    const order = this.orderKeys(groupBy, kind);
    const compiled: CompiledQuery = { ...base, kind, select, columns: rootColumns(select), groupBy, outputs, predicate, order };
    if (ast.where) {
      const rootField = (ref: FieldRef) => this.paths.rootField(ref);
      compiled.modstampRange = modstampBounds(ast.where, rootField, this.now, ast.text);
      compiled.idCandidates = idCandidates(ast.where, rootField);
    }
    compiled.modstampOrder = modstampOrder(order.map((k) => ({ name: k.path.name, desc: k.desc })));
    return compiled;
  }

  private selectTree(): SelectNode[] {
    const tree: SelectNode[] = [];
    const seen = new Set<string>();
    for (const item of this.ast.select) {
      if (item.kind === 'fields') {
        if (item.which !== 'STANDARD' && (this.ast.limit === null || this.ast.limit > 200)) {
          throw this.error('MALFORMED_QUERY', 'The SOQL FIELDS function must have a LIMIT of at most 200', item.pos);
        }
        for (const f of this.schema.fields) {
          const wanted = item.which === 'ALL' || (item.which === 'CUSTOM') === f.custom;
          if (wanted && !seen.has(f.name)) {
            seen.add(f.name);
            tree.push({ kind: 'field', field: f });
          }
        }
      } else if (item.kind === 'field') {
        const path = this.field(item.field);
        if (seen.has(path.name)) throw this.error('MALFORMED_QUERY', `duplicate field selected: ${path.name}`, item.field.pos);
        seen.add(path.name);
        addToSelect(tree, path);
      }
    }
    return tree;
  }

  private aggregateSelect(): { groupBy: FieldPath[]; outputs: AggregateOutput[] } {
    const groupBy = this.ast.groupBy.map((ref) => {
      const path = this.field(ref);
      if (!path.field.groupable) throw this.error('MALFORMED_QUERY', `field '${path.field.name}' can not be grouped in a query call`, ref.pos);
      return path;
    });
    const grouped = (path: FieldPath) => groupBy.some((g) => g.name === path.name);
    const outputs: AggregateOutput[] = [];
    let expr = 0;
    for (const item of this.ast.select) {
      if (item.kind === 'countAll' || item.kind === 'fields') {
        throw this.error('MALFORMED_QUERY', 'COUNT() and FIELDS() cannot be combined with other select items or GROUP BY', item.pos);
      }
      if (item.kind === 'field') {
        const path = this.field(item.field);
        if (!grouped(path)) throw this.error('MALFORMED_QUERY', `Field must be grouped or aggregated: ${path.name}`, item.field.pos);
        outputs.push({ kind: 'group', path });
        continue;
      }
      const path = this.field(item.field);
      const cat = categoryOf(path.field.type);
      if ((item.fn === 'SUM' || item.fn === 'AVG') && cat !== 'number') {
        throw this.error('MALFORMED_QUERY', `field ${path.field.name} does not support aggregate operator ${item.fn}`, item.field.pos);
      }
      const name = item.alias ?? `expr${expr++}`;
      outputs.push({ kind: 'aggregate', column: { name, fn: item.fn, path } });
    }
    return { groupBy, outputs };
  }

  private orderKeys(groupBy: FieldPath[], kind: CompiledQuery['kind']): OrderKey[] {
    return this.ast.orderBy.map((item) => {
      const path = this.field(item.field);
      const f = path.field;
      if (!f.sortable) throw this.error('INVALID_FIELD', `field '${f.name}' can not be sorted in a query call`, item.field.pos);
      if (kind === 'aggregate' && !groupBy.some((g) => g.name === path.name)) {
        throw this.error('MALFORMED_QUERY', `Ordered field must be grouped or aggregated: ${path.name}`, item.field.pos);
      }
      return { path, category: categoryOf(f.type), desc: item.desc, nullsLast: item.nullsLast };
    });
  }

  private filterable(ref: FieldRef): FieldPath {
    const path = this.field(ref);
    if (!path.field.filterable) throw this.error('INVALID_FIELD', `field '${path.field.name}' can not be filtered in a query call`, ref.pos);
    return path;
  }

  private bind(f: FieldDef, lit: Literal): Bound {
    return bindLiteral(f, lit, this.now, this.ast.text);
  }

  private condition(c: Condition): Predicate {
    switch (c.kind) {
      case 'and': {
        const parts = c.parts.map((p) => this.condition(p));
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (r) => a(r) && b(r);
        }
        return (r) => parts.every((p) => p(r));
      }
      case 'or': {
        const parts = c.parts.map((p) => this.condition(p));
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (r) => a(r) || b(r);
        }
        return (r) => parts.some((p) => p(r));
      }
      case 'not': {
        const p = this.condition(c.part);
        return (r) => !p(r);
      }
      case 'compare':
        return this.compare(c.field, c.op, c.value);
      case 'in':
        return this.inList(c.field, c.negated, c.values);
      case 'like': {
        const path = this.filterable(c.field);
        const f = path.field;
        const read = path.read;
        if (categoryOf(f.type) !== 'text') {
          throw this.error('INVALID_QUERY_FILTER_OPERATOR', `invalid operator on ${f.type} field: LIKE`, c.field.pos);
        }
        if (c.value.kind !== 'string') throw this.error('INVALID_FIELD', `value of filter criterion for field '${f.name}' must be of type string and should be enclosed in quotes`, c.value.pos);
        const re = likeToRegExp(c.value.like);
        return (r) => {
          const v = read(r);
          return typeof v === 'string' && re.test(v);
        };
      }
    }
  }

  private compare(ref: FieldRef, op: CompareOp, lit: Literal): Predicate {
    const path = this.filterable(ref);
    const f = path.field;
    const read = path.read;
    const cat = categoryOf(f.type);
    const bound = this.bind(f, lit);
    if (bound.kind === 'null') {
      if (op === '=') return (r) => read(r) === null;
      if (op === '!=') return (r) => read(r) !== null;
      throw this.error('INVALID_QUERY_FILTER_OPERATOR', `invalid operator on null: ${op}`, lit.pos);
    }
    if (cat === 'boolean' && op !== '=' && op !== '!=') {
      throw this.error('INVALID_QUERY_FILTER_OPERATOR', `invalid operator on boolean field: ${op}`, ref.pos);
    }
    if (bound.kind === 'range') {
      const { start, end } = bound.range;
      const get = read as (r: SfRecord) => number | null;
      switch (op) {
        case '=':
          return (r) => { const v = get(r); return v !== null && v >= start && v < end; };
        case '!=':
          return (r) => { const v = get(r); return v === null || v < start || v >= end; };
        case '<':
          return (r) => { const v = get(r); return v !== null && v < start; };
        case '<=':
          return (r) => { const v = get(r); return v !== null && v < end; };
        case '>':
          return (r) => { const v = get(r); return v !== null && v >= end; };
        case '>=':
          return (r) => { const v = get(r); return v !== null && v >= start; };
      }
    }
    const key = bound.key;
    const cmp = comparatorFor(cat);
    const test = opTest(op);
    if (op === '!=') return (r) => { const v = read(r); return v === null || cmp(v, key) !== 0; };
    return (r) => { const v = read(r); return v !== null && test(cmp(v, key)); };
  }

  private inList(ref: FieldRef, negated: boolean, values: Literal[]): Predicate {
    const path = this.filterable(ref);
    const f = path.field;
    const read = path.read;
    const cat = categoryOf(f.type);
    let includesNull = false;
    const keys = new Set<string | number | boolean>();
    const ranges: DateRange[] = [];
    for (const lit of values) {
      const bound = this.bind(f, lit);
      if (bound.kind === 'null') includesNull = true;
      else if (bound.kind === 'range') ranges.push(bound.range);
      else keys.add(bound.key);
    }
    const normalise = (v: SfValue): string | number | boolean =>
      cat === 'text' ? String(v).toLowerCase() : cat === 'id' ? String(v).slice(0, 15) : (v as number | boolean);
    const member = (r: SfRecord): boolean => {
      const v = read(r);
      if (v === null) return includesNull;
      if (ranges.length) return ranges.some((g) => (v as number) >= g.start && (v as number) < g.end);
      return keys.has(normalise(v));
    };
    return negated ? (r) => !member(r) : member;
  }
}
