/**
 * A computation over many items handed to it a batch at a time. The passes over every stored lead
 * (a rules dry-run, a backtest, training the likelihood model) are folds: the shell feeds them one
 * page of the store at a time, so that no pass holds every lead at once (a million people do not
 * fit a worker's heap), and the pure functions over a list are the same fold given one batch.
 */
export interface Fold<T, R> {
  add(items: Iterable<T>): void;
  /** Asked once, after the last batch (a fold may finish its state in place). */
  result(): R;
}

/** Runs a fold over one list. */
export function foldAll<T, R>(fold: Fold<T, R>, items: Iterable<T>): R {
  fold.add(items);
  return fold.result();
}
