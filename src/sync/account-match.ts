/**
 * Which account a lead belongs to, in each CRM: a Salesforce Account, a HubSpot company. Pure: the
 * shell looks up the accounts that share any of the lead's keys (jobs/accounts.ts) and this decides.
 *
 * The evidence, strongest first (the first that finds an account decides):
 * 1. `record`: the record's own account: a Salesforce Contact's AccountId, a HubSpot contact's
 *    primary company (`associatedcompanyid`). Someone placed the person there.
 * 2. `website`: the lead's company website has the account's website domain.
 * 3. `email-domain`: the lead's email domain, or a parent of it (`eu.acme.com` under `acme.com`),
 *    is the account's website domain. Free-mail domains (built in, plus scoring.freemailDomains)
 *    never match.
 * 4. `name`: the company names agree once normalised: case, accents and punctuation ignored, legal
 *    suffixes (Inc, Corp, LLC, Ltd, GmbH, S.A., ...) and a leading "The" dropped.
 * Several accounts with the same evidence: one with an owner first (routing asks the owner), then
 * the oldest (created first: usually the one sales works), then the lowest id, so the choice is stable.
 */
import type { AccountMatch, CrmName, Lead } from '../model/lead.js';
import { domainAndParents, websiteDomain } from '../model/domain.js';
import { emailDomain, isFreemail } from '../rules/freemail.js';

/** An account as the matcher sees it (the stored account, see src/store/accounts.ts). */
export interface AccountCandidate {
  crm: CrmName;
  id: string;
  name: string | null;
  /** Website domain, normalised (`acme.com`). */
  domain: string | null;
  /** companyNameKey(name). */
  nameKey: string | null;
  ownerId: string | null;
  createdAt: string;
}

/** What a lead is looked up by. */
export interface AccountKeys {
  salesforceAccountId: string | null;
  hubspotCompanyId: string | null;
  website: string | null;
  emailDomain: string | null;
  nameKey: string | null;
}

/** Legal forms dropped from the end of a company name (after punctuation is removed: `S.A.` is `sa`). */
const LEGAL_SUFFIXES: ReadonlySet<string> = new Set([
  'inc', 'incorporated', 'corp', 'corporation', 'co', 'company', 'llc', 'llp', 'lp', 'ltd', 'limited', 'plc',
  'gmbh', 'ag', 'kg', 'ug', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'pty', 'pte', 'pvt', 'oy', 'ab', 'as', 'kk',
]);

/** A company name for comparison: `ACME, Inc.` and `Acme Incorporated` are both `acme`; null when nothing distinctive is left. */
export function companyNameKey(name: string | null | undefined): string | null {
  if (typeof name !== 'string') return null;
  const words = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\./g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter((w) => w !== '');
  while (words.length > 1 && LEGAL_SUFFIXES.has(words[words.length - 1] as string)) words.pop();
  if (words.length > 1 && words[0] === 'the') words.shift();
  if (words.length === 1 && LEGAL_SUFFIXES.has(words[0] as string)) return null;
  const key = words.join(' ');
  return key.length >= 2 ? key : null;
}

/** The keys of a lead; `freemail` adds to the built-in free-mail domains. */
export function accountKeys(lead: Lead, freemail?: ReadonlySet<string>): AccountKeys {
  const fromEmail = lead.email ? emailDomain(lead.email) : '';
  const emailKey = fromEmail !== '' && fromEmail.includes('.') && !isFreemail(fromEmail, freemail) ? fromEmail : null;
  return {
    salesforceAccountId: lead.links.salesforce?.accountId ?? null,
    hubspotCompanyId: lead.links.hubspot?.companyId ?? null,
    website: websiteDomain(lead.company.domain),
    emailDomain: emailKey,
    nameKey: companyNameKey(lead.company.name),
  };
}

const KIND_LABEL: Record<CrmName, string> = { salesforce: 'Salesforce Account', hubspot: 'HubSpot company' };

function quoted(account: AccountCandidate): string {
  return `"${account.name ?? account.id}"`;
}

/** The tie-breaker: with an owner, then oldest, then lowest id. */
function best(accounts: readonly AccountCandidate[]): AccountCandidate {
  return [...accounts].sort(
    (a, b) =>
      Number(b.ownerId !== null && b.ownerId !== '') - Number(a.ownerId !== null && a.ownerId !== '') ||
      Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )[0] as AccountCandidate;
}

function tieNote(accounts: readonly AccountCandidate[], chosen: AccountCandidate, what: string): string {
  if (accounts.length < 2) return '';
  const owned = chosen.ownerId !== null && chosen.ownerId !== '';
  return ` (the oldest${owned ? ' with an owner' : ''} of ${accounts.length} with ${what})`;
}

function result(account: AccountCandidate, by: AccountMatch['by'], reason: string): AccountMatch {
  return { id: account.id, name: account.name, ownerId: account.ownerId, by, reason };
}

/** The account of `crm` the lead belongs to, among `candidates` (any CRM's; others are ignored), or null. */
export function matchAccount(crm: CrmName, keys: AccountKeys, candidates: readonly AccountCandidate[]): AccountMatch | null {
  const accounts = candidates.filter((a) => a.crm === crm);
  if (accounts.length === 0) return null;
  const label = KIND_LABEL[crm];

  const recordId = crm === 'salesforce' ? keys.salesforceAccountId : keys.hubspotCompanyId;
  const own = recordId === null ? undefined : accounts.find((a) => a.id === recordId);
  if (own) {
    const reason = crm === 'salesforce' ? `the Salesforce Contact is under Account ${quoted(own)}` : `the contact's primary company in HubSpot is ${quoted(own)}`;
    return result(own, 'record', reason);
  }

  if (keys.website !== null) {
    const same = accounts.filter((a) => a.domain === keys.website);
    if (same.length > 0) {
      const chosen = best(same);
      return result(chosen, 'website', `company website ${keys.website} is the website of ${label} ${quoted(chosen)}${tieNote(same, chosen, 'that domain')}`);
    }
  }

  if (keys.emailDomain !== null) {
    for (const domain of domainAndParents(keys.emailDomain)) {
      const same = accounts.filter((a) => a.domain === domain);
      if (same.length === 0) continue;
      const chosen = best(same);
      const how = domain === keys.emailDomain ? 'is' : `is under ${domain},`;
      return result(chosen, 'email-domain', `email domain ${keys.emailDomain} ${how} the website of ${label} ${quoted(chosen)}${tieNote(same, chosen, 'that domain')}`);
    }
  }

  if (keys.nameKey !== null) {
    const same = accounts.filter((a) => a.nameKey === keys.nameKey);
    if (same.length > 0) {
      const chosen = best(same);
      return result(chosen, 'name', `company name matches ${label} ${quoted(chosen)} (as "${keys.nameKey}")${tieNote(same, chosen, 'that name')}`);
    }
  }
  return null;
}

/**
 * The owner routing asks first (a Salesforce User id, as routing hands leads to Salesforce owners):
 * the Salesforce Account's owner, else the HubSpot company owner's Salesforce user (`toSalesforce`
 * maps a HubSpot owner id by the owners' emails; null when that person has no Salesforce user).
 */
export function accountOwnerFor(account: { salesforce?: AccountMatch; hubspot?: AccountMatch }, toSalesforce: (hubspotOwnerId: string) => string | null): string | null {
  const salesforce = account.salesforce?.ownerId;
  if (salesforce) return salesforce;
  const hubspot = account.hubspot?.ownerId;
  return hubspot ? toSalesforce(hubspot) : null;
}
