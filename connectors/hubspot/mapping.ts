/**
 * HubSpot contact -> LeadFragment. Every contact is parsed by a zod schema of what the SDK hands
 * back before it is mapped (reference H1/H8): `properties` values are strings or null, and
 * `createdAt`/`updatedAt`/`archivedAt` are Date objects after the SDK's deserializer (ISO strings
 * in recorded wire payloads: both are accepted). The write direction lives in write-mapping.ts.
 */
import { z } from 'zod';
import type { LeadFragment } from '../../src/model/lead.js';
import { MAX_DATE_MS, normaliseEmail } from '../../src/model/lead.js';
import { SMK_FIELDS } from '../../src/model/fields.js';
import { canonicalFieldValue } from '../../src/model/field-sync.js';
import type { SyncField } from '../../src/model/field-sync.js';
import type { SmkField } from '../../src/model/fields.js';
import type { RecordProblem, RemovedRecord } from '../types.js';
import { EMPLOYEE_PROPERTIES, STANDARD_PROPERTIES as P } from './properties.js';
import type { Picklists } from './picklists.js';

const dateLike = z
  .union([z.date(), z.iso.datetime({ offset: true })])
  .transform((v) => (v instanceof Date ? v : new Date(v)));

/** A contact as the SDK returns it (SimplePublicObject); unknown top-level keys are ignored. */
export const hubSpotContactSchema = z.object({
  id: z.string().min(1),
  properties: z.record(z.string(), z.string().nullable()),
  createdAt: dateLike.optional(),
  updatedAt: dateLike,
  archived: z.boolean().optional(),
  archivedAt: dateLike.optional(),
  objectWriteTraceId: z.string().optional(),
});
export type HubSpotContact = z.infer<typeof hubSpotContactSchema>;

export type ParsedContact = { ok: true; contact: HubSpotContact } | { ok: false; problem: RecordProblem };

/** Parses one contact; a payload that does not fit becomes a problem naming the record, never a throw. */
export function parseContact(raw: unknown): ParsedContact {
  const parsed = hubSpotContactSchema.safeParse(raw);
  if (parsed.success) return { ok: true, contact: parsed.data };
  const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
  const issue = parsed.error.issues[0];
  const field = issue ? fieldOf(issue.path) : undefined;
  return {
    ok: false,
    problem: {
      ref: id ? { object: 'contact', id } : null,
      code: 'VALIDATION',
      message: `HubSpot contact ${id ?? '(no id)'} does not have the expected shape: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
      ...(field ? { field } : {}),
    },
  };
}

/** The field a problem is about: the HubSpot property (`email` for `properties.email`), else the contact's own key (`updatedAt`). */
function fieldOf(path: ReadonlyArray<PropertyKey>): string | undefined {
  const [first, second] = path;
  if (first === 'properties' && second !== undefined) return String(second);
  return first === undefined ? undefined : String(first);
}

// ---- value readers -------------------------------------------------------------------------

/** Trimmed text; blank and null are both "no value". */
export function text(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t.length === 0 ? null : t;
}

/**
 * A number as people type it into HubSpot text fields: "1,200", "1 200", "$5,000,000", "25-50"
 * (a range: its lower bound), "10,000+". Null when there is no number in it.
 */
export function parseLooseNumber(value: string | null | undefined): number | null {
  const t = text(value);
  if (t === null) return null;
  const cleaned = t.replace(/[\s,$€£]/g, '').replace(/\+$/, '');
  const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(cleaned);
  const candidate = range ? range[1] : cleaned;
  if (candidate === undefined || !/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(candidate)) return null;
  const n = Number(candidate);
  return Number.isFinite(n) ? n : null;
}

const EPOCH_MS = /^-?\d{1,16}$/;

/**
 * Epoch ms from an ISO-8601 date-time (v3 reads) or an epoch-ms string (v3 writes, older payloads).
 * Null when there is no date, and for an epoch beyond what a JavaScript Date holds (±8.64e15 ms),
 * so that a result always converts with toISOString().
 */
export function parseTimestamp(value: string | null | undefined): number | null {
  const t = text(value);
  if (t === null) return null;
  if (EPOCH_MS.test(t)) {
    const ms = Number(t);
    return Math.abs(ms) <= MAX_DATE_MS ? ms : null;
  }
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** "https://www.acme.example.com/about" -> "acme.example.com". */
export function domainOf(website: string | null | undefined): string | null {
  const t = text(website);
  if (t === null) return null;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `https://${t}`);
    const host = url.hostname.toLowerCase().replace(/^www\./, '');
    return host.includes('.') ? host : null;
  } catch {
    return null;
  }
}

/** `hs_merged_object_ids` is a ';'-separated list of the ids merged into this contact. */
export function mergedIdsOf(contact: HubSpotContact): string[] {
  const raw = text(contact.properties[P.mergedIds]);
  if (raw === null) return [];
  return [...new Set(raw.split(';').map((s) => s.trim()).filter((s) => s.length > 0 && s !== contact.id))];
}

/** The contact's modification time: `lastmodifieddate`, else the object's `updatedAt`. */
export function modifiedAtMs(contact: HubSpotContact): number {
  return parseTimestamp(contact.properties[P.lastModified]) ?? contact.updatedAt.getTime();
}

/** The contact's creation time (`createdate`, else the object's createdAt), when it is a real date. */
function createdAtOf(contact: HubSpotContact): { createdAt?: string } {
  const ms = parseTimestamp(contact.properties[P.createDate]) ?? contact.createdAt?.getTime() ?? null;
  return ms !== null && Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? { createdAt: new Date(ms).toISOString() } : {};
}

/** A `smk_*` value as read, normalised so that what was written compares equal to what is read back. */
export function smkValueFromHubSpot(field: SmkField, raw: string | null | undefined): string | null {
  const t = raw === null || raw === undefined || raw === '' ? null : raw;
  if (t === null) return null;
  if (field.type === 'number') {
    const n = Number(t.trim());
    return Number.isFinite(n) ? String(n) : t;
  }
  if (field.type === 'datetime') return isoOrNull(parseTimestamp(t)) ?? t;
  return t;
}

// ---- contact -> fragment -------------------------------------------------------------------

const COUNTERS = {
  pageViews: P.pageViews,
  visits: P.visits,
  formSubmissions: P.formSubmissions,
  emailOpens: P.emailOpens,
  emailClicks: P.emailClicks,
} as const;

const COUNTER_TIMESTAMPS = {
  lastVisitAt: P.lastVisitAt,
  recentConversionAt: P.recentConversionAt,
  firstConversionAt: P.firstConversionAt,
} as const;

/**
 * HubSpot analytics counters and their timestamps (epoch ms), so that the sync layer can turn an
 * increase between two snapshots into dated events.
 */
export function countersOf(contact: HubSpotContact): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const [key, name] of Object.entries(COUNTERS)) {
    const n = parseLooseNumber(contact.properties[name]);
    if (n !== null) counters[key] = n;
  }
  for (const [key, name] of Object.entries(COUNTER_TIMESTAMPS)) {
    const ms = parseTimestamp(contact.properties[name]);
    if (ms !== null) counters[key] = ms;
  }
  return counters;
}

