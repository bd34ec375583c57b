/**
 * The webhook endpoint's own defences: a request without HubSpot's v3 signature headers (or with a
 * timestamp outside the 5-minute window) is refused before its body is read; the body limit fits
 * HubSpot's largest real delivery (100 events whose property values hold up to 65,536 characters);
 * and the memory of seen event ids and signatures is bounded by count as well as by age.
 */
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_MEMORY_MS, WEBHOOK_BODY_LIMIT } from '../../src/server/webhooks.js';
import { postWebhook, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

interface EarlyAnswer {
  status: number | null;
  body: string;
  /** Bytes of the body the client had written when the answer came. */
  sentBeforeAnswer: number;
}

/**
 * POSTs to the webhook with the given headers, declaring a `declared`-byte body but sending only
 * 64 KB of it, and waits up to `waitMs` for an answer: a server that reads the body first never
 * answers (status null), one that refuses on the headers answers at once.
 */
function postWithoutFinishing(url: string, headers: Record<string, string>, declared: number, waitMs = 2000): Promise<EarlyAnswer> {
  return new Promise((resolve) => {
    const target = new URL(`${url}/webhooks/hubspot`);
    let sent = 0;
    let settled = false;
    const finish = (answer: EarlyAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const req = request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(declared), ...headers } },
      (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => finish({ status: res.statusCode ?? null, body, sentBeforeAnswer: sent }));
        res.on('error', () => finish({ status: res.statusCode ?? null, body, sentBeforeAnswer: sent }));
      },
    );
    // The server may close the connection on its refusal while the client still writes: that is fine.
    req.on('error', () => undefined);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    sent += chunk.length;
    req.write(chunk);
    const timer = setTimeout(() => finish({ status: null, body: '', sentBeforeAnswer: sent }), waitMs);
  });
}

let nextEventId = 5_000_000;
function events(count: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  return Array.from({ length: count }, (_, i) => {
    nextEventId += 1;
    return { eventId: nextEventId, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 1000 + i, propertyName: 'firstname', propertyValue: 'x', changeSource: 'CRM', ...extra(i) };
  });
}

describe('POST /webhooks/hubspot refuses on its headers, before reading the body', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('webhook-headers');
  });
  afterAll(async () => {
    await h.close();
  });

  it.each<[string, () => Record<string, string>, string]>([
    ['no signature headers at all', () => ({}), 'missing signature'],
    ['no signature header', () => ({ 'X-HubSpot-Request-Timestamp': String(Date.now()) }), 'missing signature'],
    ['no timestamp header', () => ({ 'X-HubSpot-Signature-v3': 'c2lnbmF0dXJlLXRoYXQtaXMtbm90LWNoZWNrZWQteWV0' }), 'missing signature'],
    ['a timestamp six minutes old', () => ({ 'X-HubSpot-Signature-v3': 'c2lnbmF0dXJl', 'X-HubSpot-Request-Timestamp': String(Date.now() - 6 * 60_000) }), '5-minute window'],
    ['a timestamp that is no number', () => ({ 'X-HubSpot-Signature-v3': 'c2lnbmF0dXJl', 'X-HubSpot-Request-Timestamp': 'yesterday' }), 'invalid signature'],
  ])('%s: 401 at once, while the body is still coming', async (_name, headers, error) => {
    const answer = await postWithoutFinishing(h.url, headers(), 1_000_000);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: expect.stringContaining(error) });
  });

  it('a request that declares a body far over the limit without signing it is a 401, not a 413', async () => {
    const answer = await postWithoutFinishing(h.url, {}, 50_000_000);
    expect(answer.status).toBe(401);
  });

  it('with the headers, the body is read and its signature checked as before', async () => {
    const answer = await postWithoutFinishing(h.url, { 'X-HubSpot-Signature-v3': 'c2lnbmF0dXJl', 'X-HubSpot-Request-Timestamp': String(Date.now()) }, 1_000_000, 700);
    expect(answer.status).toBeNull();
  });
});

