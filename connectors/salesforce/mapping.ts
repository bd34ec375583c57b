/**
 * Salesforce Lead and Contact rows → fragments of the common Lead. Every row is parsed by a zod
 * schema first; a row that does not parse becomes a RecordProblem, never a thrown error.
 * Picklist translations are in picklists.ts; the writing direction (with the pre-write checks)
 * is in validation.ts.
 */
import { websiteDomain } from '../../src/model/domain.js';
import { z } from 'zod';
import { leadFragmentSchema, normaliseEmail, salesDecisionSchema } from '../../src/model/lead.js';
import type { LeadFragment, SalesforceObject } from '../../src/model/lead.js';
import type { SmkField, SmkFieldKey } from '../../src/model/fields.js';
import { canonicalFieldValue } from '../../src/model/field-sync.js';
import type { SyncField } from '../../src/model/field-sync.js';
import type { RecordProblem, RemovedRecord } from '../types.js';
import { SALESFORCE_SMK_FIELDS } from './fields.js';
import type { Translations } from './picklists.js';
import { isSalesforceId, toIsoDateTime } from './soql.js';

// ---------------------------------------------------------------------------------------------
// Row schemas (REST query records: every field present, null when empty; `attributes` first)

const text = z.string().nullable().optional();
const num = z.number().nullable().optional();
const bool = z.boolean().nullable().optional();
const id = z.string().refine(isSalesforceId, 'not a Salesforce id');
const optionalId = id.nullable().optional();
const dateTime = z.string().refine((v) => toIsoDateTime(v) !== null, 'not a date-time');
/** A calendar date (`2024-05-01`) that exists: `2024-13-45` is a problem of its own field. */
const date = z.iso.date('not a date').nullable().optional();
const attributes = z.object({ type: z.string(), url: z.string().optional() }).optional();

export const leadRowSchema = z.looseObject({
  attributes,
  Id: id,
  IsDeleted: bool,
  FirstName: text,
  LastName: text,
  Email: text,
  Title: text,
  Phone: text,
  Company: text,
  Website: text,
  Industry: text,
  NumberOfEmployees: num,
  AnnualRevenue: num,
  Country: text,
  State: text,
  City: text,
  LeadSource: text,
  Status: text,
  Rating: text,
  OwnerId: optionalId,
  HasOptedOutOfEmail: bool,
  IsConverted: bool,
  ConvertedContactId: optionalId,
  ConvertedAccountId: optionalId,
  ConvertedDate: date,
  LastActivityDate: date,
  CreatedDate: dateTime.nullable().optional(),
  LastModifiedDate: dateTime.nullable().optional(),
  SystemModstamp: dateTime,
});
export type LeadRow = z.infer<typeof leadRowSchema>;

const accountRefSchema = z
  .looseObject({
    attributes,
    Name: text,
    Website: text,
    Industry: text,
    NumberOfEmployees: num,
    AnnualRevenue: num,
  })
  .nullable()
  .optional();

export const contactRowSchema = z.looseObject({
  attributes,
  Id: id,
  IsDeleted: bool,
  FirstName: text,
  LastName: text,
  Email: text,
  Title: text,
  Phone: text,
  MailingCountry: text,
  MailingState: text,
  MailingCity: text,
  AccountId: optionalId,
  Account: accountRefSchema,
  LeadSource: text,
  OwnerId: optionalId,
  HasOptedOutOfEmail: bool,
  LastActivityDate: date,
  CreatedDate: dateTime.nullable().optional(),
  LastModifiedDate: dateTime.nullable().optional(),
  SystemModstamp: dateTime,
});
export type ContactRow = z.infer<typeof contactRowSchema>;

// ---------------------------------------------------------------------------------------------
// Values

/** Placeholders Salesforce (web-to-lead) and this connector put in required fields: no value. */
export const NOT_PROVIDED = '[not provided]';

function clean(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed.length === 0 || trimmed === NOT_PROVIDED ? null : trimmed;
}

/** `https://www.Acme.com/about` → `acme.com`; null for anything without a host (or `[not provided]`). */
export function normaliseDomain(value: string | null | undefined): string | null {
  return websiteDomain(clean(value));
}

/** A Salesforce date (`2024-05-01`, no time) as the start of that day in UTC. */
function dateToIso(value: string | null | undefined): string | null {
  return value ? `${value}T00:00:00.000Z` : null;
}

/** Numbers as the canonical string write plans compare against: `42`, `42.5` (no `42.0`). */
function numberText(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(15)));
}

const smkNumber = z.union([z.number(), z.string()], { error: 'expected a number or numeric text' }).nullable();
const smkText = z.string({ error: 'expected text' }).nullable();

/** What a value is, for a problem message (never the value itself, which may be large). */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

type SmkRead = { ok: true; value: string | null } | { ok: false; message: string };

