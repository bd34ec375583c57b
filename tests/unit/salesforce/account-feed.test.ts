import { describe, expect, it } from 'vitest';
import { accountPageOf } from '../../../connectors/salesforce/account-feed.js';

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
