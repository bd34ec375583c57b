/**
 * A deterministic world of owners, companies and people shared by both sandboxes: about 60% of
 * people live in both CRMs, the rest in one. It carries the data real CRMs hold and naive mappers
 * choke on: blank names, non-ASCII, very long titles, numbers stored as text, duplicates by email
 * that differ only in case, free-mail addresses.
 */
import { createRandom } from './common.js';
import { drawOpportunities } from './ground-truth.js';
import type { SeedOpportunity } from './ground-truth.js';

export type { SeedOpportunity };
export { opportunityTruth } from './ground-truth.js';
export type { OpportunityTruth } from './ground-truth.js';

export interface SeedOwner {
  index: number;
  /** Salesforce User Id (005...). */
  salesforceId: string;
  /** HubSpot owner id (numeric string). */
  hubspotId: string;
  firstName: string;
  lastName: string;
  email: string;
  away: boolean;
}

export interface SeedCompany {
  index: number;
  name: string;
  domain: string;
  industry: string;
  employees: number;
  annualRevenue: number;
  country: string;
  state: string | null;
  city: string;
  /** Whether Salesforce holds an Account for this company (then Contacts hang under it). */
  hasAccount: boolean;
  accountOwner: number;
}

export interface SeedAnalytics {
  pageViews: number;
  visits: number;
  formSubmissions: number;
  emailOpens: number;
  emailClicks: number;
  /** Epoch ms, or null if never. */
  lastVisitAt: number | null;
  recentConversionAt: number | null;
  recentConversionName: string | null;
  firstConversionAt: number | null;
}

export interface SeedPerson {
  index: number;
  email: string;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  phone: string | null;
  country: string;
  state: string | null;
  city: string;
  company: number;
  createdAt: number;
  hubspot: null | {
    /** The email exactly as HubSpot holds it (may differ in case from Salesforce's). */
    email: string;
    lifecyclestage: string;
    leadStatus: string | null;
    source: string;
    campaign: string | null;
    analytics: SeedAnalytics;
    /** Employees stored as text the way HubSpot's free-text company size often is ("1,200"). */
    numEmployeesText: string | null;
    unsubscribed: boolean;
  };
  salesforce: null | {
    object: 'Lead' | 'Contact';
    email: string;
    status: string;
    rating: 'Hot' | 'Warm' | 'Cold' | null;
    leadSource: string;
    owner: number;
    /** A Lead that a rep converted: the sandbox creates the Contact (and Account) and links them. */
    converted: boolean;
    /** A second Lead for the same person whose email differs only in case (an ambiguous match). */
    duplicateLead: boolean;
  };
}

export interface SeedWorld {
  seed: number;
  now: number;
  owners: SeedOwner[];
  companies: SeedCompany[];
  people: SeedPerson[];
  /**
   * Opportunities drawn from the ground truth (ground-truth.ts): Salesforce Opportunities for
   * converted leads (the person is a Contact with a contact role on it) and, when the portal uses
   * deals, HubSpot deals for people only HubSpot knows.
   */
  opportunities: SeedOpportunity[];
  /** The HubSpot portal uses deals (SeedOptions `deals`). */
  deals: boolean;
}

export interface SeedOptions {
  people: number;
  seed: number;
  /** The world's "now"; defaults to the current time, rounded down to the minute. */
  now?: number;
  owners?: number;
  /** The HubSpot portal uses deals: people only HubSpot knows get deals too (default false). */
  deals?: boolean;
}

const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Radia', 'Tim', 'Katherine', 'Dennis', 'Frances',
  'José', 'Zoë', 'Søren', 'Łukasz', 'Aiyana', 'Chen', 'Priya', 'Oluwaseun', 'Mei', 'Hiroshi', 'Fatima', 'Björn', 'Noa', 'Élodie',
  'Sven', 'Amara', 'Diego', 'Ingrid', 'Rahul', 'Yara', 'Tomás', 'Leila', 'Kwame', 'Anya', 'Mateo', 'Saoirse', 'Dmitri', 'Nia'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Turing', 'Liskov', 'Thompson', 'Perlman', 'Berners-Lee', 'Johnson',
  'Ritchie', 'Allen', 'García', 'Müller', 'Kierkegaard', 'Nowak', "O'Brien", 'Zhang', 'Patel', 'Adeyemi', 'Wong', 'Tanaka',
  'Haddad', 'Andersson', 'Cohen', 'Dubois', 'Larsen', 'Okafor', 'Fernández', 'Berg', 'Sharma', 'Nasser', 'Silva', 'Karimi',
  'Mensah', 'Ivanova', 'Rossi', 'Murphy', 'Volkov', 'Brown', 'van der Berg', 'Nguyễn', 'كريم', 'כהן'];
