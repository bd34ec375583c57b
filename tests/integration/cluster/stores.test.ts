/**
 * The stores on a real Redis Cluster (three masters): every MULTI, Lua script and multi-key
 * command keeps to one hash slot, and reads across many slots (many leads, both CRMs' accounts,
 * many records' activities) come back whole. On a single Redis none of this can fail, so these
 * run against a cluster: the CI's, or one started here.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { diagnose } from '../../../src/cli/doctor.js';
import { Cluster } from 'ioredis';
import type { AccountFact, ActivityFact } from '../../../connectors/types.js';
import { emptyLead } from '../../../src/sync/merge.js';
import { AccountStore } from '../../../src/store/accounts.js';
import { ActivityStore } from '../../../src/store/activities.js';
import { createKeys } from '../../../src/store/keys.js';
import { ensureLayout } from '../../../src/store/layout.js';
import { LeadStore } from '../../../src/store/leads.js';
import { OpenLeadIndex } from '../../../src/store/open-leads.js';
import { SyncErrorStore } from '../../../src/store/sync-errors.js';
import { deleteMatching, mgetAcross, scanKeys } from '../../../src/store/redis.js';
import { clusterPrefix, testCluster } from '../../helpers/redis-cluster.js';
import type { TestCluster } from '../../helpers/redis-cluster.js';

let cluster: TestCluster;
let t: ReturnType<typeof clusterPrefix>;

beforeAll(async () => {
  cluster = await testCluster();
  t = clusterPrefix(cluster.url, 'cluster-stores');
}, 60_000);

afterAll(async () => {
  await t?.cleanup();
  await cluster?.stop();
});

const AT = '2026-11-01T00:00:00.000Z';

describe('the stores on a Redis Cluster', () => {
  it('connects as a cluster of three masters', async () => {
    expect(t.redis).toBeInstanceOf(Cluster);
    expect((t.redis as Cluster).nodes('master')).toHaveLength(3);
  });

  it('saves, reads in bulk, versions and deletes leads (no CROSSSLOT)', async () => {
    const leads = new LeadStore(t.redis, createKeys(t.prefix));
    const ids = Array.from({ length: 40 }, (_, i) => `L${String(i).padStart(20, '0')}`);
    for (const id of ids) await leads.save({ lead: emptyLead(id, `${id}@example.com`, AT), views: {} });
    expect(await leads.count()).toBe(40);
    const many = await leads.getMany([...ids, 'Lmissing']);
    expect([...many.keys()].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) await leads.bumpVersion(id);
    expect(await leads.versions(ids.slice(0, 12))).toEqual([...Array(10).fill(1), 0, 0]);
    expect(await leads.finishEvaluation(ids[0] as string, 1)).toBe(1);
    expect(await leads.evaluatedVersions(ids.slice(0, 2))).toEqual([1, 0]);
    await leads.delete(ids[0] as string);
    expect(await leads.get(ids[0] as string)).toBeNull();
    expect(await leads.count()).toBe(39);
    let seen = 0;
    for await (const page of leads.all(7)) seen += page.length;
    expect(seen).toBe(39);
  });

  it('keeps the email index and the record links in buckets spread over the slots', async () => {
    const keys = createKeys(t.prefix);
    const leads = new LeadStore(t.redis, keys);
    const people = Array.from({ length: 60 }, (_, i) => ({ id: `L${String(i).padStart(20, '0')}`, email: `p${i}@example.com`, contact: String(500 + i) }));
    await Promise.all(people.map(async (p) => {
      expect(await leads.claimEmail(p.email, p.id)).toBe(true);
      await leads.setLink('hubspot', 'contact', p.contact, p.id);
    }));
    expect(await leads.claimEmail('p1@example.com', 'Lother')).toBe(false);
    expect(await leads.leadByEmail('p1@example.com')).toBe(people[1]?.id);
    expect(await leads.linkOf('hubspot', 'contact', '505')).toBe(people[5]?.id);
    // Removed only by the lead that holds it (a Lua script on the bucket's slot).
    await leads.removeEmail('p2@example.com', 'Lother');
    expect(await leads.leadByEmail('p2@example.com')).toBe(people[2]?.id);
    await leads.removeEmail('p2@example.com', people[2]?.id as string);
    expect(await leads.leadByEmail('p2@example.com')).toBeNull();
    await leads.removeLink('hubspot', 'contact', '505');
    expect(await leads.linkOf('hubspot', 'contact', '505')).toBeNull();
    // The buckets lie on every master, not on one slot.
    const buckets = new Set(people.flatMap((p) => [keys.emailIndex(p.email).key, keys.link('hubspot', 'contact', p.contact).key]));
    const perMaster = await Promise.all((t.redis as Cluster).nodes('master').map(async (node) => {
      let found = 0;
      for (const key of buckets) found += await node.exists(key).catch(() => 0);
      return found;
    }));
    expect(perMaster.every((n) => n > 0)).toBe(true);
  });

  it('moves the keys of layout 2 into the buckets and counters (across slots)', async () => {
    const prefix = `${t.prefix}:moved`;
    const keys = createKeys(prefix);
    await t.redis.set(keys.meta('layout'), '2');
    await t.redis.set(`${prefix}:email:ada@example.com`, 'Lada');
    await t.redis.set(`${prefix}:link:salesforce:Lead:00Q000000000001AAA`, 'Lada');
    await t.redis.set(`${prefix}:lead-version:{Lada}`, '4');
    await t.redis.set(`${prefix}:lead-evaluated:{Lada}`, '3');
    expect(await ensureLayout(t.redis, keys)).toBe(4);
    const leads = new LeadStore(t.redis, keys);
    expect(await leads.leadByEmail('ada@example.com')).toBe('Lada');
    expect(await leads.linkOf('salesforce', 'Lead', '00Q000000000001AAA')).toBe('Lada');
    expect(await leads.versions(['Lada'])).toEqual([4]);
    expect(await leads.evaluatedVersions(['Lada'])).toEqual([3]);
    expect(await t.redis.exists(`${prefix}:email:ada@example.com`)).toBe(0);
  });

  it('keeps the open-lead counts per owner', async () => {
    const open = new OpenLeadIndex(t.redis, createKeys(t.prefix));
    await open.place('L1', { ownerId: '005A', since: AT });
    await open.place('L2', { ownerId: '005A', since: AT });
    await open.place('L1', { ownerId: '005B', since: AT });
    await open.place('L2', null);
    expect(await open.counts(['005A', '005B', '005C'], null)).toEqual({ '005A': 0, '005B': 1, '005C': 0 });
  });

  it('matches accounts of both CRMs in one call, and lists activities of many records', async () => {
    const accounts = new AccountStore(t.redis, createKeys(t.prefix));
    const account = (source: 'salesforce' | 'hubspot', id: string): AccountFact => ({ source, id, name: 'Acme, Inc.', website: 'acme.com', ownerId: 'o1', createdAt: AT, modifiedAt: AT, deleted: false });
    await accounts.apply('salesforce', [account('salesforce', '001A')]);
    await accounts.apply('hubspot', [account('hubspot', '9001')]);
    const keys = { salesforceAccountId: null, hubspotCompanyId: null, website: 'acme.com', emailDomain: null, nameKey: 'acme' };
    const [sf, hs] = await accounts.candidatesIn(['salesforce', 'hubspot'], [keys, keys]);
    expect(sf?.map((perLead) => perLead.map((a) => a.id))).toEqual([['001A'], ['001A']]);
    expect(hs?.map((perLead) => perLead.map((a) => a.id))).toEqual([['9001'], ['9001']]);
    await accounts.noteMatches('salesforce', 'L1', null, '001A');
    expect(await accounts.leadsOf('salesforce', ['001A', '001B'])).toEqual(['L1']);

    const activities = new ActivityStore(t.redis, createKeys(t.prefix));
    const records = Array.from({ length: 12 }, (_, i) => `00Q00000000000${String(i).padStart(2, '0')}AAA`);
    const facts: ActivityFact[] = records.map((id, i) => ({ source: 'salesforce', id: `00T${i}`, kind: 'call', who: { object: 'Lead', id }, ownerId: 'o1', subject: 'Intro', completedAt: AT, modifiedAt: AT, deleted: false }));
    await activities.apply(facts);
    expect((await activities.forRecords(records)).map((a) => a.id).sort()).toEqual(facts.map((f) => f.id).sort());
  });

  it('reads keys of many slots with one call, and scans and deletes on every master', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `${t.prefix}:scan:${i}`);
    for (const [i, key] of keys.entries()) await t.redis.set(key, String(i));
    expect(await mgetAcross(t.redis, [...keys, `${t.prefix}:scan:none`])).toEqual([...keys.map((_, i) => String(i)), null]);
    const found: string[] = [];
    for await (const batch of scanKeys(t.redis, `${t.prefix}:scan:*`)) found.push(...batch);
    expect(found.sort()).toEqual([...keys].sort());
    expect(await deleteMatching(t.redis, `${t.prefix}:scan:*`)).toBe(30);
  });

  it('records, pages, counts and clears sync errors, and indexes an older report at start (one slot)', async () => {
    const keys = createKeys(`${t.prefix}errors:`);
    const errors = new SyncErrorStore(t.redis, keys);
    for (let i = 0; i < 30; i += 1) {
      await errors.record({ crm: i % 2 ? 'hubspot' : 'salesforce', object: i % 2 ? 'contact' : 'Lead', recordId: `r${i}`, code: i % 3 ? 'TRANSIENT' : 'AMBIGUOUS_MATCH', message: 'm', field: 'Title', stage: 'write' }, Date.parse(AT) + i);
    }
    expect((await errors.list({ crm: 'hubspot', limit: 5, offset: 2 })).errors.map((e) => e.recordId)).toEqual(['r25', 'r23', 'r21', 'r19', 'r17']);
    expect((await errors.categories()).reduce((n, c) => n + c.count, 0)).toBe(30);
    let paged = 0;
    for await (const page of errors.pages({ code: 'TRANSIENT' }, 4)) paged += page.length;
    expect(paged).toBe(20);
    expect(await errors.resolveRecord('hubspot', 'contact', 'r1')).toBe(1);
    expect(await errors.resolveWritten('salesforce', [{ object: 'Lead', id: 'r0' }])).toBe(1);
    expect(await errors.count()).toBe(28);
    // A report of layout 3 (no indexes but the one by time) is indexed by the layout step.
    for (const key of [keys.syncErrorCategories(), keys.syncErrorIds(), keys.syncErrorCategory('hubspot', 'TRANSIENT'), keys.syncErrorCategory('hubspot', 'AMBIGUOUS_MATCH'), keys.syncErrorCategory('salesforce', 'TRANSIENT'), keys.syncErrorCategory('salesforce', 'AMBIGUOUS_MATCH')]) await t.redis.del(key);
    await t.redis.set(keys.meta('layout'), '3');
    expect(await ensureLayout(t.redis, keys)).toBe(28);
    expect((await errors.categories()).reduce((n, c) => n + c.count, 0)).toBe(28);
  });
});

describe('smk doctor', () => {
  it('says which mode it is in: a Redis Cluster by its nodes, or a single Redis', async () => {
    const nodes = cluster.url.replace(/^redis\+cluster:\/\//, '');
    const onCluster = (await diagnose({ env: { REDIS_CLUSTER_NODES: nodes } })).find((c) => c.name === 'Redis');
    expect(onCluster).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^Redis Cluster mode: 3 masters answer at redis\+cluster:\/\/.*\(cluster_state:ok\)$/) });
    const single = (await diagnose({ env: { REDIS_URL: inject('redisUrl') } })).find((c) => c.name === 'Redis');
    expect(single).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^single-Redis mode: answers at redis:\/\//) });
    const both = await diagnose({ env: { REDIS_URL: inject('redisUrl'), REDIS_CLUSTER_NODES: nodes } });
    expect(both.find((c) => c.name === 'config')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/REDIS_CLUSTER_NODES.*not both/) });
  });
});
