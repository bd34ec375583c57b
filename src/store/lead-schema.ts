/**
 * The stored lead's shape: its zod schema (what an earlier version's JSON is validated against)
 * and its type. Kept apart from the store so that the codec (lead-codec.ts) and the store
 * (leads.ts) both use it.
 */
import { z } from 'zod';
import { leadSchema, salesSchema } from '../model/lead.js';
import type { CrmName, Lead, Sales } from '../model/lead.js';
import { alertEventSchema } from '../rules/alerts.js';
import type { AlertEvent } from '../rules/alerts.js';
import type { SourceView } from '../sync/compose.js';
import type { OutcomeViews } from '../sync/opportunities.js';

const sourceViewSchema = z.object({
  ref: z.object({ object: z.enum(['contact', 'Lead', 'Contact']), id: z.string() }),
  modifiedAt: z.string(),
  values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  changedAt: z.record(z.string(), z.string()).optional(),
  readAt: z.number().optional(),
  fields: z.record(z.string(), z.string().nullable()).optional(),
  fieldChangedAt: z.record(z.string(), z.string()).optional(),
});

/** What an opportunity reading and its stored view share (connectors/types.ts OpportunityFact). */
export const opportunityCoreSchema = z.object({
  source: z.enum(['hubspot', 'salesforce']),
  id: z.string(),
  stage: z.string().nullable(),
  closed: z.boolean(),
  won: z.boolean(),
  amount: z.number().nullable(),
  closeDate: z.string().nullable(),
  createdAt: z.string(),
  modifiedAt: z.string(),
});

const opportunityViewSchema = opportunityCoreSchema.extend({
  readAt: z.number(),
  gone: z.boolean(),
});

export const storedLeadSchema = z.object({
  lead: leadSchema,
  views: z.object({ hubspot: sourceViewSchema.optional(), salesforce: sourceViewSchema.optional() }),
  /** The opportunities the person is on, by `crm:id` (src/sync/opportunities.ts): kept apart from the views, composed in. */
  outcomes: z.record(z.string(), opportunityViewSchema).optional(),
  /** Sales' fields as the last evaluation saw them: a change since is a rep's touch. */
  evaluatedSales: salesSchema.optional(),
  /** The Salesforce owner routing chose at the last handoff (a record created later gets it). */
  routedOwnerId: z.string().optional(),
  /**
   * Rep tasks an evaluation decided on, saved with the lead in the same write and cleared once they
   * are in the pending store: a crash or a Redis restart between the two does not lose them (the
   * rerun of the job places them; a rerun of a handoff would not decide on them again).
   */
  outboxTasks: z.array(z.object({ key: z.string(), ownerId: z.string(), subject: z.string(), description: z.string(), dueDate: z.string().optional() })).optional(),
  /** Alert events an evaluation decided on, kept the same way until their messages are queued. */
  outboxAlerts: z.array(alertEventSchema).optional(),
});
export interface StoredLead {
  lead: Lead;
  views: Partial<Record<CrmName, SourceView>>;
  outcomes?: OutcomeViews;
  evaluatedSales?: Sales;
  routedOwnerId?: string;
  outboxTasks?: Array<{ key: string; ownerId: string; subject: string; description: string; dueDate?: string }>;
  outboxAlerts?: AlertEvent[];
}
