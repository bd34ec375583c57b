/**
 * What a likelihood model reads of a lead, as of a moment. The features are the shared rules'
 * own vocabulary, so that a model's reasons read like the rule reasons: each fit rule (matched or
 * not), each configured engagement kind (its decayed count), and the company's size.
 *
 * No leakage, by construction:
 * - engagement counts only events dated strictly before the moment (`at < asOf`);
 * - the rest are facts about the person and their company (title, email, employees and the other
 *   fields fit rules name). The store keeps no history of those, so they are read as they are
 *   now; fields that sales sets or that record the outcome (`sales.*`, `stage`, `score`, `sla`,
 *   the lifecycle stage and lead status) are never read: a fit rule naming one is left out of the
 *   features (`isOutcomeField`).
 */
import { z } from 'zod';
import { engagementKindSchema } from '../../model/lead.js';
import type { EngagementKind, Lead } from '../../model/lead.js';
import { compileCondition } from '../conditions.js';
import type { LeadPredicate } from '../conditions.js';
import { fitRuleSchema } from '../config.js';
import type { ScoringConfig } from '../config.js';
import { engagementLabel } from '../scoring.js';
import { DAY_MS, parseInstant } from '../time.js';

export const featureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fit'), rule: fitRuleSchema }),
  z.object({ kind: z.literal('engagement'), event: engagementKindSchema, label: z.string().min(1), halfLifeDays: z.number().positive() }),
  /**
   * log10(employees + 1); `center` is its mean over the leads a model learnt from: a lead whose
   * size is unknown counts as that (neutral), and a reason's points are against it (a small
   * company lowers the likelihood, a large one raises it).
   */
  z.object({ kind: z.literal('employees'), label: z.string().min(1), center: z.number().optional() }),
]);
export type Feature = z.infer<typeof featureSchema>;

/**
 * Fields that the outcome sets or follows from: a feature on them would teach the answer. Besides
 * sales' own fields and the rules' output, HubSpot's lifecycle stage (the connector moves it with
 * the funnel: opportunity, customer) and lead status (sales' working status, synced both ways).
 */
export function isOutcomeField(field: string): boolean {
  return /^(sales|stage|score|sla)(\.|$)/.test(field) || field === 'marketing.lifecycleStage' || field === 'marketing.leadStatus';
}

/** The features for a rule set: its fit rules, its engagement kinds, and company size. */
export function featuresFor(scoring: ScoringConfig): Feature[] {
  const features: Feature[] = [];
  for (const rule of scoring.fit) if (!isOutcomeField(rule.field)) features.push({ kind: 'fit', rule });
  for (const event of scoring.engagement.events) {
    features.push({ kind: 'engagement', event: event.kind, label: engagementLabel(event.kind, scoring), halfLifeDays: scoring.engagement.halfLifeDays });
  }
  features.push({ kind: 'employees', label: 'Company size' });
  return features;
}

/** One feature's value for one lead, with what a reason says about it. */
export interface FeatureValue {
  value: number;
  /** The value a reason's points are counted against: 0 (absent), or a feature's center. */
  reference: number;
  /** Engagement: weighted count of the events counted, and days since the latest (as of the moment). */
  count?: number;
  latestDaysAgo?: number;
  /** Company size: the employees. */
  employees?: number;
}

const predicates = new WeakMap<Feature, LeadPredicate>();

function predicateOf(feature: Extract<Feature, { kind: 'fit' }>, freemail: ReadonlySet<string>): LeadPredicate {
  let test = predicates.get(feature);
  if (!test) {
    test = compileCondition(feature.rule, freemail);
    predicates.set(feature, test);
  }
  return test;
}

function engagementValue(lead: Lead, event: EngagementKind, halfLifeDays: number, asOf: number): FeatureValue {
  let decayed = 0;
  let count = 0;
  let latest = Number.NEGATIVE_INFINITY;
  for (const e of lead.marketing?.engagement ?? []) {
    if (e.kind !== event) continue;
    const at = parseInstant(e.at);
    // Strictly before the moment: an event at or after the outcome's start is what followed it.
    if (Number.isNaN(at) || at >= asOf) continue;
    const weight = e.weight ?? 1;
    // Ages in whole UTC days, as the rule score counts them: the passing of time alone changes a
    // likelihood at most once a day (no stream of writes).
    const days = Math.floor(asOf / DAY_MS) - Math.floor(at / DAY_MS);
    decayed += weight * Math.pow(0.5, days / halfLifeDays);
    count += weight;
    if (at > latest) latest = at;
  }
  if (count === 0) return { value: 0, reference: 0 };
  return { value: Math.log1p(decayed), reference: 0, count, latestDaysAgo: Math.floor(asOf / DAY_MS) - Math.floor(latest / DAY_MS) };
}

/** The features' values for a lead as of `asOf` (epoch ms). */
export function readFeatures(lead: Lead, features: readonly Feature[], asOf: number, freemailDomains: ReadonlySet<string>): FeatureValue[] {
  return features.map((feature) => {
    switch (feature.kind) {
      case 'fit':
        return { value: predicateOf(feature, freemailDomains)(lead) ? 1 : 0, reference: 0 };
      case 'engagement':
        return engagementValue(lead, feature.event, feature.halfLifeDays, asOf);
      case 'employees': {
        const employees = lead.company?.employees;
        // Unknown: the center (NaN while a model is being trained, which fills it in).
        const center = feature.center ?? Number.NaN;
        return typeof employees === 'number' && employees > 0 ? { value: Math.log10(employees + 1), reference: center, employees } : { value: center, reference: center };
      }
    }
  });
}

/** The lead as it was seen just before `asOf`: its engagement dated before it, for the rule score. */
export function leadAsOf(lead: Lead, asOf: number): Lead {
  const engagement = (lead.marketing?.engagement ?? []).filter((e) => {
    const at = parseInstant(e.at);
    return !Number.isNaN(at) && at < asOf;
  });
  return { ...lead, marketing: { ...lead.marketing, engagement } };
}
