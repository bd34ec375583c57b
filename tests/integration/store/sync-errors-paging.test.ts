/**
 * The sync-errors report at scale: a million people give thousands of entries (the 1 % of
 * case-differing duplicate Leads alone), and the dashboard asks for a page of them on every
 * refresh. A page, a filter, the category counts and the clearing of one record's entries each read
 * what they show, not the whole report. The probe counts the elements of every reply the store's
 * client receives (an MGET of 1,500 keys is 1,500; a ZRANGE of the whole index as many).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'ioredis';
import { createKeys } from '../../../src/store/keys.js';
import type { Keys } from '../../../src/store/keys.js';
import { ensureLayout } from '../../../src/store/layout.js';
import { SyncErrorStore } from '../../../src/store/sync-errors.js';
import type { SyncError, SyncErrorInput } from '../../../src/store/sync-errors.js';
import type { RedisClient } from '../../../src/store/redis.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

/** Counts the elements of the replies the client receives, from `start()` on. */
function replyProbe(redis: RedisClient): { start(): void; elements(): number } {
  let elements = 0;
  const send = redis.sendCommand.bind(redis) as (command: Command, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: (command: Command, ...rest: unknown[]) => unknown }).sendCommand = (command, ...rest) => {
    command.promise.then(
      (reply: unknown) => {
        elements += Array.isArray(reply) ? reply.length : 1;
      },
      () => undefined,
    );
    return send(command, ...rest);
  };
  return {
    start: () => {
      elements = 0;
    },
    elements: () => elements,
  };
}

const CODES = ['AMBIGUOUS_MATCH', 'STRING_TOO_LONG', 'TRANSIENT'] as const;
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** 1,500 entries over both CRMs and three codes, each seen at its own time. */
function inputs(): Array<{ input: SyncErrorInput; at: number }> {
  return Array.from({ length: 1500 }, (_, i) => {
    const crm = i % 2 === 0 ? ('salesforce' as const) : ('hubspot' as const);
    const code = CODES[i % 3] as string;
    const object = crm === 'salesforce' ? 'Lead' : 'contact';
    const stage = code === 'AMBIGUOUS_MATCH' ? ('identity' as const) : ('write' as const);
    return { input: { crm, object, recordId: `r${i}`, leadId: `L${i}`, code, message: `${code} on r${i}`, field: stage === 'write' ? 'Title' : null, stage }, at: T0 + i * 1000 };
  });
}

