/**
 * Loads a SeedWorld into the store: the integration user a System Administrator, owners Standard
 * Users (their `salesforceId`), each holding their profile's permission set; companies with
 * `hasAccount` Accounts, people with a `salesforce` part Leads (Company from the company) or
 * Contacts (under the company's Account). Converted leads are converted as a rep would have;
 * `duplicateLead` adds a second Lead whose email differs only in case. Deterministic for a world,
 * and fast: one pass, indexes built once at the end.
 */
import type { SeedCompany, SeedOpportunity, SeedPerson, SeedWorld } from '../../sandbox/seed.js';
import { LEAD_STATUSES } from './objects.js';
import { opportunityStage } from './opportunity-objects.js';
import { STANDARD_USER, SYSTEM_ADMINISTRATOR, assignProfiles, ensureProfiles } from './security.js';
import { INTEGRATION_USER } from './store.js';
import type { ConversionResult, SalesforceStore } from './store.js';
import { DAY_MS } from './values.js';
import type { SfValue } from './values.js';

export interface LoadSummary {
  people: number;
  users: number;
  accounts: number;
  leads: number;
  contacts: number;
  converted: number;
  opportunities: number;
}

/** Salesforce needs a last name; web-to-lead style imports store this placeholder. */
export const MISSING_LAST_NAME = '[not provided]';

const cut = (text: string | null, max: number): string | null => (text === null ? null : text.slice(0, max));

/** The same address with its case changed, so that only a case-insensitive match finds both. */
function otherCase(email: string): string {
  const upper = email.toUpperCase();
  return upper !== email ? upper : email.toLowerCase();
}

/** An open opportunity's stage by how far along it is (ground-truth.ts `progress`). */
const OPEN_STAGES = ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Negotiation/Review'];

/**
 * A seeded opportunity of a converted lead: the Opportunity under the conversion's Account, with
 * the Contact as its primary contact role; a closed one was last changed on its close date.
 */
function insertOpportunity(store: SalesforceStore, o: SeedOpportunity, conversion: ConversionResult, owner: string, past: (ms: number) => number): void {
  const stageName = o.outcome === 'won' ? 'Closed Won' : o.outcome === 'lost' ? 'Closed Lost' : (OPEN_STAGES[o.progress] ?? 'Prospecting');
  const stage = opportunityStage(stageName);
  const createdAt = past(Math.max(o.createdAt, conversion.at));
  const modifiedAt = o.outcome === 'open' ? createdAt : past(Math.max(createdAt, o.closeDate));
  const opportunity = store.insert('Opportunity', {
    Name: o.name.slice(0, 120),
    AccountId: conversion.accountId,
    StageName: stageName,
    IsClosed: stage?.closed ?? false,
    IsWon: stage?.won ?? false,
    Probability: stage?.probability ?? null,
    ForecastCategoryName: stage?.forecastCategory ?? null,
    Amount: o.amount,
    CloseDate: o.closeDate,
    OwnerId: owner,
    CreatedDate: createdAt,
    LastModifiedDate: modifiedAt,
    SystemModstamp: modifiedAt,
  }, { ts: createdAt, actorId: owner });
  store.insert('OpportunityContactRole', {
    OpportunityId: opportunity.Id as string,
    ContactId: conversion.contactId,
    Role: 'Decision Maker',
    IsPrimary: true,
  }, { ts: createdAt, actorId: owner });
}

