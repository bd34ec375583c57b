/**
 * Loads the HubSpot side of a SeedWorld: owners, every person with `hubspot` data as a contact, and
 * (given the object store) a company per world company with contacts, and the portal's deals.
 * Ids are assigned in creation order from 101, as HubSpot's ids grow with time, so that id order is
 * also the default search order. Built for a million people: no events, shared strings for small
 * numbers, times held as numbers, one props object per contact.
 */
import type { SeedPerson, SeedWorld } from '../../sandbox/seed.js';
import type { StoredValue } from './contact-model.js';
import { DEFAULT_DEAL_STAGES } from './crm-objects.js';
import type { CrmObjectStore } from './crm-objects.js';
import type { HubSpotStore, OwnerRecord } from './store.js';

const DAY = 86_400_000;
const SMALL_NUMBERS = Array.from({ length: 1024 }, (_, i) => String(i));

function num(n: number): string {
  return n >= 0 && n < SMALL_NUMBERS.length && Number.isInteger(n) ? (SMALL_NUMBERS[n] as string) : String(n);
}

/** A deterministic fraction in [0, 1) per person, independent of the world's own random stream. */
function fraction(index: number, seed: number): number {
  let h = Math.imul(index ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2d);
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296;
}

export function ownerRecords(world: SeedWorld): OwnerRecord[] {
  return world.owners.map((o) => ({
    id: o.hubspotId,
    email: o.email,
    firstName: o.firstName,
    lastName: o.lastName,
    userId: 9_000_000 + o.index * 7 + 3,
    createdAt: world.now - 400 * DAY,
    updatedAt: world.now - 30 * DAY,
    archived: false,
    teams: [{ id: String(1001 + (o.index % 2)), name: o.index % 2 === 0 ? 'Sales West' : 'Sales East', primary: true }],
  }));
}

/**
 * lastmodifieddate spread over the past (never before creation or the last activity); one person in
 * twenty shares a single "bulk import" instant, as after a real import, to exercise cursor ties.
 */
function lastModified(person: SeedPerson, world: SeedWorld): number {
  const h = person.hubspot;
  const a = h?.analytics;
  const activity = Math.max(a?.lastVisitAt ?? 0, a?.recentConversionAt ?? 0, person.createdAt);
  if (person.index % 20 === 7) return Math.max(activity, world.now - 3 * DAY);
  const spread = person.createdAt + Math.floor(fraction(person.index, world.seed) * (world.now - person.createdAt));
  return Math.min(world.now, Math.max(spread, activity));
}

interface CompanyStrings {
  name: string;
  domain: string;
  industry: string;
  employees: string;
  revenue: string;
}

/**
 * One object literal with every key in a fixed order: V8 then allocates each contact's props in a
 * single step with a shared shape (absent values are `undefined`, which the store treats as empty).
 */
function contactProps(person: SeedPerson, company: CompanyStrings | undefined, ownerId: string | undefined, companyId: string | undefined): Record<string, StoredValue | undefined> {
  const h = person.hubspot;
  if (!h) return {};
  const a = h.analytics;
  return {
    email: h.email,
    firstname: person.firstName ?? undefined,
    lastname: person.lastName ?? undefined,
    jobtitle: person.title ?? undefined,
    phone: person.phone ?? undefined,
    company: company?.name,
    website: company?.domain,
    industry: company?.industry,
    numberofemployees: h.numEmployeesText ?? company?.employees,
    annualrevenue: company?.revenue,
    country: person.country,
    state: person.state ?? undefined,
    city: person.city,
    lifecyclestage: h.lifecyclestage,
    hs_lead_status: h.leadStatus ?? undefined,
    hubspot_owner_id: ownerId,
    hs_analytics_source: h.source,
    hs_analytics_first_touch_converting_campaign: h.campaign ?? undefined,
    hs_analytics_num_page_views: num(a.pageViews),
    hs_analytics_num_visits: num(a.visits),
    hs_analytics_first_visit_timestamp: a.lastVisitAt === null ? undefined : Math.min(a.lastVisitAt, person.createdAt),
    hs_analytics_last_visit_timestamp: a.lastVisitAt ?? undefined,
    num_conversion_events: num(a.formSubmissions),
    num_unique_conversion_events: num(a.formSubmissions),
    recent_conversion_date: a.recentConversionAt ?? undefined,
    recent_conversion_event_name: a.recentConversionName ?? undefined,
    first_conversion_date: a.firstConversionAt ?? undefined,
    first_conversion_event_name: a.firstConversionAt === null ? undefined : (a.recentConversionName ?? undefined),
    hs_email_open: num(a.emailOpens),
    hs_email_click: num(a.emailClicks),
    hs_email_optout: h.unsubscribed ? 'true' : 'false',
    associatedcompanyid: companyId,
  };
}

