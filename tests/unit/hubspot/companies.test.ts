import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companyFact } from '../../../connectors/hubspot/companies.js';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import type { AccountPage } from '../../../connectors/types.js';
import { fakeGate, fixture } from './helpers.js';

const company = (over: Record<string, unknown> = {}, props: Record<string, unknown> = {}) => ({
  id: '5000021',
  properties: { name: 'Globex Systems', domain: 'globex.example.com', hubspot_owner_id: '7000014', createdate: '2026-03-01T09:00:00.000Z', hs_lastmodifieddate: '2026-11-02T10:15:30.250Z', hs_object_id: '5000021', ...props },
  createdAt: new Date('2026-03-01T09:00:00.000Z'),
  updatedAt: new Date('2026-11-02T10:15:30.250Z'),
  archived: false,
  ...over,
});

describe('HubSpot company -> AccountFact', () => {
  it('maps the SDK form: domain as website, owner id, ISO times', () => {
    expect(companyFact(company())).toEqual({ fact: {
      source: 'hubspot', id: '5000021', name: 'Globex Systems', website: 'globex.example.com', ownerId: '7000014',
      createdAt: '2026-03-01T09:00:00.000Z', modifiedAt: '2026-11-02T10:15:30.250Z', deleted: false,
    } });
  });

  it('takes blank values as null, and an archived company as deleted at its archive time', () => {
    const archived = companyFact(company({ archived: true, archivedAt: new Date('2026-11-20T08:00:00.000Z') }, { hubspot_owner_id: '', domain: null }), true);
    expect(archived).toEqual({ fact: expect.objectContaining({ ownerId: null, website: null, deleted: true, modifiedAt: '2026-11-20T08:00:00.000Z' }) });
  });

  it('reports a company of the wrong shape by id and what is wrong', () => {
    expect(companyFact(company({}, { hubspot_owner_id: 'alice@example.com' }))).toEqual({ problem: {
      ref: null, code: 'VALIDATION', message: 'HubSpot company 5000021 does not have the expected shape: properties.hubspot_owner_id not an owner id',
    } });
    expect(companyFact(company({ createdAt: undefined }, { createdate: null }))).toEqual({ problem: expect.objectContaining({ message: 'HubSpot company 5000021 has no readable createdate or hs_lastmodifieddate' }) });
  });
});

describe('an app without the companies read scope', () => {
  const BASE = 'http://hubspot.test';
  beforeAll(() => {
    nock.disableNetConnect();
  });
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is told as PERMISSION (403 MISSING_SCOPES), as for deals', async () => {
    nock(BASE).get('/crm/v3/objects/companies').query(true).reply(403, fixture('error-403-missing-scopes.json') as object);
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate: fakeGate() });
    const pages: AccountPage[] = [];
    const err = await (async () => {
      for await (const page of connector.accounts!({}, { now: new Date('2026-12-01T00:00:00Z') })) pages.push(page);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ crm: 'hubspot', code: 'PERMISSION', vendorCode: 'MISSING_SCOPES' });
    expect(pages).toEqual([]);
  });
});
