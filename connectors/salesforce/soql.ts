/**
 * SOQL text: every value that goes into a query passes through one of the helpers here, so that a
 * value such as `x' OR Name != '` stays a value. Salesforce's escape rules ("Quoted String Escape
 * Sequences", SOQL and SOSL Reference): inside a quoted literal `\n \r \t \b \f \" \' \\` are the
 * only escapes, a backslash in any other position is an error, and in a LIKE pattern `\%` and `\_`
 * match the wildcard characters literally. There is no escape for other control characters, so a
 * value holding one is refused rather than sent.
 */
import { CrmError } from '../errors.js';
import type { StreamPosition } from '../types.js';

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

// Control characters Salesforce has no escape for (NUL, VT, ESC, DEL ...).
// eslint-disable-next-line no-control-regex
const UNESCAPABLE = /[\u0000-\u0007\u000b\u000e-\u001f\u007f]/;

function refuse(reason: string): never {
  throw new CrmError({ crm: 'salesforce', code: 'VALIDATION', message: `cannot put this value in SOQL: ${reason}` });
}

function escapeBody(value: string): string {
  if (UNESCAPABLE.test(value)) refuse('it contains a control character SOQL cannot escape');
  let out = '';
  for (const ch of value) out += ESCAPES[ch] ?? ch;
  return out;
}

/** A quoted SOQL string literal: `O'Brien` → `'O\'Brien'`. Non-ASCII passes as is (queries are UTF-8). */
export function soqlString(value: string): string {
  return `'${escapeBody(value)}'`;
}

export type LikeMode = 'exact' | 'startsWith' | 'endsWith' | 'contains';

/**
 * A quoted LIKE pattern that matches `value` literally: `%` and `_` in the value are escaped, and
 * the wildcards the mode asks for are added around it. `soqlLike('50%_off', 'contains')` →
 * `'%50\%\_off%'`.
 */
export function soqlLike(value: string, mode: LikeMode = 'exact'): string {
  const body = escapeBody(value).replace(/[%_]/g, (c) => `\\${c}`);
  const before = mode === 'endsWith' || mode === 'contains' ? '%' : '';
  const after = mode === 'startsWith' || mode === 'contains' ? '%' : '';
  return `'${before}${body}${after}'`;
}

/**
 * A SOQL dateTime literal (unquoted, UTC): `2024-05-01T10:00:00.000Z`. Salesforce returns
 * `2024-05-01T10:00:00.000+0000`; both that and ISO strings are accepted. Anything that is not a
 * date is refused, so the literal can only ever be a timestamp.
 */
export function soqlDateTime(value: string | Date): string {
  const ms = value instanceof Date ? value.getTime() : parseSalesforceDateTime(value);
  if (!Number.isFinite(ms)) refuse('not a date-time');
  return new Date(ms).toISOString();
}

/** Salesforce's `+0000` offsets are not ISO-8601 extended; Date.parse needs `+00:00`. */
export function parseSalesforceDateTime(value: string): number {
  const normalised = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(normalised)) return Number.NaN;
  return Date.parse(normalised);
}

