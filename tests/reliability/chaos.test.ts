/**
 * Chaos at CI size (tests/reliability/helpers/chaos.ts has the scenario; `npm run chaos` runs it
 * larger): 150 people, 429s, 5xx, slow and dropped answers, two `smk worker` processes of which
 * one is SIGKILLed mid-run and started again, and one restart of a private Redis with AOF on.
 * After the queues drain, both CRMs are compared with a fault-free run of the same seed.
 *
 * Every difference must be one the sync-errors report names (INGEST_FAILED: a record whose data
 * breaks the code, visible to the admin); nothing else may differ, nothing may be lost silently.
 * (The two bugs this run found, a converted lead losing its conversion and a handoff task never
 * created, are fixed; pipeline-invariants.test.ts keeps them as regression tests.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFigures, runChaos } from './helpers/chaos.js';
import type { ChaosFigures } from './helpers/chaos.js';
import { describeDifferences } from './helpers/crm-state.js';

describe('chaos: faults, a SIGKILLed worker and a Redis restart, at CI size', () => {
  let figures: ChaosFigures;
  const log: string[] = [];

  beforeAll(async () => {
    figures = await runChaos({ people: 150, seed: 11, rate: 0.25, kills: 1, workers: 2, slowMs: 300, drainTimeoutMs: 150_000, log: (line) => log.push(line) });
    console.log(formatFigures(figures));
  }, 240_000);

  afterAll(() => {
    if (!figures) console.log(log.join('\n'));
  });

  it('injected faults into both CRMs, killed a worker and restarted Redis while jobs ran', () => {
    const injected = (crm: 'hubspot' | 'salesforce') => Object.values(figures.faultsInjected[crm]).reduce((a, b) => a + b, 0);
    expect(injected('hubspot') + injected('salesforce'), log.join('\n')).toBeGreaterThan(0);
    expect(figures.kills).toBeGreaterThanOrEqual(1);
    expect(figures.workerStarts).toBe(2 + figures.kills);
    expect(figures.redisRestarts).toBe(1);
  });

  it('creates no duplicate record', () => {
    expect(figures.duplicated).toEqual([]);
    expect(figures.records.chaos).toBeLessThanOrEqual(figures.records.reference);
  });

  it('ends with the values of a fault-free run, but for changes the sync-errors report names (no silent loss)', () => {
    expect(figures.unexplained, describeDifferences(figures.unexplained)).toEqual([]);
    expect(figures.retries.deadLetters).toBe(0);
  });

  it('makes no write in a sync with no outside change (no loop)', () => {
    expect(figures.quietSyncWrites).toEqual({});
  });
});
