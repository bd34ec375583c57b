import type { Client } from '@hubspot/api-client';
import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, raw, shapeDiff } from './helpers.js';

// Enough people for more than 10,000 HubSpot contacts.
const world = generateWorld({ people: 12_500, seed: 21 });
const seeded = world.people.filter((p) => p.hubspot !== null);

let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  // The per-second search limit has its own test; here it would only slow the paging down.
  sandbox = await startHubSpotSandbox({ world, rateLimits: { searchPerSecond: 0, perTenSeconds: 0 } });
  client = officialClient(sandbox);
});
afterAll(async () => {
  await sandbox.close();
});

type Filter = { propertyName: string; operator: string; value?: string; values?: string[]; highValue?: string };
type Body = { filterGroups?: Array<{ filters: Filter[] }>; sorts?: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>; properties?: string[]; limit?: number; after?: string; query?: string };

/** The SDK types `sorts` as string[] and operators as an enum; HubSpot takes objects and plain strings. */
function search(body: Body) {
  return client.crm.contacts.searchApi.doSearch(body as unknown as PublicObjectSearchRequest);
}

async function searchAll(body: Body): Promise<{ ids: string[]; totals: number[]; props: Array<Record<string, string | null>> }> {
  const ids: string[] = [];
  const totals: number[] = [];
  const props: Array<Record<string, string | null>> = [];
  let after: string | undefined;
  do {
    const page = await search({ ...body, ...(after ? { after } : {}) });
    totals.push(page.total);
    for (const r of page.results) {
      ids.push(r.id);
      props.push(r.properties);
    }
    after = page.paging?.next?.after;
  } while (after);
  return { ids, totals, props };
}

