/**
 * `tsx tests/model/run.ts --sequences 20 --seed 7` (or `npm run chaos -- --model 20 --seed 7`):
 * the layer-2 model of tests/model/pipeline.model.test.ts at a larger size. Each sequence runs
 * twice (fault-free reference, then with faults) on fresh sandboxes and its own Redis prefixes
 * (REDIS_URL, else 127.0.0.1:6379, else a private redis-server). Exits 1 on the first failing
 * sequence, printing it, the seed and the path to replay it (`--path`); `--shrink` shrinks it first
 * (each try reruns a sequence: minutes). `--core N` also runs layer 1 with N histories per property.
 * `--known-bugs` also generates the faults that strike open bugs (left out by default).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { resolveRedis } from '../../src/store/redis.js';
import { runPipelineModel } from './pipeline/property.js';

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name}: expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sequences: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      people: { type: 'string' },
      'min-steps': { type: 'string' },
      'max-steps': { type: 'string' },
      shrink: { type: 'boolean' },
      'known-bugs': { type: 'boolean' },
      core: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write('tsx tests/model/run.ts [--sequences 10] [--seed S] [--path P] [--people 10] [--min-steps 5] [--max-steps 15] [--shrink] [--known-bugs] [--core N] [--quiet]\n');
    return 0;
  }
  const seed = int(values.seed, (Date.now() ^ (process.pid << 16)) | 0, 'seed');
  const log = values.quiet ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
  if (values.core !== undefined) {
    // Layer 1 runs under vitest (its files use expect); the same seed drives it.
    const core = spawnSync('npx', ['vitest', 'run', 'tests/model/core.model.test.ts', 'tests/model/plan.model.test.ts'], {
      stdio: 'inherit',
      env: { ...process.env, SMK_MODEL_SEED: String(seed), SMK_MODEL_RUNS: String(int(values.core, 1500, 'core')) },
    });
    if (core.status !== 0) return 1;
  }
  const redis = await resolveRedis({ allowPrivate: true });
  try {
    const summary = await runPipelineModel({
      redisUrl: redis.url,
      sequences: int(values.sequences, 10, 'sequences'),
      seed,
      ...(values.path ? { path: values.path } : {}),
      shrink: values.shrink ?? false,
      knownBugs: values['known-bugs'] ?? false,
      people: int(values.people, 10, 'people'),
      minSteps: int(values['min-steps'], 5, 'min-steps'),
      maxSteps: int(values['max-steps'], 15, 'max-steps'),
      log,
    });
    process.stdout.write(`${JSON.stringify({ ok: true, seed, sequences: summary.sequences, seconds: Math.round(summary.seconds * 10) / 10, secondsPerSequence: Math.round((summary.seconds / Math.max(1, summary.sequences)) * 10) / 10 })}\n`);
    return 0;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `\n${err.cause.message}` : '';
    process.stdout.write(`FAILED (seed ${seed}):\n${err instanceof Error ? err.message : String(err)}${cause}\n`);
    return 1;
  } finally {
    await redis.stop();
  }
}

// Run directly (not when chaos-run.ts imports it to dispatch).
if (process.argv[1] && /tests[\\/]model[\\/]run\.ts$/.test(process.argv[1])) {
  process.exit(await main(process.argv.slice(2)));
}