/** Every date property the mapper reads: an unreadable epoch in one of them is a problem, not a silent fallback. */
const TIMESTAMP_PROPERTIES = [P.lastModified, P.lastContactedAt, ...Object.values(COUNTER_TIMESTAMPS)] as const;

/**
 * A problem for a date property holding epoch milliseconds beyond a JavaScript Date's range
 * (the CRM or an integration wrote garbage); null when every date the mapper reads is usable.
 * Text that is no date at all stays "no value", as before.
 */
export function timestampProblem(contact: HubSpotContact): RecordProblem | null {
  for (const name of TIMESTAMP_PROPERTIES) {
    const t = text(contact.properties[name]);
    if (t === null || !EPOCH_MS.test(t) || parseTimestamp(t) !== null) continue;
    return {
      ref: { object: 'contact', id: contact.id },
      code: 'VALIDATION',
      message: `HubSpot contact ${contact.id} does not have the expected shape: properties.${name}: expected epoch milliseconds within the JavaScript date range, got ${t}`,
      field: name,
      value: t,
    };
  }
  return null;
}

/** The synced fields the contact holds (src/model/field-sync.ts), canonical; absent properties are left out. */
export function syncedFieldsOf(contact: HubSpotContact, syncFields: readonly SyncField[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const field of syncFields) {
    if (field.hubspot === null || !Object.prototype.hasOwnProperty.call(contact.properties, field.hubspot)) continue;
    out[field.name] = canonicalFieldValue(field, contact.properties[field.hubspot]);
  }
  return out;
}

