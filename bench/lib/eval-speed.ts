/**
 * Pure rule speed: `evaluateLead` over realistic leads, in a tight loop on one thread (one core).
 *
 * The leads are built from the same seeded world the sandboxes serve: person, company, HubSpot
 * marketing fields, Salesforce sales fields, and engagement events made by the pipeline's own
 * `eventsFromCounters` from the seed's analytics counters (first sight), plus the events later
 * counter increases would have added (a few dozen per engaged lead, spread over the last 90 days).
 * Each lead is evaluated once first, so that the timed loop sees stored leads with a score, a
 * stage and a history, and the previous snapshot is passed, as the evaluate job does.
 */
import { generateWorld } from '../../connectors/sandbox/seed.js';
import type { SeedWorld } from '../../connectors/sandbox/seed.js';
import { createRandom } from '../../connectors/sandbox/common.js';
import type { EngagementEvent, Lead } from '../../src/model/lead.js';
import { evaluateLead } from '../../src/rules/evaluate.js';
import type { RulesConfig } from '../../src/rules/config.js';
import { appendEngagement, eventsFromCounters } from '../../src/sync/engagement.js';

const DAY = 86_400_000;

export function leadsFromWorld(world: SeedWorld, limit: number): Lead[] {
  const rand = createRandom(world.seed + 17);
  const nowIso = new Date(world.now).toISOString();
  const leads: Lead[] = [];
  for (const p of world.people.slice(0, limit)) {
    const company = world.companies[p.company];
    const owner = p.salesforce ? world.owners[p.salesforce.owner] : undefined;
    let engagement: EngagementEvent[] = [];
    let counters: Record<string, number> | undefined;
    if (p.hubspot) {
      const a = p.hubspot.analytics;
      counters = {
        pageViews: a.pageViews,
        visits: a.visits,
        formSubmissions: a.formSubmissions,
        emailOpens: a.emailOpens,
        emailClicks: a.emailClicks,
        ...(a.lastVisitAt ? { lastVisitAt: a.lastVisitAt } : {}),
        ...(a.recentConversionAt ? { recentConversionAt: a.recentConversionAt } : {}),
      };
      engagement = eventsFromCounters(undefined, counters, nowIso, p.hubspot.campaign);
      // Later polls turn counter increases into more dated events.
      const more = Math.floor(rand() * rand() * 40);
      const kinds = ['page_view', 'visit', 'email_open', 'email_click', 'form_submission'] as const;
      const added: EngagementEvent[] = [];
      for (let i = 0; i < more; i += 1) {
        added.push({ kind: kinds[Math.floor(rand() * rand() * kinds.length)] ?? 'page_view', at: new Date(world.now - Math.floor(rand() * 90 * DAY)).toISOString(), weight: 1 + Math.floor(rand() * 3) });
      }
      engagement = appendEngagement(engagement, added, nowIso);
    }
    leads.push({
      id: `bench-${p.index}`,
      email: p.email.toLowerCase(),
      updatedAt: nowIso,
      links: {
        ...(p.hubspot ? { hubspot: { id: String(101 + p.index) } } : {}),
        ...(p.salesforce ? { salesforce: { object: p.salesforce.object, id: `00Q000000000${String(p.index).padStart(3, '0')}AAA`.slice(0, 18) } } : {}),
      },
      person: { firstName: p.firstName, lastName: p.lastName, title: p.title, phone: p.phone, country: p.country, state: p.state, city: p.city },
      company: company
        ? { name: company.name, domain: company.domain, industry: company.industry, employees: company.employees, annualRevenue: company.annualRevenue }
        : {},
      marketing: {
        source: p.hubspot?.source ?? null,
        campaign: p.hubspot?.campaign ?? null,
        lifecycleStage: p.hubspot?.lifecyclestage ?? null,
        leadStatus: p.hubspot?.leadStatus ?? null,
        unsubscribed: p.hubspot?.unsubscribed ?? null,
        engagement,
        ...(counters ? { counters } : {}),
      },
      sales: p.salesforce
        ? { ownerId: owner?.salesforceId ?? null, status: p.salesforce.status, rating: p.salesforce.rating, converted: p.salesforce.converted }
        : {},
    });
  }
  return leads;
}

export interface EvalSpeed {
  leads: number;
  evaluations: number;
  seconds: number;
  /** Evaluations per CPU second of this process (its one JS thread, plus V8's GC helpers): "per core", best round of about a second. */
  evalPerSec: number;
  /** The same over all rounds. */
  evalPerSecAllRounds: number;
  /** Evaluations per wall-clock second: lower when other work on the machine takes the core away. */
  evalPerWallSec: number;
  cpuSeconds: number;
  avgEngagementEvents: number;
}

/** Evaluations per second of `evaluateLead` on this thread for about `seconds`. */
export function measureEvalSpeed(config: RulesConfig, options: { people: number; seed: number; seconds?: number }): EvalSpeed {
  const world = generateWorld({ people: options.people, seed: options.seed });
  const now = new Date(world.now);
  // Steady state: leads that were evaluated before (score, stage, history), as the store holds them.
  const leads = leadsFromWorld(world, options.people).map((lead) => evaluateLead(lead, config, now).lead);
  const seconds = options.seconds ?? 3;
  // Warm-up, so that the timed loop measures optimised code.
  for (let i = 0; i < Math.min(leads.length, 2000); i += 1) evaluateLead(leads[i] as Lead, config, now, { previous: leads[i] as Lead });
  // Rounds of about a second: the rate is the best round's, so that a moment when other work took
  // the core (this machine is shared) does not stand for the code's speed; the totals cover all.
  const rounds = Math.max(1, Math.round(seconds));
  const roundBudget = BigInt(Math.round((seconds / rounds) * 1e9));
  let evaluations = 0;
  let sink = 0;
  let best = 0;
  const cpuStart = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round += 1) {
    const roundCpu = process.cpuUsage();
    const roundStart = process.hrtime.bigint();
    let done = 0;
    while (process.hrtime.bigint() - roundStart < roundBudget) {
      for (let i = 0; i < 500; i += 1) {
        const lead = leads[(evaluations + done + i) % leads.length] as Lead;
        sink += evaluateLead(lead, config, now, { previous: lead }).score.total;
      }
      done += 500;
    }
    evaluations += done;
    const used = process.cpuUsage(roundCpu);
    best = Math.max(best, done / Math.max((used.user + used.system) / 1e6, 1e-9));
  }
  const elapsed = process.hrtime.bigint() - started;
  if (sink === Number.MIN_SAFE_INTEGER) process.stdout.write('');
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const secs = Number(elapsed) / 1e9;
  return {
    leads: leads.length,
    evaluations,
    seconds: secs,
    evalPerSec: best,
    evalPerSecAllRounds: evaluations / Math.max(cpuSeconds, 1e-9),
    evalPerWallSec: evaluations / secs,
    cpuSeconds,
    avgEngagementEvents: leads.reduce((a, l) => a + l.marketing.engagement.length, 0) / Math.max(1, leads.length),
  };
}
