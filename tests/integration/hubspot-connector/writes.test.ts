import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, writeCalls, type HubSpotWorld } from './setup.js';

interface ContactView {
  id: string;
  properties: Record<string, string | null>;
}

describe('HubSpot batch writes and creates against the sandbox', () => {
  let w: HubSpotWorld;
  const view = async (id: string): Promise<ContactView> => (await w.control('GET', `/contacts/${id}`)) as ContactView;
  const liveIds = (): string[] => [...w.sandbox.store.all()].filter((c) => !c.archived && c.mergedInto === null).map((c) => c.id);

  beforeAll(async () => {
    w = await startWorld('hs-writes', { people: 300, seed: 5 });
    await w.connector.ensureSchema();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('handles a 207 partial failure per record: the good records are written, each bad one has its own error', async () => {
    const [a, b, c] = liveIds();
    await w.resetStats();
    const outcomes = await w.connector.write([
      { ref: { object: 'contact', id: a! }, smk: { score: '88', grade: 'hot', scoreReasons: 'Senior title (+20)' } },
      // Numeric, so it passes our check; not an owner HubSpot knows, so HubSpot refuses it.
      { ref: { object: 'contact', id: b! }, smk: { score: '12' }, ownerId: '999' },
      { ref: { object: 'contact', id: '99999999' }, smk: { score: '1' } },
      { ref: { object: 'contact', id: c! }, smk: { stage: 'mql', handoffAt: '2026-11-01T13:00:00.000Z' } },
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['ok', 'VALIDATION', 'NOT_FOUND', 'ok']);
    const refused = outcomes[1];
    expect(refused && !refused.ok && refused.error).toMatchObject({ recordId: b, vendorCode: 'VALIDATION_ERROR' });
    expect(refused && !refused.ok && refused.error.message).toContain('999');
    expect((await w.stats()).calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/update': 1 });
    expect((await view(a!)).properties).toMatchObject({ smk_score: '88', smk_grade: 'hot', smk_score_reasons: 'Senior title (+20)' });
    expect((await view(b!)).properties.smk_score ?? null).not.toBe('12');
    expect((await view(c!)).properties).toMatchObject({ smk_stage: 'mql', smk_handoff_at: '2026-11-01T13:00:00.000Z' });
    // Read back, the written values compare equal to what was written (echo suppression can rely on it).
    const read = await w.connector.read([{ object: 'contact', id: a! }, { object: 'contact', id: c! }]);
    expect(read.fragments.map((f) => f.smk)).toEqual([
      expect.objectContaining({ score: '88', grade: 'hot' }),
      expect.objectContaining({ stage: 'mql', handoffAt: '2026-11-01T13:00:00.000Z' }),
    ]);
  });

  it('catches values HubSpot would refuse before the write, with no call made for them', async () => {
    const [a] = liveIds();
    await w.resetStats();
    const outcomes = await w.connector.write([
      { ref: { object: 'contact', id: a! }, smk: { grade: 'Hot' } },
      { ref: { object: 'contact', id: a! }, smk: { scoreReasons: 'r'.repeat(300) } },
    ]);
    expect(outcomes.map((o) => !o.ok && `${o.error.code} ${o.error.field}`)).toEqual(['VALIDATION smk_grade', 'VALIDATION smk_score_reasons']);
    expect((await w.stats()).total).toBe(0);
  });

  it('moves lifecyclestage back only with clearFirst (cleared in its own write first)', async () => {
    const id = liveIds()[5]!;
    await w.control('PATCH', `/contacts/${id}`, { properties: { lifecyclestage: 'marketingqualifiedlead' } });
    const forward = await w.connector.write([{ ref: { object: 'contact', id }, smk: {}, lifecycleStage: { value: 'lead', clearFirst: false } }]);
    expect(forward[0]?.ok).toBe(false);
    expect((await view(id)).properties.lifecyclestage).toBe('marketingqualifiedlead');
    await w.resetStats();
    const back = await w.connector.write([{ ref: { object: 'contact', id }, smk: { stage: 'recycled' }, lifecycleStage: { value: 'lead', clearFirst: true } }]);
    expect(back[0]?.ok).toBe(true);
    expect((await view(id)).properties).toMatchObject({ lifecyclestage: 'lead', smk_stage: 'recycled' });
    expect((await w.stats()).calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/update': 2 });
    // Common stage names are translated: mql -> marketingqualifiedlead.
    await w.connector.write([{ ref: { object: 'contact', id }, smk: {}, lifecycleStage: { value: 'mql', clearFirst: false } }]);
    expect((await view(id)).properties.lifecyclestage).toBe('marketingqualifiedlead');
  });

  it('creates idempotently: smk_lead_id written, a retried create and a known email give created: false', async () => {
    const existing = await view(liveIds()[7]!);
    const existingEmail = String(existing.properties.email).toUpperCase();
    const requests = [
      { leadId: 'lead-sf-1', email: 'Ingrid.Berg@Nordwind.example.com', person: { firstName: 'Ingrid', lastName: 'Berg', title: 'CTO' }, company: { name: 'Nordwind AB', domain: 'nordwind.example.com' }, smk: { grade: 'warm' as const, score: '55' } },
      { leadId: 'lead-sf-2', email: existingEmail, person: { firstName: 'Already' }, company: {}, smk: {} },
      { leadId: 'lead-sf-3', email: 'not an email', person: {}, company: {}, smk: {} },
    ];
    await w.resetStats();
    const first = await w.connector.create(requests);
    expect(first.map((o) => (o.ok ? `${o.created}` : o.error.code))).toEqual(['true', 'false', 'VALIDATION']);
    expect(first[1]).toMatchObject({ ok: true, ref: { object: 'contact', id: existing.id } });
    expect((await w.stats()).calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/read': 1, 'POST /crm/v3/objects/contacts/batch/create': 1 });
    const created = first[0];
    if (!created?.ok) throw new Error('create failed');
    expect((await view(created.ref.id)).properties).toMatchObject({ email: 'Ingrid.Berg@Nordwind.example.com', smk_lead_id: 'lead-sf-1', smk_grade: 'warm', jobtitle: 'CTO' });

    // The job crashed after the create and runs again: nothing new is created.
    const again = await w.connector.create(requests.slice(0, 1));
    expect(again).toEqual([{ leadId: 'lead-sf-1', ok: true, ref: created.ref, created: false }]);
    expect(w.sandbox.store.contactCount()).toBe(liveIds().length);
  });

  it('sends a first try straight to the create: no look-up, and a contact someone made meanwhile is found by its 409', async () => {
    const existing = await view(liveIds()[9]!);
    const requests = [
      { leadId: 'lead-first-1', email: 'first.try@nordwind.example.com', person: { lastName: 'Try' }, company: {}, smk: { score: '12' }, firstTry: true },
      { leadId: 'lead-first-2', email: String(existing.properties.email), person: { lastName: 'Made' }, company: {}, smk: { score: '13' }, firstTry: true },
    ];
    await w.resetStats();
    const outcomes = await w.connector.create(requests);
    expect((await w.stats()).calls).toEqual({ 'POST /crm/v3/objects/contacts/batch/create': 1 });
    expect(outcomes[0]).toMatchObject({ ok: true, created: true });
    expect(outcomes[1]).toEqual({ leadId: 'lead-first-2', ok: true, ref: { object: 'contact', id: existing.id }, created: false });
  });

  it('writes in batches of 100 and a repeated write is harmless', async () => {
    const ids = liveIds().slice(0, 230);
    const updates = ids.map((id, i) => ({ ref: { object: 'contact' as const, id }, smk: { engagementScore: String(i % 50), slaStatus: 'running' as const } }));
    await w.resetStats();
    expect((await w.connector.write(updates)).every((o) => o.ok)).toBe(true);
    expect((await w.connector.write(updates)).every((o) => o.ok)).toBe(true);
    expect(writeCalls(await w.stats())).toEqual({ 'POST /crm/v3/objects/contacts/batch/update': 6 });
  });
});
