/**
 * The naive per-record integration the connector is compared with: what a simple
 * webhook-to-API script does for every record it has to update. One read and one write per record,
 * through the same official clients: HubSpot `basicApi.getById` + `basicApi.update`, jsforce
 * `retrieve` + `update`. It runs against fresh sandboxes of the same seed (so the record ids are
 * the same), after the smk fields were provisioned there, and its calls are counted by the
 * sandboxes exactly as the connector's are.
 */
import { Client } from '@hubspot/api-client';
import jsforce from 'jsforce';
import type { SandboxConnection } from '../../connectors/sandbox/start.js';

export interface NaiveWork {
  hubspotIds: string[];
  salesforce: Array<{ object: 'Lead' | 'Contact'; id: string }>;
}

export interface NaiveResult {
  records: number;
  ms: number;
  failures: number;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/** A naive score from the record as read: enough to make the write depend on the read. */
function naiveScore(title: unknown): number {
  return typeof title === 'string' && /chief|vp|director|head|founder/i.test(title) ? 70 : 40;
}

export async function runNaive(connection: SandboxConnection, work: NaiveWork, options: { concurrency?: number } = {}): Promise<NaiveResult> {
  const hubspot = new Client({ accessToken: connection.hubspot.accessToken, basePath: connection.hubspot.baseUrl, numberOfApiCallRetries: 3 });
  const sf = connection.salesforce;
  const salesforce = new jsforce.Connection({
    instanceUrl: sf.instanceUrl,
    accessToken: sf.accessToken,
    refreshToken: sf.refreshToken,
    version: '62.0',
    oauth2: { clientId: sf.clientId, clientSecret: sf.clientSecret, loginUrl: sf.loginUrl },
  });
  const started = Date.now();
  let failures = 0;
  const concurrency = options.concurrency ?? 8;
  await eachLimited(work.hubspotIds, concurrency, async (id) => {
    try {
      const contact = await hubspot.crm.contacts.basicApi.getById(id, ['email', 'jobtitle', 'smk_score']);
      const score = naiveScore(contact.properties.jobtitle);
      await hubspot.crm.contacts.basicApi.update(id, { properties: { smk_score: String(score) } });
    } catch {
      failures += 1;
    }
  });
  await eachLimited(work.salesforce, concurrency, async (ref) => {
    try {
      const record = (await salesforce.sobject(ref.object).retrieve(ref.id)) as Record<string, unknown>;
      const score = naiveScore(record.Title);
      await salesforce.sobject(ref.object).update({ Id: ref.id, Smk_Score__c: score });
    } catch {
      failures += 1;
    }
  });
  return { records: work.hubspotIds.length + work.salesforce.length, ms: Date.now() - started, failures };
}
