/**
 * The account feed through jsforce against the Salesforce sandbox: every seeded Account from an
 * empty position (name, website, owner, creation and modification times), then only what changed
 * (an owner moved, a new Account, one deleted and seen through queryAll), one query per page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { AccountPage, FeedPosition } from '../../../connectors/types.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

async function drainAccounts(pages: AsyncIterable<AccountPage>, start: FeedPosition): Promise<{ pages: AccountPage[]; position: FeedPosition }> {
  const position = { ...start };
  const out: AccountPage[] = [];
  for await (const page of pages) {
    out.push(page);
    if (page.position) position[page.stream] = page.position;
  }
  return { pages: out, position };
}

describe('Salesforce account feed', () => {
  let h: Harness;
  let sf: SalesforceConnector;
  let position: FeedPosition = {};

  const poll = (pageSize?: number) => {
    h.sandbox.clock.advance(2_000);
    const connector = pageSize ? h.connector({ pageSize }) : sf;
    return drainAccounts(connector.accounts!(position, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 }), position);
  };

  beforeAll(async () => {
    h = await startHarness('sf-accounts', 800, 11);
    sf = h.connector();
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('reads every Account from an empty position, with its website and owner, in one query', async () => {
    const seeded = h.world.companies.filter((c) => c.hasAccount);
    expect(seeded.length).toBeGreaterThan(10);
    await h.resetStats();
    const read = await poll();
    position = read.position;
    expect(read.pages.every((p) => p.stream === 'Account' && p.problems.length === 0)).toBe(true);
    const facts = read.pages.flatMap((p) => p.accounts);
    // Every Account the org holds: the seeded ones and those the seeded conversions made.
    expect(facts).toHaveLength(h.sandbox.store.list('Account').length);
    for (const c of seeded) {
      const fact = facts.find((f) => f.name === c.name && f.website === `www.${c.domain}`);
      expect(fact, c.name).toMatchObject({ source: 'salesforce', ownerId: h.world.owners[c.accountOwner]!.salesforceId, deleted: false });
      expect(fact!.id).toMatch(/^001[A-Za-z0-9]{15}$/);
      expect(fact!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
      expect(Date.parse(fact!.modifiedAt)).toBeGreaterThanOrEqual(Date.parse(fact!.createdAt));
    }
    const { calls } = await h.stats();
    expect(Object.entries(calls).filter(([k]) => k.includes('/query')).reduce((n, [, c]) => n + c, 0)).toBe(1);
    expect((await poll()).pages).toEqual([]);
  });

  it('pages by (SystemModstamp, Id): a small page size reads the same Accounts once each', async () => {
    const all = await drainAccounts(h.connector({ pageSize: 7 }).accounts!({}, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 }), {});
    const ids = all.pages.flatMap((p) => p.accounts.map((a) => a.id));
    expect(all.pages.length).toBeGreaterThan(2);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(h.sandbox.store.list('Account').length);
  });

  it('hands on an owner change, a new Account, and a deleted one (queryAll)', async () => {
    const store = h.sandbox.store;
    const [moved, doomed] = store.list('Account');
    const newOwner = h.world.owners[5]!.salesforceId;
    store.update(moved!, { OwnerId: newOwner });
    const made = store.insert('Account', { Name: 'Feed Account GmbH', Website: 'https://feed-account.example/' });
    store.softDelete(doomed!);
    const read = await poll();
    position = read.position;
    const facts = read.pages.flatMap((p) => p.accounts);
    expect(facts.map((f) => f.id).sort()).toEqual([moved!.Id, made.Id, doomed!.Id].map(String).sort());
    expect(facts.find((f) => f.id === moved!.Id)).toMatchObject({ ownerId: newOwner, deleted: false });
    expect(facts.find((f) => f.id === made.Id)).toMatchObject({ name: 'Feed Account GmbH', website: 'https://feed-account.example/', deleted: false });
    expect(facts.find((f) => f.id === doomed!.Id)).toMatchObject({ deleted: true });
    expect((await poll()).pages).toEqual([]);
  });
});
