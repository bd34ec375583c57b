/**
 * fast-check settings of the model tests: a seed of their own each run, printed, and replayable.
 *
 *   SMK_MODEL_SEED=123 [SMK_MODEL_PATH=4:1:0] [SMK_MODEL_RUNS=5000] npx vitest run tests/model/core.model.test.ts
 *
 * A failure prints the seed and the shrunk path as fast-check reports them; both go back in here.
 */
import type { Parameters } from 'fast-check';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The run's seed: SMK_MODEL_SEED; else, in CI, a fixed one (a submission's CI is reproducible: it
 * passes or fails the same way every run); else a fresh one, so that every developer run explores
 * new histories (fast-check takes a 32-bit integer).
 */
export const CI_MODEL_SEED = 20261205;
export const MODEL_SEED = envNumber('SMK_MODEL_SEED') ?? (process.env.CI ? CI_MODEL_SEED : (Date.now() ^ (process.pid << 16)) | 0);

/** Options of one `fc.assert`: `runs` unless SMK_MODEL_RUNS says otherwise; the seed and path to replay. */
export function modelParameters<T>(name: string, runs: number): Parameters<T> {
  const path = process.env.SMK_MODEL_PATH;
  const numRuns = envNumber('SMK_MODEL_RUNS') ?? runs;
  console.log(`[model] ${name}: ${numRuns} runs, seed ${MODEL_SEED}${path ? `, path ${path}` : ''} (replay: SMK_MODEL_SEED=${MODEL_SEED} SMK_MODEL_PATH=<path from the report>)`);
  return { seed: MODEL_SEED, numRuns, ...(path ? { path, endOnFailure: true } : {}) };
}
