/**
 * The bench's recorder tells a connector write from a user's change by who made the call. Field sync
 * writes the fields a user changes (a title, a phone), so a rule by field name would count the
 * connector's Title write to a Salesforce Lead as the user's, and the change would never be seen
 * reaching the other CRM.
 */
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes } from '../../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../../connectors/sandbox/start.js';
import { Recorder, newCounters } from '../../../bench/lib/recorder.js';

let sb: Sandboxes;
let recorder: Recorder;

beforeAll(async () => {
  sb = await startSandboxes({ people: 40, seed: 5, hubspotPerTenSeconds: 0 });
  recorder = new Recorder(sb);
});

afterAll(async () => {
  await sb.close();
});

function salesforce(client?: string): Connection {
  const c = sb.connection.salesforce;
  return new Connection({
    instanceUrl: c.instanceUrl,
    accessToken: c.accessToken,
    version: '62.0',
    ...(client ? { callOptions: { client } } : {}),
  });
}

describe('the bench recorder', () => {
  it('counts a Salesforce write by the connector (it names its client) as the connector\'s, whatever fields it sets', async () => {
    const lead = recorder.candidates(1)[0];
    expect(lead).toBeDefined();
    const id = lead?.salesforceId as string;
    recorder.watch({ salesforce: [id] });
    recorder.counters = newCounters();

    await salesforce().sobject('Lead').update({ Id: id, NumberOfEmployees: 77 });
    await salesforce('smarketing-connector').sobject('Lead').update({ Id: id, Title: 'Chief Revenue Officer' });

    const marks = recorder.timelines().salesforce[id] ?? [];
    expect(marks.map((m) => m.who)).toEqual(['user', 'connector']);
    // The floor counts every record the connector wrote, a field-sync write included.
    expect(recorder.phaseReport().salesforce.written).toEqual({ Lead: 1 });
  });

  it('counts the records the connector wrote for field sync alone (no smk field, no owner), apart from the rest', async () => {
    const [a, b] = recorder.candidates(2).slice(0, 2);
    recorder.counters = newCounters();
    const connector = salesforce('smarketing-connector');
    await connector.sobject('Lead').update({ Id: a!.salesforceId, Title: 'VP Sales' });
    await connector.sobject('Lead').update({ Id: b!.salesforceId, Title: 'CFO', OwnerId: sb.salesforce.store.get(b!.salesforceId)!.OwnerId as string });
    expect(recorder.phaseReport().salesforce).toMatchObject({ written: { Lead: 2 }, fieldSyncOnly: 1 });
  });
});