/** An ISO timestamp (UTC, ms) from a Salesforce date-time, or null if it is none. */
export function toIsoDateTime(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const ms = parseSalesforceDateTime(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

export function isSalesforceId(value: string): boolean {
  return ID.test(value);
}

/** A quoted record id; anything that is not 15 or 18 alphanumerics is refused. */
export function soqlId(id: string): string {
  if (!ID.test(id)) refuse('not a Salesforce record id');
  return `'${id}'`;
}

/** `('a','b')` from already-quoted literals; an empty list is refused (SOQL has no empty IN). */
export function soqlIn(literals: readonly string[]): string {
  if (literals.length === 0) refuse('an empty IN list');
  return `(${literals.join(',')})`;
}

const FIELD = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;
const OBJECT = /^[A-Za-z][A-Za-z0-9_]*$/;

function fieldList(fields: readonly string[]): string {
  for (const f of fields) if (!FIELD.test(f)) refuse(`"${f}" is not a field name`);
  return fields.join(', ');
}

function objectName(name: string): string {
  if (!OBJECT.test(name)) refuse(`"${name}" is not an object name`);
  return name;
}

/**
 * One page of a change stream ordered by `(SystemModstamp, Id)`. SystemModstamp is not unique, so
 * the cursor is the pair: records at the cursor's timestamp with a greater Id are still to come.
 * `until` bounds the window from above (a safety margin for late commits).
 */
export function changeFeedQuery(
  object: string,
  fields: readonly string[],
  position: StreamPosition | null,
  options: { limit: number; until?: Date | string | null; filter?: string },
): string {
  const where: string[] = options.filter ? [`(${options.filter})`] : [];
  if (position) {
    const ts = soqlDateTime(position.ts);
    // An empty id is the start of a feed at a timestamp: everything from it on, inclusive.
    where.push(position.id === '' ? `SystemModstamp >= ${ts}` : `(SystemModstamp > ${ts} OR (SystemModstamp = ${ts} AND Id > ${soqlId(position.id)}))`);
  }
  if (options.until) where.push(`SystemModstamp <= ${soqlDateTime(options.until)}`);
  const limit = Math.max(1, Math.min(2000, Math.floor(options.limit)));
  return [
    `SELECT ${fieldList(fields)} FROM ${objectName(object)}`,
    where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    `ORDER BY SystemModstamp ASC, Id ASC LIMIT ${limit}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** The change feed's conditions: after `position` (exclusive, by `(SystemModstamp, Id)`), up to `until`. */
function feedWhere(position: StreamPosition | null | undefined, until: Date | string | null | undefined): string {
  const where: string[] = [];
  if (position) {
    const ts = soqlDateTime(position.ts);
    where.push(position.id === '' ? `SystemModstamp >= ${ts}` : `(SystemModstamp > ${ts} OR (SystemModstamp = ${ts} AND Id > ${soqlId(position.id)}))`);
  }
  if (until) where.push(`SystemModstamp <= ${soqlDateTime(until)}`);
  return where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
}

/**
 * A stream's rows after `from` up to `until`, in no order and without LIMIT: a Bulk API 2.0 query
 * job's SOQL (the job returns every row; the connector orders them by `(SystemModstamp, Id)`).
 */
export function snapshotQuery(object: string, fields: readonly string[], options: { from?: StreamPosition | null; until?: Date | string | null } = {}): string {
  return `SELECT ${fieldList(fields)} FROM ${objectName(object)}${feedWhere(options.from, options.until)}`;
}

/** How many rows that snapshot holds (one query call: `COUNT()` answers no rows). */
export function countQuery(object: string, options: { from?: StreamPosition | null; until?: Date | string | null } = {}): string {
  return `SELECT COUNT() FROM ${objectName(object)}${feedWhere(options.from, options.until)}`;
}

/** Records by id; the caller keeps the list short enough for the URL (~300 ids). */
export function byIdsQuery(object: string, fields: readonly string[], ids: readonly string[]): string {
  return `SELECT ${fieldList(fields)} FROM ${objectName(object)} WHERE Id IN ${soqlIn(ids.map(soqlId))}`;
}

/** Records whose `field` equals one of `values` (text fields). */
export function byFieldValuesQuery(object: string, fields: readonly string[], field: string, values: readonly string[]): string {
  return `SELECT ${fieldList(fields)} FROM ${objectName(object)} WHERE ${fieldList([field])} IN ${soqlIn(values.map(soqlString))}`;
}

export const LEAD_STATUS_QUERY = 'SELECT MasterLabel, ApiName, IsDefault, IsConverted, SortOrder FROM LeadStatus ORDER BY SortOrder';

export const USERS_QUERY = 'SELECT Id, Name, Email, IsActive FROM User';

/**
 * Accounts whose Website may hold one of the domains. SOQL cannot parse a URL, so the query is a
 * coarse `LIKE '%domain%'` and the caller compares the normalised host exactly.
 */
export function accountsByDomainQuery(domains: readonly string[]): string {
  if (domains.length === 0) refuse('no domains');
  const ors = domains.map((d) => `Website LIKE ${soqlLike(d, 'contains')}`).join(' OR ');
  return `SELECT Id, Name, Website, OwnerId, CreatedDate FROM Account WHERE ${ors} ORDER BY CreatedDate ASC, Id ASC`;
}

/** Tasks already made for these people with these subjects (Task.Description cannot be filtered on). */
export function existingTasksQuery(whoIds: readonly string[], subjects: readonly string[]): string {
  return [
    'SELECT Id, WhoId, OwnerId, Subject, Description FROM Task',
    `WHERE WhoId IN ${soqlIn(whoIds.map(soqlId))} AND Subject IN ${soqlIn(subjects.map(soqlString))}`,
  ].join(' ');
}

