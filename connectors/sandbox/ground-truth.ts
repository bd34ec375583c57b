/**
 * The seeded world's ground truth: how likely a person is to become an opportunity, and to win it,
 * from their fit and engagement. The seed draws each person's opportunities from these chances
 * (a random stream of its own, so that adding it changed none of the people a seed makes), which
 * is what makes the funnel's figures and the backtest's won and lost columns mean something; a
 * learned model can be measured against `opportunityTruth` directly.
 *
 *   fit        = 0.45 seniority + 0.35 company size + 0.20 business email          (0..1)
 *   engagement = 0.35 page views + 0.35 form submissions + 0.15 email clicks + 0.15 recency (0..1)
 *   P(opportunity opens) = sigmoid(-4.2 + 3.0 fit + 3.0 engagement)     about 2% .. 86%
 *   P(won | closed)      = sigmoid(-1.6 + 2.2 fit + 1.4 engagement)     about 17% .. 88%
 *
 * seniority: 1 for a C-level, founder, VP, director or head title; 0.6 for a manager or lead; 0.3
 * for any other title; 0 for a student or intern, or none. Company size: log(employees) / log(50,000).
 * Page views count to 40, form submissions to 3, email clicks to 6; recency is 1 for a visit
 * today, falling linearly to 0 at 60 days. People without HubSpot data have no engagement (0).
 */
import { createRandom } from './common.js';

/** What the truth reads of a seeded person (seed.ts TruthPerson has it all). */
export interface TruthPerson {
  index: number;
  email: string;
  lastName: string | null;
  title: string | null;
  company: number;
  createdAt: number;
  hubspot: null | { analytics: { pageViews: number; formSubmissions: number; emailClicks: number; lastVisitAt: number | null } };
}

/** What the truth reads of a seeded company. */
export interface TruthCompany {
  name: string;
  employees: number;
}

const DAY = 86_400_000;
const FREEMAIL = /@(gmail|yahoo|hotmail|outlook|icloud|gmx|proton)\./i;

export interface OpportunityTruth {
  fit: number;
  engagement: number;
  /** P(an opportunity opens for the person). */
  open: number;
  /** P(it is won, once closed). */
  win: number;
}

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function seniority(title: string | null): number {
  if (!title) return 0;
  if (/\b(student|intern)\b/i.test(title)) return 0;
  if (/\b(chief|ceo|cto|cfo|coo|cro|founder|vp|vice president|director|head)\b/i.test(title)) return 1;
  if (/\b(manager|lead)\b/i.test(title)) return 0.6;
  return 0.3;
}

/** The ground truth of one person at the world's `now`. */
export function opportunityTruth(person: TruthPerson, company: TruthCompany | undefined, now: number): OpportunityTruth {
  const size = company ? clamp01(Math.log(Math.max(1, company.employees)) / Math.log(50_000)) : 0;
  const business = FREEMAIL.test(person.email) ? 0 : 1;
  const fit = 0.45 * seniority(person.title) + 0.35 * size + 0.2 * business;
  const a = person.hubspot?.analytics;
  const recency = a?.lastVisitAt ? clamp01(1 - (now - a.lastVisitAt) / (60 * DAY)) : 0;
  const engagement = a
    ? 0.35 * clamp01(a.pageViews / 40) + 0.35 * clamp01(a.formSubmissions / 3) + 0.15 * clamp01(a.emailClicks / 6) + 0.15 * recency
    : 0;
  return {
    fit,
    engagement,
    open: sigmoid(-4.2 + 3 * fit + 3 * engagement),
    win: sigmoid(-1.6 + 2.2 * fit + 1.4 * engagement),
  };
}

export interface SeedOpportunity {
  /** The person's index in `world.people`. */
  person: number;
  /** Where it lives: a Salesforce Opportunity with the person as contact role, or a HubSpot deal associated with them. */
  crm: 'salesforce' | 'hubspot';
  name: string;
  amount: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the close date's day (expected, while open). */
  closeDate: number;
  outcome: 'open' | 'won' | 'lost';
  /** For an open one, how far along: 0 (first stage) to 4. */
  progress: number;
}

/**
 * Draws the opportunities of a world: one per person at most, with the chances above; `crm` says
 * where each person's opportunity would live (null: nowhere the seed puts one). Deterministic for
 * a seed; its own random stream.
 */
export function drawOpportunities<P extends TruthPerson>(
  people: readonly P[],
  companies: readonly TruthCompany[],
  seed: number,
  now: number,
  crmOf: (person: P) => SeedOpportunity['crm'] | null,
): SeedOpportunity[] {
  const rand = createRandom((seed ^ 0x0dd5eed) >>> 0);
  const out: SeedOpportunity[] = [];
  for (const person of people) {
    const company = companies[person.company];
    const truth = opportunityTruth(person, company, now);
    // Every person draws the same numbers whether or not they get one: a person's draw never
    // depends on where another person's record lives.
    const [u1, u2, u3, u4, u5] = [rand(), rand(), rand(), rand(), rand()];
    const crm = crmOf(person);
    if (!crm || u1 >= truth.open) continue;
    const createdAt = Math.min(now - DAY, person.createdAt + Math.floor(u2 * Math.max(DAY, now - person.createdAt)));
    const cycle = (20 + Math.floor(u3 * 100)) * DAY;
    const closeDate = Math.floor((createdAt + cycle) / DAY) * DAY;
    const employees = company?.employees ?? 10;
    const amount = Math.round((2_000 + Math.sqrt(employees) * 600 * (0.5 + u4)) / 100) * 100;
    const outcome = closeDate > now ? 'open' : u5 < truth.win ? 'won' : 'lost';
    out.push({
      person: person.index,
      crm,
      name: `${company?.name ?? 'New business'} - ${person.lastName ?? 'deal'}`,
      amount,
      createdAt,
      closeDate,
      outcome,
      progress: outcome === 'open' ? Math.min(4, Math.floor(((now - createdAt) / cycle) * 5)) : 4,
    });
  }
  return out;
}