export function loadWorld(store: SalesforceStore, world: SeedWorld): LoadSummary {
  const opportunityOf = new Map(world.opportunities.filter((o) => o.crm === 'salesforce').map((o) => [o.person, o]));
  store.clear();
  // Seeded history never lies in the sandbox's future, or new writes would sort before it.
  const now = Math.min(world.now, store.now());
  const past = (ms: number) => Math.min(ms, now);
  const origin = now - 400 * DAY_MS;
  const summary: LoadSummary = { people: world.people.length, users: 0, accounts: 0, leads: 0, contacts: 0, converted: 0, opportunities: 0 };

  return store.bulkLoad(() => {
    const system = { ts: origin, actorId: INTEGRATION_USER.Id };
    // The integration user is a System Administrator (Modify All Data), the owners are reps.
    const profiles = ensureProfiles(store, system);
    store.insert('User', { ...INTEGRATION_USER, IsActive: true, UserType: 'Standard', ProfileId: profiles[SYSTEM_ADMINISTRATOR] ?? null }, system);
    for (const o of world.owners) {
      store.insert('User', {
        Id: o.salesforceId,
        FirstName: o.firstName,
        LastName: o.lastName,
        Email: o.email,
        Username: o.email,
        Alias: `${o.firstName.slice(0, 1)}${o.lastName.slice(0, 4)}`.toLowerCase(),
        IsActive: true,
        UserType: 'Standard',
        ProfileId: profiles[STANDARD_USER] ?? null,
      }, system);
    }
    assignProfiles(store, system);
    summary.users = world.owners.length + 1;
    LEAD_STATUSES.forEach((s, i) => {
      store.insert('LeadStatus', { MasterLabel: s.label, ApiName: s.label, SortOrder: i + 1, IsDefault: s.isDefault, IsConverted: s.isConverted }, system);
    });

    const ownerId = (index: number): string => world.owners[index]?.salesforceId ?? INTEGRATION_USER.Id;
    const accountOf: Array<string | undefined> = [];
    for (const c of world.companies) {
      if (!c.hasAccount) continue;
      const ts = origin + c.index * 1000;
      const account = store.insert('Account', {
        Name: c.name,
        Website: `www.${c.domain}`,
        Industry: c.industry,
        NumberOfEmployees: c.employees,
        AnnualRevenue: c.annualRevenue,
        BillingCountry: c.country,
        BillingState: c.state,
        BillingCity: c.city,
        Type: 'Prospect',
        OwnerId: ownerId(c.accountOwner),
      }, { ts, actorId: ownerId(c.accountOwner) });
      accountOf[c.index] = account.Id as string;
    }

    // Object literals with a fixed set of keys (no spreads): this loop runs once per person.
    const leadValues = (p: SeedPerson, email: string, status: string, company: SeedCompany | undefined): Record<string, SfValue> => {
      const sf = p.salesforce as NonNullable<SeedPerson['salesforce']>;
      return {
        FirstName: cut(p.firstName, 40),
        LastName: cut(p.lastName, 80) ?? MISSING_LAST_NAME,
        Email: email,
        Phone: p.phone,
        Title: cut(p.title, 128),
        Company: company?.name ?? 'Unknown',
        Website: company ? `www.${company.domain}` : null,
        City: p.city,
        State: p.state,
        Country: p.country,
        Industry: company?.industry ?? null,
        NumberOfEmployees: company?.employees ?? null,
        AnnualRevenue: company?.annualRevenue ?? null,
        Status: status,
        Rating: sf.rating,
        LeadSource: sf.leadSource,
        OwnerId: ownerId(sf.owner),
      };
    };

    for (const p of world.people) {
      const sf = p.salesforce;
      if (!sf) continue;
      const company = world.companies[p.company];
      const owner = ownerId(sf.owner);
      const created = past(p.createdAt);
      const write = { ts: created, actorId: owner };
      if (sf.object === 'Contact') {
        store.insert('Contact', {
          FirstName: cut(p.firstName, 40),
          LastName: cut(p.lastName, 80) ?? MISSING_LAST_NAME,
          Email: sf.email,
          Phone: p.phone,
          Title: cut(p.title, 128),
          AccountId: accountOf[p.company] ?? null,
          OwnerId: owner,
          MailingCity: p.city,
          MailingState: p.state,
          MailingCountry: p.country,
          LeadSource: sf.leadSource,
        }, write);
        summary.contacts += 1;
        continue;
      }
      const lead = store.insert('Lead', leadValues(p, sf.email, sf.status, company), write);
      summary.leads += 1;
      if (sf.converted) {
        const conversion = store.convertLead(lead.Id as string, { ts: past(created + 3 * DAY_MS), actorId: owner, accountId: accountOf[p.company] });
        summary.converted += 1;
        summary.contacts += 1;
        const opportunity = opportunityOf.get(p.index);
        if (opportunity) {
          insertOpportunity(store, opportunity, conversion, owner, past);
          summary.opportunities += 1;
        }
      }
      if (sf.duplicateLead) {
        store.insert('Lead', leadValues(p, otherCase(sf.email), 'Open - Not Contacted', company), { ts: past(created + DAY_MS), actorId: owner });
        summary.leads += 1;
      }
    }
    summary.accounts = store.count('Account');
    return summary;
  });
}
