/**
 * Recorded, real-shaped Salesforce payloads (fixtures/salesforce/) against what the sandbox sends:
 * same keys, same JSON types (null matches anything), and for error bodies the same words.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SfRecord } from '../../../connectors/salesforce/sandbox/index.js';
import { seedLeads } from './helpers.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../fixtures/salesforce/${name}`, import.meta.url), 'utf8'));

/** Differences in shape: missing or extra keys, or different JSON types where neither side is null. */
function shapeDiff(expected: unknown, actual: unknown, path = '$'): string[] {
  if (expected === null || actual === null) return [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array`];
    if (expected.length === actual.length) return expected.flatMap((e, i) => shapeDiff(e, actual[i], `${path}[${i}]`));
    return expected.length && actual.length ? shapeDiff(expected[0], actual[0], `${path}[0]`) : [];
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: expected an object`];
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const missing = Object.keys(e).filter((k) => !(k in a)).map((k) => `${path}.${k}: missing`);
    const extra = Object.keys(a).filter((k) => !(k in e)).map((k) => `${path}.${k}: not in the fixture`);
    return [...missing, ...extra, ...Object.keys(e).filter((k) => k in a).flatMap((k) => shapeDiff(e[k], a[k], `${path}.${k}`))];
  }
  return typeof expected === typeof actual ? [] : [`${path}: expected ${typeof expected}, got ${typeof actual}`];
}

let sb: SalesforceSandbox;
let leads: SfRecord[];

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sb.instanceUrl}/services/data/v62.0${path}`, {
    method,
    headers: { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 61 });
  leads = seedLeads(sb, 2500, { extra: (i) => ({ NumberOfEmployees: i, Status: 'Working - Contacted' }) });
});
afterAll(async () => {
  await sb.close();
});

describe('recorded Salesforce payloads', () => {
  it('query response with a next page', async () => {
    const soql = 'SELECT Id, FirstName, LastName, Email, Status, NumberOfEmployees, IsConverted, ConvertedContactId, SystemModstamp FROM Lead';
    const res = await api('GET', `/query?q=${encodeURIComponent(soql)}`);
    expect(shapeDiff(fixture('query-response.json'), res.body)).toEqual([]);
    const body = res.body as { nextRecordsUrl: string; records: Array<{ SystemModstamp: string }> };
    expect(body.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-2000$/);
    expect(body.records[0]?.SystemModstamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  });

  it('COUNT() response', async () => {
    const res = await api('GET', `/query?q=${encodeURIComponent('SELECT COUNT() FROM Lead')}`);
    expect(shapeDiff(fixture('query-count-response.json'), res.body)).toEqual([]);
  });

  it('collection update with a per-record error', async () => {
    const res = await api('PATCH', '/composite/sobjects', {
      allOrNone: false,
      records: [
        { attributes: { type: 'Lead' }, id: leads[0]?.Id, Status: 'Open - Not Contacted' },
        { attributes: { type: 'Lead' }, id: leads[1]?.Id, Status: 'Maybe Later' },
      ],
    });
    expect(res.status).toBe(200);
    const expected = fixture('collection-update-with-error.json') as Array<Record<string, unknown>>;
    expect(shapeDiff(expected, res.body)).toEqual([]);
    expect((res.body as unknown[])[1]).toEqual(expected[1]);
  });

  it('collection create rolled back by allOrNone', async () => {
    const res = await api('PATCH', '/composite/sobjects', {
      allOrNone: true,
      records: [
        { attributes: { type: 'Lead' }, id: leads[2]?.Id, Title: 'x' },
        { attributes: { type: 'Lead' }, id: leads[3]?.Id, LastName: null },
      ],
    });
    const expected = fixture('collection-all-or-none-rolled-back.json') as Array<Record<string, unknown>>;
    expect(shapeDiff(expected, res.body)).toEqual([]);
    expect((res.body as Array<Record<string, unknown>>).map(({ id: _id, ...rest }) => rest)).toEqual(expected.map(({ id: _id, ...rest }) => rest));
  });

  it('describe of Lead', async () => {
    const expected = fixture('describe-lead-excerpt.json') as { fields: Array<{ name: string }> } & Record<string, unknown>;
    const res = await api('GET', '/sobjects/Lead/describe');
    const actual = res.body as { fields: Array<{ name: string }> } & Record<string, unknown>;
    const pick = { ...actual, fields: expected.fields.map((f) => actual.fields.find((a) => a.name === f.name)) };
    expect(shapeDiff(expected, pick)).toEqual([]);
    expect(pick.fields.map((f) => f?.name)).toEqual(['LastName', 'Status']);
  });

  it('error bodies', async () => {
    const errors = fixture('errors.json') as Record<string, unknown>;
    const expired = await fetch(`${sb.instanceUrl}/services/data/v62.0/limits`, { headers: { authorization: 'Bearer nope' } });
    expect(await expired.json()).toEqual(errors.invalidSession);
    expect((await api('GET', '/sobjects/Widget/describe')).body).toEqual(errors.notFound);
    expect((await api('GET', `/query?q=${encodeURIComponent('SELECT Id FRM Lead')}`)).body).toEqual(errors.malformedQuery);
    const tooMany = await api('PATCH', '/composite/sobjects', { records: leads.slice(0, 201).map((l) => ({ attributes: { type: 'Lead' }, id: l.Id })) });
    expect(tooMany).toEqual({ status: 400, body: errors.exceededIdLimit });
    sb.monitor.setFaults({ rateLimit: 1 });
    try {
      expect(await api('GET', '/limits')).toEqual({ status: 403, body: errors.requestLimitExceeded });
    } finally {
      sb.monitor.setFaults({ rateLimit: 0 });
    }
  });

  it('token refresh response', async () => {
    const res = await fetch(`${sb.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: sb.refreshToken, client_id: sb.clientId, client_secret: sb.clientSecret }).toString(),
    });
    expect(shapeDiff(fixture('token-refresh-response.json'), await res.json())).toEqual([]);
  });

  it('Tooling CustomField create response', async () => {
    const res = await api('POST', '/tooling/sobjects/CustomField', { FullName: 'Lead.Smk_Grade__c', Metadata: { type: 'Text', label: 'Grade', length: 20 } });
    expect(res.status).toBe(201);
    expect(shapeDiff(fixture('tooling-custom-field-created.json'), res.body)).toEqual([]);
  });
});
