/**
 * The full read of a CRM reads its next page while the page before is ingested: with HubSpot's
 * search at a few hundred milliseconds a page of 200, a million contacts would otherwise wait
 * for 5,000 answers one after another with the worker idle. Faults keep their meaning: a read that
 * fails, or an ingest that fails, fails the poll with its own error, and nothing is left
 * rejecting unheard.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChangePage } from '../../../connectors/types.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import { processPoll } from '../../../jobs/poll.js';
import { startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;

beforeAll(async () => {
  h = await startHarness('full-read-ahead');
});

afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const page = (): ChangePage => ({ stream: 'contacts', fragments: [], removed: [], problems: [], position: null });

function pagesWith(events: string[], count: number, fault?: { at: number; error: Error }): () => AsyncIterable<ChangePage> {
  return async function* readAll() {
    for (let i = 1; i <= count; i += 1) {
      events.push(`read ${i}`);
      await sleep(30);
      if (fault?.at === i) throw fault.error;
      events.push(`read ${i} done`);
      yield page();
    }
  };
}

describe('the full read of a CRM', () => {
  it('reads the next page while the one before is ingested', async () => {
    const events: string[] = [];
    h.connectors.hubspot.readAll = pagesWith(events, 3);
    let ingested = 0;
    await processPoll(h.ctx, 'hubspot', { full: true, onPage: () => events.push(`ingested ${(ingested += 1)}`) });
    expect(events.filter((e) => e.startsWith('ingested'))).toEqual(['ingested 1', 'ingested 2', 'ingested 3']);
    // Page 2 was asked for before page 1 was done with, page 3 before page 2.
    expect(events.indexOf('read 2')).toBeLessThan(events.indexOf('ingested 1'));
    expect(events.indexOf('read 3')).toBeLessThan(events.indexOf('ingested 2'));
  });

  it('stamps each page with the time it was read, not the time its ingest began', async () => {
    const readDone: number[] = [];
    h.connectors.hubspot.readAll = async function* readAll() {
      for (let i = 1; i <= 2; i += 1) {
        await sleep(20);
        readDone.push(Date.now());
        yield { ...page(), fragments: [leadFragmentSchema.parse({ source: 'hubspot', recordId: `77${i}`, object: 'contact', email: `stamp${i}@example.com`, modifiedAt: new Date().toISOString(), person: { title: 'CTO' } })] };
      }
    };
    // The first page's ingest takes 400 ms more: the second page waits, read, meanwhile.
    const save = h.ctx.leads.save.bind(h.ctx.leads);
    const spy = vi.spyOn(h.ctx.leads, 'save').mockImplementation(async (stored, options) => {
      if (stored.lead.email === 'stamp1@example.com') await sleep(400);
      return save(stored, options);
    });
    try {
      await processPoll(h.ctx, 'hubspot', { full: true });
    } finally {
      spy.mockRestore();
    }
    const readAtOf = async (email: string) => {
      const leadId = await h.ctx.leads.leadByEmail(email);
      const stored = leadId ? await h.ctx.leads.get(leadId) : null;
      return stored?.views.hubspot?.readAt ?? null;
    };
    const second = await readAtOf('stamp2@example.com');
    expect(second).not.toBeNull();
    expect(second as number).toBeGreaterThanOrEqual((readDone[1] as number) - 5);
    expect(second as number).toBeLessThan((readDone[1] as number) + 200);
  });

  it('fails with the read\'s own error when a page read ahead fails, after ingesting the pages before it', async () => {
    const events: string[] = [];
    h.connectors.hubspot.readAll = pagesWith(events, 3, { at: 2, error: new Error('HubSpot answered 502') });
    let ingested = 0;
    await expect(processPoll(h.ctx, 'hubspot', { full: true, onPage: () => events.push(`ingested ${(ingested += 1)}`) })).rejects.toThrow('HubSpot answered 502');
    expect(events).toContain('ingested 1');
    expect(events).not.toContain('ingested 2');
  });

  it('fails with the ingest\'s error when a page cannot be ingested, and stops reading', async () => {
    const events: string[] = [];
    h.connectors.hubspot.readAll = pagesWith(events, 5);
    await expect(processPoll(h.ctx, 'hubspot', { full: true, onPage: () => { throw new Error('ingest broke'); } })).rejects.toThrow('ingest broke');
    await sleep(200);
    // At most the page read ahead of the failed one was asked for.
    expect(events.filter((e) => /^read \d$/.test(e)).length).toBeLessThanOrEqual(2);
  });
});
