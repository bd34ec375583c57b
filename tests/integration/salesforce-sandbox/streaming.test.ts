/**
 * Change Data Capture over the Streaming API, as jsforce's streaming client (faye, long polling)
 * meets it at `/cometd/<version>`: change events with their ChangeEventHeader, replay ids kept for
 * 72 hours (-1 new, -2 all retained, a stored id, an expired id refused with Salesforce's 400),
 * gap and overflow events, the daily event delivery allocation, and the Bayeux errors
 * (Unknown client, Handshake denied).
 */
import { Connection } from 'jsforce';
import { Streaming, StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SalesforceSandboxOptions } from '../../../connectors/salesforce/sandbox/index.js';
import { API_VERSION, control, seedLeads, stats } from './helpers.js';

const running: SalesforceSandbox[] = [];
const clients: Array<{ disconnect(): void }> = [];

async function sandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sb = await startSalesforceSandbox({ seed: 43, changeDataCapture: ['Lead', 'Contact'], ...options });
  running.push(sb);
  return sb;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(running.splice(0).map((sb) => sb.close()));
});

function connect(sb: SalesforceSandbox, client?: string): Connection {
  return new Connection({
    instanceUrl: sb.instanceUrl,
    accessToken: sb.accessToken,
    version: API_VERSION,
    ...(client ? { callOptions: { client } } : {}),
  });
}

interface Received {
  channel: string;
  replayId: number;
  header: { entityName: string; recordIds: string[]; changeType: string; changedFields: string[]; changeOrigin: string; commitTimestamp: number; commitUser: string; transactionKey: string; sequenceNumber: number };
  payload: Record<string, unknown>;
}

/** faye's client as these tests use it (jsforce's typings of faye leave out `disconnect`). */
interface FayeClient {
  subscribe(channel: string, listener: (message: never) => void): PromiseLike<void>;
  disconnect(): void;
}