/** One smk value as the common string; each is parsed on its own, so a bad one names its field. */
function smkValue(field: SmkField, raw: unknown): SmkRead {
  if (field.type === 'number') {
    const v = smkNumber.safeParse(raw);
    if (!v.success) return { ok: false, message: `${v.error.issues[0]?.message ?? 'expected a number'}, got ${kindOf(raw)}` };
    if (v.data === null) return { ok: true, value: null };
    const n = typeof v.data === 'number' ? v.data : Number(v.data);
    return { ok: true, value: Number.isFinite(n) ? numberText(n) : null };
  }
  const v = smkText.safeParse(raw);
  if (!v.success) return { ok: false, message: `${v.error.issues[0]?.message ?? 'expected text'}, got ${kindOf(raw)}` };
  const t = v.data;
  switch (field.type) {
    case 'datetime':
      return { ok: true, value: t ? toIsoDateTime(t) : null };
    case 'enum': {
      if (!t) return { ok: true, value: null };
      const option = field.options?.find((o) => o.value === t.toLowerCase() || o.label.toLowerCase() === t.toLowerCase());
      return { ok: true, value: option?.value ?? t };
    }
    case 'text':
    case 'longtext':
      return { ok: true, value: t };
  }
}

type SmkValues = Partial<Record<SmkFieldKey, string | null>>;

/** The row's smk values (only the fields it carries), or the first field whose value cannot be read. */
function smkValues(row: Record<string, unknown>): { ok: true; values: SmkValues } | { ok: false; field: string; message: string } {
  const values: SmkValues = {};
  for (const field of SALESFORCE_SMK_FIELDS) {
    const raw = row[field.salesforce];
    if (raw === undefined) continue;
    const read = smkValue(field, raw);
    if (!read.ok) return { ok: false, field: field.salesforce, message: read.message };
    values[field.key] = read.value;
  }
  return { ok: true, values };
}