/** What the report shows: newest first (ties: the larger id first, as ZREVRANGE orders them). */
function reference(all: SyncError[], filter: { crm?: string; code?: string } = {}): SyncError[] {
  return all
    .filter((e) => (!filter.crm || e.crm === filter.crm) && (!filter.code || e.code === filter.code))
    .sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

describe('the sync-errors report reads what it shows', () => {
  let t: TestRedis;
  let keys: Keys;
  let store: SyncErrorStore;
  let probe: ReturnType<typeof replyProbe>;
  const recorded: SyncError[] = [];

  beforeAll(async () => {
    t = await testRedis('errors-paging');
    keys = createKeys(t.prefix);
    store = new SyncErrorStore(t.redis, keys);
    for (const { input, at } of inputs()) recorded.push(await store.record(input, at));
    probe = replyProbe(t.redis);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('a page reads its own entries', async () => {
    probe.start();
    const page = await store.list({ limit: 50, offset: 100 });
    expect(probe.elements()).toBeLessThanOrEqual(150);
    expect(page.total).toBe(1500);
    expect(page.errors.map((e) => e.id)).toEqual(reference(recorded).slice(100, 150).map((e) => e.id));
  });

  it.each([{ crm: 'salesforce' as const }, { code: 'TRANSIENT' }, { crm: 'hubspot' as const, code: 'AMBIGUOUS_MATCH' }])('a filtered page (%o) reads what it shows, and counts all that match', async (filter) => {
    probe.start();
    const page = await store.list({ ...filter, limit: 20, offset: 40 });
    // A filter over several categories merges each one's first offset + limit entries.
    expect(probe.elements()).toBeLessThanOrEqual(3 * 2 * 60 + 60 + 20);
    const expected = reference(recorded, filter);
    expect(page.total).toBe(expected.length);
    expect(page.errors.map((e) => e.id)).toEqual(expected.slice(40, 60).map((e) => e.id));
  });

  it('counts by CRM and code without reading the entries', async () => {
    probe.start();
    const categories = await store.categories();
    expect(probe.elements()).toBeLessThanOrEqual(20);
    const counts = new Map<string, number>();
    for (const e of recorded) counts.set(`${e.crm} ${e.code}`, (counts.get(`${e.crm} ${e.code}`) ?? 0) + 1);
    expect(Object.fromEntries(categories.map((c) => [`${c.crm} ${c.code}`, c.count]))).toEqual(Object.fromEntries(counts));
    expect(categories.map((c) => c.count)).toEqual([...categories.map((c) => c.count)].sort((a, b) => b - a));
  });

  it('pages through every entry that matches, a page at a time', async () => {
    const seen: string[] = [];
    let largest = 0;
    probe.start();
    for await (const page of store.pages({ crm: 'hubspot' }, 100)) {
      largest = Math.max(largest, probe.elements());
      probe.start();
      seen.push(...page.map((e) => e.id));
    }
    // At most: each of the CRM's 3 categories refilled by a page (ids and scores), the page's entries, the counts.
    expect(largest).toBeLessThanOrEqual(3 * 2 * 100 + 100 + 20);
    expect(seen).toEqual(reference(recorded, { crm: 'hubspot' }).map((e) => e.id));
  });

  it('clearing one record reads that record\'s entries, and the counts follow', async () => {
    const before = await store.categories();
    probe.start();
    expect(await store.resolveRecord('salesforce', 'Lead', 'r6')).toBe(1);
    expect(probe.elements()).toBeLessThanOrEqual(20);
    const after = await store.categories();
    const count = (list: typeof before, code: string) => list.find((c) => c.crm === 'salesforce' && c.code === code)?.count;
    expect(count(after, 'AMBIGUOUS_MATCH')).toBe((count(before, 'AMBIGUOUS_MATCH') as number) - 1);
    expect((await store.list({ crm: 'salesforce', code: 'AMBIGUOUS_MATCH', limit: 1000 })).errors.map((e) => e.recordId)).not.toContain('r6');
    // A record id that is a prefix of another's clears only its own.
    expect(await store.resolveRecord('hubspot', 'contact', 'r1')).toBe(1);
    expect(await store.get('hubspot:contact:r11:write:TRANSIENT:Title')).not.toBeNull();
  });

  it('a category that empties leaves the counts', async () => {
    const k = createKeys(`${t.prefix}empty:`);
    const small = new SyncErrorStore(t.redis, k);
    await small.record({ crm: 'hubspot', object: 'contact', recordId: '9', code: 'INVALID_EMAIL', message: 'bad', stage: 'map' });
    await small.record({ crm: 'hubspot', object: 'contact', recordId: '9', code: 'VALIDATION_ERROR', message: 'bad', field: 'phone', stage: 'write' });
    expect((await small.categories()).map((c) => c.code).sort()).toEqual(['INVALID_EMAIL', 'VALIDATION_ERROR']);
    expect(await small.resolveWritten('hubspot', [{ object: 'contact', id: '9' }])).toBe(1);
    expect((await small.categories()).map((c) => c.code)).toEqual(['INVALID_EMAIL']);
    expect((await small.list({ code: 'VALIDATION_ERROR' })).total).toBe(0);
  });
});

describe('a report written before the indexes', () => {
  let t: TestRedis;
  afterAll(async () => {
    await t.cleanup();
  });

  it('is indexed at start: its pages, filters and counts hold every entry', async () => {
    t = await testRedis('errors-layout');
    const keys = createKeys(t.prefix);
    // The previous layout: each entry's JSON, and one index by time.
    const old = inputs().slice(0, 300);
    for (const { input, at } of old) {
      const id = [input.crm, input.object, input.recordId, input.stage, input.code, ...(input.field ? [input.field] : [])].join(':');
      const iso = new Date(at).toISOString();
      const entry = { id, crm: input.crm, object: input.object, recordId: input.recordId, leadId: input.leadId, code: input.code, message: input.message, field: input.field ?? null, value: null, stage: input.stage, firstSeen: iso, lastSeen: iso, attempts: 1 };
      await t.redis.set(keys.syncError(id), JSON.stringify(entry));
      await t.redis.zadd(keys.syncErrors(), at, id);
    }
    await t.redis.set(keys.meta('layout'), '3');
    await ensureLayout(t.redis, keys);
    const store = new SyncErrorStore(t.redis, keys);
    const all = (await store.list({ limit: 1000 })).errors;
    expect(all).toHaveLength(300);
    const page = await store.list({ crm: 'hubspot', code: 'TRANSIENT', limit: 10 });
    expect(page.total).toBe(reference(all, { crm: 'hubspot', code: 'TRANSIENT' }).length);
    expect(page.errors.map((e) => e.id)).toEqual(reference(all, { crm: 'hubspot', code: 'TRANSIENT' }).slice(0, 10).map((e) => e.id));
    expect((await store.categories()).reduce((n, c) => n + c.count, 0)).toBe(300);
    expect(await store.resolveRecord('hubspot', 'contact', 'r1')).toBe(1);
    expect(await store.count()).toBe(299);
  });
});
