/**
 * Field-ownership merge. Each CRM's latest view of a person is kept as a flat map of owned paths
 * (`person.title` -> value); the common Lead is composed from both views by each path's policy.
 * Composing from both views every time (rather than patching the Lead in place) makes the merge
 * order-independent: reading the same record twice, or the two CRMs in either order, gives the same Lead.
 */
import { OWNED_PATHS } from '../model/ownership.js';
import type { OwnedPath, OwnershipPolicy } from '../model/ownership.js';
import type { CrmName, Lead, LeadFragment } from '../model/lead.js';

export type FlatValue = string | number | boolean | null;

/** One CRM's view of a person, as last read. */
export interface SourceView {
  ref: { object: LeadFragment['object']; id: string };
  /** The vendor's modification time of the record (two-way merges compare these). */
  modifiedAt: string;
  values: Partial<Record<OwnedPath, FlatValue>>;
  /**
   * When each value was first seen as it is now (the record's modification time at that read).
   * Two-way fields compare these, not the record's modification time: our own write-back of the
   * smk fields moves a record's modification time, and must not make its other fields "newer".
   */
  changedAt?: Partial<Record<OwnedPath, string>>;
  /** Our clock (ms) when this view was read: on equal modification times the later read wins. */
  readAt?: number;
  /** The synced fields the record holds (model/field-sync.ts), canonical, by field name. */
  fields?: Record<string, string | null>;
  /** When each synced field's value was first seen as it is now (two-way fields compare these). */
  fieldChangedAt?: Record<string, string>;
}

/** The view of a newly read record, carrying over the change times of values that did not change. */
export function nextView(
  previous: SourceView | undefined,
  ref: SourceView['ref'],
  modifiedAt: string,
  values: SourceView['values'],
  fields: Record<string, string | null> = {},
): SourceView {
  const sameRecord = previous !== undefined && previous.ref.id === ref.id;
  const changedAt: Partial<Record<OwnedPath, string>> = {};
  for (const path of Object.keys(values) as OwnedPath[]) {
    const same = sameRecord && previous.values[path] === values[path];
    changedAt[path] = same ? (previous.changedAt?.[path] ?? previous.modifiedAt) : modifiedAt;
  }
  const view: SourceView = { ref, modifiedAt, values, changedAt };
  if (Object.keys(fields).length > 0) {
    const fieldChangedAt: Record<string, string> = {};
    for (const [name, value] of Object.entries(fields)) {
      const same = sameRecord && previous.fields !== undefined && Object.prototype.hasOwnProperty.call(previous.fields, name) && previous.fields[name] === value;
      fieldChangedAt[name] = same ? (previous.fieldChangedAt?.[name] ?? previous.modifiedAt) : modifiedAt;
    }
    view.fields = fields;
    view.fieldChangedAt = fieldChangedAt;
  }
  return view;
}

function isBlank(value: FlatValue | undefined): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** Reads the owned paths out of a fragment; the email is the normalised one. */
export function flattenFragment(fragment: LeadFragment): Partial<Record<OwnedPath, FlatValue>> {
  const values: Partial<Record<OwnedPath, FlatValue>> = {};
  const sections: Record<string, Record<string, unknown>> = {
    person: fragment.person,
    company: fragment.company,
    marketing: fragment.marketing as Record<string, unknown>,
    sales: fragment.sales,
  };
  for (const path of OWNED_PATHS) {
    if (path === 'email') {
      values.email = fragment.email;
      continue;
    }
    const [section, key] = path.split('.') as [string, string];
    const container = sections[section];
    if (!container || !Object.prototype.hasOwnProperty.call(container, key)) continue;
    const value = container[key];
    if (value === undefined) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values[path] = value;
    }
  }
  return values;
}

/** Picks one path's value from the two views by its policy. */
export function pickValue(
  policy: OwnershipPolicy,
  hubspot: SourceView | undefined,
  salesforce: SourceView | undefined,
  path: OwnedPath,
): FlatValue | undefined {
  const h = hubspot?.values[path];
  const s = salesforce?.values[path];
  switch (policy) {
    case 'hubspot':
      return hubspot ? h : undefined;
    case 'salesforce':
      return salesforce ? s : undefined;
    case 'hubspot-unless-blank':
      return isBlank(h) ? (salesforce ? s : h) : h;
    case 'salesforce-unless-blank':
      return isBlank(s) ? (hubspot ? h : s) : s;
    case 'two-way': {
      if (!hubspot) return s;
      if (!salesforce) return h;
      if (isBlank(h)) return s;
      if (isBlank(s)) return h;
      // The value changed most recently wins; on a tie HubSpot's is kept so the result does not flip.
      const hAt = Date.parse(hubspot.changedAt?.[path] ?? hubspot.modifiedAt);
      const sAt = Date.parse(salesforce.changedAt?.[path] ?? salesforce.modifiedAt);
      return sAt > hAt ? s : h;
    }
    case 'none':
      return undefined;
  }
}

function setPath(lead: Lead, path: OwnedPath, value: FlatValue | undefined): void {
  if (path === 'email') return;
  const [section, key] = path.split('.') as ['person' | 'company' | 'marketing' | 'sales', string];
  const target = lead[section] as Record<string, unknown>;
  if (value === undefined) {
    delete target[key];
    return;
  }
  target[key] = value;
}

/**
 * Composes the owned fields of `base` from the views. Fields the rules own (score, stage, SLA),
 * engagement events and links are kept from `base`.
 */
export function composeLead(
  base: Lead,
  views: Partial<Record<CrmName, SourceView>>,
  ownership: Record<OwnedPath, OwnershipPolicy>,
): Lead {
  const lead: Lead = {
    ...base,
    person: {},
    company: {},
    marketing: { engagement: base.marketing.engagement, counters: base.marketing.counters },
    sales: {},
  };
  for (const path of OWNED_PATHS) {
    if (path === 'email') continue;
    setPath(lead, path, pickValue(ownership[path], views.hubspot, views.salesforce, path));
  }
  if (lead.marketing.counters === undefined) delete lead.marketing.counters;
  // A Contact that a Lead was converted into carries the conversion, whichever was read first.
  if (base.links.salesforce?.convertedFrom && ownership['sales.converted'] !== 'none') lead.sales.converted = true;
  return lead;
}

/** The fields whose change calls for a new evaluation: everything a rule could read. */
export function relevantSignature(lead: Lead): string {
  return JSON.stringify([
    lead.email,
    lead.person,
    lead.company,
    { ...lead.marketing, counters: undefined },
    lead.sales,
    lead.links,
  ]);
}
