/**
 * Field ownership: which CRM a common Lead path is taken from (sync.ownership in smarketing.yaml).
 * Part of the model, so that the pure merge (src/sync) and the config loader share one vocabulary.
 */
import { z } from 'zod';

export const OWNERSHIP_POLICIES = [
  'hubspot',
  'salesforce',
  'hubspot-unless-blank',
  'salesforce-unless-blank',
  'two-way',
  'none',
] as const;
export const ownershipPolicySchema = z.enum(OWNERSHIP_POLICIES);
export type OwnershipPolicy = z.infer<typeof ownershipPolicySchema>;

/** Common Lead paths whose ownership can be configured (the rest are fixed by their meaning). */
export const OWNED_PATHS = [
  'email',
  'person.firstName', 'person.lastName', 'person.title', 'person.phone', 'person.country', 'person.state', 'person.city',
  'company.name', 'company.domain', 'company.industry', 'company.employees', 'company.annualRevenue',
  'marketing.source', 'marketing.campaign', 'marketing.lifecycleStage', 'marketing.leadStatus', 'marketing.unsubscribed',
  'sales.ownerId', 'sales.status', 'sales.rating', 'sales.decision', 'sales.rejectReason', 'sales.qualityRating',
  'sales.disqualifyReason', 'sales.notes', 'sales.lastActivityAt', 'sales.converted',
] as const;
export type OwnedPath = (typeof OWNED_PATHS)[number];
