import { describe, expect, it } from 'vitest';
import {
  SEARCH_PAGE_LIMIT,
  compareIds,
  readContactChanges,
  searchRequestFor,
  stepFeed,
  type Cursor,
  type FeedState,
  type SearchRequest,
} from '../../../connectors/hubspot/change-feed.js';
import { createRandom } from '../../../connectors/sandbox/common.js';
import { mapContacts } from '../../../connectors/hubspot/mapping.js';
import { createPicklists } from '../../../connectors/hubspot/picklists.js';
import { READ_PROPERTIES } from '../../../connectors/hubspot/properties.js';

const picklists = createPicklists();

/**
 * HubSpot search as reference H3 describes it, with one malice: records that share the sort value
 * come back in a random order (HubSpot promises none). Paging past 10,000 results is a 400.
 */
class FakeSearch {
  calls = 0;
  private random = createRandom(42);
  constructor(public records: Map<string, number>) {}

  search = async (request: SearchRequest): Promise<{ results: unknown[] }> => {
    this.calls += 1;
    expect(JSON.stringify(request).length).toBeLessThan(3000);
    expect(request.limit).toBeLessThanOrEqual(200);
    expect(request.filterGroups.length).toBeLessThanOrEqual(5);
    const value = (id: string, name: string): number => (name === 'hs_object_id' ? Number(id) : (this.records.get(id) ?? NaN));
    const matches = [...this.records.keys()].filter((id) =>
      request.filterGroups.some((g) =>
        g.filters.every((f) => {
          const v = value(id, f.propertyName);
          const x = Number(f.value);
          return { EQ: v === x, GT: v > x, GTE: v >= x, LT: v < x, LTE: v <= x }[f.operator];
        }),
      ),
    );
    const sort = request.sorts[0];
    const shuffled = matches.map((id) => ({ id, r: this.random() }));
    shuffled.sort((a, b) => value(a.id, sort?.propertyName ?? 'createdate') - value(b.id, sort?.propertyName ?? 'createdate') || a.r - b.r);
    return {
      results: shuffled.slice(0, request.limit).map(({ id }) => ({
        id,
        properties: { hs_object_id: id, lastmodifieddate: new Date(this.records.get(id) ?? 0).toISOString(), email: `p${id}@example.com` },
        updatedAt: new Date(this.records.get(id) ?? 0),
      })),
    };
  };
}

function world(n: number, opts: { shared?: number; at?: number } = {}): Map<string, number> {
  const records = new Map<string, number>();
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 0; i < n; i++) records.set(String(1000 + i), base + i * 997);
  // A bulk import: `shared` records with one lastmodifieddate.
  for (let i = 0; i < (opts.shared ?? 0); i++) records.set(String(1000 + i * 3), opts.at ?? base + 5_000_000);
  return records;
}

async function drain(fake: FakeSearch, start: Cursor | null, now: number, opts: { maxPages?: number; onPage?: () => void } = {}) {
  const ids: string[] = [];
  let position = start ? { ts: new Date(start.ts).toISOString(), id: start.id } : null;
  for await (const page of readContactChanges(
    { search: fake.search, map: (raw) => mapContacts(raw, picklists), properties: READ_PROPERTIES },
    position,
    { now, safetyMarginMs: 10_000, maxPages: opts.maxPages },
  )) {
    ids.push(...page.fragments.map((f) => f.recordId));
    if (page.position) position = page.position;
    opts.onPage?.();
  }
  return { ids, position };
}