const TITLES = ['VP of Marketing', 'Director of Sales Operations', 'Head of Growth', 'Chief Revenue Officer', 'Marketing Manager',
  'Sales Development Representative', 'Software Engineer', 'Student', 'Consultant', 'Account Executive', 'CEO', 'Founder',
  'Revenue Operations Analyst', 'IT Director', 'Office Manager', 'Demand Generation Lead', 'Procurement Specialist', 'CTO',
  'Senior Vice President, Global Strategic Partnerships, Channel Alliances and Ecosystem Development (EMEA, APAC and LATAM Regions)',
  'Intern'];
const INDUSTRIES = ['Software', 'Financial Services', 'Healthcare', 'Manufacturing', 'Retail', 'Education', 'Telecommunications',
  'Media', 'Logistics', 'Energy', 'Government', 'Non-Profit'];
const PLACES: Array<[string, string | null, string]> = [
  ['US', 'CA', 'San Francisco'], ['US', 'NY', 'New York'], ['US', 'TX', 'Austin'], ['US', 'MA', 'Boston'], ['CA', 'ON', 'Toronto'],
  ['GB', null, 'London'], ['DE', null, 'Berlin'], ['FR', null, 'Paris'], ['NL', null, 'Amsterdam'], ['SE', null, 'Stockholm'],
  ['JP', null, 'Tokyo'], ['AU', 'NSW', 'Sydney'], ['BR', 'SP', 'São Paulo'], ['IN', 'KA', 'Bengaluru'], ['IL', null, 'Tel Aviv'],
  ['AE', null, 'Dubai'], ['MX', null, 'Ciudad de México'], ['PL', null, 'Kraków'], ['ES', null, 'Madrid'], ['IE', null, 'Dublin']];
const WORDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent',
  'Wonka', 'Gringotts', 'Aperture', 'Black Mesa', 'Oscorp', 'Nakatomi', 'Monarch', 'Pied Piper', 'Massive Dynamic', 'Zenith',
  'Nordwind', 'Kyōto Labs', 'Café Société', 'Blue Harbor', 'Redwood', 'Quantum', 'Atlas', 'Beacon', 'Summit'];
const SUFFIXES = ['Inc', 'GmbH', 'Ltd', 'SA', 'Corp', 'Group', 'Labs', 'Systems', 'Partners', 'AB'];
const FREEMAIL = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'icloud.com', 'gmx.de', 'proton.me'];
const SOURCES = ['ORGANIC_SEARCH', 'PAID_SEARCH', 'EMAIL_MARKETING', 'SOCIAL_MEDIA', 'REFERRALS', 'DIRECT_TRAFFIC', 'OFFLINE'];
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const CAMPAIGNS = ['Q4 Webinar', 'Pricing Guide', 'Spring Launch', 'Trade Show 2026', null, null];
const LEAD_STATUSES = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Not Converted'];
const DAY = 86_400_000;

function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

/** A Salesforce-style 18-character id with the object's key prefix. */
export function salesforceId(prefix: string, n: number): string {
  return `${prefix}${'0'.repeat(3)}${n.toString(36).toUpperCase().padStart(9, '0')}AAA`.slice(0, 18).padEnd(18, 'A');
}

/**
 * Where a person's opportunity would live, if the truth draws one: a converted Salesforce Lead's
 * Opportunity, or (with `deals`) a HubSpot deal of a person only HubSpot knows; null: the seed
 * gives them none whatever their chances (the benchmark measures the truth on the others).
 */
export function opportunityHome(p: Pick<SeedPerson, 'hubspot' | 'salesforce'>, deals: boolean): 'salesforce' | 'hubspot' | null {
  if (p.salesforce?.converted) return 'salesforce';
  return deals && p.hubspot && !p.salesforce ? 'hubspot' : null;
}

