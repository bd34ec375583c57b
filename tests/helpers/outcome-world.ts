/**
 * A small seeded world of closed outcomes for the learner's tests: a person's company size
 * (continuous), senior title and recent page views set their chance of an opportunity; the rule
 * score sees size only as "200+ employees" and caps page views, so a model that learns the
 * weights can rank better than the rules. Every opportunity starts on a day in the past year;
 * each person's engagement is dated before it (and, for the leakage tests, optionally after).
 * Every opportunity is closed, won with a chance that a senior title and size raise.
 */
import { createRandom } from '../../connectors/sandbox/common.js';
import { leadSchema } from '../../src/model/lead.js';
import type { Lead } from '../../src/model/lead.js';

export const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;

export interface WorldOptions {
  people: number;
  seed: number;
  /** Each converted person also gets this many page views after the opportunity started. */
  viewsAfterStart?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function outcomeWorld(options: WorldOptions): Lead[] {
  const rand = createRandom(options.seed);
  // Wins draw from a stream of their own, so that adding them moved none of the people.
  const winRand = createRandom((options.seed ^ 0x5eed) >>> 0);
  const leads: Lead[] = [];
  for (let i = 0; i < options.people; i += 1) {
    const employees = Math.floor(Math.exp(rand() * Math.log(20_000))) + 1;
    const senior = rand() < 0.3;
    const views = Math.floor(rand() * rand() * 40);
    const truth = sigmoid(-3 + 1.2 * Math.log10(employees) + 1.0 * (senior ? 1 : 0) + 0.08 * views);
    const converted = rand() < truth;
    const won = winRand() < sigmoid(-1.5 + 0.4 * Math.log10(employees) + 1.2 * (senior ? 1 : 0));
    const start = NOW.getTime() - Math.floor(rand() * 360 + 2) * DAY;
    const startIso = new Date(start).toISOString();
    const engagement = views > 0 ? [{ kind: 'page_view' as const, at: new Date(start - Math.floor(rand() * 20 + 1) * DAY).toISOString(), weight: views }] : [];
    if (converted && options.viewsAfterStart) engagement.push({ kind: 'page_view', at: new Date(start + DAY).toISOString(), weight: options.viewsAfterStart });
    leads.push(
      leadSchema.parse({
        id: `L${String(i).padStart(5, '0')}`,
        email: `p${i}@company${i % 97}.example`,
        updatedAt: NOW.toISOString(),
        links: {},
        person: { title: senior ? 'VP Sales' : 'Analyst' },
        company: { employees },
        marketing: { engagement },
        sales: converted ? { opportunityId: `006${i}`, opportunityCreatedAt: startIso, opportunityWon: won } : {},
        stage: converted
          ? { current: 'opportunity', history: [{ stage: 'opportunity', at: startIso, cause: 'test' }] }
          : { current: 'disqualified', history: [{ stage: 'disqualified', at: startIso, cause: 'test' }] },
      }),
    );
  }
  return leads;
}