describe('the change-feed cursor (pure)', () => {
  const state = (cursor: Cursor | null, mode: FeedState['mode'] = { kind: 'range' }): FeedState => ({ cursor, upper: 10_000, mode });

  it('asks for (ts = c.ts AND id > c.id) OR (c.ts < ts <= upper), sorted by lastmodifieddate', () => {
    const request = searchRequestFor(state({ ts: 500, id: '42' }), ['email']);
    expect(request).toEqual({
      filterGroups: [
        { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: '500' }, { propertyName: 'hs_object_id', operator: 'GT', value: '42' }] },
        { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: '500' }, { propertyName: 'lastmodifieddate', operator: 'LTE', value: '10000' }] },
      ],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['email'],
      limit: 200,
    });
    expect(searchRequestFor(state(null), []).filterGroups).toEqual([{ filters: [{ propertyName: 'lastmodifieddate', operator: 'LTE', value: '10000' }] }]);
    expect(searchRequestFor(state({ ts: 500, id: '42' }, { kind: 'tie', ts: 500 }), []).sorts).toEqual([{ propertyName: 'hs_object_id', direction: 'ASCENDING' }]);
  });

  it('hands on a short page whole and stops', () => {
    const keys = [{ ts: 7, id: '3' }, { ts: 5, id: '9' }, { ts: 7, id: '1' }];
    expect(stepFeed(state(null), keys, 3)).toEqual({ take: [{ ts: 5, id: '9' }, { ts: 7, id: '1' }, { ts: 7, id: '3' }], next: null });
  });

  it('of a full page, hands on only what is older than its last timestamp', () => {
    const keys = Array.from({ length: SEARCH_PAGE_LIMIT }, (_, i) => ({ ts: i < 150 ? 100 + i : 400, id: String(i) }));
    const step = stepFeed(state(null), keys, keys.length);
    expect(step.take).toHaveLength(150);
    expect(step.next).toEqual({ cursor: { ts: 249, id: '149' }, upper: 10_000, mode: { kind: 'range' } });
  });

  it('switches to the id tie-breaker when a full page is one timestamp, and back when it is drained', () => {
    const keys = Array.from({ length: SEARCH_PAGE_LIMIT }, (_, i) => ({ ts: 400, id: String(1000 + i) }));
    const tie = stepFeed(state({ ts: 300, id: '5' }), keys, keys.length);
    expect(tie).toEqual({ take: [], next: { cursor: { ts: 300, id: '5' }, upper: 10_000, mode: { kind: 'tie', ts: 400 } } });
    const drained = stepFeed(tie.next as FeedState, keys.slice(0, 20), 20);
    expect(drained.take).toHaveLength(20);
    expect(drained.next).toEqual({ cursor: { ts: 400, id: '1019' }, upper: 10_000, mode: { kind: 'range' } });
  });

  it('never hands on what is at or behind the cursor or past the safety margin', () => {
    const step = stepFeed(state({ ts: 50, id: '10' }), [{ ts: 50, id: '10' }, { ts: 50, id: '9' }, { ts: 50, id: '11' }, { ts: 20_000, id: '1' }], 4);
    expect(step.take).toEqual([{ ts: 50, id: '11' }]);
  });

  it('compares numeric ids as numbers, like hs_object_id GT', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('100', '100')).toBe(0);
    expect(compareIds('0100', '99')).toBeGreaterThan(0);
  });
});

describe('the change feed against a HubSpot-like search', () => {
  const now = Date.parse('2026-06-01T00:00:00.000Z');

  it('reads 12,000 records (a window past the 10,000 cap) once each, 450 of them sharing one timestamp', async () => {
    const records = world(12_000, { shared: 450 });
    const fake = new FakeSearch(records);
    const { ids, position } = await drain(fake, null, now);
    expect(ids).toHaveLength(records.size);
    expect(new Set(ids).size).toBe(records.size);
    // ceil(12,000/199) range pages, a few tie pages for the 450, one final short page.
    expect(fake.calls).toBeLessThanOrEqual(Math.ceil(12_000 / 199) + 6);
    const last = [...records.entries()].sort((a, b) => a[1] - b[1] || Number(a[0]) - Number(b[0])).at(-1);
    expect(position).toEqual({ ts: new Date(last?.[1] ?? 0).toISOString(), id: last?.[0] });
  });

  it('resumes from every saved position without skipping or repeating, one page at a time', async () => {
    const records = world(1_500, { shared: 420 });
    const fake = new FakeSearch(records);
    const seen: string[] = [];
    let cursor: Cursor | null = null;
    for (let round = 0; round < 100; round++) {
      const { ids, position } = await drain(fake, cursor, now, { maxPages: 1 });
      if (ids.length === 0) break;
      seen.push(...ids);
      cursor = position ? { ts: Date.parse(position.ts), id: position.id } : cursor;
    }
    expect(seen).toHaveLength(records.size);
    expect(new Set(seen).size).toBe(records.size);
  });

  it('does not skip records that change while it reads: they move forward and are read again', async () => {
    const records = world(2_000);
    const fake = new FakeSearch(records);
    let pages = 0;
    const { ids } = await drain(fake, null, now, {
      onPage: () => {
        pages += 1;
        // Between pages, ten records already handed on and ten not yet read are modified.
        if (pages === 2) for (let i = 0; i < 10; i++) {
          records.set(String(1000 + i), now - 20_000 + i);
          records.set(String(2500 - i), now - 20_000 + 100 + i);
        }
      },
    });
    expect(new Set(ids).size).toBe(records.size);
    expect(ids.length).toBe(records.size + 10);
  });

  it('stays behind now - safetyMarginMs: a record modified within the margin is left for the next poll', async () => {
    const records = world(10);
    records.set('5000', now - 5_000);
    const fake = new FakeSearch(records);
    const first = await drain(fake, null, now);
    expect(first.ids).not.toContain('5000');
    expect(Date.parse(first.position?.ts ?? '')).toBeLessThanOrEqual(now - 10_000);
    const later = await drain(fake, first.position ? { ts: Date.parse(first.position.ts), id: first.position.id } : null, now + 10_000);
    expect(later.ids).toEqual(['5000']);
  });

  it('a quiet poll costs one search and hands on nothing again', async () => {
    const records = world(300);
    const fake = new FakeSearch(records);
    const first = await drain(fake, null, now);
    const calls = fake.calls;
    const again = await drain(fake, first.position ? { ts: Date.parse(first.position.ts), id: first.position.id } : null, now);
    expect(again.ids).toEqual([]);
    expect(fake.calls).toBe(calls + 1);
  });
});
