/**
 * Identity linking: stored cross ids first, then the normalised email. A Salesforce Contact that a
 * lead was converted into inherits the lead's identity; a second record in the same CRM with an
 * email already linked elsewhere is ambiguous and goes to an admin, never guessed.
 */
import type { CrmName, LeadFragment, LeadLinks } from '../model/lead.js';
import { normaliseEmail } from '../model/lead.js';

export interface IdentityLookup {
  /** The lead already linked to this very record. */
  byRecord: string | null;
  /** For a Salesforce Contact: the lead linked to the Lead that was converted into it. */
  byConversion: string | null;
  /** The lead holding this email, with its links (to detect a second record in the same CRM). */
  byEmail: { leadId: string; links: LeadLinks } | null;
}

export type IdentityDecision =
  | { kind: 'linked'; leadId: string }
  | { kind: 'matched'; leadId: string; by: 'email' | 'conversion' }
  | { kind: 'new'; leadId: string }
  | { kind: 'ambiguous'; leadId: string; message: string };

export function linkedRecordId(links: LeadLinks, crm: CrmName): string | undefined {
  return crm === 'hubspot' ? links.hubspot?.id : links.salesforce?.id;
}

export function decideIdentity(fragment: LeadFragment, lookup: IdentityLookup, newLeadId: string): IdentityDecision {
  if (lookup.byRecord) return { kind: 'linked', leadId: lookup.byRecord };
  if (lookup.byConversion) return { kind: 'matched', leadId: lookup.byConversion, by: 'conversion' };
  const email = normaliseEmail(fragment.email);
  if (email && lookup.byEmail) {
    const other = linkedRecordId(lookup.byEmail.links, fragment.source);
    if (other === undefined || other === fragment.recordId) {
      return { kind: 'matched', leadId: lookup.byEmail.leadId, by: 'email' };
    }
    // A converted Lead whose Contact the lead already follows: the same person, by conversion.
    if (fragment.identity.convertedContactId && other === fragment.identity.convertedContactId) {
      return { kind: 'matched', leadId: lookup.byEmail.leadId, by: 'conversion' };
    }
    return {
      kind: 'ambiguous',
      leadId: lookup.byEmail.leadId,
      message: `${fragment.source} ${fragment.object} ${fragment.recordId} has the same email as ${fragment.source} record ${other}, already linked to lead ${lookup.byEmail.leadId}; merge the duplicates in ${fragment.source === 'hubspot' ? 'HubSpot' : 'Salesforce'} so that one record remains`,
    };
  }
  return { kind: 'new', leadId: newLeadId };
}

/**
 * A Salesforce Contact whose email belongs to a lead linked to a Salesforce Lead may be that Lead,
 * converted (the Contact does not name the Lead it came from): the Lead to read to find out, or
 * null when there is nothing to check.
 */
export function conversionToVerify(fragment: LeadFragment, byEmail: IdentityLookup['byEmail']): string | null {
  if (fragment.source !== 'salesforce' || fragment.object !== 'Contact' || !byEmail) return null;
  const linked = byEmail.links.salesforce;
  return linked && linked.object === 'Lead' && linked.id !== fragment.recordId ? linked.id : null;
}

/**
 * HubSpot merged a contact (followed by one lead) into a contact another lead follows. The
 * survivor's lead always stays. Its Salesforce twin, if any, stays its twin. The merged lead's
 * Salesforce twin moves to the survivor's lead when that has none (`adopt-twin`); when both have
 * one, the same person is twice in Salesforce and an admin must merge them there (`conflict`);
 * a merged lead with no Salesforce twin simply goes (`absorb`).
 */
export function decideMerge(merged: LeadLinks, survivor: LeadLinks): { kind: 'absorb' | 'adopt-twin' | 'conflict' } {
  if (!merged.salesforce) return { kind: 'absorb' };
  if (!survivor.salesforce || survivor.salesforce.id === merged.salesforce.id) return { kind: 'adopt-twin' };
  return { kind: 'conflict' };
}
