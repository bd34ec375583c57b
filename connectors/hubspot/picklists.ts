/**
 * HubSpot picklists translated to and from the common vocabulary, by config over sane defaults
 * (src/config.ts `mapping`: `lifecycleStage` HubSpot value -> common stage, `leadStatus` HubSpot
 * value -> Salesforce Lead Status label). A value no table knows is passed through unchanged on
 * read, so nothing a portal holds is lost; on write it must be a value HubSpot allows, else the
 * write is refused before it is sent.
 */

import { DEFAULT_LEAD_STATUS_PAIRS } from '../../src/model/field-sync.js';

/** HubSpot's default lifecycle stages, in order (contact property `lifecyclestage`). */
export const HUBSPOT_LIFECYCLE_STAGES = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
] as const;

/** HubSpot's default `hs_lead_status` options. */
export const HUBSPOT_LEAD_STATUSES = [
  'NEW',
  'OPEN',
  'IN_PROGRESS',
  'OPEN_DEAL',
  'UNQUALIFIED',
  'ATTEMPTED_TO_CONTACT',
  'CONNECTED',
  'BAD_TIMING',
] as const;

/** HubSpot lifecycle stage -> common stage (src/model/lead.ts STAGES). */
export const DEFAULT_LIFECYCLE_STAGE_MAP: Readonly<Record<string, string>> = {
  subscriber: 'subscriber',
  lead: 'lead',
  marketingqualifiedlead: 'mql',
  salesqualifiedlead: 'sql',
  opportunity: 'opportunity',
  customer: 'customer',
  evangelist: 'customer',
};

/** Common stages HubSpot has no stage for, written as the nearest one (only on write). */
const DEFAULT_LIFECYCLE_STAGE_WRITE_ONLY: Readonly<Record<string, string>> = {
  sal: 'salesqualifiedlead',
  recycled: 'lead',
  disqualified: 'other',
};

/** HubSpot lead status -> Salesforce Lead Status label (the default Salesforce values, reference S6). */
export const DEFAULT_LEAD_STATUS_MAP: Readonly<Record<string, string>> = Object.fromEntries(DEFAULT_LEAD_STATUS_PAIRS.map((p) => [p.hubspot, p.salesforce]));

export interface PicklistOptions {
  /** HubSpot lifecyclestage value -> common stage; merged over the defaults. */
  lifecycleStage?: Record<string, string>;
  /** HubSpot hs_lead_status value -> common lead status (Salesforce label); merged over the defaults. */
  leadStatus?: Record<string, string>;
  /** Custom lifecycle stage values the portal allows beyond HubSpot's defaults. */
  extraLifecycleStages?: readonly string[];
  /** Custom lead status values the portal allows beyond HubSpot's defaults. */
  extraLeadStatuses?: readonly string[];
}

export interface Picklist {
  /** The HubSpot values a write may carry. */
  readonly allowed: ReadonlySet<string>;
  /** HubSpot value -> common value; unknown values pass through. */
  fromHubSpot(value: string): string;
  /** Common (or HubSpot) value -> HubSpot value, or null when HubSpot would refuse it. */
  toHubSpot(value: string): string | null;
}

function createPicklist(
  table: Record<string, string>,
  allowed: Iterable<string>,
  writeOnly: Record<string, string> = {},
): Picklist {
  const allowedSet = new Set<string>(allowed);
  for (const key of Object.keys(table)) allowedSet.add(key);
  // Reverse: the first HubSpot value listed for a common value wins (customer -> customer, not evangelist).
  const reverse = new Map<string, string>();
  for (const [hubspot, common] of Object.entries(table)) if (!reverse.has(common)) reverse.set(common, hubspot);
  for (const [common, hubspot] of Object.entries(writeOnly)) if (!reverse.has(common)) reverse.set(common, hubspot);
  return {
    allowed: allowedSet,
    fromHubSpot: (value) => table[value] ?? value,
    toHubSpot: (value) => {
      if (allowedSet.has(value)) return value;
      const mapped = reverse.get(value);
      return mapped !== undefined && allowedSet.has(mapped) ? mapped : null;
    },
  };
}

export interface Picklists {
  lifecycleStage: Picklist;
  leadStatus: Picklist;
}

export function createPicklists(options: PicklistOptions = {}): Picklists {
  return {
    lifecycleStage: createPicklist(
      { ...DEFAULT_LIFECYCLE_STAGE_MAP, ...options.lifecycleStage },
      [...HUBSPOT_LIFECYCLE_STAGES, ...(options.extraLifecycleStages ?? [])],
      DEFAULT_LIFECYCLE_STAGE_WRITE_ONLY,
    ),
    leadStatus: createPicklist(
      { ...DEFAULT_LEAD_STATUS_MAP, ...options.leadStatus },
      [...HUBSPOT_LEAD_STATUSES, ...(options.extraLeadStatuses ?? [])],
    ),
  };
}
