/**
 * The benchmark's three AUCs on a seeded world (deals on, for a population of a few thousand):
 * the truth's own chance ranks best, and all three are measured on the same held-out people.
 */
import { describe, expect, it } from 'vitest';
import { AUC_HOLDOUT, measureAuc } from '../../../bench/lib/auc.js';
import { leadsFromWorld } from '../../../bench/lib/eval-speed.js';
import { parseConfigText } from '../../../src/config.js';
import { benchConfigYaml } from '../../../bench/lib/config.js';
import { opportunityTruth } from '../../../connectors/sandbox/ground-truth.js';
import { generateWorld, opportunityHome } from '../../../connectors/sandbox/seed.js';

describe('measureAuc', () => {
  const world = generateWorld({ people: 12_000, seed: 2, deals: true, now: Date.parse('2026-06-01T00:00:00Z') });
  const drawn = new Set(world.opportunities.map((o) => o.person));
  // The leads as the connector would hold them, with the opportunity the world drew.
  const leads = leadsFromWorld(world, world.people.length).map((lead, i) => (drawn.has(i) ? { ...lead, sales: { ...lead.sales, opportunityId: `006${i}`, opportunityWon: null } } : lead));
  const truth = world.people.filter((p) => opportunityHome(p, true) !== null).map((p) => ({ email: p.email, open: opportunityTruth(p, world.companies[p.company], world.now).open, opportunity: drawn.has(p.index) }));
  const config = parseConfigText(benchConfigYaml({ hubspotPerTenSeconds: 190, batchWait: '2s', searchSafetyMargin: '1s', pollEvery: '1s' }), 'bench');

  it('gives the model, the rule score and the truth an AUC on the same held-out people', () => {
    const figures = measureAuc(leads, truth, config, new Date(world.now));
    expect(figures.people + figures.trainedOn).toBe(truth.length);
    expect(figures.people).toBe(Math.round(truth.length * AUC_HOLDOUT));
    expect(figures.positives).toBeGreaterThan(100);
    for (const key of ['model', 'rules', 'truth'] as const) {
      expect(figures[key]).toBeGreaterThan(0.5);
      expect(figures[key]).toBeLessThan(1);
    }
    // Nothing ranks the world's draws better than the chances it drew them from, bar noise.
    expect(figures.truth!).toBeGreaterThan(figures.rules! - 0.02);
    expect(figures.truth!).toBeGreaterThan(figures.model! - 0.02);
    expect(measureAuc(leads, truth, config, new Date(world.now))).toEqual(figures);
  });

  it('says why there are no model figures when the people hold one kind of outcome only', () => {
    const few = measureAuc(leads, truth.filter((t) => !t.opportunity).slice(0, 50), config, new Date(world.now));
    expect(few.model).toBeNull();
    expect(few.note).toMatch(/Nothing to learn from/);
  });
});
