/**
 * A user fills in a blank synced field in HubSpot, and HubSpot's signed webhook is all that tells
 * the service (no poll): the value lands on the Salesforce Lead. Found by the benchmark's change
 * burst: the webhook intake withheld the value of a synced field (it is personal data) and echo
 * recognition read the withheld value as blank, which is what the contact held, so the change was
 * taken for our own write-back and never read. Now the intake keeps a digest of the value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../jobs/run-once.js';
import { startWorkers } from '../../jobs/workers.js';
import { startServer } from '../../src/server/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { fastSyncConfig, startHarness } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';
import { syncInPhases } from '../reliability/helpers/phased-sync.js';

describe('a blank field filled in in HubSpot, told by webhook only', () => {
  let h: Harness;
  let server: RunningServer;
  let workers: ReturnType<typeof startWorkers> | null = null;

  beforeAll(async () => {
    h = await startHarness({ people: 40, seed: 23, label: 'webhook-field-sync', configYaml: fastSyncConfig('create: { salesforce: never, hubspot: never }') });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
    server = await startServer(h.runtime.ctx, { port: 0, host: '127.0.0.1' });
    h.sandboxes.hubspot.setWebhookUrl(`http://127.0.0.1:${server.port}/webhooks/hubspot`);
    workers = startWorkers(h.runtime.ctx);
  }, 180_000);

  afterAll(async () => {
    await workers?.close();
    await server?.close();
    await h?.close();
  });

  it('lands on the Salesforce Lead', async () => {
    const ctx = h.runtime.ctx;
    // A person in both CRMs whose title is blank in both.
    let target: { contact: string; lead: string } | null = null;
    for await (const page of ctx.leads.all(500)) {
      for (const { lead, views } of page) {
        if (lead.links.hubspot && lead.links.salesforce?.object === 'Lead' && views.hubspot?.fields?.title === null && views.salesforce?.fields?.title === null) {
          target = { contact: lead.links.hubspot.id, lead: lead.links.salesforce.id };
        }
      }
    }
    expect(target, 'the seed has a person with a blank title in both CRMs').not.toBeNull();
    await h.hubspot.crm.contacts.basicApi.update(target!.contact, { properties: { jobtitle: 'Head of Revenue Operations' } });
    await h.sandboxes.hubspot.webhooks.whenIdle();
    // The webhook's ingest, evaluation and write-back, without reading the HubSpot feed.
    const deadline = Date.now() + 30_000;
    let title: unknown = null;
    while (Date.now() < deadline) {
      title = (await h.salesforce.sobject('Lead').retrieve(target!.lead)).Title;
      if (title) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(title).toBe('Head of Revenue Operations');
  }, 60_000);
});
