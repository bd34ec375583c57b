/**
 * The common Lead: the one vocabulary every layer speaks. Connectors map vendor records to
 * fragments of it, the sync layer merges fragments into a stored snapshot, and the rules read it.
 * Dates are ISO-8601 strings (UTC) so that a snapshot round-trips through JSON unchanged.
 */
import { z } from 'zod';

export const CRM_NAMES = ['hubspot', 'salesforce'] as const;
export const crmNameSchema = z.enum(CRM_NAMES);
export type CrmName = z.infer<typeof crmNameSchema>;

export const isoDateTime = z.iso.datetime({ offset: true });

/** The largest distance from the epoch, in ms, that a JavaScript Date can hold (±100,000,000 days). */
export const MAX_DATE_MS = 8.64e15;

export const STAGES = [
  'subscriber',
  'lead',
  'mql',
  'sal',
  'sql',
  'opportunity',
  'customer',
  'recycled',
  'disqualified',
] as const;
export const stageSchema = z.enum(STAGES);
export type Stage = z.infer<typeof stageSchema>;

export const GRADES = ['hot', 'warm', 'cold'] as const;
export const gradeSchema = z.enum(GRADES);
export type Grade = z.infer<typeof gradeSchema>;

export const SLA_STATUSES = ['none', 'running', 'met', 'breached'] as const;
export const slaStatusSchema = z.enum(SLA_STATUSES);
export type SlaStatus = z.infer<typeof slaStatusSchema>;

export const SALES_DECISIONS = ['accepted', 'rejected'] as const;
export const salesDecisionSchema = z.enum(SALES_DECISIONS);
export type SalesDecision = z.infer<typeof salesDecisionSchema>;

/** Kinds of dated engagement events; HubSpot counters become these (see DESIGN.md "Engagement"). */
export const ENGAGEMENT_KINDS = [
  'page_view',
  'visit',
  'form_submission',
  'email_open',
  'email_click',
  'demo_request',
  'conversion',
  'meeting',
  'call',
  /** An email a rep sent and logged in Salesforce (sync.activities.engagement). */
  'sales_email',
] as const;
export const engagementKindSchema = z.enum(ENGAGEMENT_KINDS);
export type EngagementKind = z.infer<typeof engagementKindSchema>;

export const engagementEventSchema = z.object({
  kind: engagementKindSchema,
  at: isoDateTime,
  weight: z.number().positive().optional(),
  /** Free text such as the form or page name, shown in reasons. */
  detail: z.string().max(200).optional(),
});
export type EngagementEvent = z.infer<typeof engagementEventSchema>;

export const SALESFORCE_OBJECTS = ['Lead', 'Contact'] as const;
export const salesforceObjectSchema = z.enum(SALESFORCE_OBJECTS);
export type SalesforceObject = z.infer<typeof salesforceObjectSchema>;

export const linksSchema = z.object({
  hubspot: z
    .object({
      id: z.string().min(1),
      mergedIds: z.array(z.string()).optional(),
      /** The contact's primary company (HubSpot `associatedcompanyid`). */
      companyId: z.string().min(1).optional(),
    })
    .optional(),
  salesforce: z
    .object({
      object: salesforceObjectSchema,
      id: z.string().min(15).max(18),
      /** The Lead id a Contact came from, when sales converted the lead. */
      convertedFrom: z.string().min(15).max(18).optional(),
      accountId: z.string().min(15).max(18).optional(),
    })
    .optional(),
});
export type LeadLinks = z.infer<typeof linksSchema>;

const optionalText = z.string().nullable().optional();
const optionalNumber = z.number().finite().nullable().optional();

export const personSchema = z.object({
  firstName: optionalText,
  lastName: optionalText,
  title: optionalText,
  phone: optionalText,
  country: optionalText,
  state: optionalText,
  city: optionalText,
});
export type Person = z.infer<typeof personSchema>;

export const companySchema = z.object({
  name: optionalText,
  domain: optionalText,
  industry: optionalText,
  employees: optionalNumber,
  annualRevenue: optionalNumber,
});
export type Company = z.infer<typeof companySchema>;

export const marketingSchema = z.object({
  source: optionalText,
  campaign: optionalText,
  lifecycleStage: optionalText,
  leadStatus: optionalText,
  unsubscribed: z.boolean().nullable().optional(),
  engagement: z.array(engagementEventSchema).default([]),
  /** Last seen HubSpot analytics counters, so that an increase becomes dated events. */
  counters: z.record(z.string(), z.number()).optional(),
});
export type Marketing = z.infer<typeof marketingSchema>;

export const salesSchema = z.object({
  ownerId: optionalText,
  status: optionalText,
  rating: optionalText,
  decision: salesDecisionSchema.nullable().optional(),
  rejectReason: optionalText,
  qualityRating: optionalNumber,
  disqualifyReason: optionalText,
  notes: optionalText,
  lastActivityAt: isoDateTime.nullable().optional(),
  converted: z.boolean().nullable().optional(),
  opportunityStage: optionalText,
  opportunityWon: z.boolean().nullable().optional(),
  /** The person's current opportunity (the newest open one, else the newest closed one). */
  opportunityId: optionalText,
  /** Its amount in the org's currency, and its close date (YYYY-MM-DD, Salesforce's date format). */
  opportunityAmount: optionalNumber,
  opportunityCloseDate: optionalText,
  /** When the opportunity was created in the CRM: the funnel's "opportunity" step is dated by it. */
  opportunityCreatedAt: isoDateTime.nullable().optional(),
});
export type Sales = z.infer<typeof salesSchema>;

