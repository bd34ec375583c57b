/**
 * Layer 2 of the model-based tests (issue 14, item 8): a few generated sequences of user
 * operations and faulty sync passes against the real jobs, a real Redis (prefixes of their own)
 * and the sandboxes, each compared with a fault-free run of the same operations on an identical
 * world (see pipeline/sequence.ts for what is checked). CI runs a handful; `tsx tests/model/run.ts
 * --sequences N --seed S` (or `npm run chaos -- --model N`) runs many. Replay a failure with
 * SMK_MODEL_SEED and SMK_MODEL_PATH as printed.
 */
import { describe, expect, it, inject } from 'vitest';
import { MODEL_SEED } from './fc-settings.js';
import { runPipelineModel } from './pipeline/property.js';
import { runSequence } from './pipeline/sequence.js';
import type { Step } from './pipeline/sequence.js';

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

/** A shrunk failing sequence, run again as it was found: the report must be clean. */
async function replay(worldSeed: number, steps: Step[]): Promise<void> {
  const report = await runSequence({ redisUrl: inject('redisUrl'), steps, seed: worldSeed, people: 10 });
  expect(report.problems).toEqual([]);
}

describe('regressions found by the pipeline model', () => {
  /**
   * KNOWN_BUG_INGEST_CRASH (open: jobs/ingest.ts, not changed here). Found with seed 101, path 1,
   * shrunk by hand to two steps. An ingest worker that stops after it saved a lead's snapshot but
   * before it bumped the lead's version and enqueued its evaluation (a SIGKILL, a Redis error on
   * the next command) loses the evaluation: BullMQ runs the job again, the retry finds the
   * snapshot already holding the fragment (no change), and nothing evaluates the lead. Here two
   * email clicks never reach the score's reasons in either CRM, until some later change of that
   * person (or the daily reconcile). The save and "this lead needs evaluating" must be one step
   * (a dirty flag in the same MULTI as the snapshot, cleared by evaluate), or the retry must
   * evaluate when the snapshot is newer than the lead's last evaluation.
   * `it.fails`: passes while the bug stands; once fixed, make it `it` and put `stopMidIngest` back
   * into generated sequences (KNOWN_BUG_FAULTS in pipeline/sequence.ts).
   */
  it.fails('KNOWN_BUG_INGEST_CRASH: an ingest worker stopped between saving a lead and enqueueing its evaluation loses the evaluation', async () => {
    await replay(7, [
      { kind: 'user', op: { kind: 'activity', who: 0, activity: 'email_click', count: 2 } },
      { kind: 'sync', fault: { kind: 'stopMidIngest' } },
    ]);
  }, 120_000);
});
