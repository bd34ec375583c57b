/**
 * Chaos at CI size (tests/reliability/helpers/chaos.ts has the scenario; `npm run chaos` runs it
 * larger): 150 people; HubSpot 429s, Salesforce's concurrent-request REQUEST_LIMIT_EXCEEDED, 5xx,
 * slow and dropped answers from both CRMs; two `smk worker` processes of which one is SIGKILLed
 * mid-run and started again; a restart of a private Redis with AOF on; the Salesforce change stream
 * dropped by the org, its server restarted, its session expired and its stored replay id expired
 * (the service streams as `smk start` does, and Salesforce is polled only at the end of each
 * generation, as the safety net). Users keep changing people
 * in both CRMs, round after round, until every planned fault of every kind has fired (twice in each
 * CRM), the kill and the restart done, within a bound; then both CRMs are compared with a fault-free
 * run of the same seed and the same changes.
 *
 * Every planned kind must have fired. Every difference must be one the sync-errors report names
 * (INGEST_FAILED: a record whose data breaks the code, visible to the admin); nothing else may
 * differ, nothing may be lost silently. (The two bugs this run found earlier, a converted lead
 * losing its conversion and a handoff task never created, are fixed; pipeline-invariants.test.ts
 * keeps them as regression tests.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRMS, FAULT_KINDS, STREAM_FAULTS, formatFigures, runChaos } from './helpers/chaos.js';
import type { ChaosFigures } from './helpers/chaos.js';
import { describeDifferences } from './helpers/crm-state.js';

describe('chaos: every planned fault, a SIGKILLed worker and a Redis restart, at CI size', () => {
  let figures: ChaosFigures;
  const log: string[] = [];

  beforeAll(async () => {
    figures = await runChaos({
      people: 150, seed: 11, rate: 0.25, faultsPerKind: 2, kills: 1, redisRestarts: 1, workers: 2,
      slowMs: 300, roundMs: 500, maxSeconds: 45, drainTimeoutMs: 90_000, log: (line) => log.push(line),
    });
    console.log(formatFigures(figures));
  }, 300_000);

  afterAll(() => {
    if (!figures) console.log(log.join('\n'));
  });

  it('fired every planned kind of fault in both CRMs, killed a worker and restarted Redis while jobs ran', () => {
    expect(figures.shortfall, `${formatFigures(figures)}\n${log.join('\n')}`).toEqual([]);
    for (const crm of CRMS) {
      for (const kind of FAULT_KINDS) {
        // Salesforce's rate limit too: the plan covers every kind.
        expect(figures.planned.faults[crm][kind], `${crm} ${kind}`).toBe(2);
        expect(figures.faultsInjected[crm][kind], `${crm} ${kind}`).toBeGreaterThanOrEqual(2);
      }
    }
    expect(figures.kills).toBeGreaterThanOrEqual(1);
    // Each kill is followed by a start (more than one when Redis was down as the worker started).
    expect(figures.workerStarts).toBeGreaterThanOrEqual(2 + figures.kills);
    expect(figures.redisRestarts).toBeGreaterThanOrEqual(1);
  });

  it('struck the change stream with every planned fault, and change events flowed again after each', () => {
    for (const kind of STREAM_FAULTS) expect(figures.stream.faults[kind], kind).toBe(1);
    expect(figures.stream.recovered).toBe(STREAM_FAULTS.length);
    // The service saw the expired replay id (and polled instead) and refreshed the refused session.
    expect(figures.stream.replayExpired).toBeGreaterThanOrEqual(1);
    expect(figures.stream.sessionsRefreshed).toBeGreaterThanOrEqual(1);
  });

  it('kept users changing people, and the reference replayed every change', () => {
    expect(figures.changes.applied).toBeGreaterThan(0);
    expect(figures.changes.notReplayed).toBe(0);
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
