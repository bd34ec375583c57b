/**
 * The error mapping: a table of Salesforce codes, and the recorded error bodies served to the real
 * jsforce client (through nock, since these are answers the sandbox does not give on demand).
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../../connectors/errors.js';
import { crmCodeFor, SalesforceClient, toCrmError, withoutQueryStrings } from '../../../connectors/salesforce/client.js';
import type { QuotaGate, QuotaObservation } from '../../../connectors/types.js';
import { fixture } from './fixtures.js';

const INSTANCE = 'https://acme.my.salesforce.com';
const LOGIN = 'https://login.salesforce.com';
const QUERY = /\/services\/data\/v62\.0\/query/;

function recordingGate() {
  const observed: QuotaObservation[] = [];
  let taken = 0;
  const gate: QuotaGate = {
    take: async () => {
      taken += 1;
    },
    observe: async (_crm, info) => {
      observed.push(info);
    },
    report: async () => ({ crm: 'salesforce', dailyUsed: taken, dailyLimit: null, dailyBudget: null, paused: false }),
  };
  return { gate, observed, taken: () => taken };
}

function client(gate: QuotaGate, extra: { refreshToken?: string } = {}) {
  return new SalesforceClient({ instanceUrl: INSTANCE, loginUrl: LOGIN, accessToken: 'old-token', clientId: 'cid', clientSecret: 'secret', gate, ...extra });
}

describe('Salesforce codes → CrmError codes', () => {
  it.each([
    ['INVALID_SESSION_ID', 'AUTH_EXPIRED'],
    ['REQUEST_LIMIT_EXCEEDED', 'QUOTA_EXHAUSTED'],
    ['MALFORMED_QUERY', 'VALIDATION'],
    ['INVALID_FIELD', 'VALIDATION'],
    ['INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'VALIDATION'],
    ['STRING_TOO_LONG', 'VALIDATION'],
    ['FIELD_CUSTOM_VALIDATION_EXCEPTION', 'VALIDATION'],
    ['NOT_FOUND', 'NOT_FOUND'],
    ['ENTITY_IS_DELETED', 'NOT_FOUND'],
    ['DUPLICATE_VALUE', 'CONFLICT'],
    ['CANNOT_UPDATE_CONVERTED_LEAD', 'CONFLICT'],
    ['INSUFFICIENT_ACCESS_OR_READONLY', 'PERMISSION'],
    ['API_DISABLED_FOR_ORG', 'PERMISSION'],
    ['SERVER_UNAVAILABLE', 'TRANSIENT'],
    ['UNABLE_TO_LOCK_ROW', 'TRANSIENT'],
    ['INVALID_QUERY_LOCATOR', 'TRANSIENT'],
    ['ERROR_HTTP_500', 'TRANSIENT'],
    ['ERROR_HTTP_503', 'TRANSIENT'],
    ['ERROR_HTTP_429', 'RATE_LIMITED'],
    ['ERROR_HTTP_401', 'AUTH_EXPIRED'],
    ['ERROR_HTTP_403', 'PERMISSION'],
    ['ERROR_HTTP_404', 'NOT_FOUND'],
    ['ERROR_HTTP_400', 'VALIDATION'],
    ['SOMETHING_NEW', 'VALIDATION'],
  ])('%s → %s', (vendor, code) => {
    expect(crmCodeFor(vendor)).toBe(code);
  });

  it.each([
    [Object.assign(new Error('request to https://x failed, reason: socket hang up'), { name: 'FetchError', code: 'ECONNRESET' }), 'TRANSIENT'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'TRANSIENT'],
    [new Error('Request Timeout'), 'TRANSIENT'],
    [Object.assign(new Error('expired access/refresh token'), { name: 'invalid_grant' }), 'AUTH_INVALID'],
    ['a string', 'TRANSIENT'],
  ] as const)('socket and OAuth errors: %s', (err, code) => {
    expect(toCrmError(err).code).toBe(code);
  });

  it('cuts the query string (SOQL with record values) from every URL in a message, keeping the path', () => {
    const soqlUrl = "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id+FROM+Lead+WHERE+Email+%3D+'ada%40example.com'";
    const fetchError = Object.assign(new Error(`request to ${soqlUrl} failed, reason: socket hang up`), { name: 'FetchError', code: 'ECONNRESET' });
    expect(toCrmError(fetchError).message).toBe('Salesforce did not answer: request to https://acme.my.salesforce.com/services/data/v62.0/query failed, reason: socket hang up');
    const httpError = Object.assign(new Error(`GET /services/data/v62.0/query?q=SELECT+Id+FROM+Lead+WHERE+Phone+%3D+'555' answered 500`), { name: 'ERROR_HTTP_500' });
    expect(toCrmError(httpError)).toMatchObject({ code: 'TRANSIENT', message: 'GET /services/data/v62.0/query answered 500' });
    expect(toCrmError(`fetch ${soqlUrl}#x`).message).toBe('Salesforce call failed: fetch https://acme.my.salesforce.com/services/data/v62.0/query');
    for (const err of [fetchError, httpError]) expect(toCrmError(err).message).not.toMatch(/q=|example\.com|555/);
    // Nothing else in a message changes.
    expect(withoutQueryStrings("No such column 'Smk_Score__c' on entity 'Lead'. If you meant a custom field?")).toBe("No such column 'Smk_Score__c' on entity 'Lead'. If you meant a custom field?");
    expect(withoutQueryStrings('see https://help.salesforce.com/s/articleView for more')).toBe('see https://help.salesforce.com/s/articleView for more');
  });

  it('passes a CrmError through (the gate\'s QUOTA_EXHAUSTED stays itself)', () => {
    const gateError = new CrmError({ crm: 'salesforce', code: 'QUOTA_EXHAUSTED', message: 'budget spent', retryAfterMs: 5 });
    expect(toCrmError(gateError)).toBe(gateError);
  });
});

describe('recorded error bodies through jsforce', () => {
  beforeAll(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });

  it.each([
    // "TotalRequests" from an org whose Sforce-Limit-Info (10018/100000 here) says it has room: a short retry.
    ['error-request-limit.json', 403, 'RATE_LIMITED', 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'],
    ['error-concurrent-limit.json', 403, 'RATE_LIMITED', 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'],
    ['error-malformed-query.json', 400, 'VALIDATION', 'MALFORMED_QUERY', 'unexpected token: OR'],
    ['error-invalid-field.json', 400, 'VALIDATION', 'INVALID_FIELD', "No such column 'Smk_Score__c'"],
    ['error-not-found.json', 404, 'NOT_FOUND', 'NOT_FOUND', 'The requested resource does not exist'],
    ['error-server-unavailable.json', 503, 'TRANSIENT', 'SERVER_UNAVAILABLE', 'temporarily unavailable'],
    ['error-insufficient-access.json', 403, 'PERMISSION', 'INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights'],
    ['error-multiple.json', 400, 'VALIDATION', 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [LastName]'],
  ])('%s (HTTP %i) → %s', async (file, status, code, vendorCode, message) => {
    const { gate } = recordingGate();
    nock(INSTANCE).get(QUERY).reply(status, fixture(file) as object, { 'Content-Type': 'application/json;charset=UTF-8', 'Sforce-Limit-Info': 'api-usage=10018/100000' });
    const err = await client(gate).queryPage('test', 'SELECT Id FROM Lead').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject({ crm: 'salesforce', code, vendorCode });
    expect((err as CrmError).message).toContain(message);
  });

  it('takes REQUEST_LIMIT_EXCEEDED (TotalRequests) for a spent allocation when the org says so, and re-checks it within a minute', async () => {
    const { gate, observed } = recordingGate();
    const c = client(gate);
    nock(INSTANCE).get(QUERY).reply(403, fixture('error-request-limit.json') as object, { 'Content-Type': 'application/json', 'Sforce-Limit-Info': 'api-usage=100000/100000' });
    const err = await c.queryPage('spent', 'SELECT Id FROM Lead').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED', vendorCode: 'REQUEST_LIMIT_EXCEEDED', retryAfterMs: 60_000 });
    // The usage on the refusal itself went to the gate, which holds the work until it reads room.
    expect(observed).toEqual([{ dailyUsed: 100000, dailyLimit: 100000 }]);
  });

  it('tells the gate the org is out of calls when a TotalRequests refusal says nothing of usage', async () => {
    const { gate, observed } = recordingGate();
    const c = client(gate);
    nock(INSTANCE).get(QUERY).reply(200, { totalSize: 0, done: true, records: [] }, { 'Content-Type': 'application/json', 'Sforce-Limit-Info': 'api-usage=99999/100000' });
    await c.queryPage('first', 'SELECT Id FROM Lead');
    nock(INSTANCE).get(QUERY).reply(403, fixture('error-request-limit.json') as object, { 'Content-Type': 'application/json' });
    const err = await c.queryPage('second', 'SELECT Id FROM Lead').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED', retryAfterMs: 60_000 });
    expect(observed).toEqual([{ dailyUsed: 99999, dailyLimit: 100000 }, { limitReached: true }]);
  });

  it('maps an HTML error page to TRANSIENT, without retrying inside jsforce', async () => {
    const { gate, taken } = recordingGate();
    nock(INSTANCE).get(QUERY).reply(502, '<html><body>Bad Gateway</body></html>', { 'Content-Type': 'text/html' });
    await expect(client(gate).queryPage('html', 'SELECT Id FROM Lead')).rejects.toMatchObject({ code: 'TRANSIENT', vendorCode: 'ERROR_HTTP_502', httpStatus: 502 });
    // One gate token, one request: jsforce would otherwise retry a 502 GET five times, unseen by the gate.
    expect(taken()).toBe(1);
    expect(nock.isDone()).toBe(true);
  });

  it('maps a dropped connection to TRANSIENT at once (jsforce alone retries for ~15 s)', async () => {
    // A real socket that is closed on accept: nock's replyWithError never reaches node-fetch's error path.
    nock.enableNetConnect('127.0.0.1');
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { gate, taken } = recordingGate();
    const c = new SalesforceClient({ instanceUrl: `http://127.0.0.1:${port}`, loginUrl: LOGIN, accessToken: 't', clientId: 'cid', gate });
    const started = Date.now();
    const err = await c.queryPage('socket', "SELECT Id FROM Lead WHERE Email = 'ada@example.com'").catch((e: unknown) => e);
    server.close();
    nock.disableNetConnect();
    expect(err).toMatchObject({ code: 'TRANSIENT', vendorCode: 'ECONNRESET' });
    // The sync-errors report and the logs get the resource, not the SOQL with its values.
    expect((err as CrmError).message).not.toMatch(/q=|ada|example/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(taken()).toBe(1);
  });

  it('lets the gate\'s QUOTA_EXHAUSTED propagate without a call going out', async () => {
    const spent = new CrmError({ crm: 'salesforce', code: 'QUOTA_EXHAUSTED', message: 'the daily salesforce API budget of 10 calls is spent', retryAfterMs: 1000 });
    const gate: QuotaGate = {
      take: async () => {
        throw spent;
      },
      observe: async () => {},
      report: async () => ({ crm: 'salesforce', dailyUsed: 10, dailyLimit: null, dailyBudget: 10, paused: true }),
    };
    const scope = nock(INSTANCE).get(QUERY).reply(200, { totalSize: 0, done: true, records: [] });
    await expect(client(gate).queryPage('x', 'SELECT Id FROM Lead')).rejects.toBe(spent);
    expect(scope.isDone()).toBe(false);
  });

  it('refreshes on INVALID_SESSION_ID and takes the new instance_url', async () => {
    const { gate } = recordingGate();
    const c = client(gate, { refreshToken: 'refresh-1' });
    nock(INSTANCE).get(QUERY).reply(401, fixture('error-invalid-session.json') as object, { 'Content-Type': 'application/json' });
    nock(LOGIN).post('/services/oauth2/token', (body: Record<string, string>) => body.grant_type === 'refresh_token' && body.refresh_token === 'refresh-1' && body.client_id === 'cid').reply(200, fixture('oauth-refresh.json') as object);
    nock('https://acme--uat.sandbox.my.salesforce.com', { reqheaders: { authorization: /Bearer 00D5g000004XyZa!AQ4AQFake/ } })
      .get(QUERY)
      .reply(200, { totalSize: 0, done: true, records: [] }, { 'Content-Type': 'application/json' });
    // jsforce repeats the failed request on its original URL; the new instance serves later calls.
    nock(INSTANCE).get(QUERY).reply(200, { totalSize: 0, done: true, records: [] }, { 'Content-Type': 'application/json' });
    await c.queryPage('first', 'SELECT Id FROM Lead');
    await c.queryPage('second', 'SELECT Id FROM Lead');
    const conn = await c.conn();
    expect(conn.instanceUrl).toBe('https://acme--uat.sandbox.my.salesforce.com');
    expect(nock.isDone()).toBe(true);
  });

  it('gives up with AUTH_INVALID after two refused refreshes, and then makes no calls at all', async () => {
    const { gate } = recordingGate();
    const c = client(gate, { refreshToken: 'revoked' });
    nock(INSTANCE).get(QUERY).reply(401, fixture('error-invalid-session.json') as object, { 'Content-Type': 'application/json' });
    const token = nock(LOGIN).post('/services/oauth2/token').times(2).reply(400, fixture('oauth-invalid-grant.json') as object);
    const err = await c.queryPage('x', 'SELECT Id FROM Lead').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_INVALID' });
    expect((err as CrmError).message).toMatch(/invalid_grant.*Reconnect Salesforce/s);
    expect(token.isDone()).toBe(true);
    await expect(c.queryPage('again', 'SELECT Id FROM Lead')).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('stops a server that answers 401 to every fresh session after two refreshes', async () => {
    const { gate } = recordingGate();
    const c = client(gate, { refreshToken: 'fine' });
    const api = nock(INSTANCE).get(QUERY).times(3).reply(401, fixture('error-invalid-session.json') as object, { 'Content-Type': 'application/json' });
    const token = nock(LOGIN)
      .post('/services/oauth2/token')
      .times(2)
      .reply(200, { ...(fixture('oauth-refresh.json') as object), instance_url: INSTANCE });
    const err = await c.queryPage('x', 'SELECT Id FROM Lead').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_INVALID' });
    expect((err as CrmError).message).toMatch(/keeps rejecting fresh sessions/);
    expect(api.isDone()).toBe(true);
    expect(token.isDone()).toBe(true);
  });

  it('maps a token endpoint that is down to TRANSIENT, without declaring the session dead', async () => {
    const { gate } = recordingGate();
    const c = client(gate, { refreshToken: 'fine' });
    nock(INSTANCE).get(QUERY).reply(401, fixture('error-invalid-session.json') as object, { 'Content-Type': 'application/json' });
    nock(LOGIN).post('/services/oauth2/token').reply(503, 'Service Unavailable');
    await expect(c.queryPage('x', 'SELECT Id FROM Lead')).rejects.toMatchObject({ code: 'TRANSIENT' });
    expect(c.session.dead).toBeNull();
  });
});
