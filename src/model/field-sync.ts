/**
 * Field sync: the standard and custom fields copied between the HubSpot contact and the Salesforce
 * Lead or Contact (issue 16), each with a direction. One table drives what each connector reads,
 * how a value is compared, and what is written where. Values travel as canonical strings in their
 * own CRM's vocabulary (a picklist value is HubSpot's on the HubSpot side and Salesforce's on the
 * Salesforce side); src/sync/field-plan.ts translates between the two and decides the writes.
 */
import { createHash } from 'node:crypto';
import countries from 'i18n-iso-countries';
import type { OwnedPath, OwnershipPolicy } from './ownership.js';

/** `country` compares names and ISO codes as one ("Germany" = "DE"); `date` is YYYY-MM-DD. */
export const SYNC_FIELD_TYPES = ['text', 'number', 'enum', 'date', 'country', 'email'] as const;
export type SyncFieldType = (typeof SYNC_FIELD_TYPES)[number];

/** One pair of a picklist translation: this HubSpot value is this Salesforce value. */
export interface ValuePair {
  hubspot: string;
  salesforce: string;
}

export interface SyncField {
  /** The mapping's key in `sync.fields` (e.g. `title`). */
  name: string;
  type: SyncFieldType;
  /** The HubSpot contact property, or null when the field is not on the HubSpot side. */
  hubspot: string | null;
  /** The Salesforce field on a Lead and on a Contact (null: that object has no such field, e.g. Company on a Contact). */
  salesforce: { Lead: string | null; Contact: string | null };
  direction: OwnershipPolicy;
  /**
   * Picklist translation, in order. HubSpot -> Salesforce takes the first pair of the HubSpot value,
   * Salesforce -> HubSpot the first pair of the Salesforce value; a value no pair names passes
   * unchanged (the target CRM then decides whether it takes it).
   */
  values: readonly ValuePair[];
  /** HubSpot calculates this property itself: it is never written (e.g. `hs_analytics_source`). */
  hubspotReadOnly?: boolean;
  /** The common Lead path scoring reads for this field: its ownership follows the direction unless set. */
  path?: OwnedPath;
}

/** HubSpot `hs_lead_status` -> Salesforce Lead Status, for the default values of both CRMs (reference S6). */
export const DEFAULT_LEAD_STATUS_PAIRS: readonly ValuePair[] = [
  { hubspot: 'NEW', salesforce: 'Open - Not Contacted' },
  { hubspot: 'OPEN', salesforce: 'Open - Not Contacted' },
  { hubspot: 'IN_PROGRESS', salesforce: 'Working - Contacted' },
  { hubspot: 'ATTEMPTED_TO_CONTACT', salesforce: 'Working - Contacted' },
  { hubspot: 'CONNECTED', salesforce: 'Working - Contacted' },
  { hubspot: 'OPEN_DEAL', salesforce: 'Closed - Converted' },
  { hubspot: 'UNQUALIFIED', salesforce: 'Closed - Not Converted' },
  { hubspot: 'BAD_TIMING', salesforce: 'Closed - Not Converted' },
];

/**
 * HubSpot's original traffic source (`hs_analytics_source`, read-only, calculated by HubSpot) ->
 * Salesforce's default Lead Source values (Web, Phone Inquiry, Partner Referral, Purchased List, Other).
 */
export const DEFAULT_LEAD_SOURCE_PAIRS: readonly ValuePair[] = [
  { hubspot: 'ORGANIC_SEARCH', salesforce: 'Web' },
  { hubspot: 'PAID_SEARCH', salesforce: 'Web' },
  { hubspot: 'EMAIL_MARKETING', salesforce: 'Web' },
  { hubspot: 'SOCIAL_MEDIA', salesforce: 'Web' },
  { hubspot: 'PAID_SOCIAL', salesforce: 'Web' },
  { hubspot: 'REFERRALS', salesforce: 'Web' },
  { hubspot: 'OTHER_CAMPAIGNS', salesforce: 'Web' },
  { hubspot: 'DIRECT_TRAFFIC', salesforce: 'Web' },
  { hubspot: 'AI_REFERRALS', salesforce: 'Web' },
  { hubspot: 'OFFLINE', salesforce: 'Other' },
];

