/**
 * The in-memory contact record and how it is rendered as the SDK's `SimplePublicObject`.
 * Kept compact for a million records: one plain object of canonical string values per contact
 * (no empty values, no history), with createdate/lastmodifieddate/hs_object_id derived.
 */
import { DEFAULT_CONTACT_PROPERTIES } from './property-defs.js';
import { formatValue, isoOf, type PropertyRegistry } from './properties.js';

export type StoredValue = string | number;

/** A stored value as its canonical string, or undefined when empty. */
export function textOf(props: ContactState['props'], name: string): string | undefined {
  const v = props[name];
  // `props` is a plain object: the type checks also skip inherited members such as `constructor`.
  if (typeof v === 'string') return v;
  return typeof v === 'number' ? String(v) : undefined;
}

/** What search sees of a contact: the live record, or a snapshot while the index lags. */
export interface ContactState {
  id: string;
  num: number;
  /**
   * Canonical values; a missing or `undefined` entry is an empty property (undefined keeps the
   * object's shape). Seeded numbers and epoch-ms times are held as numbers (no string per value);
   * everything written through the API is a string. Read them with `rawValue` or `textOf`.
   */
  props: Record<string, StoredValue | undefined>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
}

export interface ContactRecord extends ContactState {
  archivedAt: number;
  /** Set when this contact was merged into another; it then no longer exists on its own. */
  mergedInto: string | null;
  /** While the search index lags a write: the state search still sees, until `until`. */
  pending: { state: ContactState | null; until: number } | null;
}

export interface ChangeSource {
  changeSource: string;
  sourceId: string | null;
}

/** Reads one stored or derived value (canonical form), or undefined when empty. */
export function rawValue(doc: ContactState, name: string): string | undefined {
  switch (name) {
    case 'hs_object_id':
      return doc.id;
    case 'createdate':
      return String(doc.createdAt);
    case 'lastmodifieddate':
      return String(doc.updatedAt);
    case 'hs_email_domain': {
      const email = textOf(doc.props, 'email');
      const at = email === undefined ? -1 : email.lastIndexOf('@');
      return email !== undefined && at >= 0 ? email.slice(at + 1).toLowerCase() : undefined;
    }
    default:
      return textOf(doc.props, name);
  }
}

export interface RenderOptions {
  /** Property names asked for; null means HubSpot's defaults. Unknown names are ignored. */
  properties: readonly string[] | null;
  propertiesWithHistory?: readonly string[];
  objectWriteTraceId?: string;
  /** Report every property that has a value (control reads). */
  all?: boolean;
}

export interface SimplePublicObjectJson {
  id: string;
  properties: Record<string, string | null>;
  propertiesWithHistory?: Record<string, Array<{ value: string; timestamp: string; sourceType: string; sourceId?: string }>>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  objectWriteTraceId?: string;
}

export function renderContact(
  registry: PropertyRegistry,
  doc: ContactState & { archivedAt?: number },
  options: RenderOptions,
): SimplePublicObjectJson {
  const properties: Record<string, string | null> = {};
  const names = options.all ? allNames(registry, doc) : (options.properties ?? DEFAULT_CONTACT_PROPERTIES);
  for (const name of names) {
    const def = registry.get(name);
    if (!def) continue;
    const raw = rawValue(doc, name);
    properties[name] = raw === undefined ? null : formatValue(def.type, raw);
  }
  const out: SimplePublicObjectJson = {
    id: doc.id,
    properties,
    createdAt: isoOf(doc.createdAt),
    updatedAt: isoOf(doc.updatedAt),
    archived: doc.archived,
  };
  if (doc.archived && doc.archivedAt) out.archivedAt = isoOf(doc.archivedAt);
  if (options.propertiesWithHistory && options.propertiesWithHistory.length > 0) {
    // The sandbox keeps no per-property history: the current value is the only version.
    const history: NonNullable<SimplePublicObjectJson['propertiesWithHistory']> = {};
    for (const name of options.propertiesWithHistory) {
      const def = registry.get(name);
      if (!def) continue;
      const raw = rawValue(doc, name);
      history[name] =
        raw === undefined ? [] : [{ value: formatValue(def.type, raw), timestamp: isoOf(doc.updatedAt), sourceType: 'API' }];
    }
    out.propertiesWithHistory = history;
  }
  if (options.objectWriteTraceId !== undefined) out.objectWriteTraceId = options.objectWriteTraceId;
  return out;
}

function allNames(registry: PropertyRegistry, doc: ContactState): string[] {
  const names = new Set<string>(DEFAULT_CONTACT_PROPERTIES);
  for (const [name, value] of Object.entries(doc.props)) if (value !== undefined && registry.get(name)) names.add(name);
  names.add('hs_email_domain');
  return [...names].sort();
}

export function snapshotOf(c: ContactState): ContactState {
  return { id: c.id, num: c.num, props: { ...c.props }, createdAt: c.createdAt, updatedAt: c.updatedAt, archived: c.archived };
}
