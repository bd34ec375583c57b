import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountFact } from '../../../connectors/types.js';
import { AccountStore } from '../../../src/store/accounts.js';
import { createKeys } from '../../../src/store/keys.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

let t: TestRedis;
let store: AccountStore;

beforeEach(async () => {
  t = await testRedis('accounts');
  store = new AccountStore(t.redis, createKeys(t.prefix));
});

afterEach(async () => {
  await t.cleanup();
});

function fact(id: string, patch: Partial<AccountFact> = {}): AccountFact {
  return {
    source: 'salesforce',
    id,
    name: 'Acme, Inc.',
    website: 'https://www.acme.com/',
    ownerId: '005000000000001AAA',
    createdAt: '2024-01-01T00:00:00.000Z',
    modifiedAt: '2026-01-01T00:00:00.000Z',
    deleted: false,
    ...patch,
  };
}

const keys = { salesforceAccountId: null, hubspotCompanyId: null, website: null, emailDomain: null, nameKey: null };

describe('the account store', () => {
  it('finds accounts by id, website domain, a parent of the email domain and normalised name', async () => {
    await store.apply('salesforce', [fact('001A'), fact('001B', { name: 'Globex GmbH', website: 'globex.de' })]);
    const [byDomain, byParent, byName, byId, none] = await store.candidates('salesforce', [
      { ...keys, website: 'acme.com' },
      { ...keys, emailDomain: 'eu.acme.com' },
      { ...keys, nameKey: 'globex' },
      { ...keys, salesforceAccountId: '001B' },
      { ...keys, website: 'initech.com', nameKey: 'initech' },
    ]);
    expect(byDomain?.map((a) => a.id)).toEqual(['001A']);
    expect(byDomain?.[0]).toMatchObject({ crm: 'salesforce', name: 'Acme, Inc.', domain: 'acme.com', nameKey: 'acme', ownerId: '005000000000001AAA' });
    expect(byParent?.map((a) => a.id)).toEqual(['001A']);
    expect(byName?.map((a) => a.id)).toEqual(['001B']);
    expect(byId?.map((a) => a.id)).toEqual(['001B']);
    expect(none).toEqual([]);
  });

  it('never lets an older reading (a page retried late) roll an account back, and re-applying changes nothing', async () => {
    const newer = fact('001A', { ownerId: '005000000000002AAA', modifiedAt: '2026-02-01T00:00:00.000Z' });
    expect((await store.apply('salesforce', [newer])).changed).toEqual(['001A']);
    const applied = await store.apply('salesforce', [fact('001A'), newer]);
    expect(applied).toEqual({ changed: [], stale: 1 });
    const [found] = await store.candidates('salesforce', [{ ...keys, website: 'acme.com' }]);
    expect(found?.[0]?.ownerId).toBe('005000000000002AAA');
  });

  it('moves an account between index entries when its website or name changes, and drops a deleted one', async () => {
    await store.apply('salesforce', [fact('001A')]);
    await store.apply('salesforce', [fact('001A', { website: 'acme.io', name: 'Acme Labs', modifiedAt: '2026-02-01T00:00:00.000Z' })]);
    const [old, first, oldName] = await store.candidates('salesforce', [{ ...keys, website: 'acme.com' }, { ...keys, website: 'acme.io' }, { ...keys, nameKey: 'acme' }]);
    expect(old).toEqual([]);
    expect(oldName).toEqual([]);
    expect(first?.map((a) => a.id)).toEqual(['001A']);

    await store.apply('salesforce', [fact('001A', { deleted: true, website: 'acme.io', modifiedAt: '2026-03-01T00:00:00.000Z' })]);
    // A late page from before the deletion does not bring it back.
    await store.apply('salesforce', [fact('001A', { website: 'acme.io', modifiedAt: '2026-02-15T00:00:00.000Z' })]);
    const [gone] = await store.candidates('salesforce', [{ ...keys, website: 'acme.io', salesforceAccountId: '001A' }]);
    expect(gone).toEqual([]);
  });

  it('keeps each CRM\'s accounts apart', async () => {
    await store.apply('hubspot', [fact('5000001', { source: 'hubspot', website: 'acme.com', ownerId: '101' })]);
    const [sf] = await store.candidates('salesforce', [{ ...keys, website: 'acme.com' }]);
    const [hs] = await store.candidates('hubspot', [{ ...keys, website: 'acme.com', hubspotCompanyId: '5000001' }]);
    expect(sf).toEqual([]);
    expect(hs?.map((a) => [a.crm, a.id, a.ownerId])).toEqual([['hubspot', '5000001', '101']]);
  });

  it('reports a malformed stored record as an error naming the account, not as a missing account', async () => {
    await t.redis.hset(createKeys(t.prefix).accounts('salesforce'), '001Z', '{"name":');
    await t.redis.sadd(createKeys(t.prefix).accountDomain('salesforce', 'acme.com'), '001Z');
    await expect(store.candidates('salesforce', [{ ...keys, website: 'acme.com' }])).rejects.toThrow(/stored Salesforce account 001Z/);
  });
});