function both(field: string): SyncField['salesforce'] {
  return { Lead: field, Contact: field };
}

/**
 * The defaults a RevOps admin expects. Directions follow the ownership defaults (src/config.ts):
 * people's own details two-way, company facts Salesforce unless blank, the website HubSpot unless
 * blank, the lead source from HubSpot's original source where Salesforce has none (sales' own value
 * is kept), the lead status from sales. Company facts live on the
 * Account for a Contact, which this sync does not write (null on the Contact side). The owner and
 * the lifecycle stage are synced by the rules (routing and the stage), not by this table.
 */
export const DEFAULT_SYNC_FIELDS: readonly SyncField[] = [
  { name: 'firstName', type: 'text', hubspot: 'firstname', salesforce: both('FirstName'), direction: 'two-way', values: [], path: 'person.firstName' },
  { name: 'lastName', type: 'text', hubspot: 'lastname', salesforce: both('LastName'), direction: 'two-way', values: [], path: 'person.lastName' },
  { name: 'email', type: 'email', hubspot: 'email', salesforce: both('Email'), direction: 'two-way', values: [], path: 'email' },
  { name: 'title', type: 'text', hubspot: 'jobtitle', salesforce: both('Title'), direction: 'two-way', values: [], path: 'person.title' },
  { name: 'phone', type: 'text', hubspot: 'phone', salesforce: both('Phone'), direction: 'two-way', values: [], path: 'person.phone' },
  { name: 'mobile', type: 'text', hubspot: 'mobilephone', salesforce: both('MobilePhone'), direction: 'two-way', values: [] },
  { name: 'company', type: 'text', hubspot: 'company', salesforce: { Lead: 'Company', Contact: null }, direction: 'salesforce-unless-blank', values: [], path: 'company.name' },
  { name: 'website', type: 'text', hubspot: 'website', salesforce: { Lead: 'Website', Contact: null }, direction: 'hubspot-unless-blank', values: [], path: 'company.domain' },
  { name: 'industry', type: 'enum', hubspot: 'industry', salesforce: { Lead: 'Industry', Contact: null }, direction: 'salesforce-unless-blank', values: [], path: 'company.industry' },
  { name: 'employees', type: 'number', hubspot: 'numberofemployees', salesforce: { Lead: 'NumberOfEmployees', Contact: null }, direction: 'salesforce-unless-blank', values: [], path: 'company.employees' },
  { name: 'annualRevenue', type: 'number', hubspot: 'annualrevenue', salesforce: { Lead: 'AnnualRevenue', Contact: null }, direction: 'salesforce-unless-blank', values: [], path: 'company.annualRevenue' },
  { name: 'street', type: 'text', hubspot: 'address', salesforce: { Lead: 'Street', Contact: 'MailingStreet' }, direction: 'two-way', values: [] },
  { name: 'city', type: 'text', hubspot: 'city', salesforce: { Lead: 'City', Contact: 'MailingCity' }, direction: 'two-way', values: [], path: 'person.city' },
  { name: 'state', type: 'text', hubspot: 'state', salesforce: { Lead: 'State', Contact: 'MailingState' }, direction: 'two-way', values: [], path: 'person.state' },
  { name: 'postalCode', type: 'text', hubspot: 'zip', salesforce: { Lead: 'PostalCode', Contact: 'MailingPostalCode' }, direction: 'two-way', values: [] },
  { name: 'country', type: 'country', hubspot: 'country', salesforce: { Lead: 'Country', Contact: 'MailingCountry' }, direction: 'two-way', values: [], path: 'person.country' },
  { name: 'leadSource', type: 'enum', hubspot: 'hs_analytics_source', salesforce: both('LeadSource'), direction: 'salesforce-unless-blank', values: DEFAULT_LEAD_SOURCE_PAIRS, hubspotReadOnly: true },
  { name: 'leadStatus', type: 'enum', hubspot: 'hs_lead_status', salesforce: { Lead: 'Status', Contact: null }, direction: 'salesforce', values: DEFAULT_LEAD_STATUS_PAIRS },
];

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** A number as people type it into text fields ("1,200", "$5,000,000", "25-50": its lower bound). */
function looseNumber(text: string): number | null {
  const cleaned = text.replace(/[\s,$€£]/g, '').replace(/\+$/, '');
  const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(cleaned);
  const candidate = range ? (range[1] as string) : cleaned;
  if (!NUMBER.test(candidate)) return null;
  const n = Number(candidate);
  return Number.isFinite(n) ? n : null;
}