export function generateWorld(options: SeedOptions): SeedWorld {
  const rand = createRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const chance = (p: number) => rand() < p;
  const now = options.now ?? Math.floor(Date.now() / 60_000) * 60_000;

  const ownerCount = options.owners ?? 8;
  const owners: SeedOwner[] = Array.from({ length: ownerCount }, (_, i) => {
    const firstName = FIRST[(i * 7) % FIRST.length] as string;
    const lastName = LAST[(i * 11) % LAST.length] as string;
    return {
      index: i,
      salesforceId: salesforceId('005', i + 1),
      hubspotId: String(7_000_000 + i * 13 + 1),
      firstName,
      lastName,
      email: `${slug(firstName)}.${slug(lastName)}@smarketing-demo.example`,
      away: i === ownerCount - 1,
    };
  });

  const companyCount = Math.max(1, Math.ceil(options.people / 8));
  const companies: SeedCompany[] = Array.from({ length: companyCount }, (_, i) => {
    const name = `${pick(WORDS)} ${pick(SUFFIXES)}${i >= WORDS.length ? ` ${i}` : ''}`;
    const [country, state, city] = pick(PLACES);
    const size = Math.floor(Math.exp(rand() * Math.log(50_000)));
    return {
      index: i,
      name,
      domain: `${slug(name)}.example.com`,
      industry: pick(INDUSTRIES),
      employees: Math.max(1, size),
      annualRevenue: Math.max(1, size) * (50_000 + Math.floor(rand() * 250_000)),
      country,
      state,
      city,
      hasAccount: chance(0.5),
      accountOwner: Math.floor(rand() * Math.max(1, ownerCount - 1)),
    };
  });

  const people: SeedPerson[] = [];
  const usedEmails = new Set<string>();
  for (let i = 0; i < options.people; i++) {
    const company = companies[Math.floor(rand() * companies.length)] as SeedCompany;
    const blankFirst = chance(0.02);
    const firstName = blankFirst ? null : pick(FIRST);
    const lastName = chance(0.01) ? null : pick(LAST);
    const freemail = chance(0.15);
    const local = `${slug(firstName ?? 'info')}.${slug(lastName ?? 'contact')}${i}`;
    let email = `${local}@${freemail ? pick(FREEMAIL) : company.domain}`;
    while (usedEmails.has(email)) email = `x${email}`;
    usedEmails.add(email);

    const roll = rand();
    // About 60% in both CRMs, 25% only in HubSpot, 15% only in Salesforce.
    const inHubSpot = roll < 0.85;
    const inSalesforce = roll < 0.6 || roll >= 0.85;
    const createdAt = now - Math.floor(rand() * 365 * DAY);
    const engaged = rand();
    const pageViews = Math.floor(engaged * engaged * 60);
    const lastVisitAt = pageViews > 0 ? now - Math.floor(rand() * 60 * DAY) : null;
    const formSubmissions = Math.floor(engaged * 4);
    const recentConversionAt = formSubmissions > 0 ? now - Math.floor(rand() * 45 * DAY) : null;
    const salesforceObject: 'Lead' | 'Contact' = company.hasAccount && chance(0.5) ? 'Contact' : 'Lead';
    // One person in fifty is held with a differently-cased email in Salesforce (a real-world duplicate trap).
    const sfEmail = chance(0.02) ? email.toUpperCase() : email;

    people.push({
      index: i,
      email,
      firstName,
      lastName,
      title: chance(0.05) ? null : pick(TITLES),
      phone: chance(0.3) ? null : `+1 (555) ${String(100 + (i % 900)).padStart(3, '0')}-${String(i % 10_000).padStart(4, '0')}`,
      country: company.country,
      state: company.state,
      city: company.city,
      company: company.index,
      createdAt,
      hubspot: inHubSpot
        ? {
            email,
            lifecyclestage: pick(['subscriber', 'lead', 'lead', 'lead', 'marketingqualifiedlead']),
            leadStatus: chance(0.5) ? pick(['NEW', 'OPEN', 'IN_PROGRESS', 'ATTEMPTED_TO_CONTACT']) : null,
            source: pick(SOURCES),
            campaign: pick(CAMPAIGNS),
            analytics: {
              pageViews,
              visits: Math.ceil(pageViews / 3),
              formSubmissions,
              emailOpens: Math.floor(rand() * 30),
              emailClicks: Math.floor(rand() * 8),
              lastVisitAt,
              recentConversionAt,
              recentConversionName: recentConversionAt ? pick(['Demo request', 'Pricing guide', 'Webinar signup', 'Contact us']) : null,
              firstConversionAt: recentConversionAt ? recentConversionAt - Math.floor(rand() * 90 * DAY) : null,
            },
            numEmployeesText: chance(0.3) ? company.employees.toLocaleString('en-US') : null,
            unsubscribed: chance(0.03),
          }
        : null,
      salesforce: inSalesforce
        ? {
            object: salesforceObject,
            email: sfEmail,
            status: salesforceObject === 'Lead' ? pick(LEAD_STATUSES) : 'Open - Not Contacted',
            rating: chance(0.4) ? pick(['Hot', 'Warm', 'Cold'] as const) : null,
            leadSource: pick(LEAD_SOURCES),
            owner: company.hasAccount ? company.accountOwner : Math.floor(rand() * ownerCount),
            converted: salesforceObject === 'Lead' && chance(0.04),
            duplicateLead: salesforceObject === 'Lead' && chance(0.01),
          }
        : null,
    });
  }

  const deals = options.deals ?? false;
  const opportunities = drawOpportunities(people, companies, options.seed, now, (p) => opportunityHome(p, deals));
  return { seed: options.seed, now, owners, companies, people, opportunities, deals };
}
