/**
 * Picklists translated both ways by config with sane defaults: Lead Status (against the org's own
 * LeadStatus values), Rating, and LeadSource for creates.
 */
import type { LeadStatusInfo } from './metadata.js';

/** Salesforce's default Lead Status values (orgs rename them; LeadStatus has the real set). */
export const DEFAULT_STATUS_TO_COMMON: Readonly<Record<string, string>> = {
  'Open - Not Contacted': 'new',
  'Working - Contacted': 'working',
  'Closed - Converted': 'converted',
  'Closed - Not Converted': 'unqualified',
};

export const DEFAULT_RATING_TO_COMMON: Readonly<Record<string, string>> = { Hot: 'hot', Warm: 'warm', Cold: 'cold' };

/** HubSpot's analytics sources (hs_analytics_source) → the standard LeadSource picklist values. */
export const DEFAULT_LEAD_SOURCE: Readonly<Record<string, string>> = {
  ORGANIC_SEARCH: 'Web',
  PAID_SEARCH: 'Web',
  DIRECT_TRAFFIC: 'Web',
  SOCIAL_MEDIA: 'Web',
  EMAIL_MARKETING: 'Web',
  REFERRALS: 'Partner Referral',
  OFFLINE: 'Other',
  OTHER_CAMPAIGNS: 'Other',
};

export interface SalesforceMappingOptions {
  /** Salesforce Status value → common status; merged over DEFAULT_STATUS_TO_COMMON. */
  statusToCommon?: Record<string, string>;
  /** Common status → Salesforce Status value, where the inverse of `statusToCommon` is not enough. */
  statusFromCommon?: Record<string, string>;
  ratingToCommon?: Record<string, string>;
  ratingFromCommon?: Record<string, string>;
  /** Common/HubSpot source → Salesforce LeadSource on create; merged over DEFAULT_LEAD_SOURCE. */
  leadSource?: Record<string, string>;
}

export type Translation = { ok: true; value: string } | { ok: false; reason: string };

function invert(table: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [sf, common] of Object.entries(table)) out[common] ??= sf;
  return out;
}

function findCaseless<T>(items: readonly T[], key: (item: T) => string, wanted: string): T | undefined {
  return items.find((i) => key(i) === wanted) ?? items.find((i) => key(i).toLowerCase() === wanted.toLowerCase());
}

/**
 * Lead Status both ways. Reading: the table, then the org's own flags (its converted status is
 * `converted`, its default `new`), else the Salesforce value unchanged. Writing: a value the org
 * has is taken as is; a common value goes through the table; a converted status is refused
 * (conversion is a sales action through convertLead, not a field write).
 */
export class LeadStatusMap {
  private readonly toCommonTable: Record<string, string>;
  private readonly fromCommonTable: Record<string, string>;

  constructor(
    options: Pick<SalesforceMappingOptions, 'statusToCommon' | 'statusFromCommon'>,
    private readonly org: readonly LeadStatusInfo[],
  ) {
    this.toCommonTable = { ...DEFAULT_STATUS_TO_COMMON, ...options.statusToCommon };
    this.fromCommonTable = { ...invert(this.toCommonTable), ...options.statusFromCommon };
    const byDefault = org.find((s) => s.isDefault);
    if (byDefault && !options.statusFromCommon?.new) this.fromCommonTable.new = byDefault.apiName;
  }

  toCommon(value: string | null | undefined): string | null {
    if (!value) return null;
    const mapped = this.toCommonTable[value];
    if (mapped) return mapped;
    const info = findCaseless(this.org, (s) => s.apiName, value) ?? findCaseless(this.org, (s) => s.label, value);
    if (info?.isConverted) return 'converted';
    if (info?.isDefault) return 'new';
    return value;
  }

  toSalesforce(value: string): Translation {
    const own = findCaseless(this.org, (s) => s.apiName, value) ?? findCaseless(this.org, (s) => s.label, value);
    const target = own ?? (this.fromCommonTable[value] !== undefined ? findCaseless(this.org, (s) => s.apiName, this.fromCommonTable[value]) : undefined);
    if (!target) {
      const allowed = this.org.filter((s) => !s.isConverted).map((s) => s.apiName);
      return { ok: false, reason: `is not a Lead Status of this org (allowed: ${allowed.join(', ')})` };
    }
    if (target.isConverted) return { ok: false, reason: 'is a converted status; leads are converted by sales, not by a field write' };
    return { ok: true, value: target.apiName };
  }
}

/** Rating both ways (Lead only): `Hot` ↔ `hot`; unknown values pass through unchanged when reading. */
export class RatingMap {
  private readonly toCommonTable: Record<string, string>;
  private readonly fromCommonTable: Record<string, string>;

  constructor(options: Pick<SalesforceMappingOptions, 'ratingToCommon' | 'ratingFromCommon'>) {
    this.toCommonTable = { ...DEFAULT_RATING_TO_COMMON, ...options.ratingToCommon };
    this.fromCommonTable = { ...invert(this.toCommonTable), ...options.ratingFromCommon };
  }

  toCommon(value: string | null | undefined): string | null {
    if (!value) return null;
    return this.toCommonTable[value] ?? value;
  }

  /** `allowed`: the org's active Rating values (describe), when known. */
  toSalesforce(value: string, allowed?: readonly string[]): Translation {
    const candidate = this.fromCommonTable[value] ?? value;
    if (!allowed || allowed.length === 0) return { ok: true, value: candidate };
    const hit = findCaseless(allowed, (v) => v, candidate);
    return hit ? { ok: true, value: hit } : { ok: false, reason: `is not a Rating of this org (allowed: ${allowed.join(', ')})` };
  }
}

export interface Translations {
  status: LeadStatusMap;
  rating: RatingMap;
  leadSource: Readonly<Record<string, string>>;
}

export function createTranslations(options: SalesforceMappingOptions, statuses: readonly LeadStatusInfo[]): Translations {
  return {
    status: new LeadStatusMap(options, statuses),
    rating: new RatingMap(options),
    leadSource: { ...DEFAULT_LEAD_SOURCE, ...options.leadSource },
  };
}