/**
 * One canonical string per value as a CRM holds it, so that an echo compares equal to what was
 * written: text trimmed, numbers without formatting ("1,200" = "1200.0" = "1200"), dates as
 * YYYY-MM-DD, emails lower-cased. Blank is null. Unparseable numbers and dates stay as text, so
 * that the target CRM refuses them with its own reason instead of the sync dropping them.
 */
export function canonicalFieldValue(field: Pick<SyncField, 'type'>, raw: string | number | boolean | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const text = String(raw).trim();
  if (text === '' || text === '[not provided]') return null;
  switch (field.type) {
    case 'number': {
      const n = looseNumber(text);
      return n === null ? text : String(Number(n.toPrecision(15)));
    }
    case 'date': {
      const day = /^(\d{4}-\d{2}-\d{2})/.exec(text);
      if (day) return day[1] as string;
      if (/^\d{10,}$/.test(text)) return new Date(Number(text)).toISOString().slice(0, 10);
      return text;
    }
    case 'email':
      return text.toLowerCase();
    case 'text':
    case 'enum':
    case 'country':
      return text;
  }
}

/** A country's ISO 3166 alpha-2 code from a name, an alias ("USA", "UK") or a code; null if unknown. */
export function countryCode(value: string): string | null {
  const t = value.trim();
  if (/^[A-Za-z]{2}$/.test(t) && countries.isValid(t.toUpperCase())) return t.toUpperCase();
  if (/^[A-Za-z]{3}$/.test(t)) {
    const alpha2 = countries.alpha3ToAlpha2(t.toUpperCase());
    if (alpha2) return alpha2;
  }
  return countries.getAlpha2Code(t, 'en') ?? null;
}

/** Whether two canonical values mean the same (countries by code, enums and emails case-insensitively). */
export function sameFieldValue(field: Pick<SyncField, 'type'>, a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  switch (field.type) {
    case 'country': {
      const ca = countryCode(a);
      return ca !== null && ca === countryCode(b);
    }
    case 'enum':
    case 'email':
      return a.toLowerCase() === b.toLowerCase();
    default:
      return false;
  }
}

/**
 * A digest of a canonical value, equal for values that mean the same (sameFieldValue): the webhook
 * intake keeps this, not the value, in job data (no personal value waits in a queue), and echo
 * recognition compares it with the digest of what the record is known to hold. Null has its own.
 */
export function fieldValueDigest(field: Pick<SyncField, 'type' | 'name'>, canonical: string | null): string {
  let key: string;
  if (canonical === null) key = '\u0000';
  else if (field.type === 'country') key = countryCode(canonical) ?? canonical;
  else if (field.type === 'enum' || field.type === 'email') key = canonical.toLowerCase();
  else key = canonical;
  return createHash('sha256').update(`${field.name}\u0000${key}`).digest('base64url').slice(0, 22);
}

/** The Salesforce field of a record's object, or null when that object does not carry it. */
export function salesforceFieldOf(field: SyncField, object: 'Lead' | 'Contact'): string | null {
  return field.salesforce[object];
}
