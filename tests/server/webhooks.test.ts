import { DEFAULT_SYNC_FIELDS, fieldValueDigest } from '../../src/model/field-sync.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestJob } from '../../jobs/queues.js';
import { parseWebhookEvents } from '../../connectors/hubspot/webhooks.js';
import { settleLatest, WEBHOOK_BODY_LIMIT } from '../../src/server/webhooks.js';
import { CLIENT_SECRET, postWebhook, signV3, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let nextEventId = 1000;
function event(subscriptionType: string, objectId: number, extra: Record<string, unknown> = {}) {
  nextEventId += 1;
  return { eventId: nextEventId, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType, attemptNumber: 0, objectId, changeSource: 'CRM', ...extra };
}

async function ingestJobs(h: ServerHarness): Promise<IngestJob[]> {
  const jobs = await h.ctx.queues.ingest.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
  return jobs.map((j) => j.data);
}

describe('POST /webhooks/hubspot', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('webhooks');
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.ctx.queues.ingest.obliterate({ force: true });
  });

  it('accepts a signed delivery as ONE ingest job with the contacts to read', async () => {
    const body = JSON.stringify([event('contact.propertyChange', 101, { propertyName: 'email' }), event('contact.creation', 102), event('contact.propertyChange', 101)]);
    const res = await postWebhook(h.url, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 3, duplicates: 0 });
    const jobs = await ingestJobs(h);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ crm: 'hubspot', removed: [] });
    expect(jobs[0]?.refs).toEqual([{ object: 'contact', id: '101' }, { object: 'contact', id: '102' }]);
    expect(typeof jobs[0]?.readAt).toBe('number');
  });

  it('turns a deletion into an archived removal and a merge into a merged removal with the survivor', async () => {
    const body = JSON.stringify([
      event('contact.deletion', 201, { changeFlag: 'DELETED' }),
      event('contact.merge', 301, { primaryObjectId: 301, newObjectId: 301, mergedObjectIds: [302], numberOfPropertiesMoved: 4 }),
    ]);
    expect((await postWebhook(h.url, body)).status).toBe(200);
    const [job] = await ingestJobs(h);
    expect(job?.refs).toEqual([{ object: 'contact', id: '301' }]);
    expect(job?.removed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ref: { object: 'contact', id: '201' }, reason: 'archived' }),
        expect.objectContaining({ ref: { object: 'contact', id: '302' }, reason: 'merged', survivorId: '301' }),
      ]),
    );
  });

  it.each<[string, Parameters<typeof postWebhook>[2]]>([
    ['a signature made with another secret', { secret: 'not-the-secret' }],
    ['a missing signature header', { omit: 'signature' }],
    ['a missing timestamp header', { omit: 'timestamp' }],
    ['a timestamp older than 5 minutes', { timestamp: Date.now() - 5 * 60_000 - 1000 }],
    ['a timestamp from the far future', { timestamp: Date.now() + 10 * 60_000 }],
    ['a signature over another URI', { signedUri: 'http://elsewhere.example/webhooks/hubspot' }],
  ])('refuses %s with 401 and enqueues nothing', async (_name, options) => {
    const res = await postWebhook(h.url, JSON.stringify([event('contact.creation', 401)]), options);
    expect(res.status).toBe(401);
    expect(await res.json()).toHaveProperty('error');
    expect(await ingestJobs(h)).toHaveLength(0);
  });

  it('keeps the values of the properties the connector writes, digests of synced fields\' values (for echo recognition), and no other value', async () => {
    const body = JSON.stringify([
      event('contact.propertyChange', 201, { propertyName: 'email', propertyValue: 'ann.private@example.com' }),
      event('contact.propertyChange', 201, { propertyName: 'firstname', propertyValue: 'Ann' }),
      event('contact.propertyChange', 201, { propertyName: 'smk_score', propertyValue: '42' }),
      event('contact.propertyChange', 201, { propertyName: 'lifecyclestage', propertyValue: 'marketingqualifiedlead' }),
    ]);
    expect((await postWebhook(h.url, body)).status).toBe(200);
    const [job] = await ingestJobs(h);
    expect(JSON.stringify(job)).not.toMatch(/ann\.private|"Ann"/);
    const field = (name: string) => DEFAULT_SYNC_FIELDS.find((f) => f.name === name)!;
    expect(job?.changes?.['201']).toEqual([
      // Synced fields: a digest of the canonical value, never the value.
      { property: 'email', value: null, digest: fieldValueDigest(field('email'), 'ann.private@example.com') },
      { property: 'firstname', value: null, digest: fieldValueDigest(field('firstName'), 'Ann') },
      { property: 'smk_score', value: '42' },
      { property: 'lifecyclestage', value: 'marketingqualifiedlead' },
    ]);
  });

  it('refuses a body changed after signing', async () => {
    const target = `${h.url}/webhooks/hubspot`;
    const timestamp = String(Date.now());
    const signed = JSON.stringify([event('contact.creation', 402)]);
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-HubSpot-Signature-v3': signV3(CLIENT_SECRET, 'POST', target, signed, timestamp), 'X-HubSpot-Request-Timestamp': timestamp },
      body: signed.replace('402', '403'),
    });
    expect(res.status).toBe(401);
    expect(await ingestJobs(h)).toHaveLength(0);
  });

  it('refuses the same signed request sent twice (a replay) and enqueues only once', async () => {
    const body = JSON.stringify([event('contact.creation', 501)]);
    const timestamp = Date.now();
    expect((await postWebhook(h.url, body, { timestamp })).status).toBe(200);
    const replay = await postWebhook(h.url, body, { timestamp });
    expect(replay.status).toBe(401);
    expect(await ingestJobs(h)).toHaveLength(1);
  });

  it('ignores a redelivery of events it already took (HubSpot retry, fresh signature)', async () => {
    const events = [event('contact.creation', 601), event('contact.propertyChange', 602)];
    expect((await postWebhook(h.url, JSON.stringify(events))).status).toBe(200);
    const retry = await postWebhook(h.url, JSON.stringify(events.map((e) => ({ ...e, attemptNumber: 1 }))), { timestamp: Date.now() + 1 });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ accepted: 0, duplicates: 2, jobId: null });
    expect(await ingestJobs(h)).toHaveLength(1);
  });

  it('takes only the new events of a partly repeated delivery', async () => {
    const old = event('contact.creation', 701);
    await postWebhook(h.url, JSON.stringify([old]));
    await h.ctx.queues.ingest.obliterate({ force: true });
    const res = await postWebhook(h.url, JSON.stringify([old, event('contact.creation', 702)]), { timestamp: Date.now() + 1 });
    expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 1 });
    const [job] = await ingestJobs(h);
    expect(job?.refs).toEqual([{ object: 'contact', id: '702' }]);
  });

  it('answers malformed JSON with 400 (signature valid) and enqueues nothing', async () => {
    const res = await postWebhook(h.url, '[{"eventId": 1,');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'malformed JSON' });
    expect(await ingestJobs(h)).toHaveLength(0);
  });

  it('answers a JSON body that is not an event array with 400 naming the problem', async () => {
    const res = await postWebhook(h.url, JSON.stringify({ eventId: 1 }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: expect.stringContaining('not an array of events') });
    expect(await ingestJobs(h)).toHaveLength(0);
  });

  it('sends an event of the wrong shape to sync errors through the job, and still takes the rest', async () => {
    const res = await postWebhook(h.url, JSON.stringify([{ eventId: 950, subscriptionType: 'contact.creation', occurredAt: 1 }, event('contact.creation', 951)]));
    expect(res.status).toBe(200);
    const [job] = await ingestJobs(h);
    expect(job?.refs).toEqual([{ object: 'contact', id: '951' }]);
    expect(job?.problems).toEqual([expect.objectContaining({ code: 'VALIDATION', ref: null })]);
  });

  it('ignores events of other objects', async () => {
    const res = await postWebhook(h.url, JSON.stringify([event('company.creation', 801)]));
    expect(await res.json()).toMatchObject({ ignored: 1, jobId: null });
    expect(await ingestJobs(h)).toHaveLength(0);
  });

  it('refuses a body over WEBHOOK_BODY_LIMIT (HubSpot\'s largest delivery) with 413', async () => {
    const res = await postWebhook(h.url, JSON.stringify(['x'.repeat(WEBHOOK_BODY_LIMIT)]));
    expect(res.status).toBe(413);
    expect(await ingestJobs(h)).toHaveLength(0);
  });
});

