import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, raw, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 120, seed: 13 });
const seededCount = world.people.filter((p) => p.hubspot !== null).length;
let sandbox: HubSpotSandbox;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world });
});
afterAll(async () => {
  await sandbox.close();
});

describe('HubSpot sandbox: stats, faults and the control surface', () => {
  it('counts exactly the API calls, keyed by method and path without the query string', async () => {
    await control(sandbox, 'POST', '/reset-stats');
    const client = officialClient(sandbox);
    await client.crm.contacts.basicApi.getPage(10, undefined, ['email']);
    await client.crm.contacts.basicApi.getById('101', ['email']);
    await client.crm.contacts.basicApi.getById('101');
    await client.crm.contacts.batchApi.update({ inputs: [{ id: '102', properties: { jobtitle: 'VP' } }] });
    await client.crm.contacts.searchApi.doSearch({ limit: 1 } as PublicObjectSearchRequest);
    await raw(sandbox, 'GET', '/crm/v3/objects/contacts/999999');
    await raw(sandbox, 'GET', '/crm/v3/objects/contacts/101', undefined, { token: 'wrong' });
    // Not API calls: control and OAuth.
    await control(sandbox, 'GET', '/info');
    await control(sandbox, 'GET', '/contacts/101');
    await control(sandbox, 'POST', '/activity', { contactId: '103', kind: 'email_open' });
    await raw(sandbox, 'GET', '/oauth/v1/access-tokens/nope', undefined, { token: null });
    expect((await control(sandbox, 'GET', '/no-such-control-route')).status).toBe(404);
    const stats = (await control(sandbox, 'GET', '/stats')).body as { total: number; calls: Record<string, number> };
    expect(stats.calls).toEqual({
      'GET /crm/v3/objects/contacts': 1,
      'GET /crm/v3/objects/contacts/101': 3,
      'GET /crm/v3/objects/contacts/999999': 1,
      'POST /crm/v3/objects/contacts/batch/update': 1,
      'POST /crm/v3/objects/contacts/search': 1,
    });
    expect(stats.total).toBe(7);
    expect(sandbox.monitor.stats()).toEqual(stats);
  });

  it('injects server errors that the official client retries, then surfaces as ApiException', async () => {
    expect((await control(sandbox, 'PUT', '/faults', { serverError: 1 })).status).toBe(200);
    try {
      await control(sandbox, 'POST', '/reset-stats');
      const client = officialClient(sandbox, { numberOfApiCallRetries: 3 });
      let error: { code?: number; body?: { category?: string; correlationId?: string } } | undefined;
      try {
        await client.crm.contacts.basicApi.getById('101');
      } catch (err) {
        error = err as typeof error;
      }
      expect([502, 503]).toContain(error?.code);
      expect(error?.body?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(sandbox.monitor.stats().calls['GET /crm/v3/objects/contacts/101']).toBe(3);
    } finally {
      await control(sandbox, 'PUT', '/faults', { serverError: 0 });
    }
  });

  it('injects rate-limit faults with the TEN_SECONDLY_ROLLING body', async () => {
    await control(sandbox, 'PUT', '/faults', { rateLimit: 1 });
    try {
      const res = await raw(sandbox, 'GET', '/crm/v3/objects/contacts/101');
      expect(res.status).toBe(429);
      expect(shapeDiff(res.body, fixture('rate-limit-ten-secondly-429.json'))).toEqual([]);
      expect((res.body as { policyName: string }).policyName).toBe('TEN_SECONDLY_ROLLING');
    } finally {
      await control(sandbox, 'PUT', '/faults', { rateLimit: 0 });
    }
  });

  it('answers bad requests HubSpot-style, never with a stack trace', async () => {
    const malformed = await raw(sandbox, 'POST', '/crm/v3/objects/contacts', undefined, { rawBody: '{"properties": {' });
    expect(malformed.status).toBe(400);
    const body = malformed.body as { status: string; category: string; correlationId: string; message: string };
    expect(body.status).toBe('error');
    expect(body.category).toBe('VALIDATION_ERROR');
    expect(body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
    const missingField = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ properties: {} }] });
    expect(missingField.status).toBe(400);
    const unknown = await raw(sandbox, 'GET', '/crm/v3/objects/contacts/101/associations/companies');
    expect(unknown.status).toBe(404);
    expect((unknown.body as { category: string }).category).toBe('OBJECT_NOT_FOUND');
    const otherObject = await raw(sandbox, 'GET', '/crm/v3/objects/tickets');
    expect(otherObject.status).toBe(400);
    const controlMalformed = await raw(sandbox, 'POST', '/__sandbox/activity', undefined, { token: null, rawBody: '{' });
    expect(controlMalformed.status).toBe(400);
    expect(JSON.stringify(controlMalformed.body)).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('resets to the seed world and reseeds on request', async () => {
    const client = officialClient(sandbox);
    await client.crm.contacts.basicApi.create({ properties: { email: 'temporary@example.com' }, associations: [] });
    await client.crm.properties.groupsApi.create('contacts', { name: 'scratch', label: 'Scratch' });
    expect(sandbox.store.contactCount()).toBe(seededCount + 1);
    expect((await control(sandbox, 'POST', '/reset')).status).toBe(200);
    expect(sandbox.store.contactCount()).toBe(seededCount);
    expect(sandbox.store.findByEmail('temporary@example.com', false)).toBeUndefined();
    expect(sandbox.store.registry.getGroup('scratch')).toBeUndefined();
    expect(sandbox.monitor.stats().total).toBe(0);

    const reseeded = await control(sandbox, 'POST', '/seed', { people: 40, seed: 99 });
    expect(reseeded.status).toBe(200);
    const info = (await control(sandbox, 'GET', '/info')).body as { contacts: number };
    expect(info.contacts).toBe((reseeded.body as { contacts: number }).contacts);
    expect(info.contacts).toBeLessThan(40);
    expect((await control(sandbox, 'POST', '/seed', { people: -1 })).status).toBe(400);
  });
});
