/**
 * The connector's Change Data Capture subscription against the sandbox: our own writes are marked
 * by changeOrigin, a refused session ends the subscribe with the reason instead of hanging, and
 * the streaming handshake itself costs no REST API call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamState, StreamedChange } from '../../../connectors/types.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Salesforce change stream', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('sf-stream', 20, 13, { changeDataCapture: ['Lead', 'Contact'] });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('marks our own write as own and a rep edit as not; subscribing costs no API call', async () => {
    const connector = h.connector();
    expect(await connector.changeDataCapture()).toEqual(['Contact', 'Lead']);
    await h.resetStats();
    const changes: StreamedChange[] = [];
    const sub = await connector.subscribe!({ Lead: null, Contact: null }, { onChanges: async (c) => void changes.push(...c), onState: () => undefined });
    expect((await h.stats()).total).toBe(0);
    const lead = h.sandbox.store.list('Lead').find((l) => l.IsConverted !== true)!;
    const written = await connector.write([{ ref: { object: 'Lead', id: lead.Id as string }, smk: {}, status: 'Working - Contacted' }]);
    expect(written.every((w) => w.ok)).toBe(true);
    await h.control('/activity', { kind: 'field', id: lead.Id, fields: { Title: 'Head of Growth' } });
    await until(() => changes.length === 2);
    await sub.close();
    expect(changes.map((c) => [c.own, c.changeType, c.refs[0]?.id])).toEqual([[true, 'UPDATE', lead.Id], [false, 'UPDATE', lead.Id]]);
  });

  it('a session the org refused is refreshed once and the stream subscribes with the new token; a refresh the org refuses too ends the subscribe with reason auth (no hang)', async () => {
    const connector = h.connector();
    await connector.changeDataCapture();
    await h.control('/expire-sessions');
    const tokenRequests = async () => ((await (await fetch(`${h.sandbox.instanceUrl}/__sandbox/oauth`)).json()) as { tokenRequests: number }).tokenRequests;
    const before = await tokenRequests();
    const states: StreamState[] = [];
    const changes: StreamedChange[] = [];
    const sub = await connector.subscribe!({ Lead: null, Contact: null }, { onChanges: async (c) => void changes.push(...c), onState: (s) => void states.push(s) });
    expect(states).toEqual([{ state: 'connected' }]);
    expect(await tokenRequests()).toBe(before + 1);
    const lead = h.sandbox.store.list('Lead').find((l) => l.IsConverted !== true)!;
    await h.control('/activity', { kind: 'field', id: lead.Id, fields: { Title: 'Chief Streaming Officer' } });
    await until(() => changes.length === 1);
    await sub.close();

    // The refresh token revoked as well (an admin disconnected the app): no session to be had.
    await h.control('/expire-sessions');
    await h.control('/revoke', { refreshToken: h.sandbox.refreshToken });
    states.length = 0;
    await expect(connector.subscribe!({ Lead: null, Contact: null }, { onChanges: async () => undefined, onState: (s) => void states.push(s) })).rejects.toThrow(/refresh/i);
    expect(states).toEqual([{ state: 'down', reason: 'auth', message: '401::Authentication invalid' }]);
  });
});
