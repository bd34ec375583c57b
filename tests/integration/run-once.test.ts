/**
 * `smk sync --once` as cron runs it: it finishes whether or not `smk start` ever scheduled its
 * recurring jobs in the same Redis, and it rides out the passing faults a queued poll rides out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../connectors/errors.js';
import type { ChangePage } from '../../connectors/types.js';
import { syncOnce } from '../../jobs/run-once.js';
import { scheduleRecurring } from '../../src/cli/run.js';
import { startHarness } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';

describe('sync --once', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 20, seed: 4, label: 'run-once' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('finishes when smk start has scheduled its recurring poll and reconcile in the same Redis', async () => {
    await scheduleRecurring(h.runtime);
    const result = await syncOnce(h.runtime.ctx, { timeoutMs: 20_000 });
    expect(result.polls.hubspot.records).toBeGreaterThan(0);
    const quiet = await syncOnce(h.runtime.ctx, { timeoutMs: 20_000 });
    expect(quiet.evaluated).toBe(0);
  }, 60_000);

  it('reads a feed again after a passing fault instead of failing the pass', async () => {
    const connector = h.runtime.ctx.connectors.salesforce;
    const original = connector.changes.bind(connector);
    let calls = 0;
    const flaky = async function* (...args: Parameters<typeof original>): AsyncIterable<ChangePage> {
      calls += 1;
      if (calls <= 2) throw new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'Salesforce answered 503 Service Unavailable' });
      yield* original(...args);
    };
    Object.defineProperty(connector, 'changes', { value: flaky, configurable: true, writable: true });
    try {
      const result = await syncOnce(h.runtime.ctx, { timeoutMs: 30_000 });
      expect(calls).toBeGreaterThanOrEqual(3);
      expect(result.polls.salesforce).toBeDefined();
    } finally {
      Object.defineProperty(connector, 'changes', { value: original, configurable: true, writable: true });
    }
  }, 60_000);

  it('fails the pass with the reason when the fault outlasts every attempt', async () => {
    const connector = h.runtime.ctx.connectors.salesforce;
    const original = connector.changes.bind(connector);
    const broken = (): AsyncIterable<ChangePage> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new CrmError({ crm: 'salesforce', code: 'AUTH_INVALID', message: 'expired access/refresh token' })),
      }),
    });
    Object.defineProperty(connector, 'changes', { value: broken, configurable: true, writable: true });
    try {
      await expect(syncOnce(h.runtime.ctx, { timeoutMs: 30_000 })).rejects.toThrow(/expired access\/refresh token/);
    } finally {
      Object.defineProperty(connector, 'changes', { value: original, configurable: true, writable: true });
    }
  }, 60_000);
});
