/**
 * Accounts by company domain, for placing a new person: a Contact under the Account whose Website
 * matches the person's company domain, else a Lead. Salesforce keeps Website as free text
 * (`https://www.acme.com/`, `acme.com`, `Acme.com`), so the query is a coarse LIKE and the match
 * is decided here on the normalised host.
 */
import { z } from 'zod';
import type { SalesforceClient } from './client.js';
import { chunk } from './batch.js';
import { normaliseDomain } from './mapping.js';
import { accountsByDomainQuery, isSalesforceId } from './soql.js';
import { parseOrThrow } from './client.js';

export interface AccountMatch {
  id: string;
  name: string | null;
  domain: string;
  ownerId: string | null;
}

const accountRowSchema = z.object({
  Id: z.string().refine(isSalesforceId),
  Name: z.string().nullable().optional(),
  Website: z.string().nullable().optional(),
  OwnerId: z.string().nullable().optional(),
});

/** Domains per query: 100 LIKE terms (about 4 KB encoded) keep the URL well under Salesforce's 16 KB request line. */
const DOMAINS_PER_QUERY = 100;

/**
 * The Account for each domain (normalised, e.g. `acme.com`). Several Accounts with one domain:
 * the oldest wins (the query orders by CreatedDate, Id), so the choice is stable.
 */
export async function accountsByDomain(client: SalesforceClient, domains: readonly string[]): Promise<Map<string, AccountMatch>> {
  const wanted = [...new Set(domains.map((d) => normaliseDomain(d)).filter((d): d is string => d !== null))];
  const found = new Map<string, AccountMatch>();
  for (const part of chunk(wanted, DOMAINS_PER_QUERY)) {
    const rows = await client.queryAll('accounts by domain', accountsByDomainQuery(part));
    const set = new Set(part);
    for (const raw of rows) {
      const row = parseOrThrow(accountRowSchema, raw, 'Account');
      const domain = normaliseDomain(row.Website);
      if (!domain || !set.has(domain) || found.has(domain)) continue;
      found.set(domain, { id: row.Id, name: row.Name ?? null, domain, ownerId: row.OwnerId ?? null });
    }
  }
  return found;
}

/**
 * Account look-ups by domain, remembered for a few minutes (found and not found alike): the people
 * created in one sync share companies, so most domains are asked once. An Account made in the
 * last minutes may be missed until then; the person is then placed as a Lead (the `auto` rule).
 */
export class AccountLookup {
  private readonly known = new Map<string, { match: AccountMatch | null; at: number }>();

  constructor(
    private readonly client: SalesforceClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 50_000,
  ) {}

  async byDomain(domains: readonly string[]): Promise<Map<string, AccountMatch>> {
    const at = this.now();
    const wanted = [...new Set(domains.map((d) => normaliseDomain(d)).filter((d): d is string => d !== null))];
    const out = new Map<string, AccountMatch>();
    const unknown: string[] = [];
    for (const domain of wanted) {
      const hit = this.known.get(domain);
      if (hit && at - hit.at < this.ttlMs) {
        if (hit.match) out.set(domain, hit.match);
      } else unknown.push(domain);
    }
    if (unknown.length === 0) return out;
    const found = await accountsByDomain(this.client, unknown);
    if (this.known.size + unknown.length > this.maxEntries) this.known.clear();
    for (const domain of unknown) {
      const match = found.get(domain) ?? null;
      this.known.set(domain, { match, at });
      if (match) out.set(domain, match);
    }
    return out;
  }
}