describe('the signed URI behind a proxy (SMK_PUBLIC_URL)', () => {
  let h: ServerHarness;
  const publicUrl = 'https://smk.example.com/base';
  beforeAll(async () => {
    h = await startHarness('webhooks-public', { env: { SMK_PUBLIC_URL: publicUrl } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('verifies against SMK_PUBLIC_URL plus the path, not the URL that reached the process', async () => {
    const body = JSON.stringify([event('contact.creation', 901)]);
    const local = await postWebhook(h.url, body);
    expect(local.status).toBe(401);
    const res = await postWebhook(h.url, body, { signedUri: `${publicUrl}/webhooks/hubspot` });
    expect(res.status).toBe(200);
    const jobs = await h.ctx.queues.ingest.getJobs(['waiting', 'prioritized']);
    expect(jobs.map((j) => j.data.refs)).toEqual([[{ object: 'contact', id: '901' }]]);
  });
});

describe('settleLatest', () => {
  const work = (events: unknown[]) => settleLatest(parseWebhookEvents(JSON.stringify(events)));
  it.each<[string, unknown[], { refs: string[]; removed: Array<[string, string]> }]>([
    ['string ids as sent by some apps', [{ eventId: '1', subscriptionType: 'contact.creation', objectId: '7', occurredAt: 1 }], { refs: ['7'], removed: [] }],
    ['deleted then restored: read it', [
      { eventId: 1, subscriptionType: 'contact.deletion', objectId: 7, occurredAt: 1 },
      { eventId: 2, subscriptionType: 'contact.restore', objectId: 7, occurredAt: 2 },
    ], { refs: ['7'], removed: [] }],
    ['changed then deleted: gone', [
      { eventId: 1, subscriptionType: 'contact.propertyChange', objectId: 7, occurredAt: 1 },
      { eventId: 2, subscriptionType: 'contact.deletion', objectId: 7, occurredAt: 2 },
    ], { refs: [], removed: [['7', 'archived']] }],
    ['merge without newObjectId keeps primaryObjectId', [
      { eventId: 1, subscriptionType: 'contact.merge', objectId: 8, occurredAt: 1, primaryObjectId: 8, mergedObjectIds: [8, 9] },
    ], { refs: ['8'], removed: [['9', 'merged']] }],
    ['a merged-away contact that also changed is still merged', [
      { eventId: 1, subscriptionType: 'contact.propertyChange', objectId: 9, occurredAt: 2 },
      { eventId: 2, subscriptionType: 'contact.merge', objectId: 8, occurredAt: 1, primaryObjectId: 8, mergedObjectIds: [9] },
    ], { refs: ['9', '8'], removed: [['9', 'merged']] }],
  ])('%s', (_name, events, expected) => {
    const result = work(events);
    expect(result.refs.map((r) => r.id)).toEqual(expected.refs);
    expect(result.removed.map((r) => [r.ref.id, r.reason])).toEqual(expected.removed);
  });
});
