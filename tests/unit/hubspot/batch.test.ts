import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import { existingIdOf } from '../../../connectors/hubspot/batch.js';
import { fakeGate, fixture } from './helpers.js';

const BASE = 'http://hubspot.test';
const UPDATE = '/crm/v3/objects/contacts/batch/update';
const CREATE = '/crm/v3/objects/contacts/batch/create';
const READ = '/crm/v3/objects/contacts/batch/read';

interface Input {
  id?: string;
  properties: Record<string, string>;
  objectWriteTraceId?: string;
}

/** Replays a recorded 207 with its TRACE-i placeholders replaced by the trace ids the request carried. */
function withTraces(file: string) {
  return (_uri: string, body: unknown): [number, string, Record<string, string>] => {
    const inputs = (body as { inputs: Input[] }).inputs;
    let text = JSON.stringify(fixture(file));
    inputs.forEach((input, i) => {
      text = text.replaceAll(`TRACE-${i}`, input.objectWriteTraceId ?? '');
    });
    return [207, text, { 'content-type': 'application/json;charset=utf-8' }];
  };
}

function contactJson(id: string, props: Record<string, string | null> = {}) {
  return { id, properties: { hs_object_id: id, lastmodifieddate: '2026-11-03T09:00:00.000Z', ...props }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-11-03T09:00:00.000Z', archived: false };
}

const connector = () => createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-test', gate: fakeGate(), sleep: async () => {} });

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

describe('batch write', () => {
  it('handles a 207 per record: each input carries a unique objectWriteTraceId and its own outcome', async () => {
    let sent: Input[] = [];
    nock(BASE)
      .post(UPDATE, (body: { inputs: Input[] }) => ((sent = body.inputs), true))
      .reply(withTraces('batch-update-207.json'));
    const outcomes = await connector().write([
      { ref: { object: 'contact', id: '51873' }, smk: { score: '81' } },
      { ref: { object: 'contact', id: '51874' }, smk: {}, ownerId: '999' },
      { ref: { object: 'contact', id: '99999999' }, smk: { grade: 'hot' } },
      { ref: { object: 'contact', id: '51875' }, smk: { grade: 'Hot' } },
    ]);
    expect(sent.map((i) => i.id)).toEqual(['51873', '51874', '99999999']);
    expect(new Set(sent.map((i) => i.objectWriteTraceId)).size).toBe(3);
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.error.code}:${o.error.recordId}`))).toEqual([
      'ok',
      'VALIDATION:51874',
      'NOT_FOUND:99999999',
      'VALIDATION:51875',
    ]);
    const invalidOwner = outcomes[1];
    expect(invalidOwner && !invalidOwner.ok && invalidOwner.error.message).toContain('999 is not a valid owner id');
  });

  it('bisects a batch HubSpot refused as a whole, so only the bad record fails', async () => {
    const calls: string[][] = [];
    nock(BASE)
      .post(UPDATE)
      .times(20)
      .reply((_uri, body) => {
        const inputs = (body as { inputs: Input[] }).inputs;
        calls.push(inputs.map((i) => i.id ?? ''));
        if (inputs.some((i) => i.id === '13')) return [400, fixture('error-400-property-values.json')];
        return [200, { status: 'COMPLETE', results: inputs.map((i) => ({ ...contactJson(i.id ?? ''), objectWriteTraceId: i.objectWriteTraceId })), startedAt: '2026-11-03T09:00:00Z', completedAt: '2026-11-03T09:00:00Z' }];
      });
    const updates = Array.from({ length: 16 }, (_, i) => ({ ref: { object: 'contact' as const, id: String(i + 1) }, smk: { score: String(i) } }));
    const outcomes = await connector().write(updates);
    expect(outcomes.filter((o) => !o.ok).map((o) => o.ref.id)).toEqual(['13']);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(16)));
  });

  it('clears lifecyclestage in a write of its own before moving it back', async () => {
    const bodies: Input[][] = [];
    nock(BASE)
      .post(UPDATE)
      .times(2)
      .reply((_uri, body) => {
        const inputs = (body as { inputs: Input[] }).inputs;
        bodies.push(inputs);
        return [200, { status: 'COMPLETE', results: inputs.map((i) => ({ ...contactJson(i.id ?? ''), objectWriteTraceId: i.objectWriteTraceId })), startedAt: '2026-11-03T09:00:00Z', completedAt: '2026-11-03T09:00:00Z' }];
      });
    const outcomes = await connector().write([
      { ref: { object: 'contact', id: '7' }, smk: { stage: 'recycled' }, lifecycleStage: { value: 'lead', clearFirst: true } },
      { ref: { object: 'contact', id: '8' }, smk: { stage: 'mql' }, lifecycleStage: { value: 'mql', clearFirst: false } },
    ]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(bodies.map((b) => b.map((i) => [i.id, i.properties]))).toEqual([
      [['7', { lifecyclestage: '' }]],
      [
        ['7', { smk_stage: 'recycled', lifecyclestage: 'lead' }],
        ['8', { smk_stage: 'mql', lifecyclestage: 'marketingqualifiedlead' }],
      ],
    ]);
  });

  it('sends at most 100 inputs per call and throws what concerns the whole call', async () => {
    const sizes: number[] = [];
    nock(BASE)
      .post(UPDATE)
      .times(3)
      .reply((_uri, body) => {
        const inputs = (body as { inputs: Input[] }).inputs;
        sizes.push(inputs.length);
        return [200, { status: 'COMPLETE', results: inputs.map((i) => ({ ...contactJson(i.id ?? ''), objectWriteTraceId: i.objectWriteTraceId })), startedAt: '2026-11-03T09:00:00Z', completedAt: '2026-11-03T09:00:00Z' }];
      });
    const updates = Array.from({ length: 250 }, (_, i) => ({ ref: { object: 'contact' as const, id: String(i + 1) }, smk: { score: '1' } }));
    expect((await connector().write(updates)).every((o) => o.ok)).toBe(true);
    expect(sizes).toEqual([100, 100, 50]);

    nock(BASE).post(UPDATE).reply(403, fixture('error-403-missing-scopes.json'));
    await expect(connector().write(updates.slice(0, 2))).rejects.toMatchObject({ code: 'PERMISSION' });
  });
});

describe('batch create', () => {
  it('looks up emails first, creates the rest with smk_lead_id, and maps a 207 "Contact already exists" to created: false', async () => {
    let lookedUp: string[] = [];
    let created: Input[] = [];
    nock(BASE)
      .post(READ, (body: { inputs: Array<{ id: string }>; idProperty?: string }) => ((lookedUp = body.inputs.map((i) => i.id)), body.idProperty === 'email'))
      .query({ archived: 'false' })
      .reply(207, {
        status: 'COMPLETE',
        results: [contactJson('40001', { email: 'Known.Person@Acme.example.com', smk_lead_id: 'lead-known' })],
        numErrors: 1,
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects', context: { ids: ['new.person@acme.example.com', 'racer@acme.example.com'] }, errors: [], links: {} }],
        startedAt: '2026-11-03T09:10:00Z',
        completedAt: '2026-11-03T09:10:00Z',
      })
      .post(CREATE, (body: { inputs: Input[] }) => ((created = body.inputs), true))
      .reply(withTraces('batch-create-207-conflict.json'));
    const outcomes = await connector().create([
      { leadId: 'lead-known', email: 'known.person@acme.example.com', person: {}, company: {}, smk: {} },
      { leadId: 'lead-new', email: 'new.person@acme.example.com', person: { firstName: 'New' }, company: {}, smk: { grade: 'cold' } },
      { leadId: 'lead-racer', email: 'racer@acme.example.com', person: {}, company: {}, smk: {} },
      { leadId: 'lead-dup', email: 'NEW.person@acme.example.com', person: {}, company: {}, smk: {} },
    ]);
    expect(lookedUp).toEqual(['known.person@acme.example.com', 'new.person@acme.example.com', 'racer@acme.example.com']);
    expect(created.map((c) => c.properties)).toEqual([
      { email: 'new.person@acme.example.com', firstname: 'New', smk_grade: 'cold', smk_lead_id: 'lead-new' },
      { email: 'racer@acme.example.com', smk_lead_id: 'lead-racer' },
    ]);
    expect(outcomes).toEqual([
      { leadId: 'lead-known', ok: true, ref: { object: 'contact', id: '40001' }, created: false },
      { leadId: 'lead-new', ok: true, ref: { object: 'contact', id: '52001' }, created: true },
      { leadId: 'lead-racer', ok: true, ref: { object: 'contact', id: '51873' }, created: false },
      { leadId: 'lead-dup', ok: true, ref: { object: 'contact', id: '52001' }, created: false },
    ]);
  });

  it('handles a whole-batch 409 (no multi-status) by bisecting down to the duplicate', async () => {
    nock(BASE).post(READ).query(true).reply(207, { status: 'COMPLETE', results: [], startedAt: '2026-11-03T09:10:00Z', completedAt: '2026-11-03T09:10:00Z' });
    nock(BASE)
      .post(CREATE)
      .times(5)
      .reply((_uri, body) => {
        const inputs = (body as { inputs: Input[] }).inputs;
        if (inputs.some((i) => i.properties.email === 'b@x.example')) return [409, fixture('error-409-contact-exists.json')];
        return [201, { status: 'COMPLETE', results: inputs.map((i, n) => ({ ...contactJson(String(60000 + n), { email: i.properties.email ?? null }), objectWriteTraceId: i.objectWriteTraceId })), startedAt: '2026-11-03T09:10:00Z', completedAt: '2026-11-03T09:10:00Z' }];
      });
    const outcomes = await connector().create(
      ['a', 'b', 'c'].map((l) => ({ leadId: `lead-${l}`, email: `${l}@x.example`, person: {}, company: {}, smk: {} })),
    );
    expect(outcomes.map((o) => (o.ok ? `${o.ref.id}:${o.created}` : o.error.code))).toEqual(['60000:true', '51873:false', '60000:true']);
    expect(existingIdOf('Contact already exists. Existing ID: 123')).toBe('123');
  });
});

describe('batch read', () => {
  it('reports merged-away ids with their survivor, and archived ones found by one more read', async () => {
    nock(BASE)
      .post(READ)
      .query({ archived: 'false' })
      .reply(207, {
        status: 'COMPLETE',
        results: [contactJson('51901', { hs_merged_object_ids: '51899', email: 'amara@wonka.example.com' }), contactJson('51873')],
        numErrors: 1,
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects', context: { ids: ['51880', '404'] }, errors: [], links: {} }],
        startedAt: '2026-11-03T09:10:00Z',
        completedAt: '2026-11-03T09:10:00Z',
      })
      .post(READ, (body: { inputs: Array<{ id: string }> }) => body.inputs.map((i) => i.id).join() === '51880,404')
      .query({ archived: 'true' })
      .reply(207, {
        status: 'COMPLETE',
        results: [{ ...contactJson('51880'), archived: true, archivedAt: '2026-11-02T08:00:00.000Z' }],
        startedAt: '2026-11-03T09:10:00Z',
        completedAt: '2026-11-03T09:10:00Z',
      });
    const result = await connector().read(['51899', '51873', '51880', '404', '51873'].map((id) => ({ object: 'contact' as const, id })));
    expect(result.fragments.map((f) => f.recordId)).toEqual(['51901', '51873']);
    expect(result.missing).toEqual([
      { object: 'contact', id: '51899' },
      { object: 'contact', id: '51880' },
      { object: 'contact', id: '404' },
    ]);
    expect(result.removed).toEqual([
      { ref: { object: 'contact', id: '51899' }, reason: 'merged', survivorId: '51901', at: '2026-11-03T09:00:00.000Z' },
      { ref: { object: 'contact', id: '51880' }, reason: 'archived', at: '2026-11-02T08:00:00.000Z' },
    ]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
