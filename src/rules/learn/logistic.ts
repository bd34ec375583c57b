/**
 * L2-regularised logistic regression by full-batch gradient descent: small, transparent and
 * deterministic (the same rows give the same weights, to the bit, on every run; nothing is
 * sampled). Features are standardised for the descent and the weights are returned on the raw
 * features' scale, so that `weight × value` is a feature's contribution to the log-odds against a
 * lead that has none of it.
 */

export interface LogisticOptions {
  /** L2 penalty on the standardised weights (not on the intercept). */
  l2?: number;
  iterations?: number;
  learningRate?: number;
}

export interface LogisticFit {
  intercept: number;
  weights: number[];
}

export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function fitLogistic(rows: readonly (readonly number[])[], labels: readonly (0 | 1)[], options: LogisticOptions = {}): LogisticFit {
  const l2 = options.l2 ?? 1;
  const iterations = options.iterations ?? 800;
  const rate = options.learningRate ?? 0.5;
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n === 0) throw new RangeError('logistic regression needs at least one row');
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const row of rows) for (let j = 0; j < d; j += 1) mean[j] = (mean[j] as number) + (row[j] as number) / n;
  for (const row of rows) for (let j = 0; j < d; j += 1) std[j] = (std[j] as number) + ((row[j] as number) - (mean[j] as number)) ** 2 / n;
  for (let j = 0; j < d; j += 1) std[j] = Math.sqrt(std[j] as number) || 1;
  const z = rows.map((row) => row.map((v, j) => (v - (mean[j] as number)) / (std[j] as number)));

  let b = 0;
  const w = new Float64Array(d);
  const grad = new Float64Array(d);
  for (let it = 0; it < iterations; it += 1) {
    grad.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i += 1) {
      const zi = z[i] as number[];
      let logit = b;
      for (let j = 0; j < d; j += 1) logit += (w[j] as number) * (zi[j] as number);
      const err = sigmoid(logit) - (labels[i] as number);
      gb += err;
      for (let j = 0; j < d; j += 1) grad[j] = (grad[j] as number) + err * (zi[j] as number);
    }
    b -= (rate * gb) / n;
    // The penalty is applied as a proximal step (shrink after the gradient step), which stays
    // stable for any penalty; a plain gradient step on it diverges once rate × l2 / n passes 2.
    const shrink = 1 + (rate * l2) / n;
    for (let j = 0; j < d; j += 1) w[j] = ((w[j] as number) - (rate * (grad[j] as number)) / n) / shrink;
  }
  const weights = Array.from(w, (wj, j) => wj / (std[j] as number));
  const intercept = b - weights.reduce((sum, wj, j) => sum + wj * (mean[j] as number), 0);
  return { intercept, weights };
}

export function predictLogistic(fit: LogisticFit, row: readonly number[]): number {
  let logit = fit.intercept;
  for (let j = 0; j < fit.weights.length; j += 1) logit += (fit.weights[j] as number) * (row[j] as number);
  return sigmoid(logit);
}
