/**
 * The layer-2 property, shared by the vitest file (a few sequences) and tests/model/run.ts (many):
 * a seeded world and a generated sequence, run by `runSequence`; a failing report fails the run
 * with the seed and path fast-check prints, to replay it.
 */
import fc from 'fast-check';
import { describeStep, runSequence, sequenceArbitrary } from './sequence.js';
import type { SequenceReport, Step } from './sequence.js';

export interface PipelineRunOptions {
  redisUrl: string;
  sequences: number;
  seed: number;
  path?: string;
  /** Shrink a failure (each try runs a whole sequence twice: minutes). */
  shrink?: boolean;
  people?: number;
  minSteps?: number;
  maxSteps?: number;
  /** Also generate the faults that strike known open bugs (KNOWN_BUG_FAULTS). */
  knownBugs?: boolean;
  log?: (line: string) => void;
}

export interface PipelineRunSummary {
  sequences: number;
  seconds: number;
  reports: Array<{ worldSeed: number; steps: number; seconds: number; ok: boolean; notes: string[] }>;
}

export function formatSequence(worldSeed: number, steps: readonly Step[]): string {
  return [`world seed ${worldSeed}, ${steps.length} steps:`, ...steps.map((s, i) => `  ${i + 1}. ${describeStep(s)}`)].join('\n');
}

export async function runPipelineModel(options: PipelineRunOptions): Promise<PipelineRunSummary> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const summary: PipelineRunSummary = { sequences: 0, seconds: 0, reports: [] };
  const property = fc.asyncProperty(
    fc.integer({ min: 1, max: 999 }),
    sequenceArbitrary({ minSteps: options.minSteps, maxSteps: options.maxSteps, knownBugs: options.knownBugs }),
    async (worldSeed, steps) => {
      summary.sequences += 1;
      log(`sequence ${summary.sequences}: ${formatSequence(worldSeed, steps)}`);
      const report: SequenceReport = await runSequence({ redisUrl: options.redisUrl, steps, seed: worldSeed, people: options.people, knownBugs: options.knownBugs ?? false, log });
      summary.reports.push({ worldSeed, steps: steps.length, seconds: report.seconds, ok: report.ok, notes: report.notes });
      log(`  -> ${report.ok ? 'ok' : 'FAILED'} in ${report.seconds.toFixed(1)} s${report.notes.length ? `; ${report.notes.join('; ')}` : ''}`);
      if (!report.ok) throw new Error(`${formatSequence(worldSeed, steps)}\n${report.problems.join('\n')}`);
    },
  );
  log(`[model] pipeline: ${options.sequences} sequences, seed ${options.seed}${options.path ? `, path ${options.path}` : ''} (replay: --seed ${options.seed} --path <path from the report>)`);
  try {
    await fc.assert(property, {
      numRuns: options.sequences,
      seed: options.seed,
      ...(options.path ? { path: options.path } : {}),
      endOnFailure: !options.shrink,
    });
  } finally {
    summary.seconds = (Date.now() - started) / 1000;
  }
  return summary;
}
