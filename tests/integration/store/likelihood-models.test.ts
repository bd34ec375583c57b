/**
 * The likelihood model store on a real Redis: versions, the publish history and rollback, reading
 * through the schema, and pruning: a schedule that retrains daily keeps the newest versions and
 * every version in the publish history, not a year of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainLikelihoodModel } from '../../../src/rules/learn/model.js';
import type { LikelihoodModel } from '../../../src/rules/learn/model.js';
import { defaultRulesConfig } from '../../../src/rules/config.js';
import { createKeys } from '../../../src/store/keys.js';
import { LikelihoodModelStore, MAX_KEPT_MODELS } from '../../../src/store/likelihood-models.js';
import { NOW, outcomeWorld } from '../../helpers/outcome-world.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

describe('LikelihoodModelStore', () => {
  let t: TestRedis;
  let store: LikelihoodModelStore;
  let trained: Omit<LikelihoodModel, 'version'>;

  beforeAll(async () => {
    t = await testRedis('likelihood-models');
    store = new LikelihoodModelStore(t.redis, createKeys(t.prefix));
    trained = trainLikelihoodModel(outcomeWorld({ people: 300, seed: 3 }), defaultRulesConfig(), { target: 'opportunity', now: NOW });
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('keeps the newest versions and every published one, and drops the rest', async () => {
    const first = await store.save(trained);
    expect(await store.publish(first.version)).toBe(true);
    for (let i = 0; i < MAX_KEPT_MODELS + 5; i += 1) await store.save(trained);
    const versions = (await store.list()).map((m) => m.version);
    const newest = first.version + MAX_KEPT_MODELS + 5;
    expect(versions).toEqual([first.version, ...Array.from({ length: MAX_KEPT_MODELS }, (_, i) => newest - MAX_KEPT_MODELS + 1 + i)]);
    expect(await store.publishedVersion()).toBe(first.version);
    expect(await store.get(first.version + 1)).toBeNull();
  });

  it('refuses to publish a version it does not hold, and reads a stored model through its schema', async () => {
    expect(await store.publish(9999)).toBe(false);
    const latest = await store.latest();
    expect(latest?.features).toEqual(trained.features);
    await t.redis.hset(createKeys(t.prefix).likelihoodModels(), '9998', JSON.stringify({ version: 9998, target: 'maybe' }));
    await expect(store.get(9998)).rejects.toThrow(/target/);
  });
});
