/**
 * Child-to-parent relationship paths, as SOQL resolves them: `Account.Name` on Contact follows the
 * reference field whose describe `relationshipName` is `Account` (AccountId) to the Account and
 * reads its Name; `Account.Owner.Email` follows two. A polymorphic reference (Task.Who: Contact or
 * Lead) leads to Salesforce's `Name` entity, whose few fields (Name, Type, FirstName, ...) read from
 * whatever record the id names. Names match case-insensitively and come back canonical.
 *
 * A path is bound once per query into a reader; parents are looked up by id only for the rows a
 * predicate tests or a page renders. A null, dangling or deleted lookup makes the parent null, and
 * every field read through it null.
 */
import { SObjectSchema, makeField, picklistValues } from '../objects.js';
import type { FieldDef } from '../objects.js';
import { readValue } from '../values.js';
import type { SfRecord, SfValue } from '../values.js';
import { SoqlError } from './lexer.js';
import type { FieldRef } from './parser.js';

/** A record and the object it belongs to, as a parent lookup finds it. */
export interface FoundRecord {
  schema: SObjectSchema;
  record: SfRecord;
}

/** Finds any record by a 15- or 18-character id (deleted ones included), whatever its object. */
export type RecordFinder = (id: string) => FoundRecord | undefined;

export type SchemaResolver = (name: string) => SObjectSchema | undefined;

/** Salesforce's limit: no more than five relationship levels in one path. */
export const MAX_PARENT_LEVELS = 5;

/** One step of a path: a reference field and the parent it leads to. */
export interface Hop {
  /** The canonical relationship name (`Account`, `Owner`, `Who`). */
  name: string;
  /** The reference field on the object the step starts from (`AccountId`). */
  ref: FieldDef;
  /** The parent's object; the Name entity for a polymorphic reference. */
  target: SObjectSchema;
  /** Whether the reference is polymorphic (several `referenceTo`): fields are the Name entity's. */
  polymorphic: boolean;
  /** The parent of a record through this step, or null (no lookup, dangling or deleted parent). */
  follow(record: SfRecord): FoundRecord | null;
}

/** A field of the queried object, or of a parent reached through `hops`. */
export interface FieldPath {
  /** Canonical dotted name: `Email`, `Account.Name`, `Account.Owner.Email`. */
  name: string;
  hops: Hop[];
  /** The field read at the end (for a polymorphic parent, the Name entity's field). */
  field: FieldDef;
  /** The field's value for a row of the queried object; null when a parent on the way is null. */
  read(record: SfRecord): SfValue;
}

const locked = { createable: false, updateable: false, defaultedOnCreate: false };

/**
 * The `Name` entity polymorphic references resolve to (SOAP API object reference, "Name"). Alias,
 * Email, IsActive, Phone, Title and Username hold a value only when the record is a User.
 */
export const NAME_ENTITY = new SObjectSchema(
  'Name',
  'Name',
  'Names',
  '000',
  { createable: false, updateable: false, deletable: false, queryable: false, customizable: false, softDelete: false },
  [
    makeField('Id', 'Record ID', 'id', { length: 18, ...locked, nillable: false, idLookup: true }),
    makeField('Type', 'Object Type', 'picklist', { length: 40, ...locked, restrictedPicklist: true, picklistValues: picklistValues(['Account', 'Contact', 'Lead', 'Opportunity', 'User']) }),
    makeField('Name', 'Full Name', 'string', { length: 255, ...locked, nameField: true }),
    makeField('FirstName', 'First Name', 'string', { length: 40, ...locked }),
    makeField('LastName', 'Last Name', 'string', { length: 80, ...locked }),
    makeField('Alias', 'Alias', 'string', { length: 8, ...locked }),
    makeField('Email', 'Email', 'email', { length: 128, ...locked }),
    makeField('Phone', 'Phone', 'phone', { length: 40, ...locked }),
    makeField('Title', 'Title', 'string', { length: 80, ...locked }),
    makeField('Username', 'Username', 'string', { length: 80, ...locked }),
    makeField('IsActive', 'Active', 'boolean', { ...locked }),
  ],
);

const USER_ONLY = new Set(['Alias', 'Email', 'Phone', 'Title', 'Username', 'IsActive']);

/** A Name-entity field of a record reached through a polymorphic reference. */
export function nameEntityValue(field: FieldDef, found: FoundRecord): SfValue {
  const { schema, record } = found;
  if (field.name === 'Type') return schema.name;
  if (USER_ONLY.has(field.name) && schema.name !== 'User') return null;
  const own = schema.field(field.name);
  return own ? readValue(record, own) : null;
}

/** A field's value on a record: the record's own field, or the Name entity's view of it. */
export function valueOf(field: FieldDef, found: FoundRecord, polymorphic: boolean): SfValue {
  return polymorphic ? nameEntityValue(field, found) : readValue(found.record, field);
}

/** The reference field of `schema` whose relationshipName is `name` (case-insensitive). */
function relationshipField(schema: SObjectSchema, name: string): FieldDef | undefined {
  const lower = name.toLowerCase();
  return schema.fields.find((f) => f.type === 'reference' && f.relationshipName !== null && f.relationshipName.toLowerCase() === lower);
}

