/**
 * The HubSpot sandbox answers a search bounded below on lastmodifieddate (the change feed's) from
 * an index of records by modification time instead of looking at every contact: at a million
 * contacts each feed page cost a scan of them all. The index must not change an answer: every
 * search here is answered twice, once as the feed asks it and once with a filter group that
 * forces a look at every record, under writes in the same millisecond, a clock set back, search
 * index lag, archives and merges.
 */
import { describe, expect, it } from 'vitest';
import { integrationSource } from '../../../connectors/hubspot/sandbox/contact-writes.js';
import { SearchEngine } from '../../../connectors/hubspot/sandbox/search.js';
import type { SearchBody } from '../../../connectors/hubspot/sandbox/search.js';
import { HubSpotStore } from '../../../connectors/hubspot/sandbox/store.js';
import { SandboxClock, createRandom } from '../../../connectors/sandbox/common.js';

const source = integrationSource(42);

/** The same search, plus a group no record matches that has no bound: every record is looked at. */
function unbounded(body: SearchBody): SearchBody {
  return { ...body, filterGroups: [...(body.filterGroups ?? []), { filters: [{ propertyName: 'email', operator: 'EQ', value: 'nobody@nowhere.invalid' }] }] };
}

function ids(engine: SearchEngine, body: SearchBody, now: number): { total: number; ids: string[] } {
  const page = engine.search(body, now);
  return { total: page.total, ids: page.results.map((r) => r.id) };
}

describe('the sandbox search by lastmodifieddate', () => {
  it.each([0, 500])('answers as a look at every record does (search index lag %i ms)', (lag) => {
    const clock = new SandboxClock();
    const store = new HubSpotStore(clock);
    store.searchIndexLagMs = lag;
    const engine = new SearchEngine(store);
    const rand = createRandom(7 + lag);
    const base = Date.UTC(2026, 11, 1);
    for (let i = 0; i < 300; i += 1) store.load({ email: `p${i}@example.com`, firstname: `P${i}` }, base - 86_400_000, base - Math.floor(rand() * 86_400_000));
    clock.set(base);
    const records = () => store.all();
    const check = () => {
      const now = clock.now();
      for (const from of [base - 86_400_000, base - 3_600_000, base, base + 1_000, clock.now() - 200]) {
        const cursorId = String(100 + Math.floor(rand() * 300));
        const bodies: SearchBody[] = [
          { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(from) }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], limit: 200 },
          {
            filterGroups: [
              { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: String(from) }, { propertyName: 'hs_object_id', operator: 'GT', value: cursorId }] },
              { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: String(from) }, { propertyName: 'lastmodifieddate', operator: 'LTE', value: String(now) }] },
            ],
            sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
            limit: 100,
          },
          { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'BETWEEN', value: String(from), highValue: String(now) }] }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], limit: 50 },
        ];
        for (const body of bodies) expect(ids(engine, body, now)).toEqual(ids(engine, unbounded(body), now));
      }
    };
    check();
    for (let round = 0; round < 40; round += 1) {
      // Several writes in one millisecond, some to the same record.
      for (let k = 0; k < 8; k += 1) {
        const c = records()[Math.floor(rand() * records().length)];
        if (c && !c.archived && c.mergedInto === null) store.update(c, new Map([['firstname', `N${round}-${k}-${Math.floor(rand() * 3)}`]]), source);
      }
      if (round % 7 === 3) {
        const c = records()[Math.floor(rand() * records().length)];
        if (c) store.archive(c, source);
      }
      if (round % 9 === 4) {
        const [a, b] = [records()[Math.floor(rand() * 150)], records()[150 + Math.floor(rand() * 150)]];
        if (a && b && !a.archived && !b.archived && a.mergedInto === null && b.mergedInto === null) store.merge(a, b, source);
      }
      if (round === 20) clock.advance(-5_000); // a clock set back: writes older than the newest
      clock.advance(Math.floor(rand() * 300));
      check();
    }
  });
});

