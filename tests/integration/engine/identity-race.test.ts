/**
 * One new person read from both CRMs at the same moment (the two full reads run side by side, in
 * one worker or two): the first ingest claims the email and saves the lead a moment later. The
 * other ingest found the email claimed by a lead not saved yet, tried three times at once, and
 * failed its job: for a full read that restarts the whole read. It now waits for the claimer's
 * lead and joins it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { processIngest } from '../../../jobs/ingest.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import { startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;

beforeAll(async () => {
  h = await startHarness('identity-race');
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a new person read from both CRMs at once', () => {
  it('becomes one lead linked to both records, with no failed ingest', async () => {
    const email = 'both-at-once@example.com';
    const now = new Date().toISOString();
    const hubspot = leadFragmentSchema.parse({ source: 'hubspot', recordId: '5501', object: 'contact', email, modifiedAt: now, person: { firstName: 'Ada' } });
    const salesforce = leadFragmentSchema.parse({ source: 'salesforce', recordId: '00Q000000005501AAA', object: 'Lead', email, modifiedAt: now, person: { lastName: 'Lovelace' } });
    // The HubSpot ingest claims the email first, and its save of the new lead is slow.
    const save = h.ctx.leads.save.bind(h.ctx.leads);
    let slowed = false;
    const spy = vi.spyOn(h.ctx.leads, 'save').mockImplementation(async (stored, options) => {
      if (!slowed && stored.lead.links.hubspot?.id === '5501') {
        slowed = true;
        await sleep(400);
      }
      return save(stored, options);
    });
    try {
      const first = processIngest(h.ctx, { crm: 'hubspot', readAt: Date.now(), fragments: [hubspot] });
      await sleep(50);
      const second = processIngest(h.ctx, { crm: 'salesforce', readAt: Date.now(), fragments: [salesforce] });
      const results = await Promise.allSettled([first, second]);
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
    } finally {
      spy.mockRestore();
    }
    expect(slowed).toBe(true);
    const leadId = await h.ctx.leads.leadByEmail(email);
    expect(leadId).not.toBeNull();
    expect(await h.ctx.leads.linkOf('hubspot', 'contact', '5501')).toBe(leadId);
    expect(await h.ctx.leads.linkOf('salesforce', 'Lead', '00Q000000005501AAA')).toBe(leadId);
    const stored = await h.ctx.leads.get(leadId as string);
    expect(stored?.lead.links).toMatchObject({ hubspot: { id: '5501' }, salesforce: { object: 'Lead', id: '00Q000000005501AAA' } });
    expect(await h.ctx.errors.count()).toBe(0);
  });
});
