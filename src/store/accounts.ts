/**
 * The accounts read from each CRM (Salesforce Accounts, HubSpot companies), kept for matching leads
 * to them (src/sync/account-match.ts): a hash of the accounts by id, and sets of ids by website
 * domain and by normalised company name. A reading older than the stored one changes nothing (a
 * page retried late), and a deleted account stays as a tombstone, out of the indexes, so that an
 * older page cannot bring it back.
 *
 * Writers hold the CRM's accounts lock (jobs/accounts.ts): a page is read and written as one.
 */
import { execBySlot } from './redis.js';
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { AccountFact } from '../../connectors/types.js';
import { domainAndParents, websiteDomain } from '../model/domain.js';
import type { CrmName } from '../model/lead.js';
import { companyNameKey } from '../sync/account-match.js';
import type { AccountCandidate, AccountKeys } from '../sync/account-match.js';
import type { Keys } from './keys.js';

const storedAccountSchema = z.object({
  name: z.string().nullable(),
  domain: z.string().nullable(),
  nameKey: z.string().nullable(),
  ownerId: z.string().nullable(),
  createdAt: z.string(),
  modifiedAt: z.string(),
  deleted: z.boolean(),
});
type StoredAccount = z.infer<typeof storedAccountSchema>;

const CRM_LABEL: Record<CrmName, string> = { salesforce: 'Salesforce', hubspot: 'HubSpot' };

export interface AppliedAccounts {
  /** Accounts whose stored state changed. */
  changed: string[];
  /** Readings older than what is stored (ignored). */
  stale: number;
}

