import { describe, expect, it } from 'vitest';
import { accountKeys, companyNameKey, matchAccount } from '../../../src/sync/account-match.js';
import type { AccountCandidate } from '../../../src/sync/account-match.js';
import { emptyLead } from '../../../src/sync/merge.js';
import type { Lead } from '../../../src/model/lead.js';

function lead(patch: { email?: string | null; company?: Lead['company']; links?: Lead['links'] }): Lead {
  const base = emptyLead('L1', patch.email ?? null, '2026-01-01T00:00:00.000Z');
  return { ...base, company: patch.company ?? {}, links: patch.links ?? {} };
}

function account(id: string, patch: Partial<AccountCandidate> = {}): AccountCandidate {
  const name = patch.name ?? `Account ${id}`;
  return {
    crm: 'salesforce',
    id,
    name,
    domain: null,
    nameKey: companyNameKey(name),
    ownerId: '005000000000001AAA',
    createdAt: '2024-01-01T00:00:00.000Z',
    ...patch,
  };
}

describe('company names, normalised for matching', () => {
  it.each([
    ['Acme, Inc.', 'acme'],
    ['ACME Incorporated', 'acme'],
    ['Acme Corp', 'acme'],
    ['Müller GmbH', 'muller'],
    ['Müller G.m.b.H.', 'muller'],
    ['The Widget Company Ltd', 'widget'],
    ['Widget Co., Limited', 'widget'],
    ['Northwind Traders LLC', 'northwind traders'],
    ['Société Générale S.A.', 'societe generale'],
    ['  Globex   Pty Ltd ', 'globex'],
    ['A&B Holdings Plc', 'a b holdings'],
  ])('%s -> %s', (name, key) => {
    expect(companyNameKey(name)).toBe(key);
  });

  it('keeps a name that is nothing but a suffix or too short to tell companies apart as no key', () => {
    expect(companyNameKey('Inc.')).toBeNull();
    expect(companyNameKey('  ')).toBeNull();
    expect(companyNameKey('X')).toBeNull();
    expect(companyNameKey(null)).toBeNull();
  });
});

describe('the keys a lead is looked up by', () => {
  it('takes the website host, the email domain unless it is a free-mail one, the name and the record links', () => {
    const keys = accountKeys(
      lead({
        email: 'ana@Sales.Acme.com',
        company: { name: 'Acme, Inc.', domain: 'https://www.acme.com/about' },
        links: { salesforce: { object: 'Contact', id: '003000000000001AAA', accountId: '001000000000001AAA' }, hubspot: { id: '51', companyId: '5000001' } },
      }),
    );
    expect(keys).toEqual({
      salesforceAccountId: '001000000000001AAA',
      hubspotCompanyId: '5000001',
      website: 'acme.com',
      emailDomain: 'sales.acme.com',
      nameKey: 'acme',
    });
    expect(accountKeys(lead({ email: 'ana@gmail.com' })).emailDomain).toBeNull();
    expect(accountKeys(lead({ email: 'ana@acme.io' }), new Set(['acme.io'])).emailDomain).toBeNull();
  });
});

describe('matching a lead to an account', () => {
  const byWebsite = account('001A', { domain: 'acme.com', name: 'Acme (website)' });
  const byEmail = account('001B', { domain: 'acme-mail.com', name: 'Acme Mail' });
  const byName = account('001C', { name: 'ACME Incorporated', domain: 'acme.de' });
  const linked = account('001D', { name: 'Parent Holding', domain: 'parent.com' });

  it('prefers, in order: the record\'s own account, the website domain, the email domain, the name', () => {
    const keys = { salesforceAccountId: '001D', hubspotCompanyId: null, website: 'acme.com', emailDomain: 'acme-mail.com', nameKey: 'acme' };
    const all = [byName, byEmail, byWebsite, linked];
    expect(matchAccount('salesforce', keys, all)?.by).toBe('record');
    expect(matchAccount('salesforce', { ...keys, salesforceAccountId: null }, all)).toMatchObject({ id: '001A', by: 'website' });
    expect(matchAccount('salesforce', { ...keys, salesforceAccountId: null, website: null }, all)).toMatchObject({ id: '001B', by: 'email-domain' });
    expect(matchAccount('salesforce', { ...keys, salesforceAccountId: null, website: null, emailDomain: null }, all)).toMatchObject({ id: '001C', by: 'name' });
    expect(matchAccount('salesforce', { salesforceAccountId: null, hubspotCompanyId: null, website: null, emailDomain: null, nameKey: null }, all)).toBeNull();
  });

  it('says why, naming the account and what matched', () => {
    const match = matchAccount('salesforce', { salesforceAccountId: null, hubspotCompanyId: null, website: null, emailDomain: 'acme-mail.com', nameKey: null }, [byEmail]);
    expect(match).toEqual({ id: '001B', name: 'Acme Mail', ownerId: '005000000000001AAA', by: 'email-domain', reason: 'email domain acme-mail.com is the website of Salesforce Account "Acme Mail"' });
    const named = matchAccount('salesforce', { salesforceAccountId: null, hubspotCompanyId: null, website: null, emailDomain: null, nameKey: 'acme' }, [byName]);
    expect(named?.reason).toBe('company name matches Salesforce Account "ACME Incorporated" (as "acme")');
  });

  it('matches an email on a subdomain of the account\'s domain, but never the other way round', () => {
    const keys = { salesforceAccountId: null, hubspotCompanyId: null, website: null, emailDomain: 'eu.acme.com', nameKey: null };
    expect(matchAccount('salesforce', keys, [byWebsite])).toMatchObject({ id: '001A', by: 'email-domain' });
    expect(matchAccount('salesforce', { ...keys, emailDomain: 'com' }, [byWebsite])).toBeNull();
    expect(matchAccount('salesforce', { ...keys, emailDomain: 'notacme.com' }, [byWebsite])).toBeNull();
  });

  it('breaks a tie among accounts sharing the key: one with an owner, then the oldest, then the lowest id', () => {
    const keys = { salesforceAccountId: null, hubspotCompanyId: null, website: 'acme.com', emailDomain: null, nameKey: null };
    const old = account('001Z', { domain: 'acme.com', createdAt: '2020-01-01T00:00:00.000Z' });
    const young = account('001Y', { domain: 'acme.com', createdAt: '2025-01-01T00:00:00.000Z' });
    const ownerless = account('001X', { domain: 'acme.com', createdAt: '2019-01-01T00:00:00.000Z', ownerId: null });
    const twin = account('001W', { domain: 'acme.com', createdAt: '2020-01-01T00:00:00.000Z' });
    expect(matchAccount('salesforce', keys, [young, old, ownerless])?.id).toBe('001Z');
    expect(matchAccount('salesforce', keys, [old, twin])?.id).toBe('001W');
    expect(matchAccount('salesforce', keys, [young, old, ownerless])?.reason).toContain('(the oldest with an owner of 3 with that domain)');
  });

  it('reads only the asked CRM\'s accounts; HubSpot companies by the contact\'s primary company', () => {
    const company: AccountCandidate = { ...account('5000001', { domain: 'acme.com', name: 'Acme' }), crm: 'hubspot', ownerId: '101' };
    const keys = { salesforceAccountId: null, hubspotCompanyId: '5000001', website: 'acme.com', emailDomain: null, nameKey: null };
    expect(matchAccount('salesforce', keys, [company])).toBeNull();
    expect(matchAccount('hubspot', keys, [company])).toMatchObject({ id: '5000001', by: 'record', reason: 'the contact\'s primary company in HubSpot is "Acme"' });
  });
});