/** Loads owners and contacts into an empty store (and, given `objects`, companies and deals); returns how many of each. */
export function loadWorld(store: HubSpotStore, world: SeedWorld, objects?: CrmObjectStore): { contacts: number; owners: number } {
  for (const owner of ownerRecords(world)) store.loadOwner(owner);
  const people = world.people.filter((p) => p.hubspot !== null);
  people.sort((a, b) => a.createdAt - b.createdAt || a.index - b.index);
  // Strings shared by the people of one company, built once.
  const companies: CompanyStrings[] = world.companies.map((c) => ({
    name: c.name,
    domain: c.domain,
    industry: c.industry,
    employees: String(c.employees),
    revenue: String(c.annualRevenue),
  }));
  const contactOf = new Map<number, string>();
  for (const person of people) {
    const ownerIndex = person.salesforce?.owner;
    const ownerId = ownerIndex === undefined ? undefined : world.owners[ownerIndex]?.hubspotId;
    const companyId = objects ? hubSpotCompanyId(person.company) : undefined;
    contactOf.set(person.index, store.load(contactProps(person, companies[person.company], ownerId, companyId), person.createdAt, lastModified(person, world)).id);
  }
  if (objects) loadCompanies(objects, world, people, contactOf);
  if (objects && world.deals) loadDeals(objects, world, contactOf);
  return { contacts: people.length, owners: world.owners.length };
}

/** The HubSpot id of a world company's seeded company: fixed by its index, whatever else the world holds. */
export function hubSpotCompanyId(companyIndex: number): string {
  return String(FIRST_COMPANY_ID + companyIndex);
}

const FIRST_COMPANY_ID = 5_000_001;

/**
 * One company per world company that has HubSpot contacts, owned by the company's account owner,
 * each of its contacts associated with it as the primary company (type 1). Nothing is drawn at
 * random: it was created with its first contact (as HubSpot makes companies from contacts' domains)
 * and last modified by its last one's association. `people` are in creation order.
 */
function loadCompanies(objects: CrmObjectStore, world: SeedWorld, people: readonly SeedPerson[], contactOf: ReadonlyMap<number, string>): void {
  const members = new Map<number, SeedPerson[]>();
  for (const person of people) {
    const list = members.get(person.company);
    if (list) list.push(person);
    else members.set(person.company, [person]);
  }
  for (const c of world.companies) {
    const list = members.get(c.index);
    if (!list || list.length === 0) continue;
    const createdAt = Math.min(world.now, (list[0] as SeedPerson).createdAt);
    const modifiedAt = Math.min(world.now, Math.max(createdAt, (list[list.length - 1] as SeedPerson).createdAt));
    // A company sales works (it is an Account in Salesforce) has the account owner in HubSpot too;
    // the others are marketing's prospects, owned by nobody yet.
    const owner = c.hasAccount ? world.owners[c.accountOwner]?.hubspotId : undefined;
    const company = objects.load('companies', FIRST_COMPANY_ID + c.index, {
      name: c.name,
      domain: c.domain,
      industry: c.industry,
      numberofemployees: String(c.employees),
      annualrevenue: String(c.annualRevenue),
      city: c.city,
      state: c.state ?? '',
      country: c.country,
      ...(owner ? { hubspot_owner_id: owner } : {}),
    }, createdAt, modifiedAt);
    for (const person of list) {
      const contactId = contactOf.get(person.index);
      if (contactId) objects.associate('contacts', contactId, 'companies', company.id, 1, modifiedAt);
    }
  }
}

/** An open deal's stage by how far along it is (ground-truth.ts `progress`): the default pipeline's open stages. */
const OPEN_STAGES = DEFAULT_DEAL_STAGES.filter((s) => !s.closed).map((s) => s.id);

/** The world's HubSpot deals, each associated with its contact (type 3); a closed one last changed on its close date. */
function loadDeals(objects: CrmObjectStore, world: SeedWorld, contactOf: ReadonlyMap<number, string>): void {
  for (const o of world.opportunities) {
    const contactId = contactOf.get(o.person);
    if (o.crm !== 'hubspot' || !contactId) continue;
    const createdAt = Math.min(o.createdAt, world.now);
    const modifiedAt = o.outcome === 'open' ? createdAt : Math.min(world.now, Math.max(createdAt, o.closeDate));
    const stage = o.outcome === 'won' ? 'closedwon' : o.outcome === 'lost' ? 'closedlost' : (OPEN_STAGES[o.progress] ?? 'appointmentscheduled');
    const deal = objects.create('deals', {
      dealname: o.name,
      amount: String(o.amount),
      pipeline: 'default',
      dealstage: stage,
      closedate: String(o.closeDate),
      createdate: String(createdAt),
    }, createdAt);
    objects.associate('deals', deal.id, 'contacts', contactId, 3, modifiedAt);
  }
}
