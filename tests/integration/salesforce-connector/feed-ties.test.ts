/**
 * The Salesforce change feed (jsforce, queryAll) on the ties a real org makes: stamps are whole
 * seconds, so a bulk update gives hundreds of rows one SystemModstamp. The sandbox runs on a clock
 * the test holds, and each poll is made the way jobs/poll.ts makes it (`now`, a safety margin):
 *  - 450 rows of one stamp, 100 a page, are read exactly once, and the cursor stays on the last
 *    (timestamp, Id) with nothing read again;
 *  - a row changed again within the second the feed has already read is still picked up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from 'jsforce';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { HeldClock } from '../../helpers/held-clock.js';
import type { ChangePage, FeedPosition } from '../../../connectors/types.js';
import { drain, startHarness } from './harness.js';
import type { Harness } from './harness.js';


const T0 = Date.parse('2026-11-24T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('Salesforce change feed over whole-second ties', () => {
  let h: Harness;
  let clock: HeldClock;
  let sf: SalesforceConnector;
  let conn: Connection;
  let position: FeedPosition = {};
  /** Open leads not yet used by a test, in descending Id order (so that ties cannot follow arrival). */
  let spare: string[] = [];

  /** One poll as the pipeline makes it: up to the connector's now minus the margin. */
  const poll = (margin: number): Promise<{ pages: ChangePage[]; position: FeedPosition }> =>
    drain(sf.changes(position, { now: new Date(clock.now()), safetyMarginMs: margin }), position);

  const leadIds = (pages: ChangePage[]) => pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments.map((f) => f.recordId));

  /** A rep's bulk update: collection calls of `chunk` records, each at its own moment of the clock. */
  async function bulkUpdate(ids: string[], title: string, at: number[], chunk: number): Promise<void> {
    for (const [i, ms] of at.entries()) {
      clock.set(ms);
      const part = ids.slice(i * chunk, (i + 1) * chunk).map((Id) => ({ Id, Title: title }));
      const results = await conn.sobject('Lead').update(part, { allOrNone: true });
      expect(results.every((r) => r.success)).toBe(true);
    }
  }

  beforeAll(async () => {
    clock = new HeldClock(T0 + 250);
    h = await startHarness('sf-ties', 1_500, 17, { clock });
    sf = h.connector({ pageSize: 100 });
    conn = new Connection({
      instanceUrl: h.sandbox.instanceUrl,
      accessToken: h.sandbox.accessToken,
      version: '62.0',
    });
    spare = h.sandbox.store
      .list('Lead')
      .filter((r) => r.IsConverted !== true)
      .map((r) => String(r.Id))
      .sort()
      .reverse();
    expect(spare.length).toBeGreaterThan(500);
    // Start from the end of the seeded data.
    clock.set(T0 + 30_000);
    position = (await poll(10_000)).position;
    expect(position.Lead).toBeTruthy();
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('reads 450 records of one SystemModstamp across five pages exactly once, and stays on the last (timestamp, Id)', async () => {
    const second = T0 + 60_000;
    const ids = spare.splice(0, 450);
    // Three collection calls at .200, .500 and .800 of one second: one stamp, as a real org gives.
    await bulkUpdate(ids, 'Bulk 450', [second + 200, second + 500, second + 800], 150);
    const stamped = await conn.query<{ Id: string; SystemModstamp: string }>("SELECT Id, SystemModstamp FROM Lead WHERE Title = 'Bulk 450'");
    expect(stamped.totalSize).toBe(450);
    expect(new Set(stamped.records.map((r) => r.SystemModstamp))).toEqual(new Set(['2026-11-24T10:01:00.000+0000']));

    clock.set(second + 15_000);
    const { pages, position: after } = await poll(10_000);
    const seen = leadIds(pages);
    expect(pages.filter((p) => p.stream === 'Lead')).toHaveLength(5);
    expect(pages.every((p) => p.fragments.length <= 100)).toBe(true);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(pages.filter((p) => p.stream === 'Contact')).toEqual([]);
    const last = [...ids].sort().at(-1);
    expect(after.Lead).toEqual({ ts: iso(second), id: last });
    position = after;

    // Not read forever: the next polls find nothing and leave the cursor where it is.
    for (const later of [16_000, 45_000]) {
      clock.set(second + later);
      const again = await poll(10_000);
      expect(again.pages).toEqual([]);
      expect(again.position.Lead).toEqual({ ts: iso(second), id: last });
    }
  });

  it.each([
    { margin: 10_000, label: 'the default 10 s margin' },
    { margin: 200, label: 'a 200 ms margin' },
    { margin: 0, label: 'no margin (the open second is read, and read again)' },
  ])('picks up a record changed again in a second the feed has read, with $label', async ({ margin }) => {
    const second = clock.now() - (clock.now() % 1000) + 60_000;
    const batch = spare.splice(0, 5);
    await bulkUpdate(batch, `Batch ${margin}`, [second + 100], 5);
    // The poll runs while the second is still open (by the connector's clock, minus the margin).
    clock.set(second + margin + 400);
    const first = await poll(margin);
    const firstIds = leadIds(first.pages);
    expect(new Set(firstIds).size).toBe(firstIds.length);
    position = first.position;

    // A rep edits the batch's lowest Id: behind a cursor that has reached this second's highest one.
    const changed = [...batch].sort()[0] as string;
    clock.advance(150);
    await conn.sobject('Lead').update({ Id: changed, Title: `Changed again ${margin}` });
    const stamp = (await conn.sobject('Lead').retrieve(changed)) as { SystemModstamp: string };
    if (margin < 1000) expect(stamp.SystemModstamp).toBe(iso(second).replace('Z', '+0000'));

    clock.advance(margin + 2_000);
    const next = await poll(margin);
    const nextIds = leadIds(next.pages);
    expect(new Set(nextIds).size).toBe(nextIds.length);
    const fragment = next.pages.flatMap((p) => p.fragments).find((f) => f.recordId === changed);
    expect(fragment?.person.title).toBe(`Changed again ${margin}`);
    // Between them the two polls read every record of the batch, each once per change.
    expect([...new Set([...firstIds, ...nextIds])].sort()).toEqual([...batch].sort());
    position = next.position;
    expect(position.Lead?.ts).toBe(iso(Date.parse(stamp.SystemModstamp.replace('+0000', 'Z'))));

    clock.advance(margin + 2_000);
    expect((await poll(margin)).pages).toEqual([]);
  });
});
