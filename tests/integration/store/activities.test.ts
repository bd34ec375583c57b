import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityFact } from '../../../connectors/types.js';
import { ActivityStore } from '../../../src/store/activities.js';
import { createKeys } from '../../../src/store/keys.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

let t: TestRedis;
let store: ActivityStore;

beforeEach(async () => {
  t = await testRedis('activities');
  store = new ActivityStore(t.redis, createKeys(t.prefix));
});
afterEach(async () => {
  await t.cleanup();
});

const LEAD = { object: 'Lead' as const, id: '00Q000000000001AAA' };
function fact(id: string, patch: Partial<ActivityFact> = {}): ActivityFact {
  return { source: 'salesforce', id, kind: 'call', who: LEAD, ownerId: '005000000000001AAA', subject: 'Intro call', completedAt: '2026-11-23T15:30:00.000Z', modifiedAt: '2026-11-23T15:30:00.000Z', deleted: false, ...patch };
}

describe('the activity store', () => {
  it('keeps the newest reading of each task: a page retried late or twice changes nothing', async () => {
    const reopened = fact('00T1', { completedAt: null, modifiedAt: '2026-11-23T16:00:00.000Z' });
    expect((await store.apply([reopened])).changed).toEqual([LEAD]);
    expect(await store.apply([fact('00T1'), reopened])).toEqual({ changed: [], stale: 1 });
    expect(await store.apply([fact('00T1')])).toEqual({ changed: [], stale: 1 });
    expect((await store.forRecords([LEAD.id])).map((a) => a.completedAt)).toEqual([null]);
  });

  it('drops a deleted task for good, and lists the others newest first', async () => {
    await store.apply([fact('00T1'), fact('00T2', { completedAt: '2026-11-24T09:00:00.000Z', modifiedAt: '2026-11-24T09:00:00.000Z', kind: 'email' })]);
    expect((await store.forRecords([LEAD.id, '003000000000001AAA'])).map((a) => [a.id, a.kind])).toEqual([['00T2', 'email'], ['00T1', 'call']]);
    await store.apply([fact('00T2', { deleted: true, modifiedAt: '2026-11-25T00:00:00.000Z' })]);
    await store.apply([fact('00T2', { completedAt: '2026-11-24T09:00:00.000Z', modifiedAt: '2026-11-24T09:00:00.000Z' })]);
    expect((await store.forRecords([LEAD.id])).map((a) => a.id)).toEqual(['00T1']);
  });
});
