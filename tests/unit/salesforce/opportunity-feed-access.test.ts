/**
 * An integration user who may not see Opportunity: SOQL on it answers INVALID_TYPE ("sObject type
 * 'Opportunity' is not supported"), which the feed raises as PERMISSION naming the object, so that
 * jobs/opportunities.ts reports what to grant while people go on syncing (before, it surfaced as
 * VALIDATION and failed the poll).
 */
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { SalesforceClient } from '../../../connectors/salesforce/client.js';
import { readOpportunities } from '../../../connectors/salesforce/opportunities.js';
import type { QuotaGate } from '../../../connectors/types.js';

const INSTANCE = 'https://acme.my.salesforce.com';
const gate: QuotaGate = { take: async () => undefined, observe: async () => undefined, report: async () => ({ crm: 'salesforce', dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }) };

afterEach(() => {
  nock.cleanAll();
});

describe('an integration user who may not read Opportunity', () => {
  it('is told as PERMISSION, naming Opportunity', async () => {
    nock(INSTANCE).get(/\/services\/data\/v62\.0\/queryAll/).reply(400, [{
      message: "sObject type 'Opportunity' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
      errorCode: 'INVALID_TYPE',
    }]);
    const client = new SalesforceClient({ instanceUrl: INSTANCE, loginUrl: 'https://login.salesforce.com', accessToken: 'token', clientId: 'cid', clientSecret: 'secret', gate });
    const read = async () => {
      for await (const page of readOpportunities({ client } as Parameters<typeof readOpportunities>[0], {})) void page;
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toMatchObject({ crm: 'salesforce', code: 'PERMISSION', vendorCode: 'INVALID_TYPE' });
    expect((err as Error).message).toMatch(/cannot read Opportunity/);
  });
});
