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
