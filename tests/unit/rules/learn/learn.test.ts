/** The likelihood learner: outcomes, features as of the outcome's start, the fit, the figures, the reasons. */
import { describe, expect, it } from 'vitest';
import {
  auc,
  calibration,
  featuresFor,
  fitLogistic,
  judgeLikelihoodModel,
  likelihoodBands,
  likelihoodOf,
  readFeatures,
  readOutcome,
  trainLikelihoodModel,
} from '../../../../src/rules/learn/index.js';
import type { LikelihoodModel } from '../../../../src/rules/learn/index.js';
import { evaluateLead } from '../../../../src/rules/evaluate.js';
import { gradeFor, scoreLead } from '../../../../src/rules/scoring.js';
import { makeConfig, makeLead } from '../helpers.js';
import { NOW, outcomeWorld } from '../../../helpers/outcome-world.js';

const config = makeConfig();
const at = (iso: string) => Date.parse(iso);

describe('auc and calibration', () => {
  it('ranks: 1 when every positive is above every negative, 0.5 for ties, null without both kinds', () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // One positive (0.6) above two of three negatives: 2/3.
    expect(auc([0.2, 0.6, 0.7, 0.4], [0, 1, 0, 0])).toBeCloseTo(2 / 3, 10);
    expect(auc([0.1, 0.2], [1, 1])).toBeNull();
  });

  it('cuts sorted predictions into deciles with counts, mean predicted and actual rate', () => {
    const p = Array.from({ length: 20 }, (_, i) => i / 20);
    const y = p.map((_, i) => (i >= 10 ? 1 : 0) as 0 | 1);
    const bins = calibration(p, y);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ decile: 1, count: 2, predicted: 0.025, actual: 0 });
    expect(bins[9]).toEqual({ decile: 10, count: 2, predicted: 0.925, actual: 1 });
    expect(calibration([0.3, 0.7], [0, 1])).toHaveLength(2);
  });
});

describe('readOutcome', () => {
  const opp = { opportunityId: '006A', opportunityCreatedAt: '2026-03-12T12:00:00.000Z' };
  it.each([
    ['an opportunity is a conversion from its creation', { sales: { ...opp, opportunityWon: null } }, 'opportunity', { label: 1, at: at(opp.opportunityCreatedAt) }],
    ['a lost one still converted', { sales: { ...opp, opportunityWon: false } }, 'opportunity', { label: 1, at: at(opp.opportunityCreatedAt) }],
    ['a won one is won, from its creation', { sales: { ...opp, opportunityWon: true } }, 'won', { label: 1, at: at(opp.opportunityCreatedAt) }],
    ['a lost one is not won', { sales: { ...opp, opportunityWon: false } }, 'won', { label: 0, at: at(opp.opportunityCreatedAt) }],
    [
      'disqualified without one is no conversion, from its disqualification',
      { stage: { current: 'disqualified', history: [{ stage: 'lead', at: '2026-01-01T00:00:00.000Z', cause: 'x' }, { stage: 'disqualified', at: '2026-02-01T00:00:00.000Z', cause: 'x' }] } },
      'opportunity',
      { label: 0, at: at('2026-02-01T00:00:00.000Z') },
    ],
  ] as const)('%s', (_name, input, target, expected) => {
    const reading = readOutcome(makeLead(input as Parameters<typeof makeLead>[0]), target);
    expect(reading).toEqual({ kind: 'outcome', outcome: { leadId: 'lead-1', ...expected } });
  });

  it('an open opportunity is no won outcome yet; a lead without one is open; an opportunity without a date is undated', () => {
    expect(readOutcome(makeLead({ sales: { opportunityId: '006A', opportunityWon: null } }), 'won')).toEqual({ kind: 'open' });
    expect(readOutcome(makeLead({ stage: { current: 'mql', history: [] } }), 'opportunity')).toEqual({ kind: 'open' });
    expect(readOutcome(makeLead({ sales: { opportunityId: '006A' } }), 'opportunity')).toEqual({ kind: 'undated' });
  });
});

