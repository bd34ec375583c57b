/**
 * The stores' Lua scripts go to Redis by their SHA1 (EVALSHA), their text only when Redis does not
 * have them yet: sending a script's text with every call (EVAL) made the hot path's writes
 * (held values, pending entries, an evaluation's end) carry up to 900 bytes of Lua each, and made
 * Redis hash the text on every call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createKeys } from '../../../src/store/keys.js';
import { HeldStore } from '../../../src/store/held.js';
import { LeadStore } from '../../../src/store/leads.js';
import { PendingStore } from '../../../src/store/pending.js';
import { createRedis, startPrivateRedis } from '../../../src/store/redis.js';
import type { RecordUpdate } from '../../../connectors/types.js';
import { testRedis, type TestRedis } from '../../helpers/redis.js';
import { watchCommands } from '../../helpers/redis-monitor.js';

describe('Lua scripts are called by their SHA1', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('lua');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('sends a script text at most once however often the stores run it', async () => {
    const keys = createKeys(`${t.prefix}a`);
    const watch = await watchCommands(t.redis, t.prefix);
    const held = new HeldStore(t.redis, keys);
    const leads = new LeadStore(t.redis, keys);
    const pending = new PendingStore<RecordUpdate>(t.redis, keys, 'hubspot', 'write', 'smk');
    for (let i = 0; i < 10; i += 1) {
      await held.recordRead('hubspot', `L${i}`, { score: String(i) }, 1000 + i, null, null);
      await held.recordWritten('hubspot', `L${i}`, { score: String(i + 1) }, 2000 + i);
      await pending.add(`contact:${i}`, `L${i}`, { ref: { object: 'contact', id: String(i) }, smk: { score: String(i) } }, 1000);
      await leads.finishEvaluation(`L${i}`, 0);
    }
    const taken = await pending.take(100, 60_000, 2000);
    for (const entry of taken) await pending.ack(entry, 2001);
    const seen = await watch.stop();

    const byName = (name: string) => seen.filter((args) => args[0]?.toLowerCase() === name);
    // The values arrived as before.
    expect((await held.get('hubspot', 'L3'))?.values.score).toBe('4');
    expect(taken).toHaveLength(10);
    // 10 x 4 calls plus the take and 10 acks: 51 script calls, each script's text sent at most once.
    const evals = byName('eval');
    const texts = new Set(evals.map((args) => args[1]));
    expect(evals.length).toBe(texts.size);
    expect(evals.length).toBeLessThanOrEqual(5);
    expect(byName('evalsha').length + evals.length).toBe(51);
  });

  it('still runs a script that Redis has forgotten (a restart, a new cluster node)', async () => {
    // A private server: its script cache is flushed here, which the shared one's users would feel.
    const server = await startPrivateRedis();
    const redis = createRedis(server.url) as Redis;
    try {
      const held = new HeldStore(redis, createKeys('smk-test:lua-flush'));
      await held.recordRead('salesforce', 'L1', { score: '1' }, 1000, null, null);
      await redis.script('FLUSH');
      await held.recordWritten('salesforce', 'L1', { grade: 'hot' }, 2000);
      expect((await held.get('salesforce', 'L1'))?.values).toEqual({ score: '1', grade: 'hot' });
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
