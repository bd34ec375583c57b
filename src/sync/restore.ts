/**
 * What the CRMs already say of a lead the store does not know yet: after Redis came back empty, or
 * an install against CRMs that an earlier install wrote to, each record holds the `smk` values we
 * wrote (stage, handoff time, SLA, the lead id). A lead evaluated for the first time starts from
 * them, so that a rebuild writes only what really differs: no second handoff (with its task and
 * owner change) of a lead sales already has, no new lead id in every record.
 */
import { slaStatusSchema, stageSchema } from '../model/lead.js';
import type { Lead } from '../model/lead.js';
import type { SmkValues } from './plan.js';

const LEAD_ID = /^L[0-9a-f]{20}$/;

/** The lead id a record carries in `smk_lead_id` / `Smk_Lead_Id__c`, when it is one of ours. */
export function leadIdFromRecord(smk: Record<string, string | null | undefined>): string | null {
  const id = smk.leadId;
  return typeof id === 'string' && LEAD_ID.test(id) ? id : null;
}

function validInstant(value: string | null | undefined): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/**
 * The lead with its stage and SLA taken from what its records hold, when it has none yet (it was
 * never evaluated). `held` lists what each linked record holds, most trusted first. A lead that
 * has a stage, or records that hold none, is returned as it is.
 */
export function restoreRuleState(lead: Lead, held: ReadonlyArray<SmkValues | null | undefined>): Lead {
  if (lead.stage) return lead;
  const source = held.find((values) => values && stageSchema.safeParse(values.stage).success);
  if (!source) return lead;
  const stage = stageSchema.parse(source.stage);
  const handoffAt = validInstant(source.handoffAt);
  const restored: Lead = {
    ...lead,
    stage: { current: stage, history: [{ stage, at: handoffAt ?? lead.updatedAt, cause: 'restored from the CRM' }] },
  };
  const status = slaStatusSchema.safeParse(source.slaStatus);
  if (status.success && status.data !== 'none') {
    restored.sla = {
      status: status.data,
      startedAt: handoffAt,
      handoffAt,
      dueAt: validInstant(source.slaDueAt),
      breachedAt: validInstant(source.slaBreachedAt),
      metAt: null,
      escalations: 0,
    };
  } else if (handoffAt) {
    restored.sla = { status: 'none', handoffAt, escalations: 0 };
  }
  return restored;
}
