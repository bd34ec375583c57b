/**
 * The dashboard's reports are one pass over every stored lead. Kept fresh for a fixed few seconds,
 * a dashboard left open at a million people (a pass of the better part of a minute) would run one
 * pass after another. A computed value now also stays fresh for ten times as long as it took to
 * compute, so that the passes take at most a tenth of the process's time however large the store;
 * a value asked for as fresh (`fresh()`) is still computed anew.
 */
import { describe, expect, it } from 'vitest';
import { Cached } from '../../src/server/snapshot.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the reports cache', () => {
  it('keeps a value fresh for ten times its computation time when that is longer than its time to live', async () => {
    let computed = 0;
    const cache = new Cached(10, async () => {
      computed += 1;
      await sleep(60);
      return computed;
    });
    expect(await cache.get()).toBe(1);
    await sleep(100);
    // 100 ms later: past the 10 ms to live, within 10 x 60 ms.
    expect(await cache.get()).toBe(1);
    expect(computed).toBe(1);
    expect(await cache.fresh()).toBe(2);
  });

  it('keeps a quick value for its time to live only', async () => {
    let computed = 0;
    const cache = new Cached(30, async () => (computed += 1));
    expect(await cache.get()).toBe(1);
    await sleep(60);
    expect(await cache.get()).toBe(2);
  });
});