/** The sales feedback that reps enter in the Smk fields, also as typed `sales` values. */
function salesFeedback(smk: SmkValues) {
  const decision = salesDecisionSchema.safeParse(smk.salesDecision);
  const quality = smk.leadQuality != null ? Number(smk.leadQuality) : null;
  return {
    ...(smk.salesDecision !== undefined ? { decision: decision.success ? decision.data : null } : {}),
    ...(smk.rejectReason !== undefined ? { rejectReason: smk.rejectReason } : {}),
    ...(smk.leadQuality !== undefined ? { qualityRating: quality !== null && Number.isFinite(quality) ? quality : null } : {}),
    ...(smk.disqualifyReason !== undefined ? { disqualifyReason: smk.disqualifyReason } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Rows → fragments

export function leadRowToFragment(row: LeadRow, translations: Translations, smk: SmkValues): LeadFragment {
  return leadFragmentSchema.parse({
    source: 'salesforce',
    recordId: row.Id,
    object: 'Lead',
    email: normaliseEmail(row.Email),
    modifiedAt: toIsoDateTime(row.LastModifiedDate ?? row.SystemModstamp),
    ...(row.CreatedDate ? { createdAt: toIsoDateTime(row.CreatedDate) } : {}),
    archived: row.IsDeleted ?? false,
    person: {
      firstName: clean(row.FirstName),
      lastName: clean(row.LastName),
      title: clean(row.Title),
      phone: clean(row.Phone),
      country: clean(row.Country),
      state: clean(row.State),
      city: clean(row.City),
    },
    company: {
      name: clean(row.Company),
      domain: normaliseDomain(row.Website),
      industry: clean(row.Industry),
      employees: row.NumberOfEmployees ?? null,
      annualRevenue: row.AnnualRevenue ?? null,
    },
    marketing: { source: clean(row.LeadSource), unsubscribed: row.HasOptedOutOfEmail ?? null },
    sales: {
      ownerId: row.OwnerId ?? null,
      status: translations.status.toCommon(row.Status),
      rating: translations.rating.toCommon(row.Rating),
      converted: row.IsConverted ?? null,
      lastActivityAt: dateToIso(row.LastActivityDate),
      ...salesFeedback(smk),
    },
    // A converted lead stops changing; its person lives on as this Contact (identity linking follows it).
    identity: {
      convertedContactId: row.ConvertedContactId ?? null,
      convertedAccountId: row.ConvertedAccountId ?? null,
    },
    smk,
  });
}

export function contactRowToFragment(row: ContactRow, smk: SmkValues): LeadFragment {
  const account = row.Account ?? null;
  return leadFragmentSchema.parse({
    source: 'salesforce',
    recordId: row.Id,
    object: 'Contact',
    email: normaliseEmail(row.Email),
    modifiedAt: toIsoDateTime(row.LastModifiedDate ?? row.SystemModstamp),
    ...(row.CreatedDate ? { createdAt: toIsoDateTime(row.CreatedDate) } : {}),
    archived: row.IsDeleted ?? false,
    person: {
      firstName: clean(row.FirstName),
      lastName: clean(row.LastName),
      title: clean(row.Title),
      phone: clean(row.Phone),
      country: clean(row.MailingCountry),
      state: clean(row.MailingState),
      city: clean(row.MailingCity),
    },
    company: account
      ? {
          name: clean(account.Name),
          domain: normaliseDomain(account.Website),
          industry: clean(account.Industry),
          employees: account.NumberOfEmployees ?? null,
          annualRevenue: account.AnnualRevenue ?? null,
        }
      : {},
    marketing: { source: clean(row.LeadSource), unsubscribed: row.HasOptedOutOfEmail ?? null },
    sales: {
      ownerId: row.OwnerId ?? null,
      lastActivityAt: dateToIso(row.LastActivityDate),
      ...salesFeedback(smk),
    },
    identity: { accountId: row.AccountId ?? null },
    smk,
  });
}

export interface MappedRow {
  fragment?: LeadFragment;
  removed?: RemovedRecord;
  problem?: RecordProblem;
  /** The row's place in its stream, even when it could not be mapped (the cursor moves past it). */
  position?: { ts: string; id: string };
}

const positionSchema = z.object({ Id: z.string(), SystemModstamp: z.string() });

function shapeProblem(object: SalesforceObject, raw: unknown, error: z.ZodError): RecordProblem {
  const pos = positionSchema.safeParse(raw);
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || undefined;
  return {
    ref: pos.success && isSalesforceId(pos.data.Id) ? { object, id: pos.data.Id } : null,
    code: 'VALIDATION',
    message: `${object} row does not have the expected shape: ${field ?? ''} ${issue?.message ?? ''}`.replace(/\s+/g, ' ').trim(),
    field,
  };
}

/** A problem with one field of a row that otherwise parsed. */
function fieldProblem(object: SalesforceObject, rowId: string, field: string, message: string): RecordProblem {
  return { ref: { object, id: rowId }, code: 'VALIDATION', message: `${object} row does not have the expected shape: ${field} ${message}`, field };
}

/**
 * One query row → a fragment, a removal (a deleted row, seen through queryAll: the removal is all
 * the pipeline needs) or a problem. The position is kept even for a row that cannot be mapped, so
 * that the cursor moves past it instead of reading it forever.
 */
/** The synced fields a row holds (the columns its object carries and the query selected), canonical. */
export function syncedFieldsOf(object: SalesforceObject, row: Record<string, unknown>, syncFields: readonly SyncField[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const field of syncFields) {
    const column = field.salesforce[object];
    if (column === null || !(column in row)) continue;
    const raw = row[column];
    out[field.name] = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? canonicalFieldValue(field, raw) : null;
  }
  return out;
}

/** The rep's notes from the configured field (a long text area such as Description), or undefined when not read. */
function notesOf(row: Record<string, unknown>, field: string | null | undefined): { notes?: string | null } {
  if (!field || !(field in row)) return {};
  const raw = row[field];
  return { notes: typeof raw === 'string' ? clean(raw) : null };
}

export function mapRow(object: SalesforceObject, raw: unknown, translations: Translations, syncFields: readonly SyncField[] = [], salesNotesField?: string | null): MappedRow {
  const pos = positionSchema.safeParse(raw);
  const ts = pos.success ? toIsoDateTime(pos.data.SystemModstamp) : null;
  const position = pos.success && ts ? { ts, id: pos.data.Id } : undefined;
  const removal = (rowId: string, deleted: boolean | null | undefined): RemovedRecord | undefined =>
    deleted && ts ? { ref: { object, id: rowId }, reason: 'deleted', at: ts } : undefined;
  try {
    if (object === 'Lead') {
      const parsed = leadRowSchema.safeParse(raw);
      if (!parsed.success) return { position, problem: shapeProblem(object, raw, parsed.error) };
      const removed = removal(parsed.data.Id, parsed.data.IsDeleted);
      if (removed) return { position, removed };
      const smk = smkValues(parsed.data);
      if (!smk.ok) return { position, problem: fieldProblem(object, parsed.data.Id, smk.field, smk.message) };
      const fragment = leadRowToFragment(parsed.data, translations, smk.values);
      return { position, fragment: { ...fragment, sales: { ...fragment.sales, ...notesOf(parsed.data, salesNotesField) }, fields: syncedFieldsOf(object, parsed.data, syncFields) } };
    }
    const parsed = contactRowSchema.safeParse(raw);
    if (!parsed.success) return { position, problem: shapeProblem(object, raw, parsed.error) };
    const removed = removal(parsed.data.Id, parsed.data.IsDeleted);
    if (removed) return { position, removed };
    const smk = smkValues(parsed.data);
    if (!smk.ok) return { position, problem: fieldProblem(object, parsed.data.Id, smk.field, smk.message) };
    const fragment = contactRowToFragment(parsed.data, smk.values);
    return { position, fragment: { ...fragment, sales: { ...fragment.sales, ...notesOf(parsed.data, salesNotesField) }, fields: syncedFieldsOf(object, parsed.data, syncFields) } };
  } catch (err) {
    // The fragment schema refused a mapped value (model/lead.ts is the truth).
    if (!(err instanceof z.ZodError)) throw err;
    return { position, problem: shapeProblem(object, raw, err) };
  }
}