async function status(body: unknown): Promise<number> {
  return (await raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', body)).status;
}

describe('HubSpot sandbox: contact search', () => {
  it('filters (AND within a group), sorts, and pages with after and total', async () => {
    const expected = seeded.filter(
      (p) => ['lead', 'marketingqualifiedlead'].includes(p.hubspot?.lifecyclestage ?? '') && (p.hubspot?.analytics.pageViews ?? 0) > 10,
    );
    const { ids, totals, props } = await searchAll({
      filterGroups: [
        {
          filters: [
            { propertyName: 'lifecyclestage', operator: 'IN', values: ['lead', 'marketingqualifiedlead'] },
            { propertyName: 'hs_analytics_num_page_views', operator: 'GT', value: '10' },
          ],
        },
      ],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['email', 'lastmodifieddate'],
      limit: 200,
    });
    expect(expected.length).toBeGreaterThan(400);
    expect(totals.length).toBeGreaterThan(2);
    expect(new Set(totals)).toEqual(new Set([expected.length]));
    expect(ids).toHaveLength(expected.length);
    expect(new Set(props.map((p) => p.email))).toEqual(new Set(expected.map((p) => p.hubspot?.email)));
    const times = props.map((p) => Date.parse(p.lastmodifieddate ?? ''));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('ORs filter groups, orders by creation oldest first by default, and answers in the recorded shape', async () => {
    const { props } = await searchAll({
      filterGroups: [
        { filters: [{ propertyName: 'hs_lead_status', operator: 'EQ', value: 'NEW' }] },
        { filters: [{ propertyName: 'hs_lead_status', operator: 'EQ', value: 'OPEN' }] },
      ],
      properties: ['hs_lead_status', 'createdate'],
      limit: 200,
    });
    const expected = seeded.filter((p) => ['NEW', 'OPEN'].includes(p.hubspot?.leadStatus ?? ''));
    expect(props).toHaveLength(expected.length);
    const created = props.map((p) => Date.parse(p.createdate ?? ''));
    expect(created).toEqual([...created].sort((a, b) => a - b));
    const wire = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', { filterGroups: [{ filters: [{ propertyName: 'hs_lead_status', operator: 'EQ', value: 'NEW' }] }], limit: 1 });
    expect(wire.status).toBe(200);
    expect(shapeDiff(wire.body, fixture('search-response.json'))).toEqual([]);
  });

  it('applies the case rules: strings case-insensitive, enumerations case-sensitive, IN needs lower case', async () => {
    const email = seeded[42]?.hubspot?.email ?? '';
    const eq = await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email.toUpperCase() }] }] });
    expect(eq.total).toBe(1);
    const inUpper = await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values: [email.toUpperCase()] }] }] });
    expect(inUpper.total).toBe(0);
    const inLower = await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values: [email.toLowerCase()] }] }] });
    expect(inLower.total).toBe(1);
    const enumUpper = await search({ filterGroups: [{ filters: [{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'LEAD' }] }] });
    expect(enumUpper.total).toBe(0);
    const enumExact = await search({ filterGroups: [{ filters: [{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'lead' }] }] });
    expect(enumExact.total).toBe(seeded.filter((p) => p.hubspot?.lifecyclestage === 'lead').length);
  });

  it('supports tokens, presence, NEQ/NOT_IN and date comparisons on epoch-ms or ISO values', async () => {
    const gmail = await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@gmail.com' }] }] });
    expect(gmail.total).toBe(seeded.filter((p) => p.hubspot?.email.endsWith('@gmail.com')).length);
    const noFirst = await search({ filterGroups: [{ filters: [{ propertyName: 'firstname', operator: 'NOT_HAS_PROPERTY' }] }] });
    expect(noFirst.total).toBe(seeded.filter((p) => p.firstName === null).length);
    const notLead = await search({ filterGroups: [{ filters: [{ propertyName: 'hs_lead_status', operator: 'NEQ', value: 'NEW' }] }] });
    expect(notLead.total).toBe(seeded.filter((p) => p.hubspot?.leadStatus !== 'NEW').length);
    const notIn = await search({ filterGroups: [{ filters: [{ propertyName: 'lifecyclestage', operator: 'NOT_IN', values: ['lead', 'subscriber'] }] }] });
    expect(notIn.total).toBe(seeded.filter((p) => !['lead', 'subscriber'].includes(p.hubspot?.lifecyclestage ?? '')).length);

    const cut = world.now - 30 * 86_400_000;
    const byMs = await search({ filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: String(cut) }] }] });
    const byIso = await search({ filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: new Date(cut).toISOString() }] }] });
    expect(byMs.total).toBe(seeded.filter((p) => p.createdAt >= cut).length);
    expect(byIso.total).toBe(byMs.total);
    const between = await search({
      filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'BETWEEN', value: String(cut - 30 * 86_400_000), highValue: String(cut) }] }],
    });
    expect(between.total).toBe(seeded.filter((p) => p.createdAt >= cut - 30 * 86_400_000 && p.createdAt <= cut).length);
  });

  it('enforces the filter, sort, limit and body-size limits with 400s', async () => {
    const f = { propertyName: 'email', operator: 'HAS_PROPERTY' };
    expect(await status({ filterGroups: Array.from({ length: 6 }, () => ({ filters: [f] })) })).toBe(400);
    expect(await status({ filterGroups: [{ filters: Array.from({ length: 7 }, () => f) }] })).toBe(400);
    expect(await status({ filterGroups: Array.from({ length: 4 }, () => ({ filters: Array.from({ length: 5 }, () => f) })) })).toBe(400);
    expect(await status({ filterGroups: Array.from({ length: 3 }, () => ({ filters: Array.from({ length: 6 }, () => f) })) })).toBe(200);
    expect(await status({ sorts: [{ propertyName: 'createdate' }, { propertyName: 'email' }] })).toBe(400);
    expect(await status({ limit: 201 })).toBe(400);
    expect(await status({ query: 'x'.repeat(3000) })).toBe(400);
    expect(await status({ filterGroups: [{ filters: [{ propertyName: 'no_such_property', operator: 'EQ', value: '1' }] }] })).toBe(400);
    const res = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', { limit: 500 });
    expect((res.body as { category: string }).category).toBe('VALIDATION_ERROR');
  });

  it('caps a query at 10,000 results: paging past it is a 400', async () => {
    expect(seeded.length).toBeGreaterThan(10_000);
    const nearEnd = await search({ limit: 200, after: '9800', properties: ['email'] });
    expect(nearEnd.total).toBe(seeded.length);
    expect(nearEnd.results).toHaveLength(200);
    expect(nearEnd.paging?.next?.after).toBe('10000');
    const past = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', { limit: 200, after: '10000' });
    expect(past.status).toBe(400);
    expect((past.body as { category: string; message: string }).category).toBe('VALIDATION_ERROR');
    expect(await status({ limit: 200, after: '9900' })).toBe(400);
  });

  it('never returns archived contacts', async () => {
    const email = seeded[7]?.hubspot?.email ?? '';
    const filter = { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }] };
    const found = await search(filter);
    expect(found.total).toBe(1);
    await client.crm.contacts.basicApi.archive(found.results[0]?.id ?? '');
    expect((await search(filter)).total).toBe(0);
  });

  it('simulates index lag: a fresh write is invisible to search until the lag has passed', async () => {
    expect((await control(sandbox, 'PUT', '/search-index', { lagMs: 30_000 })).status).toBe(200);
    try {
      const id = '150';
      const before = sandbox.store.getRecord(id)?.props.jobtitle ?? null;
      await client.crm.contacts.basicApi.update(id, { properties: { jobtitle: 'Chief Lag Officer' } });
      const byNew = { filterGroups: [{ filters: [{ propertyName: 'jobtitle', operator: 'EQ', value: 'Chief Lag Officer' }] }], properties: ['jobtitle'] };
      expect((await search(byNew)).total).toBe(0);
      const byId = await search({ filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: id }] }], properties: ['jobtitle'] });
      expect(byId.results[0]?.properties.jobtitle ?? null).toBe(before);
      const created = await client.crm.contacts.basicApi.create({ properties: { email: 'lagging@example.com' }, associations: [] });
      const byEmail = { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'lagging@example.com' }] }] };
      expect((await search(byEmail)).total).toBe(0);
      sandbox.clock.advance(31_000);
      expect((await search(byNew)).total).toBe(1);
      expect((await search(byEmail)).results[0]?.id).toBe(created.id);
    } finally {
      await control(sandbox, 'PUT', '/search-index', { lagMs: 0 });
    }
  });
});