describe('no leakage: the lead as it was before its outcome started', () => {
  const start = at('2026-03-12T12:00:00.000Z');
  const before = { kind: 'form_submission' as const, at: '2026-03-10T09:00:00.000Z', weight: 2 };
  const after = { kind: 'form_submission' as const, at: '2026-03-12T12:00:00.000Z', weight: 5 };
  const later = { kind: 'page_view' as const, at: '2026-04-01T09:00:00.000Z', weight: 30 };

  it('engagement dated at or after the start is not read', () => {
    const features = featuresFor(config.scoring);
    const only = readFeatures(makeLead({ marketing: { engagement: [before] } }), features, start, new Set());
    const withAfter = readFeatures(makeLead({ marketing: { engagement: [before, after, later] } }), features, start, new Set());
    expect(withAfter).toEqual(only);
  });

  it('a fit rule on a field the outcome sets (sales, stage, score, the lifecycle stage and lead status the funnel moves) is no feature', () => {
    const withSales = makeConfig({
      scoring: {
        fit: [
          { field: 'sales.status', equals: 'Qualified', points: 30, reason: 'Qualified' },
          { field: 'marketing.lifecycleStage', in: ['opportunity', 'customer'], points: 30, reason: 'Late stage' },
          { field: 'marketing.leadStatus', equals: 'IN_PROGRESS', points: 10, reason: 'Being worked' },
          { field: 'person.title', matches: 'vp', points: 20, reason: 'Senior title' },
        ],
      },
    });
    expect(featuresFor(withSales.scoring).filter((f) => f.kind === 'fit').map((f) => (f.kind === 'fit' ? f.rule.reason : ''))).toEqual(['Senior title']);
  });

  it('a model trained where only converted people engage after their start learns nothing from it', () => {
    // Page views after the start on every converted person: read as of the start they are
    // invisible, so the model ranks exactly as on the same world without them.
    const clean = trainLikelihoodModel(outcomeWorld({ people: 600, seed: 11 }), config, { target: 'opportunity', now: NOW });
    const leaky = trainLikelihoodModel(outcomeWorld({ people: 600, seed: 11, viewsAfterStart: 25 }), config, { target: 'opportunity', now: NOW });
    expect(leaky.weights).toEqual(clean.weights);
    expect(leaky.evaluation.model.auc).toBe(clean.evaluation.model.auc);
    expect(leaky.evaluation.rules.auc).toBe(clean.evaluation.rules.auc);
  });
});

describe('trainLikelihoodModel', () => {
  const leads = outcomeWorld({ people: 1500, seed: 3 });
  const trained = trainLikelihoodModel(leads, config, { target: 'opportunity', now: NOW });

  it('is deterministic: the same outcomes give the same model', () => {
    expect(trainLikelihoodModel(outcomeWorld({ people: 1500, seed: 3 }), config, { target: 'opportunity', now: NOW })).toEqual(trained);
  });

  it('trains on the older outcomes, tests on the newer, with counts', () => {
    const { train, test } = trained.evaluation;
    expect(train.outcomes + test.outcomes).toBe(1500);
    expect(test.outcomes).toBe(375);
    expect(Date.parse(train.to as string)).toBeLessThanOrEqual(Date.parse(test.from as string));
    expect(trained.evaluation.model.calibration).toHaveLength(10);
    expect(trained.evaluation.model.calibration.reduce((n, b) => n + b.count, 0)).toBe(375);
    expect(trained.evaluation.rules.calibration.reduce((n, b) => n + b.count, 0)).toBe(375);
  });

  it('ranks the newer outcomes better than the rule score where the rules are coarse, and is calibrated', () => {
    const { model, rules } = trained.evaluation;
    expect(model.auc).toBeGreaterThan((rules.auc as number) + 0.02);
    const top = model.calibration.at(-1)!;
    const bottom = model.calibration[0]!;
    expect(top.actual).toBeGreaterThan(bottom.actual + 0.3);
    for (const bin of model.calibration) expect(Math.abs(bin.predicted - bin.actual)).toBeLessThan(0.25);
    expect(judgeLikelihoodModel(trained)).toEqual({ publishable: true, reasons: [] });
  });

  it('learns the signs of the world: senior title, size and page views raise the likelihood', () => {
    const weight = (match: (f: LikelihoodModel['features'][number]) => boolean) => trained.weights[trained.features.findIndex(match)] as number;
    expect(weight((f) => f.kind === 'fit' && f.rule.reason === 'Senior title')).toBeGreaterThan(0);
    expect(weight((f) => f.kind === 'employees')).toBeGreaterThan(0);
    expect(weight((f) => f.kind === 'engagement' && f.event === 'page_view')).toBeGreaterThan(0);
  });

  it('says so when the older outcomes hold one kind only', () => {
    const converted = outcomeWorld({ people: 200, seed: 5 }).filter((l) => l.stage?.current === 'opportunity');
    expect(() => trainLikelihoodModel(converted, config, { target: 'opportunity', now: NOW })).toThrow(/Nothing to learn from: the \d+ older outcomes \(of \d+\) hold \d+ converted and 0 not/);
  });

  it('fitLogistic is the plain regularised fit: a stronger penalty shrinks the weights', () => {
    const rows = [[0], [1], [2], [3], [4], [5]];
    const labels = [0, 0, 1, 0, 1, 1] as const;
    const loose = fitLogistic(rows, [...labels], { l2: 0 });
    const tight = fitLogistic(rows, [...labels], { l2: 50 });
    expect(loose.weights[0]).toBeGreaterThan(tight.weights[0] as number);
    expect(tight.weights[0]).toBeGreaterThan(0);
  });
});

