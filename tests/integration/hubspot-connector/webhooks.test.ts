import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type HubSpotWorld } from './setup.js';

interface Delivery {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

describe('HubSpot webhooks from the sandbox', () => {
  let w: HubSpotWorld;
  let server: Server;
  let url: string;
  const deliveries: Delivery[] = [];
  let failNext = 0;

  beforeAll(async () => {
    w = await startWorld('hs-webhooks', { people: 40, seed: 9, sandbox: { webhookBatchMs: 20, webhookRetryBaseMs: 20 } });
    await w.connector.ensureSchema();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks) });
        if (failNext > 0) {
          failNext -= 1;
          res.statusCode = 503;
        } else res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/hubspot?source=sandbox`;
    w.sandbox.setWebhookUrl(url);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await w?.close();
  });

  const asRequest = (d: Delivery) => ({ method: d.method, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${d.path}`, rawBody: d.rawBody, headers: d.headers });

  it('verifies the v3 signature of real deliveries and turns them into refs for the ingest path', async () => {
    const ids = [...w.sandbox.store.all()].slice(0, 3).map((c) => c.id);
    await w.connector.write(ids.map((id, i) => ({ ref: { object: 'contact', id }, smk: { score: String(70 + i) } })));
    const created = await w.connector.create([{ leadId: 'lead-webhook', email: 'webhook.person@example.org', person: { firstName: 'Web' }, company: {}, smk: {} }]);
    await w.sandbox.webhooks.whenIdle();
    expect(deliveries.length).toBeGreaterThanOrEqual(1);
    const refs = new Set<string>();
    const eventIds: string[] = [];
    for (const d of deliveries) {
      expect(d.path).toBe('/webhooks/hubspot?source=sandbox');
      expect(w.connector.verifyWebhook(asRequest(d))).toEqual({ ok: true });
      const parsed = w.connector.parseWebhook(d.rawBody);
      expect(parsed.problems).toEqual([]);
      for (const r of parsed.refs) refs.add(r.id);
      eventIds.push(...parsed.eventIds);
    }
    const newId = created[0]?.ok ? created[0].ref.id : '';
    expect([...refs].sort()).toEqual([...ids, newId].sort());
    expect(new Set(eventIds).size).toBe(eventIds.length);
    // They feed the same path as the poll: read the refs.
    const read = await w.connector.read([...refs].map((id) => ({ object: 'contact' as const, id })));
    expect(read.fragments.map((f) => f.recordId).sort()).toEqual([...refs].sort());
  });

  it('refuses a tampered body, a wrong secret and a replayed old delivery', async () => {
    const d = deliveries[0] as Delivery;
    const tampered = Buffer.from(d.rawBody.toString('utf8').replace(/"objectId":(\d)/, '"objectId":9$1'));
    expect(w.connector.verifyWebhook({ ...asRequest(d), rawBody: tampered })).toEqual({ ok: false, reason: 'bad-signature' });
    const other = w.connect({ clientSecret: 'not-the-app-secret' });
    expect(other.verifyWebhook(asRequest(d))).toEqual({ ok: false, reason: 'bad-signature' });
    const sentAt = Number(d.headers['x-hubspot-request-timestamp']);
    expect(w.connector.verifyWebhook(asRequest(d), { now: sentAt + 5 * 60_000 + 1 })).toEqual({ ok: false, reason: 'stale-timestamp' });
  });

  it('a redelivery after a failed attempt carries the same eventIds, so the pipeline can drop the duplicate', async () => {
    const before = deliveries.length;
    failNext = 1;
    const id = [...w.sandbox.store.all()][10]?.id as string;
    await w.connector.write([{ ref: { object: 'contact', id }, smk: { grade: 'cold' } }]);
    await w.sandbox.webhooks.whenIdle();
    const [failed, retried] = deliveries.slice(before);
    expect(failed && retried).toBeTruthy();
    const first = w.connector.parseWebhook((failed as Delivery).rawBody);
    const second = w.connector.parseWebhook((retried as Delivery).rawBody);
    expect(second.eventIds).toEqual(first.eventIds);
    expect(w.connector.verifyWebhook(asRequest(retried as Delivery))).toEqual({ ok: true });
    const seen = new Set(first.eventIds);
    expect(second.eventIds.filter((e) => !seen.has(e))).toEqual([]);
  });
});
