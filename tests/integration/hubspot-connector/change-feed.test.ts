import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChangePage, FeedPosition, StreamPosition } from '../../../connectors/types.js';
import type { HubSpotConnector } from '../../../connectors/hubspot/index.js';
import { startWorld, type HubSpotWorld } from './setup.js';

async function collect(connector: HubSpotConnector, position: FeedPosition, options: Parameters<HubSpotConnector['changes']>[1] = {}): Promise<ChangePage[]> {
  const pages: ChangePage[] = [];
  for await (const page of connector.changes(position, options)) pages.push(page);
  return pages;
}

/** Reads like the pipeline does: one page at a time, saving each position after the page is handed on. */
async function pageByPage(connector: HubSpotConnector, start: StreamPosition | null, options: { now?: Date; safetyMarginMs?: number } = {}) {
  const ids: string[] = [];
  let position = start;
  let rounds = 0;
  for (;;) {
    rounds += 1;
    const pages = await collect(connector, { contacts: position, 'contacts:archived': null }, { ...options, maxPages: 1 });
    const page = pages.find((p) => p.stream === 'contacts');
    if (!page) break;
    ids.push(...page.fragments.map((f) => f.recordId));
    if (page.position) position = page.position;
  }
  return { ids, position, rounds };
}

describe('HubSpot change feed against the sandbox', () => {
  let w: HubSpotWorld;
  let connector: HubSpotConnector;
  let caughtUp: StreamPosition | null = null;

  beforeAll(async () => {
    // 12,000 people: about 10,200 contacts, so the first window holds more than search's 10,000 cap.
    w = await startWorld('hs-feed', { people: 12_000, seed: 11 });
    // Archived contacts are listed on every poll here (production: every 15 minutes).
    connector = w.connect({ archivedScanIntervalMs: 0 });
    await connector.ensureSchema();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await w?.close();
  });

  it('reads a window of more than 10,000 results once each, bulk-import ties included', async () => {
    const n = w.sandbox.store.contactCount();
    const probe = await w.api('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'LTE', value: String(Date.now()) }] }],
      limit: 1,
    });
    expect((probe.body as { total: number }).total).toBeGreaterThan(10_000);
    await w.resetStats();
    const pages = await collect(connector, { contacts: null });
    const ids = pages.filter((p) => p.stream === 'contacts').flatMap((p) => p.fragments.map((f) => f.recordId));
    expect(ids.length).toBe(n);
    expect(new Set(ids).size).toBe(n);
    const stats = await w.stats();
    const searches = stats.calls['POST /crm/v3/objects/contacts/search'] ?? 0;
    // One search per ~200 records, plus the tie-breaker pages of the bulk-import instant.
    expect(searches).toBeLessThanOrEqual(Math.ceil(n / 150) + 5);
    // The positions handed on only move forward.
    const positions = pages.filter((p) => p.stream === 'contacts' && p.position).map((p) => p.position as StreamPosition);
    for (let i = 1; i < positions.length; i++) expect(Date.parse(positions[i]!.ts)).toBeGreaterThanOrEqual(Date.parse(positions[i - 1]!.ts));
    caughtUp = positions.at(-1) ?? null;
    expect(caughtUp).not.toBeNull();
    // About 55 searches at HubSpot's 5 a second: at least 11 s by design.
  }, 90_000);

  it('neither skips nor repeats 450 records written with one lastmodifieddate, read one saved page at a time', async () => {
    const start = caughtUp as StreamPosition;
    const frozen = Date.parse(start.ts) + 1_000;
    const ids = [...w.sandbox.store.all()].filter((c) => !c.archived && c.mergedInto === null).slice(0, 450).map((c) => c.id);
    // A frozen sandbox clock: every write of these batch updates lands on the same millisecond.
    const spy = vi.spyOn(w.sandbox.clock, 'now').mockReturnValue(frozen);
    await w.resetStats();
    // Values that change every record (HubSpot leaves lastmodifieddate alone for a no-op write).
    const outcomes = await connector
      .write(ids.map((id, i) => ({ ref: { object: 'contact', id }, smk: { score: String(1000 + i), grade: 'warm' } })))
      .finally(() => spy.mockRestore());
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect((await w.stats()).calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/update': 5 });
    const lastmodified = new Set(ids.map((id) => w.sandbox.store.getRecord(id)?.updatedAt));
    expect([...lastmodified]).toEqual([frozen]);

    const { ids: read, position } = await pageByPage(connector, start, { now: new Date(frozen + 20_000) });
    expect(read.length).toBe(450);
    expect(new Set(read)).toEqual(new Set(ids));
    expect(position).toEqual({ ts: new Date(frozen).toISOString(), id: [...ids].sort((a, b) => Number(a) - Number(b)).at(-1) });
    caughtUp = position;
    // A poll with nothing new hands on nothing.
    const again = await pageByPage(connector, position, { now: new Date(frozen + 20_000) });
    expect(again.ids).toEqual([]);
  });

  it('never moves the cursor past now - safetyMarginMs (HubSpot search lags writes)', async () => {
    const id = [...w.sandbox.store.all()].find((c) => !c.archived && c.mergedInto === null)?.id as string;
    const base = Date.parse((caughtUp as StreamPosition).ts);
    const lagging = w.sandbox.store.getRecord(id);
    const clock = vi.spyOn(w.sandbox.clock, 'now');
    try {
      clock.mockReturnValue(base + 60_000);
      w.sandbox.store.searchIndexLagMs = 5_000;
      await connector.write([{ ref: { object: 'contact', id }, smk: { score: '4242' } }]);
      expect(lagging?.updatedAt).toBe(base + 60_000);
      // 2 s after the write: not yet in the index, and past `now - margin` anyway: not read, cursor unmoved.
      clock.mockReturnValue(base + 62_000);
      const early = await collect(connector, { contacts: caughtUp, 'contacts:archived': null }, { now: new Date(base + 62_000) });
      expect(early.flatMap((p) => p.fragments)).toEqual([]);
      expect(early.filter((p) => p.stream === 'contacts')).toEqual([]);
      // 12 s after: indexed and behind the margin.
      clock.mockReturnValue(base + 72_000);
      const later = await collect(connector, { contacts: caughtUp, 'contacts:archived': null }, { now: new Date(base + 72_000) });
      expect(later.flatMap((p) => p.fragments.map((f) => f.recordId))).toEqual([id]);
      const moved = later.find((p) => p.stream === 'contacts')?.position as StreamPosition;
      expect(Date.parse(moved.ts)).toBeLessThanOrEqual(base + 72_000 - 10_000);
      caughtUp = moved;
    } finally {
      w.sandbox.store.searchIndexLagMs = 0;
      clock.mockRestore();
    }
  });

  it('sees an archive and a merge, keeping the surviving id', async () => {
    const live = [...w.sandbox.store.all()].filter((c) => !c.archived && c.mergedInto === null);
    const [archived, survivor, loser] = [live[10]!.id, live[20]!.id, live[30]!.id];
    await w.control('DELETE', `/contacts/${archived}`);
    await w.control('POST', '/merge', { primaryId: survivor, mergedId: loser });
    const pages = await collect(connector, { contacts: caughtUp, 'contacts:archived': null }, { safetyMarginMs: 0 });
    const fragments = pages.flatMap((p) => p.fragments);
    const removed = pages.flatMap((p) => p.removed);
    expect(fragments.map((f) => f.recordId)).toContain(survivor);
    expect(fragments.find((f) => f.recordId === survivor)?.identity.mergedIds).toEqual([loser]);
    expect(removed).toContainEqual(expect.objectContaining({ ref: { object: 'contact', id: loser }, reason: 'merged', survivorId: survivor }));
    expect(removed).toContainEqual(expect.objectContaining({ ref: { object: 'contact', id: archived }, reason: 'archived' }));
    const archivedPage = pages.find((p) => p.stream === 'contacts:archived');
    expect(archivedPage?.position?.id).toBe(archived);

    // A saved archived position reports no archive twice.
    const next = await collect(connector, { contacts: pages.filter((p) => p.stream === 'contacts').at(-1)?.position ?? null, 'contacts:archived': archivedPage?.position ?? null }, { safetyMarginMs: 0 });
    expect(next.flatMap((p) => p.removed).filter((r) => r.reason === 'archived')).toEqual([]);

    // The same facts through read(): the merged-away id answers with its survivor.
    const read = await connector.read([{ object: 'contact', id: loser }, { object: 'contact', id: archived }]);
    expect(read.fragments.map((f) => f.recordId)).toEqual([survivor]);
    expect(read.missing).toEqual([{ object: 'contact', id: loser }, { object: 'contact', id: archived }]);
    expect(read.removed).toContainEqual(expect.objectContaining({ ref: { object: 'contact', id: loser }, reason: 'merged', survivorId: survivor }));
    expect(read.removed).toContainEqual(expect.objectContaining({ ref: { object: 'contact', id: archived }, reason: 'archived' }));
  });
});
