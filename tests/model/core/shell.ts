/**
 * The ingest shell in miniature, in memory: what jobs/ingest.ts does around the pure core for one
 * fragment (identity by record, email, and a converted Lead's Contact; `mergeFragment`; links; the
 * snapshot saved only when the decision says so; sync errors recorded and resolved), without Redis.
 * The model drives it with the same reads in two orders and compares what it ends with.
 */
import type { OwnedPath, OwnershipPolicy } from '../../../src/config.js';
import type { LeadFragment } from '../../../src/model/lead.js';
import { normaliseEmail } from '../../../src/model/lead.js';
import { leadIdFor } from '../../../src/store/leads.js';
import { conversionToVerify, decideIdentity } from '../../../src/sync/identity.js';
import type { IdentityDecision } from '../../../src/sync/identity.js';
import { mergeFragment } from '../../../src/sync/merge.js';
import type { MergeDecision, Snapshot } from '../../../src/sync/merge.js';

export interface ShellState {
  leads: Map<string, Snapshot>;
  /** `source:object:id` -> lead id (the store's record links). */
  links: Map<string, string>;
  /** Normalised email -> lead id. */
  emails: Map<string, string>;
  /** `source:object:id` -> the code of the sync error standing for that record. */
  errors: Map<string, string>;
}

export function emptyShell(): ShellState {
  return { leads: new Map(), links: new Map(), emails: new Map(), errors: new Map() };
}

export function cloneShell(s: ShellState): ShellState {
  return { leads: new Map(s.leads), links: new Map(s.links), emails: new Map(s.emails), errors: new Map(s.errors) };
}

export const recordKey = (f: Pick<LeadFragment, 'source' | 'object' | 'recordId'>) => `${f.source}:${f.object}:${f.recordId}`;

export type Applied =
  | { kind: 'ambiguous'; leadId: string; message: string }
  | { kind: 'stale' | 'not-current'; leadId: string }
  | { kind: 'merged'; leadId: string; decision: Extract<MergeDecision, { outcome: 'merged' }>; identity: IdentityDecision['kind'] };

export interface ShellEnv {
  ownership: Record<OwnedPath, OwnershipPolicy>;
  /** What a read of this Salesforce Lead says now of the Contact it was converted into. */
  convertedContactOf(leadRecordId: string): string | null;
}

/** jobs/ingest.ts resolveLeadId, without the retry loop (one process, no race for the email). */
function resolve(state: ShellState, fragment: LeadFragment, env: ShellEnv): { leadId: string; convertedFrom?: string; identity: IdentityDecision } {
  const email = normaliseEmail(fragment.email);
  const byRecord = state.links.get(recordKey(fragment)) ?? null;
  let byEmail: { leadId: string; links: Snapshot['lead']['links'] } | null = null;
  if (!byRecord && email) {
    const leadId = state.emails.get(email);
    const stored = leadId ? state.leads.get(leadId) : undefined;
    if (leadId && stored) byEmail = { leadId, links: stored.lead.links };
  }
  const newLeadId = leadIdFor(fragment.source, fragment.object, fragment.recordId);
  let decision = decideIdentity(fragment, { byRecord, byConversion: null, byEmail }, newLeadId);
  let convertedFrom: string | undefined;
  const toVerify = decision.kind === 'ambiguous' ? conversionToVerify(fragment, byEmail) : null;
  if (toVerify && byEmail && env.convertedContactOf(toVerify) === fragment.recordId) {
    convertedFrom = toVerify;
    decision = decideIdentity(fragment, { byRecord, byConversion: byEmail.leadId, byEmail }, newLeadId);
  }
  if (decision.kind === 'new' && email && !state.emails.has(email)) state.emails.set(email, decision.leadId);
  return { leadId: decision.leadId, identity: decision, ...(convertedFrom ? { convertedFrom } : {}) };
}

/** Applies one fragment read at `readAt`, at our clock `nowIso`, as ingest would. */
export function applyFragment(state: ShellState, fragment: LeadFragment, readAt: number, nowIso: string, env: ShellEnv): Applied {
  const key = recordKey(fragment);
  const resolved = resolve(state, fragment, env);
  if (resolved.identity.kind === 'ambiguous') {
    state.errors.set(key, 'AMBIGUOUS_MATCH');
    return { kind: 'ambiguous', leadId: resolved.leadId, message: resolved.identity.message };
  }
  const { leadId } = resolved;
  const stored = state.leads.get(leadId) ?? null;
  const decision = mergeFragment(stored, { leadId, fragment, readAt, nowIso, ownership: env.ownership, ...(resolved.convertedFrom ? { convertedFrom: resolved.convertedFrom } : {}) });
  // Read and merged (or found stale): whatever the report said of reading or linking it is no longer true.
  state.errors.delete(key);
  if (decision.outcome !== 'merged') return { kind: decision.outcome, leadId };
  const { lead, views } = decision;
  if (lead.email !== decision.emailBefore) {
    if (decision.emailBefore && state.emails.get(decision.emailBefore) === leadId) state.emails.delete(decision.emailBefore);
    if (lead.email && !state.emails.has(lead.email)) state.emails.set(lead.email, leadId);
  }
  state.links.set(key, leadId);
  const sf = lead.links.salesforce;
  if (sf && fragment.source === 'salesforce' && sf.id !== fragment.recordId) state.links.set(`salesforce:${sf.object}:${sf.id}`, leadId);
  if (decision.save) state.leads.set(leadId, { ...(stored ?? {}), lead, views });
  return { kind: 'merged', leadId, decision, identity: resolved.identity.kind };
}
