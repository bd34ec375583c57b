/**
 * How well a score ranks and how honest its probabilities are: the area under the ROC curve and
 * calibration by decile (mean predicted against actual rate, with the counts behind each).
 */

/**
 * AUC by the rank-sum (Mann-Whitney) formula, ties counted half: the chance that a random
 * positive scores above a random negative. Null without at least one of each.
 */
export function auc(scores: readonly number[], labels: readonly (0 | 1)[]): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j += 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) ranks[order[k] as number] = rank;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i += 1) {
    if (labels[i] === 1) {
      positives += 1;
      rankSum += ranks[i] as number;
    }
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface CalibrationBin {
  /** 1 for the lowest predictions. */
  decile: number;
  count: number;
  /** Mean predicted probability, 0..1. */
  predicted: number;
  /** Share of positives, 0..1. */
  actual: number;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Predictions sorted low to high and cut into (up to) ten bins of near-equal size. */
export function calibration(probabilities: readonly number[], labels: readonly (0 | 1)[], bins = 10): CalibrationBin[] {
  const n = probabilities.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (probabilities[a] as number) - (probabilities[b] as number) || a - b);
  const count = Math.min(bins, n);
  const out: CalibrationBin[] = [];
  for (let b = 0; b < count; b += 1) {
    const from = Math.floor((b * n) / count);
    const to = Math.floor(((b + 1) * n) / count);
    let predicted = 0;
    let actual = 0;
    for (let k = from; k < to; k += 1) {
      const i = order[k] as number;
      predicted += probabilities[i] as number;
      actual += labels[i] as number;
    }
    const size = to - from;
    out.push({ decile: b + 1, count: size, predicted: round4(predicted / size), actual: round4(actual / size) });
  }
  return out;
}
