import { Signature, type Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../../connectors/sandbox/common.js';
import { startHubSpotSandbox, type HubSpotSandbox, type WebhookEventJson } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, shapeDiff, waitFor } from './helpers.js';

interface Delivery {
  url: string;
  body: string;
  headers: Record<string, string | undefined>;
  events: WebhookEventJson[];
  status: number;
}

const deliveries: Delivery[] = [];
/** Statuses the receiver answers with, in order; 204 once they run out. */
let script: number[] = [];
let receiver: RunningServer;
let hookUrl: string;
let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  const app = express();
  app.post('/hooks/hubspot', express.text({ type: '*/*', limit: '5mb' }), (req, res) => {
    const status = script.shift() ?? 204;
    const body = typeof req.body === 'string' ? req.body : '';
    deliveries.push({
      url: `http://${req.get('host') ?? ''}${req.originalUrl}`,
      body,
      headers: {
        signature: req.get('x-hubspot-signature-v3'),
        timestamp: req.get('x-hubspot-request-timestamp'),
        version: req.get('x-hubspot-signature-version'),
        contentType: req.get('content-type'),
      },
      events: JSON.parse(body) as WebhookEventJson[],
      status,
    });
    res.status(status).end();
  });
  receiver = await listen(app, 0);
  hookUrl = `${receiver.url}/hooks/hubspot`;
  sandbox = await startHubSpotSandbox({
    world: generateWorld({ people: 60, seed: 2 }),
    webhookUrl: hookUrl,
    webhookBatchMs: 30,
    webhookRetryBaseMs: 100,
  });
  client = officialClient(sandbox);
});

afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

beforeEach(async () => {
  await sandbox.webhooks.whenIdle();
  deliveries.length = 0;
  script = [];
});

function verified(d: Delivery): boolean {
  return Signature.isValid({
    signatureVersion: 'v3',
    signature: d.headers.signature ?? '',
    clientSecret: sandbox.clientSecret,
    requestBody: d.body,
    url: d.url,
    method: 'POST',
    timestamp: Number(d.headers.timestamp),
  });
}

const delivered = () => deliveries.filter((d) => d.status < 300).flatMap((d) => d.events);

describe('HubSpot sandbox: webhooks', () => {
  it('delivers signed batches of contact events that the SDK verifies, in the recorded shape', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'hook@example.com', firstname: 'Hook' }, associations: [] });
    await client.crm.contacts.basicApi.update(created.id, { properties: { jobtitle: 'CTO', lifecyclestage: 'lead', firstname: 'Hook' } });
    await client.crm.contacts.basicApi.archive(created.id);
    await control(sandbox, 'POST', '/merge', { primaryId: '101', mergedId: '102' });
    await sandbox.webhooks.whenIdle();

    expect(deliveries.length).toBeGreaterThan(0);
    for (const d of deliveries) {
      expect(d.headers.version).toBe('v3');
      expect(d.headers.contentType).toContain('application/json');
      expect(verified(d)).toBe(true);
      expect(verified({ ...d, body: `${d.body} ` })).toBe(false);
    }
    const events = delivered();
    const ours = events.filter((e) => e.objectId === Number(created.id));
    const types = ours.map((e) => `${e.subscriptionType}${e.propertyName ? `:${e.propertyName}` : ''}`);
    // firstname was written again with the same value: no event for it.
    expect(types).toEqual([
      'contact.creation',
      'contact.propertyChange:email',
      'contact.propertyChange:firstname',
      'contact.propertyChange:jobtitle',
      'contact.propertyChange:lifecyclestage',
      'contact.deletion',
    ]);
    for (const e of ours) {
      expect(e.changeSource).toBe('INTEGRATION');
      expect(e.sourceId).toBe(String(sandbox.appId));
      expect(e.portalId).toBe(sandbox.portalId);
      expect(e.appId).toBe(sandbox.appId);
      expect(e.attemptNumber).toBe(0);
    }
    expect(ours.find((e) => e.propertyName === 'jobtitle')?.propertyValue).toBe('CTO');
    const merge = events.find((e) => e.subscriptionType === 'contact.merge');
    expect(merge).toMatchObject({ objectId: 101, primaryObjectId: 101, mergedObjectIds: [102], newObjectId: 101, changeSource: 'CRM_UI' });
    const ids = events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);

    const recorded = fixture<WebhookEventJson[]>('webhook-contact-events.json');
    for (const e of events) {
      const model = recorded.find((r) => r.subscriptionType === e.subscriptionType);
      expect(shapeDiff(e, model, [])).toEqual([]);
    }
  });

  it('retries a failed delivery with back-off and a higher attemptNumber', async () => {
    script = [500, 503];
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'retry@example.com' }, associations: [] });
    await waitFor(() => deliveries.length >= 3, 5000);
    await sandbox.webhooks.whenIdle();
    expect(deliveries.map((d) => d.status)).toEqual([500, 503, 204]);
    expect(deliveries.map((d) => d.events[0]?.attemptNumber)).toEqual([0, 1, 2]);
    expect(deliveries.map((d) => d.events.map((e) => e.eventId))).toEqual(Array.from({ length: 3 }, () => deliveries[0]?.events.map((e) => e.eventId)));
    expect(deliveries.every(verified)).toBe(true);
    expect(deliveries[2]?.events.some((e) => e.objectId === Number(created.id))).toBe(true);
  });

  it('never puts more than 100 events in one POST', async () => {
    const inputs = Array.from({ length: 60 }, (_, i) => ({ properties: { email: `bulk${i}@example.com`, firstname: `Bulk${i}` }, associations: [] }));
    await client.crm.contacts.batchApi.create({ inputs });
    await sandbox.webhooks.whenIdle();
    const events = delivered();
    expect(events).toHaveLength(180);
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(deliveries.every((d) => d.events.length <= 100)).toBe(true);
  });

  it('reports visitor activity with its own change source, and UI edits as CRM_UI', async () => {
    await control(sandbox, 'POST', '/activity', { contactId: '110', kind: 'page_view', count: 3 });
    await control(sandbox, 'PATCH', '/contacts/110', { properties: { lifecyclestage: 'subscriber' } });
    await sandbox.webhooks.whenIdle();
    const events = delivered().filter((e) => e.objectId === 110);
    const views = events.find((e) => e.propertyName === 'hs_analytics_num_page_views');
    expect(views?.changeSource).toBe('ANALYTICS');
    const stage = events.find((e) => e.propertyName === 'lifecyclestage');
    expect(stage?.changeSource).toBe('CRM_UI');
    expect(stage?.sourceId).toMatch(/^userId:\d+$/);
  });

  it('sends nothing while no webhook URL is set, and uses a new URL once set', async () => {
    sandbox.setWebhookUrl(null);
    await client.crm.contacts.basicApi.update('111', { properties: { jobtitle: 'Silent' } });
    await sandbox.webhooks.whenIdle();
    expect(deliveries).toHaveLength(0);
    expect((await control(sandbox, 'PUT', '/webhook', { url: hookUrl })).status).toBe(200);
    await client.crm.contacts.basicApi.update('111', { properties: { jobtitle: 'Heard' } });
    await sandbox.webhooks.whenIdle();
    expect(delivered().map((e) => e.propertyValue)).toEqual(['Heard']);
  });
});
