/**
 * When a write leaves, measured on the service's clock (held by the test, so no real time races):
 * a burst larger than one batch sends its full batch at once and its tail as soon as the burst has
 * stopped growing, not a whole `sync.batchWait` later; a trickle with no full batch still waits
 * `sync.batchWait` for its batch to fill, so the quiet and steady phases make no more write calls.
 * Outcomes: the values read back from HubSpot through the official client, and the write calls
 * the sandbox counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../../jobs/bootstrap.js';
import type { Runtime } from '../../../jobs/bootstrap.js';
import { processWriteback } from '../../../jobs/writeback.js';
import { scheduleWriteback } from '../../../jobs/schedule-writeback.js';
import type { RecordUpdate } from '../../../connectors/types.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { fastSyncConfig, resetStats, stats, writeConfig } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncedHarness } from './setup.js';

const BATCH_WAIT = 60_000;

interface TestClock {
  now(): number;
  advance(ms: number): Promise<void>;
}

describe('write-back batching of a burst', () => {
  let h: Harness;
  let rt: Runtime;
  let contacts: Array<{ id: string; leadId: string }> = [];

  beforeAll(async () => {
    h = await syncedHarness({ people: 170, seed: 23, label: 'wb-batching' });
    // The same service (Redis prefix, sandboxes) with a batching wait far longer than the test runs.
    const yaml = fastSyncConfig('create: { salesforce: never, hubspot: never }').replace('batchWait: 200ms', `batchWait: ${BATCH_WAIT / 1000}s`);
    rt = await bootstrap({ config: loadConfig({ env: { ...h.env, SMK_CONFIG: writeConfig(yaml) } }), logger: createLogger({ level: 'silent' }), controllableClock: true });
    const all = await h.hubspot.crm.contacts.getAll(100, undefined, ['smk_lead_id']);
    contacts = all.filter((c) => c.properties.smk_lead_id).map((c) => ({ id: c.id, leadId: c.properties.smk_lead_id as string }));
    expect(contacts.length).toBeGreaterThan(125);
  }, 180_000);

  afterAll(async () => {
    await rt?.close();
    await h?.close();
  });

  const clock = (): TestClock => rt.ctx.clock as unknown as TestClock;
  const hubspotWrites = async () => (await stats(h.sandboxes.hubspot.baseUrl)).calls['POST /crm/v3/objects/contacts/batch/update'] ?? 0;
  const plan = async (targets: Array<{ id: string; leadId: string }>, note: string) => {
    for (const c of targets) {
      const update: RecordUpdate = { ref: { object: 'contact', id: c.id }, smk: { salesNotes: `${note} ${c.id}` } };
      await rt.ctx.pending.hubspot.write.add(`contact:${c.id}`, c.leadId, update, clock().now());
    }
  };
  const landed = async (targets: Array<{ id: string }>, note: string) => {
    let n = 0;
    for (let i = 0; i < targets.length; i += 100) {
      const read = await h.hubspot.crm.contacts.batchApi.read({ inputs: targets.slice(i, i + 100).map((c) => ({ id: c.id })), properties: ['smk_sales_notes'], propertiesWithHistory: [] });
      n += read.results.filter((r) => r.properties.smk_sales_notes === `${note} ${r.id}`).length;
    }
    return n;
  };

  it('sends the tail of a burst once the burst stops growing, long before the batching wait', async () => {
    const burst = contacts.slice(0, 125);
    await resetStats(h.sandboxes.hubspot.baseUrl);
    await plan(burst, 'burst');
    const plannedAt = clock().now();

    await processWriteback(rt.ctx, 'hubspot');
    expect(await hubspotWrites()).toBe(1); // the full batch of 100, at once
    expect(await landed(burst, 'burst')).toBe(100);

    // The drain left a timer for the tail well before its oldest write has waited the batching wait.
    await scheduleWriteback(rt.ctx, 'hubspot');
    const timers = (await rt.ctx.queues.writeback.hubspot.getJobs(['delayed', 'wait'])).map((j) => j.timestamp + (j.opts.delay ?? 0) - Date.now() + clock().now());
    expect(Math.min(...timers)).toBeLessThan(plannedAt + BATCH_WAIT / 2);

    // An eighth of the batching wait later with nothing new planned, the tail goes in one call.
    await clock().advance(BATCH_WAIT / 8 + 1);
    await processWriteback(rt.ctx, 'hubspot');
    expect(await landed(burst, 'burst')).toBe(125);
    expect(await hubspotWrites()).toBe(2);
    expect(await rt.ctx.pending.hubspot.write.size()).toBe(0);
  }, 60_000);

  it('a trickle with no full batch still waits the batching wait and goes in one call', async () => {
    await clock().advance(2 * BATCH_WAIT); // the burst above is long over
    await processWriteback(rt.ctx, 'hubspot');
    const trickle = contacts.slice(0, 20);
    await resetStats(h.sandboxes.hubspot.baseUrl);
    for (const c of trickle) {
      await plan([c], 'trickle');
      await clock().advance(BATCH_WAIT / 40);
      await processWriteback(rt.ctx, 'hubspot');
    }
    // Nothing new for an eighth of the batching wait: without a full batch before, that is no burst's tail.
    await clock().advance(BATCH_WAIT / 8 + 1);
    await processWriteback(rt.ctx, 'hubspot');
    expect(await hubspotWrites()).toBe(0);
    await clock().advance(BATCH_WAIT);
    await processWriteback(rt.ctx, 'hubspot');
    expect(await hubspotWrites()).toBe(1);
    expect(await landed(trickle, 'trickle')).toBe(20);
  }, 60_000);

  it('a tail that settled while an evaluation was still on its way goes when that evaluation is done, not a batching wait later', async () => {
    await clock().advance(2 * BATCH_WAIT); // the tests above are long over
    await processWriteback(rt.ctx, 'hubspot');
    const burst = contacts.slice(0, 125);
    await resetStats(h.sandboxes.hubspot.baseUrl);
    // An evaluation is on its way (it may plan more writes): the tail must not leave yet.
    const evaluation = await rt.ctx.queues.evaluate.add('evaluate', { leadId: 'L-on-its-way', cause: 'test' });
    await plan(burst, 'settled');
    const plannedAt = clock().now();
    await processWriteback(rt.ctx, 'hubspot');
    expect(await hubspotWrites()).toBe(1); // the full batch of 100, at once
    // Its timer fires once the tail has stopped growing (timers are set in slots of a sixteenth of
    // the batching wait), but the evaluation is still there.
    await clock().advance(BATCH_WAIT / 8 + BATCH_WAIT / 16 + 1);
    await processWriteback(rt.ctx, 'hubspot');
    expect(await hubspotWrites()).toBe(1);
    await rt.ctx.queues.writeback.hubspot.obliterate({ force: true });
    // The evaluation is done (it planned nothing more): the drains are asked for again, as the
    // worker does when an evaluation job completes, and the tail goes now.
    await evaluation.remove();
    await scheduleWriteback(rt.ctx, 'hubspot');
    const timers = (await rt.ctx.queues.writeback.hubspot.getJobs(['delayed', 'wait'])).map((j) => j.timestamp + (j.opts.delay ?? 0) - Date.now() + clock().now());
    expect(Math.min(...timers)).toBeLessThan(plannedAt + BATCH_WAIT / 2);
    await processWriteback(rt.ctx, 'hubspot');
    expect(await landed(burst, 'settled')).toBe(125);
    expect(await hubspotWrites()).toBe(2);
  }, 60_000);
});
