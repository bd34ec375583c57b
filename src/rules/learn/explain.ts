/**
 * A published model applied to a lead now: its likelihood (0 to 100) and its reasons, in the
 * rule reasons' words (`+12 Senior title`, `+8 Page view ×14 (latest 3 days ago)`). A reason's
 * points are how much that feature moves the likelihood: the likelihood with it against the
 * likelihood without it (a fit rule unmatched, no engagement of the kind, a company of the
 * learnt-from leads' mean size), in points of 0 to 100.
 */
import type { Lead } from '../../model/lead.js';
import { ago, joinReasons, signed } from '../scoring.js';
import { readFeatures } from './features.js';
import type { Feature, FeatureValue } from './features.js';
import { sigmoid } from './logistic.js';
import type { LikelihoodModel } from './model.js';

export interface Likelihood {
  /** 0 to 100. */
  likelihood: number;
  reasons: string[];
  /** The reasons joined with `; `, cut on a reason boundary to fit a 255-character field. */
  reasonsText: string;
}

function describe(feature: Feature, value: FeatureValue, points: number): string {
  const head = `${signed(points)} `;
  switch (feature.kind) {
    case 'fit':
      return head + feature.rule.reason;
    case 'engagement': {
      const count = Math.round(value.count ?? 0);
      const when = ago(value.latestDaysAgo ?? 0);
      return count <= 1 ? `${head}${feature.label} (${when})` : `${head}${feature.label} ×${count} (latest ${when})`;
    }
    case 'employees':
      return `${head}${feature.label} (${(value.employees ?? 0).toLocaleString('en-US')} employees)`;
  }
}

export function likelihoodOf(lead: Lead, model: LikelihoodModel, now: Date): Likelihood {
  // Everything up to and including this moment counts: `readFeatures` counts events before `asOf`.
  const values = readFeatures(lead, model.features, now.getTime() + 1, new Set(model.freemailDomains));
  let logit = model.intercept;
  values.forEach((v, j) => (logit += (model.weights[j] ?? 0) * v.value));
  const p = sigmoid(logit);
  const reasons = values
    .map((v, j) => {
      const contribution = (model.weights[j] ?? 0) * (v.value - v.reference);
      return { j, points: Math.round(100 * (p - sigmoid(logit - contribution))) };
    })
    .filter((r) => r.points !== 0)
    .sort((a, b) => Math.abs(b.points) - Math.abs(a.points) || a.j - b.j)
    .slice(0, model.topReasons)
    .map((r) => describe(model.features[r.j] as Feature, values[r.j] as FeatureValue, r.points));
  return { likelihood: Math.round(100 * p), reasons, reasonsText: joinReasons(reasons) };
}
