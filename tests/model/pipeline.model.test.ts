/**
 * Layer 2 of the model-based tests (issue 14, item 8): a few generated sequences of user
 * operations and faulty sync passes against the real jobs, a real Redis (prefixes of their own)
 * and the sandboxes, each compared with a fault-free run of the same operations on an identical
 * world (see pipeline/sequence.ts for what is checked). CI runs a handful; `tsx tests/model/run.ts
 * --sequences N --seed S` (or `npm run chaos -- --model N`) runs many. Replay a failure with
 * SMK_MODEL_SEED and SMK_MODEL_PATH as printed.
 */
import { describe, it, inject } from 'vitest';
import { MODEL_SEED } from './fc-settings.js';
import { runPipelineModel } from './pipeline/property.js';

const SEQUENCES = Number(process.env.SMK_MODEL_SEQUENCES ?? 3);

describe('the pipeline under generated histories (sandboxes, Redis, real jobs)', () => {
  it(`ends every sequence as its fault-free run does (${SEQUENCES} sequences)`, async () => {
    const path = process.env.SMK_MODEL_PATH;
    console.log(`[model] pipeline: ${SEQUENCES} sequences, seed ${MODEL_SEED} (replay: SMK_MODEL_SEED=${MODEL_SEED} SMK_MODEL_PATH=<path from the report>)`);
    const summary = await runPipelineModel({
      redisUrl: inject('redisUrl'),
      sequences: SEQUENCES,
      seed: MODEL_SEED,
      ...(path ? { path } : {}),
      people: 8,
      minSteps: 5,
      maxSteps: 10,
      log: process.env.SMK_MODEL_VERBOSE ? (line) => console.log(line) : undefined,
    });
    console.log(`[model] pipeline: ${summary.sequences} sequences in ${summary.seconds.toFixed(1)} s, seed ${MODEL_SEED}`);
  }, 240_000);
});
