/**
 * The account feed of one CRM (Salesforce Accounts, HubSpot companies), read at the start of each
 * poll so that the leads of the same poll are matched against fresh accounts: each page is kept in
 * the account store (src/store/accounts.ts, the newest reading wins), and the leads matched to an
 * account that changed (a new owner, a new website, deleted) are evaluated again. A lead is matched
 * at each of its evaluations (jobs/evaluate.ts), so a new account is seen by the next evaluation of
 * the leads at that company, which is the one routing needs (the handoff).
 *
 * The cursor of a stream moves only after its page was stored: a crash re-reads the page, and
 * storing it twice changes nothing.
 */
import type { AccountMatch, CrmName, Lead } from '../src/model/lead.js';
import { accountKeys, accountOwnerFor, matchAccount } from '../src/sync/account-match.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { readSideFeed } from './side-feed.js';

export interface AccountPollResult {
  pages: number;
  accounts: number;
  /** Accounts whose stored state changed. */
  changed: number;
  /** Leads evaluated again because their account changed. */
  reevaluated: number;
}

export function accountsEnabled(ctx: SyncContext): boolean {
  return ctx.config.file.sync.accounts;
}

const WHAT_TO_GRANT: Record<CrmName, string> = {
  salesforce: 'Accounts (give the integration user read access to Account, or set sync.accounts: false)',
  hubspot: 'companies (add the crm.objects.companies.read scope to the app, or set sync.accounts: false)',
};

/** Reads the CRM's account feed from its cursors (`full`: from the start) and stores it page by page. */
export async function pollAccounts(ctx: SyncContext, crm: CrmName, options: { full?: boolean; pass?: string } = {}): Promise<AccountPollResult> {
  const result: AccountPollResult = { pages: 0, accounts: 0, changed: 0, reevaluated: 0 };
  const accounts = ctx.connectors[crm].accounts?.bind(ctx.connectors[crm]);
  if (!accounts || !accountsEnabled(ctx)) return result;
  await readSideFeed(ctx, crm, (position, feedOptions) => accounts(position, feedOptions), {
    ...(options.full ? { full: true } : {}),
    refused: WHAT_TO_GRANT[crm],
    apply: async (page) => {
      const applied = await ctx.locks.with(`accounts:${crm}`, () => ctx.accounts.apply(crm, page.accounts));
      if (applied.changed.length > 0) {
        const leads = await ctx.accounts.leadsOf(crm, applied.changed);
        // Their inputs moved (as an ingest's would): a pass waiting on them waits for the new evaluation.
        for (const leadId of leads) await ctx.leads.bumpVersion(leadId);
        await enqueueEvaluate(ctx, leads, `${crm} account changed`, options.pass ? { pass: options.pass } : {});
        result.reevaluated += leads.length;
      }
      result.pages += 1;
      result.accounts += page.accounts.length;
      result.changed += applied.changed.length;
    },
  });
  return result;
}

const freemailByConfig = new WeakMap<object, ReadonlySet<string>>();

/**
 * The lead's account in each CRM, matched against the accounts read, and the owner routing asks
 * first (a Salesforce User id). Remembers the match, so that a change of the account re-evaluates it.
 */
export async function matchLeadAccounts(ctx: SyncContext, lead: Lead): Promise<{ account: Lead['account']; ownerId: string | null }> {
  if (!accountsEnabled(ctx)) return { account: undefined, ownerId: null };
  const scoring = ctx.config.file.scoring;
  let freemail = freemailByConfig.get(scoring);
  if (!freemail) {
    freemail = new Set(scoring.freemailDomains);
    freemailByConfig.set(scoring, freemail);
  }
  const keys = accountKeys(lead, freemail);
  const account: NonNullable<Lead['account']> = {};
  const crms = ['salesforce', 'hubspot'] as const;
  const found = await ctx.accounts.candidatesIn(crms, [keys]);
  for (const [i, crm] of crms.entries()) {
    const match: AccountMatch | null = matchAccount(crm, keys, found[i]?.[0] ?? []);
    if (match) account[crm] = match;
    await ctx.accounts.noteMatches(crm, lead.id, lead.account?.[crm]?.id ?? null, match?.id ?? null);
  }
  const ownerId = accountOwnerFor(account, (hubspotOwner) => ctx.owners.translate(hubspotOwner, 'hubspot', 'salesforce'));
  return { account: account.salesforce || account.hubspot ? account : undefined, ownerId };
}