describe('the webhook body limit', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness('webhook-limit');
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.ctx.queues.ingest.obliterate({ force: true });
  });

  it('takes HubSpot\'s largest delivery: 100 property changes whose values hold 65,536 characters each', async () => {
    const body = JSON.stringify(events(100, (i) => ({ propertyName: 'message', propertyValue: String.fromCharCode(97 + (i % 26)).repeat(65_536) })));
    expect(body.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(body.length).toBeLessThanOrEqual(WEBHOOK_BODY_LIMIT);
    const res = await postWebhook(h.url, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 100, duplicates: 0 });
    const jobs = await h.ctx.queues.ingest.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(jobs.flatMap((j) => j.data.refs)).toHaveLength(100);
  });

  it('refuses a signed body over the limit with 413, without enqueueing anything', async () => {
    const body = JSON.stringify(events(1, () => ({ propertyValue: 'p'.repeat(WEBHOOK_BODY_LIMIT) })));
    const res = await postWebhook(h.url, body);
    expect(res.status).toBe(413);
    expect(await h.ctx.queues.ingest.getJobCounts('waiting', 'prioritized')).toMatchObject({ waiting: 0, prioritized: 0 });
  });
});

describe('the memory of seen events and signatures', () => {
  let h: ServerHarness;
  let clock = Date.now();
  /** Each delivery a second after the one before, signed at that time. */
  const deliver = (body: unknown[], timestamp?: number) => {
    clock += 1000;
    return postWebhook(h.url, JSON.stringify(body), { timestamp: timestamp ?? clock });
  };
  beforeAll(async () => {
    h = await startHarness('webhook-memory', { server: { wallClock: () => clock, webhookMemory: { events: 50, signatures: 4 } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('holds at most its count of event ids, the newest ones', async () => {
    const deliveries = [events(30), events(30), events(30)];
    for (const delivery of deliveries) expect((await deliver(delivery)).status).toBe(200);
    const seen = h.ctx.keys.webhookSeen();
    expect(await h.t.redis.zcard(seen)).toBe(50);
    // The newest delivery is still known as a whole: HubSpot's retry of it adds nothing.
    expect(await (await deliver(deliveries[2] as unknown[])).json()).toMatchObject({ accepted: 0, duplicates: 30 });
    // The oldest was forgotten first: its redelivery is taken again (a harmless re-read of its contacts).
    expect(await (await deliver(deliveries[0] as unknown[])).json()).toMatchObject({ accepted: 30 });
    expect(await h.t.redis.zcard(seen)).toBe(50);
  });

  it('holds at most its count of signatures, and a flood of events never pushes a fresh signature out', async () => {
    const body = events(1);
    const res = await deliver(body);
    expect(res.status).toBe(200);
    const signedAt = clock;
    // More events than the event memory holds, in later deliveries: the signature stays remembered.
    for (let i = 0; i < 2; i += 1) expect((await deliver(events(60))).status).toBe(200);
    expect((await deliver(body, signedAt)).status).toBe(401);
    for (let i = 0; i < 6; i += 1) expect((await deliver(events(1))).status).toBe(200);
    expect(await h.t.redis.zcard(`${h.ctx.keys.webhookSeen()}:signatures`)).toBe(4);
  });

  it('forgets event ids after EVENT_MEMORY_MS, and the keys expire on their own', async () => {
    const delivery = events(5);
    expect((await deliver(delivery)).status).toBe(200);
    const ttl = await h.t.redis.pttl(h.ctx.keys.webhookSeen());
    expect(ttl).toBeGreaterThan(EVENT_MEMORY_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(EVENT_MEMORY_MS + 60_000);
    expect(await h.t.redis.pttl(`${h.ctx.keys.webhookSeen()}:signatures`)).toBeGreaterThan(0);
    clock += EVENT_MEMORY_MS;
    expect(await (await deliver(delivery)).json()).toMatchObject({ accepted: 5, duplicates: 0 });
    // Only that delivery's ids are left: everything older has aged out.
    expect(await h.t.redis.zcard(h.ctx.keys.webhookSeen())).toBe(5);
  });
});
