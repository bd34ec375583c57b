/**
 * The change feed against the Salesforce sandbox through jsforce, with the Redis quota gate:
 * what a full read costs, cursors at shared timestamps, deletes through queryAll, conversions.
 * The sandbox stamps in whole seconds like a real org, so polls here run the way jobs/poll.ts runs
 * them: up to `now` minus a safety margin, after the sandbox clock has moved past the writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { ChangePage, FeedPosition } from '../../../connectors/types.js';
import { callsMatching, drain, startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('Salesforce change feed (10,000 seeded people)', () => {
  let h: Harness;
  let sf: SalesforceConnector;
  let afterFullRead: FeedPosition;

  /** A poll as the pipeline makes it, once the sandbox clock has moved two seconds past the last write. */
  const poll = (connector: SalesforceConnector, position: FeedPosition): Promise<{ pages: ChangePage[]; position: FeedPosition }> => {
    h.sandbox.clock.advance(2_000);
    return drain(connector.changes(position, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 }), position);
  };

  beforeAll(async () => {
    h = await startHarness('sf-feed', 10_000);
    sf = h.connector();
  }, 120_000);

  afterAll(async () => {
    await h.close();
  });

  it('reads everyone for ceil(n/2000) query calls per stream plus a small constant', async () => {
    const leads = h.sandbox.store.count('Lead');
    const contacts = h.sandbox.store.count('Contact');
    await h.resetStats();
    const { pages, position } = await drain(sf.readAll());
    const { calls, total } = await h.stats();

    const ids = pages.flatMap((p) => p.fragments.map((f) => f.recordId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments)).toHaveLength(leads);
    expect(pages.filter((p) => p.stream === 'Contact').flatMap((p) => p.fragments)).toHaveLength(contacts);
    expect(pages.flatMap((p) => p.problems)).toEqual([]);
    expect(pages.every((p) => p.fragments.length <= 2000)).toBe(true);

    const pageCalls = Math.ceil(leads / 2000) + Math.ceil(contacts / 2000);
    // Constant: describe Lead, describe Contact, LeadStatus; plus one empty page per stream at most
    // (only when a stream's size is an exact multiple of 2,000).
    expect(callsMatching(calls, '/query')).toBeLessThanOrEqual(pageCalls + 1 + 2);
    expect(total).toBeLessThanOrEqual(pageCalls + 3 + 2);
    console.log(`[salesforce] full read: ${leads} leads + ${contacts} contacts in ${total} calls (${JSON.stringify(calls)})`);

    // The gate saw every call and the org's allocation from Sforce-Limit-Info.
    const report = await sf.quota();
    expect(report.dailyUsed).toBeGreaterThanOrEqual(total);
    expect(report.dailyLimit).toBe(100_000);
    expect(report.dailyBudget).toBe(50_000);
    afterFullRead = position;
  }, 120_000);

  it('a poll with no change reads one page per stream and nothing else', async () => {
    await h.resetStats();
    const { pages } = await poll(sf, afterFullRead);
    expect(pages).toEqual([]);
    const { calls, total } = await h.stats();
    expect(total).toBe(2);
    expect(callsMatching(calls, '/queryAll')).toBe(2);
  });

  it('neither skips nor repeats records that share one SystemModstamp, across page boundaries', async () => {
    await sf.ensureSchema();
    const paged = h.connector({ pageSize: 50 });
    const { position: start } = await poll(paged, afterFullRead);
    const leadIds = h.sandbox.store
      .list('Lead')
      .filter((r) => r.IsConverted !== true)
      .map((r) => String(r.Id))
      .slice(0, 230);
    // One collection call is one transaction: these 200 share one SystemModstamp; the next 30 share
    // it too, unless the second call lands in the next second (stamps are whole seconds).
    const outcomes = await sf.write(leadIds.map((id, i) => ({ ref: { object: 'Lead' as const, id }, smk: { score: String(i) } })));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const stamps = new Set(leadIds.map((id) => h.sandbox.store.get(id)?.SystemModstamp));
    expect(stamps.size).toBeLessThanOrEqual(2);
    expect([...stamps].every((ms) => typeof ms === 'number' && ms % 1000 === 0)).toBe(true);

    const { pages, position } = await poll(paged, start);
    const seen = pages.filter((p) => p.stream === 'Lead').flatMap((p) => p.fragments.map((f) => f.recordId));
    expect(pages.filter((p) => p.stream === 'Lead').length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...leadIds].sort());
    // The values written come back through the feed (echo suppression compares them).
    const scores = new Map(pages.flatMap((p) => p.fragments).map((f) => [f.recordId, f.smk.score]));
    expect(scores.get(leadIds[7] ?? '')).toBe('7');

    const again = await poll(paged, position);
    expect(again.pages).toEqual([]);
    afterFullRead = position;
  }, 60_000);

  it('sees a deleted lead through queryAll as removed', async () => {
    const victim = h.sandbox.store.list('Lead').find((r) => r.IsConverted !== true);
    const id = String(victim?.Id);
    await h.control('/activity', { kind: 'delete', id });
    const { pages, position } = await poll(sf, afterFullRead);
    const removed = pages.flatMap((p) => p.removed);
    expect(removed).toEqual([{ ref: { object: 'Lead', id }, reason: 'deleted', at: expect.any(String) }]);
    expect(pages.flatMap((p) => p.fragments).map((f) => f.recordId)).not.toContain(id);
    // Read by id, the deleted lead is a removal too, not a missing record.
    const read = await sf.read([{ object: 'Lead', id }]);
    expect(read.removed.map((r) => r.ref.id)).toEqual([id]);
    expect(read.missing).toEqual([]);
    afterFullRead = position;
  });

  it('sees a conversion: the lead keeps its identity through ConvertedContactId', async () => {
    const lead = h.sandbox.store.list('Lead').find((r) => r.IsConverted !== true && r.IsDeleted !== true);
    const id = String(lead?.Id);
    await h.control('/activity', { kind: 'convert', id });
    const { pages } = await poll(sf, afterFullRead);
    const converted = pages.flatMap((p) => p.fragments).find((f) => f.recordId === id);
    expect(converted?.sales.converted).toBe(true);
    expect(converted?.sales.status).toBe('converted');
    const contactId = converted?.identity.convertedContactId;
    expect(contactId).toMatch(/^003/);
    expect(converted?.identity.convertedAccountId).toMatch(/^001/);
    const contact = pages.filter((p) => p.stream === 'Contact').flatMap((p) => p.fragments).find((f) => f.recordId === contactId);
    expect(contact?.email).toBe(converted?.email);
  });

  it('reads by id in one query per object, and reports ids it does not know as missing', async () => {
    const refs = h.sandbox.store
      .list('Contact')
      .slice(0, 120)
      .map((r) => ({ object: 'Contact' as const, id: String(r.Id) }));
    await h.resetStats();
    const result = await sf.read([...refs, { object: 'Lead', id: '00Q000000000ZZZAAA' }, { object: 'Lead', id: "x' OR Id != '" }]);
    expect(result.fragments.map((f) => f.recordId).sort()).toEqual(refs.map((r) => r.id).sort());
    expect(result.missing).toEqual([{ object: 'Lead', id: '00Q000000000ZZZAAA' }]);
    expect(result.problems).toMatchObject([{ code: 'VALIDATION', field: 'Id' }]);
    expect((await h.stats()).total).toBe(2);
  });
});