/**
 * The feed's catch-up after a full sync: every contact was modified since the cursor, so a page that
 * tested every one of them to count `total` cost a pass over the portal, about 4,000 times at a
 * million contacts. A page looks at its own records (and the ties of its last time); `total` comes
 * from the index.
 */
describe('a feed page over a portal modified since its cursor', () => {
  const contacts = 20_000;
  function portal(): { store: HubSpotStore; engine: SearchEngine; base: number; looked: () => number } {
    const clock = new SandboxClock();
    const store = new HubSpotStore(clock);
    const engine = new SearchEngine(store);
    const base = Date.UTC(2026, 11, 1);
    // Five contacts a millisecond, as a bulk write-back leaves them.
    for (let i = 0; i < contacts; i += 1) store.load({ email: `p${i}@example.com`, firstname: `P${i}` }, base - 86_400_000, base + Math.floor(i / 5));
    clock.set(base + contacts);
    let calls = 0;
    const searchState = store.searchState.bind(store);
    store.searchState = (c, now) => {
      calls += 1;
      return searchState(c, now);
    };
    return { store, engine, base, looked: () => calls };
  }
  const feedPage = (ts: number, id: string, upper: number): SearchBody => ({
    filterGroups: [
      { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: String(ts) }, { propertyName: 'hs_object_id', operator: 'GT', value: id }] },
      { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: String(ts) }, { propertyName: 'lastmodifieddate', operator: 'LTE', value: String(upper) }] },
    ],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
    limit: 200,
  });

  it('looks at a page of records, not at every contact modified since', () => {
    const { store, engine, base, looked } = portal();
    const upper = base + contacts;
    let cursor = { ts: base - 1, id: '0' };
    let pages = 0;
    let seen = 0;
    for (;;) {
      const page = engine.search(feedPage(cursor.ts, cursor.id, upper), upper);
      pages += 1;
      expect(page.total).toBe(contacts - seen);
      if (page.results.length === 0) break;
      seen += page.results.length;
      const last = page.results[page.results.length - 1] as { updatedAt: number; id: string };
      cursor = { ts: last.updatedAt, id: last.id };
    }
    expect(seen).toBe(contacts);
    // A page is 200 records and the ties of its last millisecond (5); the index's counts are built
    // once for the store's version. Looking at every candidate would be about contacts^2 / 400.
    expect(looked()).toBeLessThan(pages * 220 + 2 * contacts);
    // A write changes the counts: the next page's total sees it.
    const first = store.all()[0];
    if (!first) throw new Error('no contact');
    store.update(first, new Map([['firstname', 'Again']]), source, upper - 1);
    expect(engine.search(feedPage(base + contacts / 5 - 2, '0', upper), upper).total).toBe(1 + 5 + 5);
  });

  it('counts archived, merged and rewritten contacts as a look at every record does', () => {
    const { store, engine, base } = portal();
    const all = store.all();
    for (let i = 0; i < 400; i += 1) {
      const c = all[(i * 37) % contacts];
      if (!c || c.archived || c.mergedInto !== null) continue;
      if (i % 3 === 0) store.archive(c, source, base + contacts - 5);
      else if (i % 3 === 1) store.update(c, new Map([['firstname', `R${i}`]]), source, base + 100 + i);
      else {
        const other = all[(i * 37 + 1) % contacts];
        if (other && !other.archived && other.mergedInto === null) store.merge(c, other, source, base + 3_000 + i);
      }
    }
    const upper = base + contacts;
    for (const [ts, id] of [[base - 1, '0'], [base + 100, '0'], [base + 150, '400'], [base + 3_100, '9000'], [base + 3_999, '1']] as const) {
      const body = feedPage(ts, id, upper);
      expect(ids(engine, body, upper)).toEqual(ids(engine, unbounded(body), upper));
    }
  });
});
