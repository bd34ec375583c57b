/**
 * Closing the loop: what sales decided in Salesforce (decision, reject reason, lead quality,
 * disqualify reason, notes) and how the SLA went, as the `smk` values marketers see on the HubSpot
 * contact. Sales' own values are passed through unchanged (rewriting a rep's reject reason into a
 * label would make the connector fight the rep in Salesforce); unknown codes are flagged instead.
 */
import { SMK_FIELD_BY_KEY } from '../model/fields.js';
import type { SmkFieldKey } from '../model/fields.js';
import type { Lead, Sla } from '../model/lead.js';
import type { StagesConfig } from './config.js';
import { rejectOutcome } from './stages.js';
import { parseInstant } from './time.js';

export type FeedbackKey =
  | 'salesDecision'
  | 'rejectReason'
  | 'leadQuality'
  | 'disqualifyReason'
  | 'salesNotes'
  | 'handoffAt'
  | 'slaDueAt'
  | 'slaStatus'
  | 'slaBreachedAt';

export interface FeedbackResult {
  values: Record<FeedbackKey, string | null>;
  /** Problems worth showing to an admin (unknown reason codes, out-of-range ratings). */
  flags: string[];
}

function fit(key: SmkFieldKey, value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '') return null;
  const max = SMK_FIELD_BY_KEY.get(key)?.maxLength;
  return max !== undefined && text.length > max ? text.slice(0, max) : text;
}

/** ISO instants are rewritten in one form (UTC, milliseconds) so that equal times compare equal. */
export function isoOrNull(value: string | null | undefined): string | null {
  if (!value) return null;
  // Values this module wrote are already canonical (yyyy-MM-ddTHH:mm:ss.sssZ): skip the round trip.
  if (value.length === 24 && value.charCodeAt(23) === 90 && value.charCodeAt(19) === 46) return value;
  const ms = parseInstant(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

export function slaValues(sla: Sla | undefined): Pick<FeedbackResult['values'], 'handoffAt' | 'slaDueAt' | 'slaStatus' | 'slaBreachedAt'> {
  return {
    handoffAt: isoOrNull(sla?.handoffAt ?? sla?.startedAt),
    slaDueAt: isoOrNull(sla?.dueAt),
    slaStatus: sla?.status ?? 'none',
    slaBreachedAt: isoOrNull(sla?.breachedAt),
  };
}

export function feedbackValues(lead: Lead, stages: StagesConfig): FeedbackResult {
  const sales = lead.sales ?? {};
  const flags: string[] = [];

  const rejectReason = fit('rejectReason', sales.rejectReason);
  if (sales.decision === 'rejected') {
    if (rejectReason === null) flags.push('rejected without a reason');
    else if (!rejectOutcome(rejectReason, stages).known) {
      const codes = stages.rejectReasons.map((reason) => reason.code).join(', ');
      flags.push(`reject reason "${rejectReason}" is not one of the configured codes (${codes})`);
    }
  }

  const disqualifyReason = fit('disqualifyReason', sales.disqualifyReason);
  const known = stages.disqualify.reasons;
  if (disqualifyReason !== null && known.length > 0) {
    const key = disqualifyReason.toLowerCase();
    const match = known.some((reason) => reason.code.toLowerCase() === key || reason.label?.toLowerCase() === key);
    if (!match) {
      flags.push(`disqualify reason "${disqualifyReason}" is not one of the configured codes (${known.map((r) => r.code).join(', ')})`);
    }
  }

  let leadQuality: string | null = null;
  if (typeof sales.qualityRating === 'number' && Number.isFinite(sales.qualityRating)) {
    const rating = Math.round(sales.qualityRating);
    if (rating < 1 || rating > 5) flags.push(`lead quality ${sales.qualityRating} is outside 1 to 5`);
    leadQuality = String(rating);
  }

  return {
    values: {
      salesDecision: sales.decision ?? null,
      rejectReason,
      leadQuality,
      disqualifyReason,
      salesNotes: fit('salesNotes', sales.notes),
      ...slaValues(lead.sla),
    },
    flags,
  };
}
