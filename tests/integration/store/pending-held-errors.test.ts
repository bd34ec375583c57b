import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../../src/store/keys.js';
import { PendingStore } from '../../../src/store/pending.js';
import { HeldStore } from '../../../src/store/held.js';
import { SyncErrorStore, syncErrorsToCsv } from '../../../src/store/sync-errors.js';
import type { RecordUpdate } from '../../../connectors/types.js';
import { testRedis, type TestRedis } from '../../helpers/redis.js';

describe('pending write batches', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('pending');
  });
  afterAll(async () => {
    await t.cleanup();
  });
  const ref = { object: 'contact' as const, id: '1' };

  it('coalesces plans for one record, newest value winning', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}a`), 'hubspot', 'write', 'smk');
    await store.add('contact:1', 'L1', { ref, smk: { score: '1', grade: 'cold' } }, 1000);
    await store.add('contact:1', 'L1', { ref, smk: { score: '2', stage: null } }, 1001);
    const taken = await store.take(100, 60_000, 2000);
    expect(taken).toHaveLength(1);
    expect(taken[0]?.payload.smk).toEqual({ score: '2', grade: 'cold', stage: null });
  });

  it('leases taken entries: a worker that dies loses nothing, another takes them after the lease', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}b`), 'hubspot', 'write', 'smk');
    for (let i = 0; i < 150; i += 1) await store.add(`contact:${i}`, `L${i}`, { ref: { object: 'contact', id: String(i) }, smk: { score: String(i) } }, 1000);
    const first = await store.take(100, 60_000, 2000);
    expect(first).toHaveLength(100);
    expect(await store.take(100, 60_000, 2000)).toHaveLength(50);
    expect(await store.take(100, 60_000, 3000)).toHaveLength(0);
    // The first worker died: after its lease the same 100 come back.
    const again = await store.take(200, 60_000, 62_001);
    expect(again.length).toBe(150);
    for (const e of again) await store.ack(e, 62_002);
    expect(await store.size()).toBe(0);
  });

  it('keeps an entry whose values changed while it was being written', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}c`), 'hubspot', 'write', 'smk');
    await store.add('contact:1', 'L1', { ref, smk: { score: '1' } }, 1000);
    const [taken] = await store.take(10, 60_000, 1000);
    await store.add('contact:1', 'L1', { ref, smk: { score: '3' } }, 1500);
    await store.ack(taken!, 1600);
    const [next] = await store.take(10, 60_000, 1700);
    expect(next?.payload.smk.score).toBe('3');
  });

  it('retries later with one more attempt', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}d`), 'hubspot', 'write', 'smk');
    await store.add('contact:1', 'L1', { ref, smk: { score: '1' } }, 1000);
    const [taken] = await store.take(10, 60_000, 1000);
    expect(await store.retryLater(taken!, 5000, 1001)).toBe(1);
    expect(await store.take(10, 60_000, 4999)).toHaveLength(0);
    const [back] = await store.take(10, 60_000, 5000);
    expect(back?.attempts).toBe(1);
  });

  it('parks due entries behind a spent budget without counting attempts, leases untouched, and lets them go at once', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}q`), 'salesforce', 'write', 'smk');
    for (let i = 0; i < 5; i += 1) await store.add(`Lead:${i}`, `L${i}`, { ref: { object: 'Lead', id: String(i) }, smk: { score: String(i) } }, 1000);
    const [leased] = await store.take(1, 60_000, 1000);
    expect(await store.retryLater(leased!, 31_000, 1001, false)).toBe(0);
    // The four still due are parked with it; the leased one keeps its own time.
    expect(await store.deferDue(31_000, 1001)).toBe(4);
    expect(await store.dueCount(30_999)).toBe(0);
    await store.add('Lead:9', 'L9', { ref: { object: 'Lead', id: '9' }, smk: { score: '9' } }, 2000);
    // Only the parked ones come forward (not the newcomer, which is already due).
    expect(await store.promoteParked([31_000], 3000)).toBe(5);
    const back = await store.take(10, 60_000, 3000);
    expect(back.map((e) => e.key).sort()).toEqual(['Lead:0', 'Lead:1', 'Lead:2', 'Lead:3', 'Lead:4', 'Lead:9']);
    expect(back.every((e) => e.attempts === 0)).toBe(true);
  });
});

describe('held values (echo suppression)', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('held');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('a read older than our last write does not roll the values back; a newer read replaces them', async () => {
    const held = new HeldStore(t.redis, createKeys(t.prefix));
    await held.recordRead('hubspot', 'L1', { score: '10', grade: null }, 1000, '77');
    expect(await held.get('hubspot', 'L1')).toEqual({ values: { score: '10', grade: null }, at: 1000, ownerId: '77' });
    await held.recordWritten('hubspot', 'L1', { score: '20' }, 2000);
    await held.recordRead('hubspot', 'L1', { score: '10' }, 1500, '77');
    expect((await held.get('hubspot', 'L1'))?.values).toEqual({ score: '20', grade: null });
    await held.recordRead('hubspot', 'L1', { score: '20', grade: 'hot' }, 2500, null);
    expect(await held.get('hubspot', 'L1')).toEqual({ values: { score: '20', grade: 'hot' }, at: 2500, ownerId: null });
  });

  it('keeps the lifecycle stage written until a newer read says otherwise', async () => {
    const held = new HeldStore(t.redis, createKeys(t.prefix));
    await held.recordRead('hubspot', 'L2', { score: '10' }, 1000, null, 'lead');
    expect((await held.get('hubspot', 'L2'))?.lifecycle).toBe('lead');
    await held.recordWritten('hubspot', 'L2', { stage: 'mql' }, 2000, null, 'marketingqualifiedlead');
    // The echo of an older read does not roll it back; a write without a stage keeps it.
    await held.recordRead('hubspot', 'L2', { score: '10' }, 1500, null, 'lead');
    await held.recordWritten('hubspot', 'L2', { score: '11' }, 2100);
    expect((await held.get('hubspot', 'L2'))?.lifecycle).toBe('marketingqualifiedlead');
    await held.recordRead('hubspot', 'L2', { score: '11' }, 3000, null, null);
    expect(await held.get('hubspot', 'L2')).toEqual({ values: { score: '11' }, at: 3000, ownerId: null });
  });
});

describe('sync errors', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('errors');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('keeps one entry per record and code with first/last seen and attempts, and clears on success', async () => {
    const store = new SyncErrorStore(t.redis, createKeys(t.prefix));
    const input = { crm: 'salesforce' as const, object: 'Lead', recordId: '00Q1', leadId: 'L1', code: 'STRING_TOO_LONG', message: 'Title: data value too large', field: 'Title', stage: 'write' as const };
    await store.record(input, Date.parse('2026-01-01T00:00:00Z'));
    const second = await store.record(input, Date.parse('2026-01-02T00:00:00Z'));
    expect(second.attempts).toBe(2);
    const { total, errors } = await store.list();
    expect(total).toBe(1);
    expect(errors[0]).toMatchObject({ firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z', attempts: 2, message: 'Title: data value too large' });
    expect(await store.resolveRecord('salesforce', 'Lead', '00Q1')).toBe(1);
    expect(await store.count()).toBe(0);
  });

  it('drops a record\'s write errors once a write of it succeeds, and keeps its other errors', async () => {
    const store = new SyncErrorStore(t.redis, createKeys(`${t.prefix}w`));
    const base = { crm: 'salesforce' as const, object: 'Lead', recordId: '00Q2', leadId: 'L2', field: null };
    await store.record({ ...base, code: 'TRANSIENT', message: 'Server is temporarily unavailable', stage: 'write' });
    await store.record({ ...base, code: 'AMBIGUOUS_MATCH', message: 'same email as 00Q3', stage: 'identity' });
    await store.record({ ...base, recordId: '00Q9', code: 'TRANSIENT', message: 'Server is temporarily unavailable', stage: 'write' });
    expect(await store.resolveWritten('salesforce', [{ object: 'Lead', id: '00Q2' }, { object: 'Lead', id: '00Q5' }])).toBe(1);
    const { errors } = await store.list();
    expect(errors.map((e) => `${e.recordId} ${e.code}`).sort()).toEqual(['00Q2 AMBIGUOUS_MATCH', '00Q9 TRANSIENT']);
    expect(await store.resolveWritten('salesforce', [{ object: 'Lead', id: '00Q2' }])).toBe(0);
  });

  it('exports CSV that a spreadsheet cannot execute', () => {
    const csv = syncErrorsToCsv([{ id: 'x', crm: 'hubspot', object: 'contact', recordId: '1', leadId: 'L', code: 'VALIDATION', message: '=HYPERLINK("evil")', field: 'f', value: 'a,b', stage: 'write', firstSeen: 't', lastSeen: 't', attempts: 1 }]);
    expect(csv.split('\n')[1]).toContain(`"'=HYPERLINK(""evil"")"`);
    expect(csv).toContain('"a,b"');
  });
});

describe('pending writes planned again while being written', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('pending-replan');
  });
  afterAll(async () => {
    await t.cleanup();
  });
  const ref = { object: 'Contact' as const, id: '003A' };

  it('a plan of the same values as the write in flight adds nothing: the write is not sent twice', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}a`), 'salesforce', 'write', 'smk');
    await store.add('Contact:003A', 'L1', { ref, smk: { score: '40', grade: 'warm' } }, 1000);
    const [taken] = await store.take(200, 60_000, 1000);
    // Another evaluation of the lead (another worker) plans the same values while they are written.
    await store.add('Contact:003A', 'L1', { ref, smk: { grade: 'warm', score: '40' } }, 1100);
    await store.ack(taken!, 1200);
    expect(await store.size()).toBe(0);
    expect(await store.take(200, 60_000, 1300)).toHaveLength(0);
  });

  it('a plan that changes a value while it is written is still sent after the write', async () => {
    const store = new PendingStore<RecordUpdate>(t.redis, createKeys(`${t.prefix}b`), 'salesforce', 'write', 'smk');
    await store.add('Contact:003A', 'L1', { ref, smk: { score: '40', grade: 'warm' } }, 1000);
    const [taken] = await store.take(200, 60_000, 1000);
    await store.add('Contact:003A', 'L1', { ref, smk: { score: '45' } }, 1100);
    await store.ack(taken!, 1200);
    const [next] = await store.take(200, 60_000, 1300);
    expect(next?.payload.smk).toEqual({ score: '45', grade: 'warm' });
  });
});
