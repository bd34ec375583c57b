/**
 * The company feed through @hubspot/api-client against the seeded sandbox: every company from an
 * empty position through the list endpoint (no search), then only what changed through search on
 * hs_lastmodifieddate (an owner moved, a new company), and an archived company as deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubSpotConnector } from '../../../connectors/hubspot/index.js';
import type { AccountPage, FeedPosition } from '../../../connectors/types.js';
import { startWorld } from './setup.js';
import type { HubSpotWorld } from './setup.js';

async function drain(pages: AsyncIterable<AccountPage>, start: FeedPosition): Promise<{ pages: AccountPage[]; position: FeedPosition }> {
  const position = { ...start };
  const out: AccountPage[] = [];
  for await (const page of pages) {
    out.push(page);
    if (page.position) position[page.stream] = page.position;
  }
  return { pages: out, position };
}

describe('HubSpot company feed', () => {
  let w: HubSpotWorld;
  let connector: HubSpotConnector;
  let position: FeedPosition = {};
  const searches = (calls: Record<string, number>) => calls['POST /crm/v3/objects/companies/search'] ?? 0;
  const lists = (calls: Record<string, number>) => calls['GET /crm/v3/objects/companies'] ?? 0;

  beforeAll(async () => {
    w = await startWorld('hs-accounts', { people: 1_200, seed: 9 });
    connector = w.connect({ archivedScanIntervalMs: 0 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('reads every company from an empty position through the list endpoint, with owner and domain', async () => {
    const seeded = w.sandbox.objects.all('companies');
    expect(seeded.length).toBeGreaterThan(100);
    await w.resetStats();
    const read = await drain(connector.accounts!({}, { now: new Date(), safetyMarginMs: 1_000 }), {});
    position = read.position;
    const facts = read.pages.filter((p) => p.stream === 'companies').flatMap((p) => p.accounts);
    expect(read.pages.flatMap((p) => p.problems)).toEqual([]);
    expect(facts).toHaveLength(seeded.length);
    for (const record of seeded) {
      const fact = facts.find((f) => f.id === record.id);
      expect(fact).toEqual({
        source: 'hubspot',
        id: record.id,
        name: record.props.name,
        website: record.props.domain,
        ownerId: record.props.hubspot_owner_id ?? null,
        createdAt: new Date(record.createdAt).toISOString(),
        modifiedAt: new Date(Number(record.props.hs_lastmodifieddate)).toISOString(),
        deleted: false,
      });
    }
    const { calls } = await w.stats();
    expect(lists(calls)).toBe(Math.ceil(seeded.length / 100) + 1); // + the archived listing
    expect(searches(calls)).toBe(0);
    // Only the last page of the full read carries a position: where search takes over.
    expect(position.companies).toMatchObject({ id: '' });
  });

  it('hands on an owner change and a new company through search, and an archived one as deleted', async () => {
    const [moved, doomed] = w.sandbox.objects.all('companies');
    await new Promise((r) => setTimeout(r, 5));
    expect((await w.api('PATCH', `/crm/v3/objects/companies/${moved!.id}`, { properties: { hubspot_owner_id: '7000040' } })).status).toBe(200);
    const made = await w.api('POST', '/crm/v3/objects/companies', { properties: { name: 'Feed Company Ltd', domain: 'feed-company.example' } });
    expect(made.status).toBe(201);
    const madeId = (made.body as { id: string }).id;
    expect((await w.api('DELETE', `/crm/v3/objects/companies/${doomed!.id}`)).status).toBe(204);
    await w.resetStats();
    const read = await drain(connector.accounts!(position, { now: new Date(Date.now() + 5_000), safetyMarginMs: 1_000 }), position);
    position = read.position;
    const facts = read.pages.flatMap((p) => p.accounts);
    expect(facts.filter((f) => !f.deleted).map((f) => f.id).sort()).toEqual([moved!.id, madeId].sort());
    expect(facts.find((f) => f.id === moved!.id)).toMatchObject({ ownerId: '7000040', deleted: false });
    expect(facts.find((f) => f.id === madeId)).toMatchObject({ name: 'Feed Company Ltd', website: 'feed-company.example', ownerId: null });
    expect(facts.filter((f) => f.deleted)).toEqual([expect.objectContaining({ id: doomed!.id, name: doomed!.props.name, deleted: true })]);
    const { calls } = await w.stats();
    expect(searches(calls)).toBeGreaterThanOrEqual(1);
    expect(lists(calls)).toBe(1); // the archived listing only

    const again = await drain(connector.accounts!(position, { now: new Date(Date.now() + 5_000), safetyMarginMs: 1_000 }), position);
    expect(again.pages.flatMap((p) => p.accounts)).toEqual([]);
  });

  it('lists archived companies no more often than archivedScanIntervalMs', async () => {
    const slow = w.connect({ archivedScanIntervalMs: 60 * 60_000 });
    await drain(slow.accounts!(position, { now: new Date(Date.now() + 5_000), safetyMarginMs: 1_000 }), position);
    await w.resetStats();
    await drain(slow.accounts!(position, { now: new Date(Date.now() + 5_000), safetyMarginMs: 1_000 }), position);
    expect(lists((await w.stats()).calls)).toBe(0);
  });
});