function makeHop(ref: FieldDef, target: SObjectSchema, polymorphic: boolean, find: RecordFinder | undefined): Hop {
  const key = ref.name;
  const targets = ref.referenceTo;
  const follow = (record: SfRecord): FoundRecord | null => {
    if (!find) return null;
    const id = record[key];
    if (typeof id !== 'string' || id === '') return null;
    const found = find(id);
    if (!found || found.record.IsDeleted === true) return null;
    if (polymorphic ? !targets.includes(found.schema.name) : found.schema.name !== target.name) return null;
    return found;
  };
  return { name: ref.relationshipName as string, ref, target, polymorphic, follow };
}

function noSuchColumn(name: string, entity: string, pos: number, query: string): SoqlError {
  return new SoqlError(
    'INVALID_FIELD',
    `No such column '${name}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    pos,
    query,
  );
}

function unknownRelationship(name: string, pos: number, query: string): SoqlError {
  return new SoqlError(
    'INVALID_FIELD',
    `Didn't understand relationship '${name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
    pos,
    query,
  );
}

/** Resolves field paths against a queried object, once per query. */
export class PathResolver {
  private cache = new Map<FieldRef, FieldPath>();

  constructor(
    private readonly root: SObjectSchema,
    private readonly resolve: SchemaResolver,
    private readonly find: RecordFinder | undefined,
    private readonly query: string,
  ) {}

  /** The path a reference names; INVALID_FIELD for an unknown relationship or field. */
  path(ref: FieldRef): FieldPath {
    let path = this.cache.get(ref);
    if (!path) {
      path = this.bind(ref);
      this.cache.set(ref, path);
    }
    return path;
  }

  /** The queried object's own field a reference names, or undefined for a parent's field or an unknown name. */
  rootField(ref: FieldRef): FieldDef | undefined {
    try {
      const path = this.path(ref);
      return path.hops.length === 0 ? path.field : undefined;
    } catch {
      return undefined;
    }
  }

  private bind(ref: FieldRef): FieldPath {
    let parts = ref.path;
    // A field may be qualified with the queried object's name: `Contact.Email` FROM Contact.
    if (parts.length > 1 && parts[0]?.toLowerCase() === this.root.name.toLowerCase() && !relationshipField(this.root, parts[0])) {
      parts = parts.slice(1);
    }
    const hops: Hop[] = [];
    let entity = this.root;
    let polymorphic = false;
    for (const part of parts.slice(0, -1)) {
      const refField = relationshipField(entity, part);
      if (!refField) throw unknownRelationship(part, ref.pos, this.query);
      const many = refField.referenceTo.length > 1;
      const target = many ? NAME_ENTITY : this.resolve(refField.referenceTo[0] ?? '');
      if (!target) throw unknownRelationship(part, ref.pos, this.query);
      if (hops.length >= MAX_PARENT_LEVELS) {
        throw new SoqlError('MALFORMED_QUERY', `No more than ${MAX_PARENT_LEVELS} levels can be specified in a child-to-parent relationship: ${ref.name}`, ref.pos, this.query);
      }
      hops.push(makeHop(refField, target, many, this.find));
      entity = target;
      polymorphic = many;
    }
    const last = parts[parts.length - 1] as string;
    const field = entity.field(last);
    if (!field) throw noSuchColumn(last, entity.name, ref.pos, this.query);
    const name = [...hops.map((h) => h.name), field.name].join('.');
    return { name, hops, field, read: reader(hops, field, polymorphic) };
  }
}

/** Reads `field` through `hops`: a plain field read for the queried object's own fields. */
function reader(hops: readonly Hop[], field: FieldDef, polymorphic: boolean): (record: SfRecord) => SfValue {
  if (hops.length === 0) {
    if (field.compute) return field.compute;
    const key = field.name;
    if (field.type === 'boolean') {
      const fallback = field.defaultValue ?? false;
      return (r) => {
        const v = r[key];
        return typeof v === 'boolean' ? v : fallback;
      };
    }
    return (r) => r[key] ?? null;
  }
  if (hops.length === 1) {
    const hop = hops[0] as Hop;
    return (r) => {
      const parent = hop.follow(r);
      return parent ? valueOf(field, parent, polymorphic) : null;
    };
  }
  return (r) => {
    let parent: FoundRecord | null = null;
    let record = r;
    for (const hop of hops) {
      parent = hop.follow(record);
      if (!parent) return null;
      record = parent.record;
    }
    return valueOf(field, parent as FoundRecord, polymorphic);
  };
}

/**
 * The select list as Salesforce shapes a record: the queried object's fields, and for each parent
 * relationship one nested object (at its first field's place) holding that parent's fields.
 */
export type SelectNode =
  | { kind: 'field'; field: FieldDef }
  | { kind: 'parent'; hop: Hop; children: SelectNode[] };

/** Adds a path to a select tree, under the parent nodes of its hops (created on first use). */
export function addToSelect(tree: SelectNode[], path: FieldPath): void {
  let level = tree;
  for (const hop of path.hops) {
    let node = level.find((n): n is Extract<SelectNode, { kind: 'parent' }> => n.kind === 'parent' && n.hop.name === hop.name);
    if (!node) {
      node = { kind: 'parent', hop, children: [] };
      level.push(node);
    }
    level = node.children;
  }
  level.push({ kind: 'field', field: path.field });
}

/** The queried object's own fields of a select tree, in order. */
export function rootColumns(tree: readonly SelectNode[]): FieldDef[] {
  return tree.flatMap((n) => (n.kind === 'field' ? [n.field] : []));
}
