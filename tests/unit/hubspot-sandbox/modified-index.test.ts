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
