/**
 * Write-back under whole-call faults: an outage of the CRM (every batch call failing) is nobody's
 * record's fault. It must not use up the records' attempts, so that a record whose own write then
 * meets a passing per-record error is tried again, not given up into sync errors; and the batch is
 * retried with a growing back-off, not every second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../../connectors/errors.js';
import type { RecordUpdate, WriteOutcome } from '../../../connectors/types.js';
import { processWriteback } from '../../../jobs/writeback.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';


interface SettableClock {
  now(): number;
  set(ms: number): Promise<void>;
}

describe('write-back through a CRM outage', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await syncedHarness({ people: 10, seed: 8, label: 'wb-faults', controllableClock: true });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('keeps a record\'s attempts for its own errors, and backs off between failed calls', async () => {
    const ctx = h.runtime.ctx;
    const clock = ctx.clock as unknown as SettableClock;
    const contacts = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    const target = contacts.find((c) => c.properties.smk_lead_id)!;
    const update: RecordUpdate = { ref: { object: 'contact', id: target.id }, smk: { salesNotes: 'written after the outage' } };
    await ctx.pending.hubspot.write.add(`contact:${target.id}`, target.properties.smk_lead_id as string, update, clock.now() - 10_000);

    const connector = ctx.connectors.hubspot;
    const write = connector.write.bind(connector);
    const calls: number[] = [];
    let outage = 6;
    let ownError = 1;
    Object.defineProperty(connector, 'write', {
      configurable: true, writable: true,
      value: async (updates: RecordUpdate[]): Promise<WriteOutcome[]> => {
        calls.push(clock.now());
        if (outage > 0) {
          outage -= 1;
          throw new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'HubSpot answered 502 Bad Gateway' });
        }
        if (ownError > 0) {
          ownError -= 1;
          return updates.map((u) => ({ ref: u.ref, ok: false, error: new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'contact locked by another update', recordId: u.ref.id }) }));
        }
        return write(updates);
      },
    });
    try {
      for (let round = 0; round < 12 && (await ctx.pending.hubspot.write.size()) > 0; round += 1) {
        await processWriteback(ctx, 'hubspot');
        const next = await ctx.pending.hubspot.write.nextDueAt();
        if (next !== null) await clock.set(Math.max(clock.now(), next) + 250);
      }
    } finally {
      Object.defineProperty(connector, 'write', { configurable: true, writable: true, value: write });
    }
    expect(calls.length).toBe(8);
    expect((await ctx.errors.list({ crm: 'hubspot' })).errors.filter((e) => e.recordId === target.id)).toEqual([]);
    const read = await h.hubspot.crm.contacts.basicApi.getById(target.id, ['smk_sales_notes']);
    expect(read.properties.smk_sales_notes).toBe('written after the outage');
    // The waits between failed calls grow: the outage is not hammered once a second.
    const gaps = calls.slice(1, 7).map((t, i) => t - (calls[i] as number));
    expect(gaps[5] as number).toBeGreaterThan(2 * (gaps[0] as number));
  }, 60_000);
});
