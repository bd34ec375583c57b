import type { Client } from '@hubspot/api-client';
import type { PropertyCreate } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { fixture, officialClient, raw, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 50, seed: 8 });
let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world, rateLimits: { searchPerSecond: 0 } });
  client = officialClient(sandbox);
});
afterAll(async () => {
  await sandbox.close();
});

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: { category?: string; message?: string } }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; body: { category?: string; message?: string } };
  }
  throw new Error('expected the call to fail');
}

/** The SDK types `type` and `fieldType` as enums; the wire takes their string values. */
function property(p: { name: string; label: string; type: string; fieldType: string; groupName?: string; options?: Array<{ label: string; value: string }> }): PropertyCreate {
  return { groupName: 'smarketing', ...p, options: p.options?.map((o, i) => ({ ...o, displayOrder: i, hidden: false })) } as unknown as PropertyCreate;
}

describe('HubSpot sandbox: properties and owners', () => {
  it('does not pre-create the smk_* properties', async () => {
    const all = await client.crm.properties.coreApi.getAll('contacts');
    expect(all.results.filter((p) => p.name.startsWith('smk_'))).toEqual([]);
    const names = all.results.map((p) => p.name);
    for (const name of ['email', 'lifecyclestage', 'hs_lead_status', 'hubspot_owner_id', 'hs_email_open', 'hs_email_click', 'num_conversion_events', 'hs_analytics_last_visit_timestamp']) {
      expect(names).toContain(name);
    }
    const stage = all.results.find((p) => p.name === 'lifecyclestage');
    expect(stage?.options.map((o) => o.value)).toEqual(['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other']);
    expect(all.results.find((p) => p.name === 'hs_analytics_num_page_views')?.modificationMetadata?.readOnlyValue).toBe(true);
  });

  it('creates a group and properties, reads them back, and answers 409 to duplicates', async () => {
    const group = await client.crm.properties.groupsApi.create('contacts', { name: 'smarketing', label: 'Smarketing' });
    expect(group.name).toBe('smarketing');
    const dupGroup = await failure(client.crm.properties.groupsApi.create('contacts', { name: 'smarketing', label: 'Again' }));
    expect(dupGroup.code).toBe(409);
    expect(dupGroup.body.category).toBe('CONFLICT');

    const wire = await raw(sandbox, 'POST', '/crm/v3/properties/contacts', {
      name: 'smk_grade',
      label: 'Smarketing grade',
      type: 'enumeration',
      fieldType: 'select',
      groupName: 'smarketing',
      description: 'Hot, warm or cold, from the score thresholds.',
      options: [
        { label: 'Hot', value: 'hot' },
        { label: 'Warm', value: 'warm' },
        { label: 'Cold', value: 'cold' },
      ],
    });
    expect(wire.status).toBe(201);
    expect(shapeDiff(wire.body, fixture('property-enumeration.json'))).toEqual([]);
    const read = await client.crm.properties.coreApi.getByName('contacts', 'smk_grade');
    expect(read.options.map((o) => o.value)).toEqual(['hot', 'warm', 'cold']);
    expect(read.createdAt).toBeInstanceOf(Date);
    const dup = await failure(client.crm.properties.coreApi.create('contacts', property({ name: 'smk_grade', label: 'Again', type: 'string', fieldType: 'text' })));
    expect(dup.code).toBe(409);
    expect(dup.body.category).toBe('CONFLICT');

    await client.crm.properties.coreApi.create('contacts', property({ name: 'smk_score', label: 'Score', type: 'number', fieldType: 'number' }));
    await client.crm.properties.coreApi.create('contacts', property({ name: 'smk_handoff_at', label: 'Handoff', type: 'datetime', fieldType: 'date' }));
    await client.crm.properties.coreApi.create('contacts', property({ name: 'smk_review_on', label: 'Review on', type: 'date', fieldType: 'date' }));
  });

  it('validates definitions: type/fieldType combinations, options, names and groups', async () => {
    const cases = [
      property({ name: 'smk_bad1', label: 'x', type: 'number', fieldType: 'text' }),
      property({ name: 'smk_bad2', label: 'x', type: 'enumeration', fieldType: 'select' }),
      property({ name: 'Smk-Bad', label: 'x', type: 'string', fieldType: 'text' }),
      property({ name: 'hs_mine', label: 'x', type: 'string', fieldType: 'text' }),
      property({ name: 'smk_dupe_options', label: 'x', type: 'enumeration', fieldType: 'radio', options: [{ label: 'A', value: 'a' }, { label: 'B', value: 'a' }] }),
    ];
    for (const c of cases) {
      const err = await failure(client.crm.properties.coreApi.create('contacts', c));
      expect(err.code, c.name).toBe(400);
      expect(err.body.category).toBe('VALIDATION_ERROR');
    }
    const noGroup = await failure(client.crm.properties.coreApi.create('contacts', property({ name: 'smk_orphan', label: 'x', type: 'string', fieldType: 'text', groupName: 'nope' })));
    expect(noGroup.code).toBe(404);
    const builtin = await failure(client.crm.properties.coreApi.update('contacts', 'lifecyclestage', { label: 'Stage' }));
    expect(builtin.code).toBe(400);
    const notThere = await failure(client.crm.properties.coreApi.getByName('contacts', 'smk_nothing'));
    expect(notThere.code).toBe(404);
  });

  it('stores typed values as strings: enumeration options, numbers, datetimes and dates', async () => {
    const written = await client.crm.contacts.basicApi.update('101', { properties: { smk_grade: 'hot', smk_score: '72', smk_handoff_at: '1717200000000', smk_review_on: '2024-06-01' } });
    expect(written.properties.smk_grade).toBe('hot');
    expect(written.properties.smk_score).toBe('72');
    expect(written.properties.smk_handoff_at).toBe('2024-06-01T00:00:00.000Z');
    expect(written.properties.smk_review_on).toBe('2024-06-01');
    const iso = await client.crm.contacts.basicApi.update('102', { properties: { smk_handoff_at: '2024-06-01T00:00:00Z', smk_score: '9' } });
    expect(iso.properties.smk_handoff_at).toBe('2024-06-01T00:00:00.000Z');
    await client.crm.contacts.basicApi.update('103', { properties: { smk_score: '10' } });

    const badOption = await failure(client.crm.contacts.basicApi.update('101', { properties: { smk_grade: 'HOT' } }));
    expect(badOption.code).toBe(400);
    expect(badOption.body.message).toContain('smk_grade');
    expect(badOption.body.message).toContain('hot, warm, cold');
    const notMidnight = await failure(client.crm.contacts.basicApi.update('101', { properties: { smk_review_on: '1717200000001' } }));
    expect(notMidnight.code).toBe(400);
    const badTime = await failure(client.crm.contacts.basicApi.update('101', { properties: { smk_handoff_at: 'yesterday' } }));
    expect(badTime.code).toBe(400);

    // Numbers compare as numbers in search: 9 < 10 < 72.
    const search = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'smk_score', operator: 'GT' as never, value: '9' }] }],
      sorts: [{ propertyName: 'smk_score', direction: 'DESCENDING' }] as never,
      properties: ['smk_score'],
      limit: 10,
    });
    expect(search.results.map((r) => r.properties.smk_score)).toEqual(['72', '10']);
  });

  it('updates and archives custom properties; archived ones refuse writes', async () => {
    const updated = await client.crm.properties.coreApi.update('contacts', 'smk_grade', {
      options: [
        { label: 'Hot', value: 'hot', hidden: false, displayOrder: 0 },
        { label: 'Cold', value: 'cold', hidden: false, displayOrder: 1 },
      ],
    });
    expect(updated.options.map((o) => o.value)).toEqual(['hot', 'cold']);
    const gone = await failure(client.crm.contacts.basicApi.update('104', { properties: { smk_grade: 'warm' } }));
    expect(gone.code).toBe(400);
    await client.crm.properties.coreApi.archive('contacts', 'smk_review_on');
    const archivedWrite = await failure(client.crm.contacts.basicApi.update('104', { properties: { smk_review_on: '2024-06-01' } }));
    expect(archivedWrite.body.message).toContain('PROPERTY_DOESNT_EXIST');
    const archived = await client.crm.properties.coreApi.getAll('contacts', true);
    expect(archived.results.map((p) => p.name)).toEqual(['smk_review_on']);
    const live = await client.crm.properties.coreApi.getAll('contacts');
    expect(live.results.map((p) => p.name)).not.toContain('smk_review_on');
  });

  it('lists owners in the PublicOwner shape, by page, by email and by user id', async () => {
    const page = await client.crm.owners.ownersApi.getPage(undefined, undefined, 5);
    expect(page.results).toHaveLength(5);
    expect(page.paging?.next?.after).toBeTruthy();
    const rest = await client.crm.owners.ownersApi.getPage(undefined, page.paging?.next?.after, 5);
    expect(page.results.length + rest.results.length).toBe(world.owners.length);
    expect(rest.paging).toBeUndefined();
    const first = world.owners[0];
    const byEmail = await client.crm.owners.ownersApi.getPage(first?.email);
    expect(byEmail.results.map((o) => o.id)).toEqual([first?.hubspotId]);
    const owner = byEmail.results[0];
    const byUser = await client.crm.owners.ownersApi.getById(owner?.userId ?? 0, 'userId');
    expect(byUser.id).toBe(first?.hubspotId);
    const wire = await raw(sandbox, 'GET', '/crm/v3/owners/?limit=1');
    expect(shapeDiff(wire.body, fixture('owners-page.json'))).toEqual([]);
  });
});
