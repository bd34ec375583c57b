import { describe, expect, it } from 'vitest';
import type { RulesConfigInput } from '../../../src/rules/config.js';
import {
  emptyPoolState,
  nextOwnerForEscalation,
  pickFromPool,
  releaseOwner,
  routeLead,
  selectPool,
} from '../../../src/rules/routing.js';
import type { PoolState } from '../../../src/rules/routing.js';
import { makeConfig, makeLead } from './helpers.js';

function routing(input: NonNullable<RulesConfigInput['routing']>) {
  return makeConfig({ routing: input }).routing;
}

/** Picks `n` times from one pool, threading the state; returns the sequence of owners. */
function picks(config: ReturnType<typeof routing>, pool: string, n: number, state: PoolState = emptyPoolState()) {
  const owners: Array<string | null> = [];
  for (let i = 0; i < n; i += 1) {
    const pick = pickFromPool(pool, config, state);
    owners.push(pick.ownerId);
    state = pick.nextPoolState;
  }
  return { owners, state };
}

function counts(owners: Array<string | null>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const owner of owners) result[String(owner)] = (result[String(owner)] ?? 0) + 1;
  return result;
}

describe('smooth weighted round-robin', () => {
  it('interleaves picks as nginx does (weights 5, 1, 1)', () => {
    const config = routing({ pools: { p: { members: [{ owner: 'a', weight: 5 }, { owner: 'b' }, { owner: 'c' }] } } });
    expect(picks(config, 'p', 7).owners).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('follows the weights exactly over many picks', () => {
    const config = routing({
      pools: { p: { members: [{ owner: 'a', weight: 3 }, { owner: 'b', weight: 2 }, { owner: 'c', weight: 1 }] } },
    });
    const { owners, state } = picks(config, 'p', 600);
    expect(counts(owners)).toEqual({ a: 300, b: 200, c: 100 });
    expect(state.open).toEqual({ a: 300, b: 200, c: 100 });
    // After whole rounds the weights are back where they started.
    expect(state.wrr.p).toEqual({ a: 0, b: 0, c: 0 });
  });

  it('equal weights alternate in config order', () => {
    const config = routing({ pools: { p: { members: [{ owner: 'a' }, { owner: 'b' }, { owner: 'c' }] } } });
    expect(picks(config, 'p', 6).owners).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('skips owners marked away', () => {
    const config = routing({
      pools: { p: { members: [{ owner: 'a', weight: 5, away: true }, { owner: 'b', weight: 1 }, { owner: 'c', weight: 1 }] } },
    });
    expect(picks(config, 'p', 4).owners).toEqual(['b', 'c', 'b', 'c']);
  });

  it('skips owners at their cap of open leads', () => {
    const config = routing({ pools: { p: { members: [{ owner: 'a', weight: 3, cap: 2 }, { owner: 'b', weight: 1 }] } } });
    const { owners, state } = picks(config, 'p', 6);
    expect(owners).toEqual(['a', 'a', 'b', 'b', 'b', 'b']);
    expect(state.open).toEqual({ a: 2, b: 4 });
    // Once a closes a lead it is eligible again; its round-robin weight carries on from where
    // it stood (a -2, b 2), so b comes first once more.
    expect(picks(config, 'p', 3, releaseOwner(state, 'a')).owners).toEqual(['b', 'a', 'b']);
  });

  it('counts open leads already held from outside routing', () => {
    const config = routing({ pools: { p: { members: [{ owner: 'a', cap: 5 }, { owner: 'b', cap: 5 }] } } });
    const state: PoolState = { wrr: {}, open: { a: 5, b: 4 } };
    const first = pickFromPool('p', config, state);
    expect(first.ownerId).toBe('b');
    expect(pickFromPool('p', config, first.nextPoolState)).toMatchObject({
      ownerId: null,
      reason: 'no owner available in pool "p" (all away, at their cap or excluded)',
    });
  });

  it('does not change the state it is given', () => {
    const config = routing({ pools: { p: { members: [{ owner: 'a' }, { owner: 'b' }] } } });
    const state: PoolState = { wrr: { p: { a: 0, b: 0 } }, open: { a: 1 } };
    const frozen = JSON.stringify(state);
    pickFromPool('p', config, state);
    expect(JSON.stringify(state)).toBe(frozen);
  });
});

describe('routeLead', () => {
  const config = routing({
    rules: [
      { when: { field: 'person.country', in: ['US', 'CA'] }, and: [{ field: 'company.employees', gte: 1000 }], pool: 'enterprise' },
      { when: { field: 'person.country', in: ['US', 'CA'] }, pool: 'na' },
      { when: { field: 'company.industry', equals: 'Healthcare' }, pool: 'health' },
    ],
    defaultPool: 'na',
    ignoreOwners: ['005INTEGRATION'],
    pools: {
      enterprise: { members: [{ owner: '005E1' }] },
      na: { members: [{ owner: '005N1', weight: 2 }, { owner: '005N2' }, { owner: '005AWAY', away: true }] },
      health: { members: [{ owner: '005H1', cap: 1 }] },
    },
  });

  const cases: Array<[string, Parameters<typeof makeLead>[0], Parameters<typeof routeLead>[3], string | null, string, string]> = [
    ['the account owner first', { person: { country: 'US' } }, { accountOwnerId: '005ACC', existingOwnerId: '005OLD' }, '005ACC', 'account', 'owner of the matching account'],
    ['then the existing owner', { person: { country: 'US' } }, { existingOwnerId: '005OLD' }, '005OLD', 'existing', 'owner of the existing record'],
    ['a queue is not an owner', { person: { country: 'US' } }, { existingOwnerId: '00G000000000001' }, '005N1', 'pool', 'routing rule 2: round-robin in pool "na"'],
    ['an ignored owner is not an owner', { person: { country: 'US' } }, { accountOwnerId: '005INTEGRATION' }, '005N1', 'pool', 'routing rule 2: round-robin in pool "na"'],
    [
      'an account owner who is away is skipped',
      { person: { country: 'US' } },
      { accountOwnerId: '005AWAY' },
      '005N1',
      'pool',
      'owner of the matching account is away; routing rule 2: round-robin in pool "na"',
    ],
    ['rules with and', { person: { country: 'ca' }, company: { employees: 5000 } }, {}, '005E1', 'pool', 'routing rule 1: round-robin in pool "enterprise"'],
    ['first matching rule wins', { person: { country: 'US' }, company: { industry: 'Healthcare' } }, {}, '005N1', 'pool', 'routing rule 2: round-robin in pool "na"'],
    ['a later rule', { person: { country: 'DE' }, company: { industry: 'healthcare' } }, {}, '005H1', 'pool', 'routing rule 3: round-robin in pool "health"'],
    ['the default pool', { person: { country: 'DE' } }, {}, '005N1', 'pool', 'default pool: round-robin in pool "na"'],
  ];

  it.each(cases)('%s', (_name, input, context, ownerId, via, reason) => {
    const result = routeLead(makeLead(input), config, emptyPoolState(), context);
    expect({ ownerId: result.ownerId, via: result.via, reason: result.reason }).toEqual({ ownerId, via, reason });
    expect(result.nextPoolState.open[ownerId as string]).toBe(1);
  });

  it('says which account matched and why when the account owner takes the lead', () => {
    const lead = makeLead({
      person: { country: 'US' },
      account: { salesforce: { id: '001A', name: 'Acme', ownerId: '005ACC', by: 'email-domain', reason: 'email domain acme.com is the website of Salesforce Account "Acme"' } },
    });
    const result = routeLead(lead, config, emptyPoolState(), { accountOwnerId: '005ACC' });
    expect(result.reason).toBe('owner of the matching account: email domain acme.com is the website of Salesforce Account "Acme"');
    // The HubSpot company's owner, when Salesforce has no matching Account.
    const company = makeLead({ account: { hubspot: { id: '5000001', name: 'Acme', ownerId: '101', by: 'record', reason: 'the contact\'s primary company in HubSpot is "Acme"' } } });
    expect(routeLead(company, config, emptyPoolState(), { accountOwnerId: '005ACC' }).reason).toBe('owner of the matching account: the contact\'s primary company in HubSpot is "Acme"');
  });

  it('returns no owner, with the reason, when nobody is available', () => {
    const health = makeLead({ person: { country: 'DE' }, company: { industry: 'Healthcare' } });
    const full: PoolState = { wrr: {}, open: { '005H1': 1 } };
    expect(routeLead(health, config, full)).toEqual({
      ownerId: null,
      pool: 'health',
      via: 'none',
      reason: 'routing rule 3: no owner available in pool "health" (all away, at their cap or excluded)',
      nextPoolState: full,
    });
    const bare = routing({});
    expect(routeLead(makeLead(), bare, undefined)).toMatchObject({
      ownerId: null,
      via: 'none',
      reason: 'no routing rule matched and no default pool is set',
    });
  });

  it('selects pools without picking', () => {
    expect(selectPool(makeLead({ person: { country: 'MX' } }), config)).toEqual({ pool: 'na', reason: 'default pool' });
  });
});

describe('nextOwnerForEscalation', () => {
  const config = routing({
    defaultPool: 'na',
    pools: { na: { members: [{ owner: 'a', weight: 2 }, { owner: 'b' }, { owner: 'c', away: true }] } },
  });

  it('reassigns to another owner of the pool and moves the open count', () => {
    const state: PoolState = { wrr: {}, open: { a: 1 } };
    const result = nextOwnerForEscalation(makeLead(), config, state, 'a');
    expect(result).toEqual({
      ownerId: 'b',
      pool: 'na',
      via: 'pool',
      reason: 'SLA escalation: round-robin in pool "na"',
      nextPoolState: { wrr: { na: { b: 0 } }, open: { a: 0, b: 1 } },
    });
  });

  it('says so when there is nobody else', () => {
    const solo = routing({ defaultPool: 'na', pools: { na: { members: [{ owner: 'a' }] } } });
    expect(nextOwnerForEscalation(makeLead(), solo, undefined, 'a')).toMatchObject({
      ownerId: null,
      reason: 'no owner available in pool "na" (all away, at their cap or excluded)',
    });
  });
});