describe('judgeLikelihoodModel', () => {
  const figures = (train: [number, number], test: [number, number], modelAuc: number, rulesAuc: number) => ({
    target: 'opportunity' as const,
    evaluation: {
      train: { outcomes: train[0] + train[1], positives: train[0], from: null, to: null },
      test: { outcomes: test[0] + test[1], positives: test[0], from: null, to: null },
      undated: 0,
      model: { auc: modelAuc, calibration: [] },
      rules: { auc: rulesAuc, calibration: [] },
    },
  });

  it('refuses too few outcomes, saying how many and how many are needed', () => {
    expect(judgeLikelihoodModel(figures([12, 80], [4, 20], 0.8, 0.6))).toEqual({
      publishable: false,
      reasons: [
        'Too few outcomes to learn from: 12 converted and 80 not converted in the training part; at least 30 of each are needed.',
        'Too few newer outcomes to test on: 4 converted and 20 not converted; at least 10 of each are needed.',
      ],
    });
  });

  it('refuses a model no better than the rules', () => {
    expect(judgeLikelihoodModel(figures([40, 80], [15, 30], 0.66, 0.68))).toEqual({
      publishable: false,
      reasons: ['No better than the rules: AUC 0.660 against the rule score\'s 0.680 on the 45 newest outcomes.'],
    });
  });
});

describe('likelihoodOf: reasons in the rule reasons\' words', () => {
  const trained = trainLikelihoodModel(outcomeWorld({ people: 1500, seed: 3 }), config, { target: 'opportunity', now: NOW });
  const model: LikelihoodModel = { ...trained, version: 1 };

  it('gives a 0-100 likelihood, higher for the better lead, with signed reasons largest first', () => {
    const now = new Date('2026-06-01T12:00:00.000Z');
    const strong = makeLead({
      person: { title: 'VP Marketing' },
      company: { employees: 5000 },
      marketing: { engagement: [{ kind: 'page_view', at: '2026-05-29T10:00:00.000Z', weight: 14 }] },
    });
    const weak = makeLead({ person: { title: 'Analyst' }, company: { employees: 3 } });
    const a = likelihoodOf(strong, model, now);
    const b = likelihoodOf(weak, model, now);
    expect(a.likelihood).toBeGreaterThan(b.likelihood);
    expect(a.likelihood).toBeLessThanOrEqual(100);
    expect(b.likelihood).toBeGreaterThanOrEqual(0);
    expect(a.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^\+\d+ Senior title$/), expect.stringMatching(/^\+\d+ Page view ×14 \(latest 3 days ago\)$/), expect.stringMatching(/^\+\d+ Company size \(5,000 employees\)$/)]));
    // A small company lowers it, against the learnt-from leads' mean size.
    expect(b.reasons).toContainEqual(expect.stringMatching(/^-\d+ Company size \(3 employees\)$/));
    const points = a.reasons.map((r) => Math.abs(Number(r.split(' ')[0])));
    expect(points).toEqual([...points].sort((x, y) => y - x));
    expect(a.reasonsText).toBe(a.reasons.join('; '));
    // A lead with none of it has no reasons to give.
    expect(likelihoodOf(makeLead({ email: null, person: {}, company: {} }), model, now).reasons).toEqual([]);
  });
});

