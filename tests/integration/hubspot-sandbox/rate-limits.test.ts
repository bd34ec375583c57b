import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { describe, expect, it } from 'vitest';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, raw, sandboxPerTest, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 40, seed: 9 });
const SEARCH = 'POST /crm/v3/objects/contacts/search';
const start = sandboxPerTest(world);

const anySearch = { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }], limit: 1 } as unknown as PublicObjectSearchRequest;

describe('HubSpot sandbox: rate limits', () => {
  it('sends the rate-limit headers on private-app API calls (the daily pair included), none on search', async () => {
    const sandbox = await start();
    const res = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
    expect(res.headers.get('x-hubspot-ratelimit-daily')).toBe('1000000');
    expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('999999');
    expect(res.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('190');
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('189');
    expect(res.headers.get('x-hubspot-ratelimit-secondly')).toBe('19');
    expect(res.headers.get('x-hubspot-ratelimit-secondly-remaining')).toBe('18');
    const search = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', { limit: 1 });
    expect(search.status).toBe(200);
    expect(search.headers.get('x-hubspot-ratelimit-max')).toBeNull();
  });

  it('limits search to 5 a second with the exact secondly body, and the official client retries by itself', async () => {
    const sandbox = await start();
    const bursts = await Promise.all(Array.from({ length: 6 }, () => raw(sandbox, 'POST', '/crm/v3/objects/contacts/search', { limit: 1 })));
    const limited = bursts.filter((r) => r.status === 429);
    expect(limited).toHaveLength(1);
    expect(shapeDiff(limited[0]?.body, fixture('rate-limit-secondly-429.json'))).toEqual([]);
    expect((limited[0]?.body as { message: string }).message).toBe('You have reached your secondly limit.');

    await new Promise((r) => setTimeout(r, 1100));
    sandbox.monitor.resetStats();
    const since = new Date().toISOString();
    const client = officialClient(sandbox, { numberOfApiCallRetries: 3 });
    const results = await Promise.all(Array.from({ length: 7 }, () => client.crm.contacts.searchApi.doSearch(anySearch)));
    expect(results.every((r) => r.total > 0)).toBe(true);
    // Some searches were refused at first and retried a second later: every refusal is one more call.
    const refused = sandbox.monitor.requests().filter((r) => `${r.method} ${r.path}` === SEARCH && r.status === 429 && r.at >= since).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(sandbox.monitor.stats().calls[SEARCH]).toBe(7 + refused);
  });

  it(
    'answers TEN_SECONDLY_ROLLING 429s that the official client waits out and retries',
    async () => {
      const sandbox = await start({ rateLimits: { perTenSeconds: 2 } });
      const client = officialClient(sandbox, { numberOfApiCallRetries: 2 });
      await client.crm.contacts.basicApi.getPage(1);
      await client.crm.contacts.basicApi.getPage(1);
      const wire = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
      expect(wire.status).toBe(429);
      expect(shapeDiff(wire.body, fixture('rate-limit-ten-secondly-429.json'))).toEqual([]);
      expect(wire.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
      const started = Date.now();
      const page = await client.crm.contacts.basicApi.getPage(1);
      expect(page.results).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
      expect(sandbox.monitor.stats().calls['GET /crm/v3/objects/contacts']).toBe(5);
    },
    30_000,
  );

  it('changes some limits from the control surface and keeps the others', async () => {
    const sandbox = await start({ rateLimits: { daily: 5 } });
    const res = await control(sandbox, 'PUT', '/rate-limits', { perTenSeconds: 50 });
    expect(res.body).toEqual({ settings: { perTenSeconds: 50, daily: 5, searchPerSecond: 5 } });
    const headers = (await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1')).headers;
    expect(headers.get('x-hubspot-ratelimit-max')).toBe('50');
    expect(headers.get('x-hubspot-ratelimit-daily')).toBe('5');
    expect((await control(sandbox, 'PUT', '/rate-limits', { daily: -1 })).status).toBe(400);
  });

  it('answers DAILY 429s that the official client does not retry', async () => {
    const sandbox = await start({ rateLimits: { daily: 2 } });
    const client = officialClient(sandbox, { numberOfApiCallRetries: 3 });
    await client.crm.contacts.basicApi.getPage(1);
    await client.crm.contacts.basicApi.getById('101');
    let error: { code?: number; body?: { policyName?: string; message?: string } } | undefined;
    try {
      await client.crm.contacts.basicApi.getById('102');
    } catch (err) {
      error = err as typeof error;
    }
    expect(error?.code).toBe(429);
    expect(error?.body?.policyName).toBe('DAILY');
    expect(error?.body?.message).toBe('You have reached your daily limit.');
    expect(sandbox.monitor.stats().total).toBe(3);
    const wire = await raw(sandbox, 'GET', '/crm/v3/objects/contacts/103');
    expect(shapeDiff(wire.body, fixture('rate-limit-daily-429.json'))).toEqual([]);
    expect(wire.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
  });
});