/** A jsforce streaming client subscribed to `channel` from `replayId`; what it receives, in order. */
async function subscribe(conn: Connection, channel: string, replayId: number): Promise<{ events: Received[]; failure: Promise<string> }> {
  const events: Received[] = [];
  const replay = new StreamingExtension.Replay(channel, replayId);
  const client = new Streaming(conn).createClient([replay]) as unknown as FayeClient;
  clients.push(client);
  const subscription = client.subscribe(channel, (message: { event: { replayId: number }; payload: Record<string, unknown> & { ChangeEventHeader: Received['header'] } }) => {
    events.push({ channel, replayId: message.event.replayId, header: message.payload.ChangeEventHeader, payload: message.payload });
  });
  let failed: (message: string) => void = () => undefined;
  const failure = new Promise<string>((resolve) => (failed = resolve));
  await new Promise<void>((resolve) => subscription.then(resolve, (err: { message?: string }) => {
    failed(String(err.message));
    resolve();
  }));
  return { events, failure };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('change events over CometD', () => {
  it('delivers CREATE, UPDATE and DELETE of selected objects with the ChangeEventHeader; changeOrigin names the writing client', async () => {
    const sb = await sandbox();
    const conn = connect(sb, 'smk-test');
    const { events } = await subscribe(conn, '/data/LeadChangeEvent', -1);

    const created = (await conn.sobject('Lead').create({ LastName: 'Stream', Company: 'Acme', Title: 'CTO' })) as { id: string };
    await conn.sobject('Lead').update({ Id: created.id, Title: 'CEO' });
    await conn.sobject('Lead').destroy(created.id);
    await until(() => events.length === 3);

    expect(events.map((e) => e.header.changeType)).toEqual(['CREATE', 'UPDATE', 'DELETE']);
    for (const e of events) {
      expect(e.header.entityName).toBe('Lead');
      expect(e.header.recordIds).toEqual([created.id]);
      expect(e.header.changeOrigin).toBe(`com/salesforce/api/rest/${API_VERSION};client=smk-test`);
      expect(e.header.commitUser).toMatch(/^005/);
      expect(typeof e.header.commitTimestamp).toBe('number');
    }
    expect(events[1]?.header.changedFields.sort()).toEqual(['LastModifiedDate', 'Title']);
    expect(events[1]?.payload.Title).toBe('CEO');
    expect(events[0]?.payload.Company).toBe('Acme');
    expect(events[1]!.replayId).toBeGreaterThan(events[0]!.replayId);
    // CometD traffic is not a REST API call.
    expect(Object.keys((await stats(sb)).calls).some((k) => k.includes('cometd'))).toBe(false);
  });

  it('a rep edit in the UI has an empty changeOrigin; an object not selected for Change Data Capture sends nothing', async () => {
    const sb = await sandbox({ changeDataCapture: ['Lead'] });
    const conn = connect(sb);
    const leads = await subscribe(conn, '/data/LeadChangeEvent', -1);
    const contacts = await subscribe(conn, '/data/ContactChangeEvent', -1);
    const [lead] = seedLeads(sb, 1);
    await control(sb, 'POST', '/activity', { kind: 'field', id: lead!.Id, fields: { Title: 'VP' } });
    await conn.sobject('Contact').create({ LastName: 'Nobody' });
    await until(() => leads.events.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(leads.events[0]?.header.changeOrigin).toBe('');
    expect(contacts.events).toHaveLength(0);
  });

  it('replays: -2 all retained, a stored id from after it, -1 only new; after 72 hours a stored id is refused with the 400 message', async () => {
    // The session outlives the 72 hours here (a real client would refresh it).
    const sb = await sandbox({ sessionTtlMs: 100 * 3_600_000 });
    const conn = connect(sb);
    const [a, b, c] = seedLeads(sb, 3);
    for (const lead of [a, b, c]) await conn.sobject('Lead').update({ Id: lead!.Id as string, Title: 'Head of Ops' });

    const all = await subscribe(conn, '/data/LeadChangeEvent', -2);
    await until(() => all.events.length === 3);
    const first = all.events[0]!.replayId;

    const after = await subscribe(conn, '/data/LeadChangeEvent', first);
    await until(() => after.events.length === 2);
    expect(after.events.map((e) => e.header.recordIds[0])).toEqual([b!.Id, c!.Id]);

    const fresh = await subscribe(conn, '/data/LeadChangeEvent', -1);
    await new Promise((r) => setTimeout(r, 200));
    expect(fresh.events).toHaveLength(0);

    sb.clock.advance(72 * 3_600_000 + 1000);
    const expired = await subscribe(conn, '/data/LeadChangeEvent', first);
    expect(await expired.failure).toBe(`400::The replayId {${first}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`);
    const none = await subscribe(conn, '/data/LeadChangeEvent', -2);
    await new Promise((r) => setTimeout(r, 200));
    expect(none.events).toHaveLength(0);
  });

  it('publishes gap and overflow events (header only) on request', async () => {
    const sb = await sandbox();
    const conn = connect(sb);
    const { events } = await subscribe(conn, '/data/LeadChangeEvent', -1);
    const [lead] = seedLeads(sb, 1);
    expect((await control(sb, 'POST', '/cdc/gap', { entity: 'Lead', changeType: 'GAP_UPDATE', recordIds: [lead!.Id] })).status).toBe(200);
    expect((await control(sb, 'POST', '/cdc/gap', { entity: 'Lead', changeType: 'GAP_OVERFLOW' })).status).toBe(200);
    await until(() => events.length === 2);
    expect(events[0]?.header).toMatchObject({ entityName: 'Lead', changeType: 'GAP_UPDATE', recordIds: [lead!.Id] });
    expect(Object.keys(events[0]!.payload)).toEqual(['ChangeEventHeader']);
    expect(events[1]?.header).toMatchObject({ entityName: 'Lead', changeType: 'GAP_OVERFLOW', recordIds: ['000000000000000AAA'] });
  });

  it('counts delivered events against the daily allocation: beyond it, /meta/connect fails with 403::Organization total events daily limit exceeded', async () => {
    const sb = await sandbox({ dailyEventDeliveries: 2 });
    const conn = connect(sb);
    const failures: string[] = [];
    const replay = new StreamingExtension.Replay('/data/LeadChangeEvent', -1);
    const auth = new StreamingExtension.AuthFailure((message: { error?: string }) => failures.push(String(message.error)));
    const client = new Streaming(conn).createClient([replay, auth]) as unknown as FayeClient;
    clients.push(client);
    const got: unknown[] = [];
    await client.subscribe('/data/LeadChangeEvent', (m: unknown) => got.push(m));
    const leads = seedLeads(sb, 3);
    for (const lead of leads) await conn.sobject('Lead').update({ Id: lead.Id as string, Title: 'CFO' });
    await until(() => failures.length > 0);
    expect(got).toHaveLength(2);
    expect(failures[0]).toBe('403::Organization total events daily limit exceeded');
    const cdc = (await control<{ delivered: number; dailyEventDeliveries: number }>(sb, 'GET', '/cdc')).body;
    expect(cdc).toMatchObject({ delivered: 2, dailyEventDeliveries: 2 });
  });
});

describe('which objects are selected', () => {
  it('lists them as PlatformEventChannelMember rows of the ChangeEvents channel through the Tooling API', async () => {
    const sb = await sandbox({ changeDataCapture: ['Lead'] });
    const conn = connect(sb);
    const rows = await conn.tooling.query<{ EventChannel: string; SelectedEntity: string }>("SELECT Id, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'");
    expect(rows.records.map((r) => r.SelectedEntity)).toEqual(['LeadChangeEvent']);
    await control(sb, 'PUT', '/cdc', { entities: ['Lead', 'Contact'] });
    const again = await conn.tooling.query<{ SelectedEntity: string }>('SELECT SelectedEntity FROM PlatformEventChannelMember');
    expect(again.records.map((r) => r.SelectedEntity).sort()).toEqual(['ContactChangeEvent', 'LeadChangeEvent']);
  });
});

describe('the Bayeux wire', () => {
  const post = (sb: SalesforceSandbox, body: unknown, token = sb.accessToken) =>
    fetch(`${sb.instanceUrl}/cometd/${API_VERSION}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `OAuth ${token}` }, body: JSON.stringify(body) });

  it('answers a handshake with long-polling, a clientId, advice and the replay extension; an unknown client must handshake again', async () => {
    const sb = await sandbox();
    const res = await post(sb, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    const [hs] = (await res.json()) as Array<Record<string, unknown>>;
    expect(hs).toMatchObject({ channel: '/meta/handshake', successful: true, version: '1.0', supportedConnectionTypes: ['long-polling'], advice: { reconnect: 'retry', interval: 0, timeout: 110_000 }, ext: { replay: true }, id: '1' });
    expect(typeof hs?.clientId).toBe('string');

    const unknown = (await (await post(sb, [{ channel: '/meta/connect', clientId: 'nope', connectionType: 'long-polling', id: '2' }])).json()) as Array<Record<string, unknown>>;
    expect(unknown[0]).toMatchObject({ channel: '/meta/connect', successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake' } });
  });

  it('denies a handshake without a valid session (401 in ext.sfdc.failureReason, reconnect none); an unknown channel cannot be subscribed', async () => {
    const sb = await sandbox();
    const denied = (await (await post(sb, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], 'bad')).json()) as Array<Record<string, unknown>>;
    expect(denied[0]).toMatchObject({ successful: false, error: '403::Handshake denied', ext: { sfdc: { failureReason: '401::Authentication invalid' } }, advice: { reconnect: 'none' } });

    const [hs] = (await (await post(sb, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])).json()) as Array<{ clientId: string }>;
    const sub = (await (await post(sb, [{ channel: '/meta/subscribe', clientId: hs!.clientId, subscription: '/data/LeadStatusChangeEvent' }])).json()) as Array<Record<string, unknown>>;
    expect(sub[0]).toMatchObject({ successful: false, subscription: '/data/LeadStatusChangeEvent', error: "400::The channel you requested to subscribe to doesn't exist {/data/LeadStatusChangeEvent}" });
  });

  it('checks the session of a held connect while it waits: revoked, the connect is answered with 401 and reconnect none, not held on', async () => {
    const sb = await sandbox();
    const [hs] = (await (await post(sb, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])).json()) as Array<{ clientId: string }>;
    const clientId = hs!.clientId;
    await post(sb, [{ channel: '/meta/subscribe', clientId, subscription: '/data/LeadChangeEvent' }]);
    await post(sb, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]); // the first connect answers at once
    const held = post(sb, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '9' }]);
    await new Promise((r) => setTimeout(r, 100));
    await control(sb, 'POST', '/expire-sessions', {});
    const answer = (await (await held).json()) as Array<Record<string, unknown>>;
    expect(answer.at(-1)).toMatchObject({ channel: '/meta/connect', id: '9', successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none' } });
  });

  it('takes long polling only: a connect of another connection type is refused with 400', async () => {
    const sb = await sandbox();
    const [hs] = (await (await post(sb, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])).json()) as Array<{ clientId: string }>;
    const refused = (await (await post(sb, [{ channel: '/meta/connect', clientId: hs!.clientId, connectionType: 'websocket', id: '3' }])).json()) as Array<Record<string, unknown>>;
    expect(refused[0]).toMatchObject({ channel: '/meta/connect', successful: false, error: '400::Invalid connection type {websocket}' });
  });
});
