/** Builders for rule tests: valid Leads (through the model's schema) and parsed configs. */
import { leadSchema } from '../../../src/model/lead.js';
import type { EngagementKind, Lead } from '../../../src/model/lead.js';
import { rulesConfigSchema } from '../../../src/rules/config.js';
import type { RulesConfig, RulesConfigInput } from '../../../src/rules/config.js';

export type LeadInput = Partial<Omit<Lead, 'id'>> & { id?: string };

export function makeLead(input: LeadInput = {}): Lead {
  return leadSchema.parse({
    id: 'lead-1',
    email: 'ada@acme.com',
    updatedAt: '2026-03-01T00:00:00Z',
    links: {},
    ...input,
  });
}

export function makeConfig(input: RulesConfigInput = {}): RulesConfig {
  return rulesConfigSchema.parse(input);
}

export const DAY = 86_400_000;

/** An engagement event `days` days before `now` (same time of day). */
export function event(kind: EngagementKind, now: Date, days: number, weight?: number): Lead['marketing']['engagement'][number] {
  const at = new Date(now.getTime() - days * DAY).toISOString();
  return weight === undefined ? { kind, at } : { kind, at, weight };
}