export class AccountStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  private parse(crm: CrmName, id: string, raw: string): StoredAccount {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = storedAccountSchema.safeParse(json);
    if (!parsed.success) throw new Error(`stored ${CRM_LABEL[crm]} account ${id} is malformed (${parsed.error.issues[0]?.message ?? 'not JSON'}); run a full read to store it again`);
    return parsed.data;
  }

  /** Applies one page of readings (the newest reading of each account wins). */
  async apply(crm: CrmName, facts: readonly AccountFact[]): Promise<AppliedAccounts> {
    const result: AppliedAccounts = { changed: [], stale: 0 };
    if (facts.length === 0) return result;
    // The newest reading of each account in the page.
    const newest = new Map<string, AccountFact>();
    for (const fact of facts) {
      const seen = newest.get(fact.id);
      if (seen === undefined || Date.parse(fact.modifiedAt) >= Date.parse(seen.modifiedAt)) {
        if (seen !== undefined) result.stale += 1;
        newest.set(fact.id, fact);
      } else result.stale += 1;
    }
    const ids = [...newest.keys()];
    const held = await this.redis.hmget(this.keys.accounts(crm), ...ids);
    const tx = this.redis.multi();
    for (const [i, id] of ids.entries()) {
      const fact = newest.get(id) as AccountFact;
      const raw = held[i];
      const before = raw === null || raw === undefined ? null : this.parse(crm, id, raw);
      const next: StoredAccount = {
        name: fact.name,
        domain: websiteDomain(fact.website),
        nameKey: companyNameKey(fact.name),
        ownerId: fact.ownerId,
        createdAt: fact.createdAt,
        modifiedAt: fact.modifiedAt,
        deleted: fact.deleted,
      };
      if (before !== null && Date.parse(before.modifiedAt) > Date.parse(next.modifiedAt)) {
        result.stale += 1;
        continue;
      }
      if (before !== null && JSON.stringify(before) === JSON.stringify(next)) continue;
      if (before !== null && !before.deleted) {
        if (before.domain !== null) tx.srem(this.keys.accountDomain(crm, before.domain), id);
        if (before.nameKey !== null) tx.srem(this.keys.accountName(crm, before.nameKey), id);
      }
      tx.hset(this.keys.accounts(crm), id, JSON.stringify(next));
      if (!next.deleted) {
        if (next.domain !== null) tx.sadd(this.keys.accountDomain(crm, next.domain), id);
        if (next.nameKey !== null) tx.sadd(this.keys.accountName(crm, next.nameKey), id);
      }
      result.changed.push(id);
    }
    if (result.changed.length > 0) await tx.exec();
    return result;
  }

  /** For each lead's keys, the live accounts of `crm` sharing any of them (in one round trip each way). */
  async candidates(crm: CrmName, leads: readonly AccountKeys[]): Promise<AccountCandidate[][]> {
    const [found] = await this.candidatesIn([crm], leads);
    return found as AccountCandidate[][];
  }

  /**
   * The same for several CRMs at once: one pipeline of index look-ups for all of them, then one of
   * record reads (an evaluation matches a lead in both CRMs in two round trips).
   */
  async candidatesIn(crms: readonly CrmName[], leads: readonly AccountKeys[]): Promise<AccountCandidate[][][]> {
    const lookups = crms.map((crm) =>
      leads.map((keys) => {
        const domains = [keys.website, ...(keys.emailDomain ? domainAndParents(keys.emailDomain) : [])].filter((d): d is string => d !== null);
        return {
          sets: [...new Set(domains)].map((d) => this.keys.accountDomain(crm, d)).concat(keys.nameKey ? [this.keys.accountName(crm, keys.nameKey)] : []),
          direct: crm === 'salesforce' ? keys.salesforceAccountId : keys.hubspotCompanyId,
        };
      }),
    );
    // One SUNION per lead and CRM (a CRM's keys share a hash slot): the matcher reads which key
    // matched from the accounts themselves.
    // On a cluster each CRM's keys are a slot of their own: one pipeline per slot (execBySlot).
    const unions = lookups.flat().filter((lookup) => lookup.sets.length > 0);
    const replies = await execBySlot(this.redis, unions.map((lookup) => lookup.sets[0] as string), (pipe, i) => pipe.sunion(...(unions[i] as { sets: string[] }).sets));
    let at = 0;
    const idsPerCrm = lookups.map((perCrm) =>
      perCrm.map((lookup) => {
        const ids = new Set<string>(lookup.direct ? [lookup.direct] : []);
        if (lookup.sets.length > 0) {
          const [err, members] = replies[at] ?? [null, []];
          at += 1;
          if (err) throw err;
          for (const id of members as string[]) ids.add(id);
        }
        return [...ids];
      }),
    );
    const wanted = idsPerCrm.map((perLead) => [...new Set(perLead.flat())]);
    const reading = crms.flatMap((crm, i) => ((wanted[i] as string[]).length > 0 ? [{ key: this.keys.accounts(crm), ids: wanted[i] as string[] }] : []));
    const raws = await execBySlot(this.redis, reading.map((r) => r.key), (pipe, i) => pipe.hmget((reading[i] as { key: string }).key, ...(reading[i] as { ids: string[] }).ids));
    let reply = 0;
    return crms.map((crm, i) => {
      const ids = wanted[i] as string[];
      const stored = new Map<string, AccountCandidate>();
      if (ids.length > 0) {
        const [err, values] = raws[reply] ?? [null, []];
        reply += 1;
        if (err) throw err;
        for (const [j, id] of ids.entries()) {
          const raw = (values as Array<string | null>)[j];
          if (raw === null || raw === undefined) continue;
          const account = this.parse(crm, id, raw);
          if (account.deleted) continue;
          stored.set(id, { crm, id, name: account.name, domain: account.domain, nameKey: account.nameKey, ownerId: account.ownerId, createdAt: account.createdAt });
        }
      }
      return (idsPerCrm[i] as string[][]).map((perLead) => perLead.map((id) => stored.get(id)).filter((a): a is AccountCandidate => a !== undefined));
    });
  }

  /** Remembers which leads are matched to which account (so a change of the account re-evaluates them). */
  async noteMatches(crm: CrmName, leadId: string, before: string | null, after: string | null): Promise<void> {
    if (before === after) return;
    const tx = this.redis.multi();
    if (before !== null) tx.srem(this.keys.accountLeads(crm, before), leadId);
    if (after !== null) tx.sadd(this.keys.accountLeads(crm, after), leadId);
    await tx.exec();
  }

  /** The leads last matched to these accounts. */
  async leadsOf(crm: CrmName, accountIds: readonly string[]): Promise<string[]> {
    if (accountIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    // One CRM's keys share a hash tag: one pipeline serves a cluster too.
    for (const id of accountIds) pipe.smembers(this.keys.accountLeads(crm, id));
    const out = new Set<string>();
    for (const [err, members] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      for (const id of members as string[]) out.add(id);
    }
    return [...out];
  }
}