export function contactToFragment(contact: HubSpotContact, picklists: Picklists, syncFields: readonly SyncField[] = []): LeadFragment {
  const p = contact.properties;
  const lifecycle = text(p[P.lifecycleStage]);
  const leadStatus = text(p[P.leadStatus]);
  const optout = text(p[P.unsubscribed]);
  const employees = EMPLOYEE_PROPERTIES.map((name) => parseLooseNumber(p[name])).find((n) => n !== null) ?? null;
  const recentConversionAt = parseTimestamp(p[P.recentConversionAt]);
  const recentConversionName = text(p[P.recentConversionName]);
  const smk: Record<string, string | null> = {};
  for (const field of SMK_FIELDS) {
    if (field.hubspot && Object.prototype.hasOwnProperty.call(p, field.hubspot)) {
      smk[field.key] = smkValueFromHubSpot(field, p[field.hubspot]);
    }
  }
  const mergedIds = mergedIdsOf(contact);
  return {
    source: 'hubspot',
    recordId: contact.id,
    object: 'contact',
    email: normaliseEmail(p[P.email]),
    modifiedAt: new Date(modifiedAtMs(contact)).toISOString(),
    ...createdAtOf(contact),
    archived: contact.archived ?? false,
    person: {
      firstName: text(p[P.firstName]),
      lastName: text(p[P.lastName]),
      title: text(p[P.title]),
      phone: text(p[P.phone]) ?? text(p[P.mobilePhone]),
      country: text(p[P.country]),
      state: text(p[P.state]),
      city: text(p[P.city]),
    },
    company: {
      name: text(p[P.company]),
      domain: domainOf(p[P.website]),
      industry: text(p[P.industry]),
      employees,
      annualRevenue: parseLooseNumber(p[P.annualRevenue]),
    },
    marketing: {
      source: text(p[P.source]),
      campaign: text(p[P.campaign]),
      lifecycleStage: lifecycle === null ? null : picklists.lifecycleStage.fromHubSpot(lifecycle),
      leadStatus: leadStatus === null ? null : picklists.leadStatus.fromHubSpot(leadStatus),
      unsubscribed: optout === null ? null : optout.toLowerCase() === 'true',
      counters: countersOf(contact),
      // The recent conversion is a dated fact with a name; counters cannot carry the name.
      engagement:
        recentConversionAt !== null
          ? [{ kind: 'conversion', at: new Date(recentConversionAt).toISOString(), ...(recentConversionName ? { detail: recentConversionName.slice(0, 200) } : {}) }]
          : [],
    },
    sales: {
      // HubSpot's own owner id (routing writes it back as RecordUpdate.ownerId).
      ownerId: text(p[P.ownerId]),
      lastActivityAt: isoOrNull(parseTimestamp(p[P.lastContactedAt])),
    },
    identity: {
      ...(mergedIds.length > 0 ? { mergedIds } : {}),
      // Only when the read held the property: a read without it says nothing about the company.
      ...(Object.prototype.hasOwnProperty.call(p, P.companyId) ? { companyId: companyIdOf(p[P.companyId]) } : {}),
    },
    smk,
    fields: syncedFieldsOf(contact, syncFields),
  };
}

/** `associatedcompanyid` as an id (a number property: digits, never `1.0` or blank), else null. */
function companyIdOf(value: unknown): string | null {
  const t = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : text(typeof value === 'string' ? value : null);
  return t !== null && /^\d+$/.test(t) && !/^0+$/.test(t) ? t : null;
}

/** Ids merged into a surviving contact, reported as removed so the pipeline relinks them to the survivor. */
export function mergesOf(contact: HubSpotContact): RemovedRecord[] {
  const at = new Date(modifiedAtMs(contact)).toISOString();
  return mergedIdsOf(contact).map((id) => ({ ref: { object: 'contact', id }, reason: 'merged', survivorId: contact.id, at }));
}

export interface MappedContacts {
  fragments: LeadFragment[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
  /** Every contact that parsed (it exists in HubSpot), even one whose values then could not be mapped. */
  contacts: HubSpotContact[];
}

/** Parses and maps a page of contacts; a bad one is a problem, the rest go on. */
export function mapContacts(raw: readonly unknown[], picklists: Picklists, syncFields: readonly SyncField[] = []): MappedContacts {
  const out: MappedContacts = { fragments: [], removed: [], problems: [], contacts: [] };
  for (const item of raw) {
    const parsed = parseContact(item);
    if (!parsed.ok) {
      out.problems.push(parsed.problem);
      continue;
    }
    const contact = parsed.contact;
    out.contacts.push(contact);
    const problem = timestampProblem(contact);
    if (problem) {
      out.problems.push(problem);
      continue;
    }
    // Whatever else a contact holds, it fails alone: one bad contact never fails its page.
    try {
      const fragment = contactToFragment(contact, picklists, syncFields);
      const removed = mergesOf(contact);
      out.fragments.push(fragment);
      out.removed.push(...removed);
    } catch (err) {
      out.problems.push({
        ref: { object: 'contact', id: contact.id },
        code: 'VALIDATION',
        message: `HubSpot contact ${contact.id} could not be mapped: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`,
      });
    }
  }
  return out;
}
