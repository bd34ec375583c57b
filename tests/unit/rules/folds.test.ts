/**
 * The passes over every stored lead are folds fed a page of the store at a time
 * (jobs/store-pass.ts): fed in pages, each gives what it gives fed the whole list at once,
 * including the dry-run's examples, of which a page keeps only the best so far.
 */
import { describe, expect, it } from 'vitest';
import type { Lead } from '../../../src/model/lead.js';
import { backtestFold } from '../../../src/rules/backtest.js';
import { ruleSetComparison } from '../../../src/rules/dry-run.js';
import type { Fold } from '../../../src/rules/fold.js';
import { likelihoodBandsFold } from '../../../src/rules/learn/bands.js';
import { likelihoodTraining } from '../../../src/rules/learn/model.js';
import { NOW, outcomeWorld } from '../../helpers/outcome-world.js';
import { makeConfig } from './helpers.js';

const leads = outcomeWorld({ people: 900, seed: 5 });

function inPages<R>(make: () => Fold<Lead, R>, size: number): R {
  const fold = make();
  for (let i = 0; i < leads.length; i += size) fold.add(leads.slice(i, i + size));
  return fold.result();
}

function atOnce<R>(make: () => Fold<Lead, R>): R {
  const fold = make();
  fold.add(leads);
  return fold.result();
}

describe('folds over stored leads, fed a page at a time', () => {
  const current = makeConfig();
  const candidate = makeConfig({ scoring: { fit: [{ field: 'company.employees', gte: 500, points: 40, reason: 'Large company' }] } });
  const model = { ...atOnce(() => likelihoodTraining(current, { target: 'opportunity', now: NOW })), version: 1 };

  it.each([1, 7, 500])('give what they give at once (pages of %i)', (size) => {
    const folds: Array<() => Fold<Lead, unknown>> = [
      () => ruleSetComparison(current, candidate, NOW, { examples: 4 }),
      () => backtestFold(current, NOW),
      () => likelihoodBandsFold(model, NOW),
      () => likelihoodTraining(current, { target: 'opportunity', now: NOW }),
    ];
    for (const make of folds) expect(inPages(make, size)).toEqual(atOnce(make));
  });

  it('the dry-run keeps its examples across pages: the best of all the leads, not of the last page', () => {
    const summary = inPages(() => ruleSetComparison(current, candidate, NOW, { examples: 3 }), 50);
    expect(summary.changed).toBeGreaterThan(3);
    expect(summary.examples).toHaveLength(3);
    expect(summary.examples).toEqual(atOnce(() => ruleSetComparison(current, candidate, NOW, { examples: 3 })).examples);
  });
});