describe('evaluateLead with a published model', () => {
  const trained = trainLikelihoodModel(outcomeWorld({ people: 1500, seed: 3 }), config, { target: 'opportunity', now: NOW });
  const model: LikelihoodModel = { ...trained, version: 1 };
  const now = new Date('2026-06-01T12:00:00.000Z');
  const lead = makeLead({
    person: { title: 'VP Marketing' },
    company: { employees: 5000 },
    marketing: { engagement: [{ kind: 'page_view', at: '2026-05-29T10:00:00.000Z', weight: 14 }] },
  });

  it('writes the likelihood (0-100) and its reasons beside the rule score; without a model both are empty', () => {
    const out = evaluateLead(lead, config, now, { likelihood: model });
    const expected = likelihoodOf(lead, model, now);
    expect(out.desired.likelihood).toBe(String(expected.likelihood));
    expect(out.desired.likelihoodReasons).toBe(expected.reasonsText);
    expect(out.desired.score).toBe(String(scoreLead(lead, config.scoring, now).total));
    const none = evaluateLead(lead, config, now);
    expect([none.desired.likelihood, none.desired.likelihoodReasons]).toEqual([null, null]);
    expect(none.desired.score).toBe(out.desired.score);
  });

  it('the grade follows the rules, the model or a blend, as configured', () => {
    const rules = scoreLead(lead, config.scoring, now);
    const likely = likelihoodOf(lead, model, now).likelihood;
    const gradeWith = (likelihood: object) => evaluateLead(lead, makeConfig({ likelihood }), now, { likelihood: model }).desired.grade;
    expect(gradeWith({ grade: 'rules' })).toBe(rules.grade);
    expect(gradeWith({ grade: 'model' })).toBe(gradeFor(likely, config.scoring.grades));
    expect(gradeWith({ grade: 'blend', blend: 0.25 })).toBe(gradeFor(Math.round(0.25 * likely + 0.75 * rules.total), config.scoring.grades));
    // Thresholds between the two values: the rules say cold, the model warm (or the other way).
    expect(Math.abs(likely - rules.total)).toBeGreaterThan(2);
    const grades = { hot: 100, warm: Math.round((likely + rules.total) / 2) };
    const at = (likelihood: object) => evaluateLead(lead, makeConfig({ likelihood, scoring: { grades } }), now, { likelihood: model }).desired.grade;
    expect(at({ grade: 'rules' })).toBe(rules.total >= grades.warm ? 'warm' : 'cold');
    expect(at({ grade: 'model' })).toBe(likely >= grades.warm ? 'warm' : 'cold');
    expect(at({ grade: 'model' })).not.toBe(at({ grade: 'rules' }));
    // Without a model the grade is the rules' whatever the setting.
    expect(evaluateLead(lead, makeConfig({ likelihood: { grade: 'model' } }), now).desired.grade).toBe(rules.grade);
  });

  it('the passing of time within a day changes no likelihood', () => {
    const morning = evaluateLead(lead, config, new Date('2026-06-01T00:10:00.000Z'), { likelihood: model }).desired;
    const night = evaluateLead(lead, config, new Date('2026-06-01T23:50:00.000Z'), { likelihood: model }).desired;
    expect([night.likelihood, night.likelihoodReasons]).toEqual([morning.likelihood, morning.likelihoodReasons]);
  });
});

describe('likelihoodBands', () => {
  it('counts leads by their likelihood now and outcomes by their likelihood as of the start; higher bands convert more', () => {
    const leads = outcomeWorld({ people: 1500, seed: 3 });
    const model: LikelihoodModel = { ...trainLikelihoodModel(leads, config, { target: 'opportunity', now: NOW }), version: 1 };
    const bands = likelihoodBands(leads, model, NOW);
    expect(bands.map((b) => b.band)).toEqual(['0-20', '20-40', '40-60', '60-80', '80-100']);
    expect(bands.reduce((n, b) => n + b.leads, 0)).toBe(1500);
    expect(bands.reduce((n, b) => n + b.outcomes, 0)).toBe(1500);
    const rated = bands.filter((b) => b.outcomes >= 30);
    expect(rated.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < rated.length; i += 1) expect(rated[i]!.rate!).toBeGreaterThan(rated[i - 1]!.rate!);
    // The outcome is read as of its start: engagement after it moves no outcome between bands.
    const leaky = likelihoodBands(outcomeWorld({ people: 1500, seed: 3, viewsAfterStart: 25 }), model, NOW);
    expect(leaky.map((b) => [b.outcomes, b.converted])).toEqual(bands.map((b) => [b.outcomes, b.converted]));
  });
});