export const scoreSchema = z.object({
  fit: z.number(),
  engagement: z.number(),
  total: z.number(),
  grade: gradeSchema,
  reasons: z.array(z.string()),
  scoredAt: isoDateTime,
});
export type Score = z.infer<typeof scoreSchema>;

export const stageTransitionSchema = z.object({
  stage: stageSchema,
  at: isoDateTime,
  cause: z.string(),
});
export type StageTransition = z.infer<typeof stageTransitionSchema>;

export const stageStateSchema = z.object({
  current: stageSchema,
  history: z.array(stageTransitionSchema).default([]),
});
export type StageState = z.infer<typeof stageStateSchema>;

export const slaSchema = z.object({
  startedAt: isoDateTime.nullable().optional(),
  dueAt: isoDateTime.nullable().optional(),
  status: slaStatusSchema.default('none'),
  metAt: isoDateTime.nullable().optional(),
  breachedAt: isoDateTime.nullable().optional(),
  escalations: z.number().int().nonnegative().default(0),
  handoffAt: isoDateTime.nullable().optional(),
});
export type Sla = z.infer<typeof slaSchema>;

/**
 * What sales logged on the person's Salesforce records (completed Tasks: calls and emails), read by
 * the activity feed and attached at evaluation (jobs/activities.ts): the rep's latest touch, to the
 * minute, and, when sync.activities.engagement is on, the activities as engagement events.
 */
export const salesActivitySchema = z.object({
  lastTouchAt: isoDateTime.nullable().optional(),
  lastTouchKind: z.enum(['call', 'email']).nullable().optional(),
  /** The rep who logged it (Salesforce User id). */
  lastTouchBy: z.string().nullable().optional(),
  events: z.array(engagementEventSchema).default([]),
});
export type SalesActivity = z.infer<typeof salesActivitySchema>;

/** Why a lead belongs to an account: src/sync/account-match.ts (the order is the tie-breaker). */
export const ACCOUNT_MATCH_KINDS = ['record', 'website', 'email-domain', 'name'] as const;

/** The account (Salesforce Account, HubSpot company) a lead was matched to, and why. */
export const accountMatchSchema = z.object({
  id: z.string().min(1),
  name: optionalText,
  /** The account's owner in its CRM. */
  ownerId: optionalText,
  by: z.enum(ACCOUNT_MATCH_KINDS),
  reason: z.string(),
});
export type AccountMatch = z.infer<typeof accountMatchSchema>;

export const leadSchema = z.object({
  id: z.string().min(1),
  email: z.string().nullable(),
  updatedAt: isoDateTime,
  links: linksSchema,
  person: personSchema.default({}),
  company: companySchema.default({}),
  marketing: marketingSchema.default({ engagement: [] }),
  sales: salesSchema.default({}),
  score: scoreSchema.optional(),
  stage: stageStateSchema.optional(),
  sla: slaSchema.optional(),
  /**
   * When the person first appeared in either CRM: the earliest creation time of their records (a
   * converted Lead's included). The funnel's Lead step is dated by it.
   */
  createdAt: isoDateTime.optional(),
  /** Calls and emails sales logged (set at evaluation from the activity feed). */
  activity: salesActivitySchema.optional(),
  /** The matched account in each CRM (set at evaluation from the accounts read). */
  account: z.object({ salesforce: accountMatchSchema.optional(), hubspot: accountMatchSchema.optional() }).optional(),
});
export type Lead = z.infer<typeof leadSchema>;

/**
 * What one CRM record contributes to a Lead. Connectors produce fragments; the sync layer merges
 * them by field ownership. `modifiedAt` is the vendor's own modification time (two-way merges).
 */
export const leadFragmentSchema = z.object({
  source: crmNameSchema,
  recordId: z.string().min(1),
  object: z.enum(['contact', 'Lead', 'Contact']),
  email: z.string().nullable(),
  modifiedAt: isoDateTime,
  /** The record's creation time in its CRM (HubSpot `createdate`, Salesforce CreatedDate). */
  createdAt: isoDateTime.optional(),
  archived: z.boolean().default(false),
  person: personSchema.default({}),
  company: companySchema.default({}),
  marketing: marketingSchema.partial().default({}),
  sales: salesSchema.default({}),
  /** Salesforce conversion and HubSpot merge facts used by identity linking. */
  identity: z
    .object({
      convertedContactId: z.string().nullable().optional(),
      convertedAccountId: z.string().nullable().optional(),
      mergedIds: z.array(z.string()).optional(),
      accountId: z.string().nullable().optional(),
      /** HubSpot: the contact's primary company (`associatedcompanyid`). */
      companyId: z.string().nullable().optional(),
    })
    .default({}),
  /** The `smk` values this record holds now, keyed by the common field name (see model/fields.ts). */
  smk: z.record(z.string(), z.string().nullable()).default({}),
  /** The synced fields this record holds now, by field name, canonical (see model/field-sync.ts). */
  fields: z.record(z.string(), z.string().nullable()).default({}),
});
export type LeadFragment = z.infer<typeof leadFragmentSchema>;

/** Emails are compared lower-cased and trimmed; an empty or malformed one is no identity. */
export function normaliseEmail(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const email = raw.trim().toLowerCase();
  if (email.length === 0 || email.length > 254) return null;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return null;
  if (/\s/.test(email)) return null;
  return email;
}
