import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { CrmError } from '../../../connectors/errors.js';
import { accountPageOf, readAccounts } from '../../../connectors/salesforce/account-feed.js';
import { SalesforceClient } from '../../../connectors/salesforce/client.js';
import type { QuotaGate } from '../../../connectors/types.js';

const row = (over: Record<string, unknown> = {}) => ({
  attributes: { type: 'Account' },
  Id: '001000000000001AAA',
  Name: 'Acme Inc',
  Website: 'www.acme.example',
  OwnerId: '005000000000001AAA',
  CreatedDate: '2026-11-01T10:00:00.000+0000',
  SystemModstamp: '2026-11-02T11:30:00.000+0000',
  IsDeleted: false,
  ...over,
});

describe('Salesforce Account rows as AccountFacts', () => {
  it('maps a row, blank text as null and stamps as ISO', () => {
    const page = accountPageOf([row({ Website: '  ', OwnerId: null })], { ts: '2026-11-02T11:30:00.000Z', id: '001000000000001AAA' });
    expect(page.problems).toEqual([]);
    expect(page.accounts).toEqual([{
      source: 'salesforce', id: '001000000000001AAA', name: 'Acme Inc', website: null, ownerId: null,
      createdAt: '2026-11-01T10:00:00.000Z', modifiedAt: '2026-11-02T11:30:00.000Z', deleted: false,
    }]);
  });

  it('reports a row of the wrong shape by id and field, and keeps the others', () => {
    const page = accountPageOf([row({ Id: '001000000000002AAA', SystemModstamp: 'yesterday' }), row({ IsDeleted: true })], null);
    expect(page.accounts.map((a) => [a.id, a.deleted])).toEqual([['001000000000001AAA', true]]);
    expect(page.problems).toEqual([{ ref: null, code: 'VALIDATION', field: 'SystemModstamp', message: 'Account 001000000000002AAA row does not have the expected shape: SystemModstamp not a date-time' }]);
  });
});

describe('an integration user who may not read Account', () => {
  const INSTANCE = 'https://acme.my.salesforce.com';
  const gate: QuotaGate = { take: async () => undefined, observe: async () => undefined, report: async () => ({ crm: 'salesforce', dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }) };
  const client = () => new SalesforceClient({ instanceUrl: INSTANCE, loginUrl: 'https://login.salesforce.com', accessToken: 'token', clientId: 'cid', clientSecret: 'secret', gate });
  const read = async () => {
    const pages = [];
    for await (const page of readAccounts({ client: client() }, {})) pages.push(page);
    return pages;
  };
  afterEach(() => {
    nock.cleanAll();
  });

  // Without Read on an object, SOQL on it answers INVALID_TYPE, "sObject type 'Account' is not
  // supported" (the object is invisible to the user), not INSUFFICIENT_ACCESS.
  it('is told as PERMISSION, naming Account, when the query answers INVALID_TYPE', async () => {
    nock(INSTANCE).get(/\/services\/data\/v62\.0\/queryAll/).reply(400, [{
      message: "\nSELECT Id, Name, Website, OwnerId, CreatedDate, SystemModstamp, IsDeleted FROM Account\n                                                                         ^\nERROR at Row:1:Column:74\nsObject type 'Account' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
      errorCode: 'INVALID_TYPE',
    }]);
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject({ crm: 'salesforce', code: 'PERMISSION', vendorCode: 'INVALID_TYPE' });
    expect((err as Error).message).toMatch(/cannot read Account/);
  });

  it('is told as PERMISSION when the query answers INSUFFICIENT_ACCESS', async () => {
    nock(INSTANCE).get(/\/services\/data\/v62\.0\/queryAll/).reply(403, [{ message: 'insufficient access rights on object id', errorCode: 'INSUFFICIENT_ACCESS' }]);
    await expect(read()).rejects.toMatchObject({ code: 'PERMISSION' });
  });
});
