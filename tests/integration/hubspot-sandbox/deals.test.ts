/**
 * Deals, companies and v4 associations through the official client: the default pipeline's
 * stages and the closed/won flags they imply, a stage outside the pipeline refused, search on
 * hs_lastmodifieddate with its limits, and the v4 association shapes (single and batch read).
 */
import type { Client } from '@hubspot/api-client';
import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/deals/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { officialClient, raw } from './helpers.js';

let sandbox: HubSpotSandbox;
let client: Client;
let contactId: string;

const TO_CONTACT = [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 3 }];

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ rateLimits: { searchPerSecond: 0, perTenSeconds: 0 } });
  client = officialClient(sandbox);
  contactId = (await client.crm.contacts.basicApi.create({ properties: { email: 'ada@acme.example', firstname: 'Ada' }, associations: [] })).id;
});
afterAll(async () => {
  await sandbox.close();
});

describe('deals', () => {
  it('creates a deal associated with a contact, with the closed and won flags of its stage', async () => {
    const deal = await client.crm.deals.basicApi.create({
      properties: { dealname: 'Acme seats', dealstage: 'contractsent', amount: '12000.50', closedate: '2026-12-20T00:00:00.000Z' },
      associations: [{ to: { id: contactId }, types: TO_CONTACT }],
    });
    expect(deal.properties).toMatchObject({ dealname: 'Acme seats', dealstage: 'contractsent', pipeline: 'default', amount: '12000.50', closedate: '2026-12-20T00:00:00.000Z' });
    expect(deal.createdAt).toBeInstanceOf(Date);
    const read = await client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won', 'dealstage', 'hs_lastmodifieddate']);
    expect(read.properties).toMatchObject({ hs_is_closed: 'false', hs_is_closed_won: 'false', dealstage: 'contractsent' });
    await client.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'closedwon' } });
    const won = await client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won']);
    expect(won.properties).toMatchObject({ hs_is_closed: 'true', hs_is_closed_won: 'true' });
    await client.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'closedlost' } });
    expect((await client.crm.deals.basicApi.getById(deal.id, ['hs_is_closed', 'hs_is_closed_won'])).properties).toMatchObject({ hs_is_closed: 'true', hs_is_closed_won: 'false' });
  });

  it('refuses a stage outside the pipeline, and the calculated flags, with VALIDATION_ERROR', async () => {
    const bad = await raw(sandbox, 'POST', '/crm/v3/objects/deals', { properties: { dealname: 'x', dealstage: 'signed' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(JSON.stringify(bad.body)).toContain('INVALID_OPTION');
    const locked = await raw(sandbox, 'POST', '/crm/v3/objects/deals', { properties: { dealname: 'x', hs_is_closed_won: 'true' } });
    expect(locked.status).toBe(400);
    expect(JSON.stringify(locked.body)).toContain('READ_ONLY_VALUE');
  });

  it('searches deals by hs_lastmodifieddate, with the limit of 200 and the 10,000-result cap', async () => {
    const since = Date.now() - 60_000;
    const body = { filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(since) }] }], sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }], properties: ['dealstage', 'hs_lastmodifieddate'], limit: 100 };
    const page = await client.crm.deals.searchApi.doSearch(body as unknown as PublicObjectSearchRequest);
    expect(page.total).toBeGreaterThanOrEqual(1);
    expect(page.results[0]?.properties.hs_lastmodifieddate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await raw(sandbox, 'POST', '/crm/v3/objects/deals/search', { ...body, limit: 201 })).status).toBe(400);
    expect((await raw(sandbox, 'POST', '/crm/v3/objects/deals/search', { ...body, after: '9950', limit: 100 })).status).toBe(400);
    const lastmodified = await raw(sandbox, 'POST', '/crm/v3/objects/deals/search', { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '0' }] }] });
    expect(lastmodified.status).toBe(400);
  });

  it('reads deals in a batch, reporting missing ids in a 207', async () => {
    const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Batch', dealstage: 'appointmentscheduled' }, associations: [] });
    const both = await raw(sandbox, 'POST', '/crm/v3/objects/deals/batch/read', { inputs: [{ id: deal.id }, { id: '1' }], properties: ['dealname'] });
    expect(both.status).toBe(207);
    expect(both.body).toMatchObject({ status: 'COMPLETE', results: [{ id: deal.id, properties: { dealname: 'Batch' } }], errors: [{ category: 'OBJECT_NOT_FOUND', context: { ids: ['1'] } }] });
  });
});

describe('associations v4', () => {
  it('reads a deal\'s contacts and a contact\'s deals with their type ids', async () => {
    const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Assoc', dealstage: 'qualifiedtobuy' }, associations: [{ to: { id: contactId }, types: TO_CONTACT }] });
    const fromDeal = await client.crm.associations.v4.basicApi.getPage('deals', deal.id, 'contacts');
    expect(fromDeal.results).toEqual([{ toObjectId: contactId, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 3, label: null }] }]);
    const fromContact = await client.crm.associations.v4.basicApi.getPage('contacts', contactId, 'deals');
    expect(fromContact.results.map((r) => r.toObjectId)).toContain(deal.id);
    expect(fromContact.results[0]?.associationTypes[0]?.typeId).toBe(4);
  });

  it('batch-reads associations, with an input that has none in a 207', async () => {
    const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Batch assoc', dealstage: 'qualifiedtobuy' }, associations: [{ to: { id: contactId }, types: TO_CONTACT }] });
    const lonely = await client.crm.deals.basicApi.create({ properties: { dealname: 'Lonely', dealstage: 'qualifiedtobuy' }, associations: [] });
    const res = await raw(sandbox, 'POST', '/crm/v4/associations/deals/contacts/batch/read', { inputs: [{ id: deal.id }, { id: lonely.id }] });
    expect(res.status).toBe(207);
    expect(res.body).toMatchObject({
      status: 'COMPLETE',
      results: [{ from: { id: deal.id }, to: [{ toObjectId: contactId, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 3 }] }] }],
      numErrors: 1,
    });
    const viaClient = await client.crm.associations.v4.batchApi.getPage('deals', 'contacts', { inputs: [{ id: deal.id }] });
    expect(viaClient.results[0]?._from.id).toBe(deal.id);
  });

  it('moves a deal\'s hs_lastmodifieddate when a contact is associated, so a search cursor sees it', async () => {
    const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Later contact', dealstage: 'qualifiedtobuy' }, associations: [] });
    const before = (await client.crm.deals.basicApi.getById(deal.id, ['hs_lastmodifieddate'])).properties.hs_lastmodifieddate;
    sandbox.clock.advance(5_000);
    await client.crm.associations.v4.basicApi.create('deals', deal.id, 'contacts', contactId, [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 3 }]);
    const after = (await client.crm.deals.basicApi.getById(deal.id, ['hs_lastmodifieddate', 'num_associated_contacts'])).properties;
    expect(Date.parse(after.hs_lastmodifieddate as string)).toBeGreaterThan(Date.parse(before as string));
    expect(after.num_associated_contacts).toBe('1');
  });
});
