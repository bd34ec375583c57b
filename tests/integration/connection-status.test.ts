/**
 * A revoked connection stops cleanly: the first refused poll records the CRM's message and the fix,
 * later polls neither call the CRM nor fail (a check at most once a minute instead), `sync --once`
 * fails with the reason, and the sync resumes from the cursor once the CRM accepts us again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../connectors/errors.js';
import type { ChangePage } from '../../connectors/types.js';
import { processPoll } from '../../jobs/poll.js';
import { syncOnce } from '../../jobs/run-once.js';
import { startHarness } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';

describe('a CRM that refuses our authorisation', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 10, seed: 3, label: 'conn-status' });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncOnce(h.runtime.ctx);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('is marked once, not polled while refused, and polled again from the cursor once it accepts us', async () => {
    const ctx = h.runtime.ctx;
    const connector = ctx.connectors.hubspot;
    const changes = connector.changes.bind(connector);
    const ping = connector.ping.bind(connector);
    let feedCalls = 0;
    let pings = 0;
    let refused = true;
    const refusal = () => new CrmError({ crm: 'hubspot', code: 'AUTH_INVALID', message: 'The OAuth token used to make this call expired' });
    Object.defineProperty(connector, 'changes', {
      configurable: true, writable: true,
      value: (...args: Parameters<typeof changes>): AsyncIterable<ChangePage> => {
        feedCalls += 1;
        if (refused) return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal()) }) };
        return changes(...args);
      },
    });
    Object.defineProperty(connector, 'ping', {
      configurable: true, writable: true,
      value: async () => {
        pings += 1;
        if (refused) throw refusal();
        return ping();
      },
    });
    try {
      await expect(processPoll(ctx, 'hubspot')).rejects.toThrow(/expired/);
      const status = await ctx.connections.get('hubspot');
      expect(status).toMatchObject({ state: 'auth_failed', message: expect.stringContaining('expired'), fix: expect.stringContaining('/oauth/hubspot/start') });

      // Scheduled polls now cost nothing and fail nothing; one check a minute at most.
      for (let i = 0; i < 5; i += 1) expect((await processPoll(ctx, 'hubspot', { whenBusy: 'skip' })).authFailed?.state).toBe('auth_failed');
      expect(feedCalls).toBe(1);
      expect(pings).toBe(1);
      await expect(syncOnce(ctx, { timeoutMs: 20_000 })).rejects.toThrow(/HubSpot refuses our authorisation since .*\/oauth\/hubspot\/start/);

      // Reconnected: the next check (a minute later) finds it working, and the feed reads again.
      refused = false;
      await ctx.redis.del(ctx.keys.meta('connection-check:hubspot'));
      const resumed = await processPoll(ctx, 'hubspot');
      expect(resumed.authFailed).toBeUndefined();
      expect(feedCalls).toBe(2);
      expect((await ctx.connections.get('hubspot'))?.state).toBe('connected');
    } finally {
      Object.defineProperty(connector, 'changes', { configurable: true, writable: true, value: changes });
      Object.defineProperty(connector, 'ping', { configurable: true, writable: true, value: ping });
    }
  }, 60_000);
});
