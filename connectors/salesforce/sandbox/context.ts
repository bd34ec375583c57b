/**
 * What the route modules share: the store, the query cursors, the usage counter, the server URL,
 * plus the wire rendering of a record and the request parsing helpers every route uses.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AuthState } from './auth.js';
import type { ChangeEventBus } from './change-events.js';
import { SfApiError, jsonParserError } from './errors.js';
import type { ApiUsage } from './limits.js';
import type { FieldDef, SObjectSchema } from './objects.js';
import type { QueryCursors } from './query-cursors.js';
import type { FieldSecurity } from './security.js';
import { valueOf } from './soql/paths.js';
import type { FoundRecord, SelectNode } from './soql/paths.js';
import type { SalesforceStore } from './store.js';
import { outputValue, readValue } from './values.js';
import type { SfRecord } from './values.js';

export interface SandboxContext {
  store: SalesforceStore;
  cursors: QueryCursors;
  usage: ApiUsage;
  auth: AuthState;
  /** Field-level security: each session's user sees the fields granted to them. */
  security: FieldSecurity;
  changeEvents: ChangeEventBus;
  baseUrl(): string;
}

export const MIN_VERSION = 31;
export const MAX_VERSION = 66;

/** The API version of the request (`62.0`), set by the version check. */
export function apiVersion(res: Response): string {
  return String(res.locals.apiVersion ?? `${MAX_VERSION}.0`);
}

export function dataBase(res: Response): string {
  return `/services/data/v${apiVersion(res)}`;
}

/** The user the session belongs to (CreatedById / LastModifiedById of API writes). */
export function sessionUser(res: Response): string | undefined {
  return typeof res.locals.userId === 'string' ? res.locals.userId : undefined;
}

/** An sObject as the session's user sees it (field-level security), or undefined when unknown. */
export function visibleSchema(ctx: SandboxContext, res: Response, name: string): SObjectSchema | undefined {
  const schema = ctx.store.schema(name);
  return schema ? ctx.security.schemaFor(sessionUser(res), schema) : undefined;
}

export function recordUrl(res: Response, type: string, id: string): string {
  return `${dataBase(res)}/sobjects/${type}/${id}`;
}

/** A record as the REST API returns it: `attributes` then the fields, values in wire form. */
export function renderRecord(res: Response, schema: SObjectSchema, record: SfRecord, columns: readonly FieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: schema.name, url: recordUrl(res, schema.name, String(record.Id)) } };
  for (const f of columns) out[f.name] = outputValue(f, readValue(record, f));
  return out;
}

/**
 * A query row as the REST API returns it: `attributes`, then the selected fields in order, each
 * parent relationship as a nested record (`"Account": {"attributes": {...}, "Name": ...}`) at its
 * first field's place, or `null` when the lookup is empty. A polymorphic parent (Task.Who) is typed
 * `Name`, with the url of the record it really is.
 */
export function renderQueryRow(res: Response, schema: SObjectSchema, record: SfRecord, select: readonly SelectNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: schema.name, url: recordUrl(res, schema.name, String(record.Id)) } };
  fillRow(res, out, select, { schema, record }, false);
  return out;
}

function fillRow(res: Response, out: Record<string, unknown>, nodes: readonly SelectNode[], found: FoundRecord, polymorphic: boolean): void {
  for (const node of nodes) {
    if (node.kind === 'field') {
      out[node.field.name] = outputValue(node.field, valueOf(node.field, found, polymorphic));
      continue;
    }
    const parent = node.hop.follow(found.record);
    if (!parent) {
      out[node.hop.name] = null;
      continue;
    }
    const type = node.hop.polymorphic ? 'Name' : parent.schema.name;
    const nested: Record<string, unknown> = { attributes: { type, url: recordUrl(res, parent.schema.name, String(parent.record.Id)) } };
    fillRow(res, nested, node.children, parent, node.hop.polymorphic);
    out[node.hop.name] = nested;
  }
}

/** Parses a JSON body with a zod schema; a mismatch is Salesforce's JSON_PARSER_ERROR. */
export function parseBody<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  if (req.body === undefined) throw jsonParserError('No content to map due to end-of-input');
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw jsonParserError(`Cannot deserialize the request body${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Parses query parameters with a zod schema; a mismatch is a 400 with the given code. */
export function parseQuery<T extends z.ZodType>(schema: T, req: Request, errorCode = 'INVALID_QUERY_FILTER_OPERATOR'): z.infer<T> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SfApiError(400, errorCode, `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid parameter'}`);
  }
  return parsed.data;
}

/** A path parameter as a string (express 5 types them loosely). */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
