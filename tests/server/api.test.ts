import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../src/model/lead.js';
import { periodFunnel } from '../../src/rules/funnel.js';
import { ADMIN_TOKEN, authHeaders, makeLead, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let h: ServerHarness;

async function getJson(path: string, headers: Record<string, string> = authHeaders()): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.url}${path}`, { headers });
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
}

async function post(path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.url}${path}`, { method: 'POST', headers: authHeaders(headers), body });
}

beforeAll(async () => {
  h = await startHarness('api');
  const stage = (current: Stage, history: Stage[]) => ({ current, history: history.map((s) => ({ stage: s, at: '2025-03-03T10:00:00.000Z', cause: 'test' })) });
  await h.ctx.leads.save({ lead: makeLead('L1', { stage: stage('mql', ['mql']), marketing: { engagement: [], source: 'Webinar' } }), views: {} });
  await h.ctx.leads.save({ lead: makeLead('L2', { stage: stage('lead', []), marketing: { engagement: [], source: 'Paid search' } }), views: {} });
  await h.ctx.leads.save({ lead: makeLead('L3', { stage: stage('sal', ['mql', 'sal']), sla: { status: 'met', handoffAt: '2025-03-03T10:00:00.000Z', metAt: '2025-03-03T11:00:00.000Z', escalations: 0 }, sales: { decision: 'accepted', ownerId: '005000000000001' } }), views: {} });
});

afterAll(async () => {
  await h.close();
});

describe('admin authentication', () => {
  it.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['a wrong token', { Authorization: 'Bearer wrong-token-wrong-token-wrong' }],
    ['the token with another scheme', { Authorization: `Basic ${ADMIN_TOKEN}` }],
    ['a forged cookie', { Cookie: 'smk_admin=9999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ])('answers %s with 401 JSON', async (_name, headers) => {
    const { status, body } = await getJson('/api/status', headers);
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: expect.stringContaining('unauthorized') });
  });

  it('lets the right token in', async () => {
    const { status, body } = await getJson('/api/status');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      leads: 3,
      syncErrors: expect.any(Number),
      crms: { hubspot: { lastSyncAt: null, quota: { crm: 'hubspot', dailyUsed: 1200 } }, salesforce: { quota: { crm: 'salesforce' } } },
      queues: { ingest: { waiting: expect.any(Number) }, evaluate: expect.any(Object) },
    });
  });

  it('reports the Salesforce change stream: connected, the last event and its lag', async () => {
    const status = h.ctx.keys.meta('stream:salesforce:status');
    await h.ctx.redis.hset(status, { state: 'connected', since: '1764980000000', lastEventAt: '1764980005000', lastCommitAt: '1764980004600', lagMs: '400', events: '12', own: '5' });
    await new Promise((r) => setTimeout(r, 2100)); // the status is cached for 2 s
    const { body } = await getJson('/api/status');
    expect(body).toMatchObject({ crms: { salesforce: { stream: { state: 'connected', lastEventAt: 1764980005000, lagMs: 400, events: 12, own: 5 } } } });
    expect((body as { crms: { hubspot: object } }).crms.hubspot).not.toHaveProperty('stream');
  });

  it('logs a browser in with an HttpOnly SameSite=Strict cookie and asks cookie writes for the CSRF header', async () => {
    const wrong = await fetch(`${h.url}/login`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=nope', redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await fetch(`${h.url}/login`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${ADMIN_TOKEN}&next=%2F%2Fevil.example`, redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^smk_admin=/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0] as string;

    expect((await getJson('/api/status', { Cookie: cookie })).status).toBe(200);
    const page = await fetch(`${h.url}/`, { headers: { Cookie: cookie } });
    expect(await page.text()).toContain('id="funnel-chart"');
    const noCsrf = await fetch(`${h.url}/api/reconcile`, { method: 'POST', headers: { Cookie: cookie } });
    expect(noCsrf.status).toBe(403);
    const withCsrf = await fetch(`${h.url}/api/reconcile`, { method: 'POST', headers: { Cookie: cookie, 'X-SMK-Requested-With': 'dashboard' } });
    expect(withCsrf.status).toBe(202);
  });

  it('shows the login form at / without a session', async () => {
    const res = await fetch(`${h.url}/`);
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('<form class="login" method="post" action="/login">');
    expect(html).not.toContain('funnel-chart');
  });

  it('keeps Bull Board behind the token', async () => {
    expect((await fetch(`${h.url}/admin/queues/api/queues`)).status).toBe(401);
    const res = await fetch(`${h.url}/admin/queues/api/queues`, { headers: authHeaders() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['ingest', 'evaluate', 'reconcile']));
  });
});

describe('sync errors', () => {
  beforeAll(async () => {
    await h.ctx.errors.record({ crm: 'hubspot', object: 'contact', recordId: '9001', leadId: 'L1', code: 'VALIDATION', message: 'Property values were not valid', field: 'smk_grade', value: 'tepid', stage: 'write' }, 1000);
    await h.ctx.errors.record({ crm: 'salesforce', object: 'Lead', recordId: '00Q000000000001AAA', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: '=HYPERLINK("http://evil.example")', stage: 'write' }, 2000);
    await h.ctx.errors.record({ crm: 'salesforce', object: null, recordId: null, code: 'JOB_FAILED', message: 'poll job failed after 3 attempts', stage: 'read' }, 3000);
  });

  it('lists with filters, paging and counts by category', async () => {
    const all = (await getJson('/api/sync-errors')).body as { total: number; errors: Array<{ id: string }>; categories: unknown[] };
    expect(all.total).toBe(3);
    expect(all.categories).toHaveLength(3);
    const sf = (await getJson('/api/sync-errors?crm=salesforce&limit=1&offset=1')).body as { total: number; errors: Array<{ code: string }> };
    expect(sf.total).toBe(2);
    expect(sf.errors).toHaveLength(1);
    expect((await getJson('/api/sync-errors?code=VALIDATION')).body).toMatchObject({ total: 1, errors: [{ recordId: '9001' }] });
  });

  it('rejects bad filters with 400 naming the parameter', async () => {
    const { status, body } = await getJson('/api/sync-errors?crm=pipedrive&limit=0');
    expect(status).toBe(400);
    expect((body as { problems: string[] }).problems.join('\n')).toMatch(/crm: expected one of "hubspot", "salesforce"/);
  });

  it('exports CSV that a spreadsheet will not run as a formula', async () => {
    const res = await fetch(`${h.url}/api/sync-errors.csv`, { headers: authHeaders() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const csv = await res.text();
    expect(csv.split('\n')[0]).toBe('crm,object,recordId,leadId,stage,code,field,value,message,firstSeen,lastSeen,attempts');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  });

  it('retries one error: the lead is evaluated again and the entry goes', async () => {
    const list = (await getJson('/api/sync-errors?code=VALIDATION')).body as { errors: Array<{ id: string }> };
    const id = list.errors[0]?.id as string;
    const res = await post(`/api/sync-errors/${encodeURIComponent(id)}/retry`, undefined);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, action: 'evaluate', leadId: 'L1', queued: { evaluations: 1, rereads: 0, polls: 0 } });
    expect(await h.ctx.errors.get(id)).toBeNull();
    const jobs = await h.ctx.queues.evaluate.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.data)).toContainEqual(expect.objectContaining({ leadId: 'L1' }));
    expect((await post(`/api/sync-errors/${encodeURIComponent(id)}/retry`, undefined)).status).toBe(404);
  });

  it('retries all (per filter): records are read again, CRM-wide failures polled again', async () => {
    const res = await post('/api/sync-errors/retry-all', JSON.stringify({ crm: 'salesforce' }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ retried: 2, actions: { evaluate: 0, reread: 1, poll: 1 }, queued: { evaluations: 0, rereads: 1, polls: 1 } });
    expect(await h.ctx.errors.count()).toBe(0);
    const ingest = await h.ctx.queues.ingest.getJobs(['waiting']);
    expect(ingest.map((j) => j.data)).toContainEqual(expect.objectContaining({ crm: 'salesforce', refs: [{ object: 'Lead', id: '00Q000000000001AAA' }] }));
    const polls = await h.ctx.queues.poll.getJobs(['waiting']);
    expect(polls.map((j) => j.data)).toContainEqual({ crm: 'salesforce' });
  });
});

describe('rules dry-run', () => {
  it('compares a YAML candidate with the running rules over stored leads', async () => {
    const yaml = 'scoring:\n  fit:\n    - { field: company.employees, missing: true, points: 70, reason: Unknown size }\n';
    const res = await post('/api/rules/test?examples=2', yaml, { 'Content-Type': 'application/yaml' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { leads: number; changed: number; examples: unknown[] };
    expect(body.leads).toBe(3);
    expect(body.changed).toBeGreaterThan(0);
    expect(body.examples.length).toBeLessThanOrEqual(2);
  });

  it('answers a bad config with 400 naming the path, like the config loader', async () => {
    const res = await post('/api/rules/test', JSON.stringify({ scoring: { fit: [{ field: 'person.title', matches: 'vp', points: 'lots', reason: 'x' }] }, stagez: {} }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; problems: string[] };
    expect(body.error).toBe('the candidate rules are invalid');
    expect(body.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^scoring\.fit\[0\]\.points: expected a number, got "lots"/), expect.stringMatching(/unknown key "stagez"/)]));
  });

  it('reports YAML syntax errors with their line', async () => {
    const res = await post('/api/rules/test', 'scoring:\n  fit: [\n', { 'Content-Type': 'application/yaml' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { problems: string[] }).problems[0]).toMatch(/^line \d+/);
  });

  it('refuses a body over 1 MB with 413', async () => {
    const res = await post('/api/rules/test', JSON.stringify({ pad: 'x'.repeat(1_100_000) }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'request body too large' });
  });
});

describe('reconcile', () => {
  it('enqueues a reconcile job and reports its progress by id', async () => {
    const res = await post('/api/reconcile', JSON.stringify({ reason: 'rule change', reread: false }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const job = await h.ctx.queues.reconcile.getJob(id);
    await job?.updateProgress({ done: 1, total: 3 });
    const progress = await getJson(`/api/reconcile/${id}`);
    expect(progress.status).toBe(200);
    expect(progress.body).toMatchObject({ id, state: 'waiting', progress: { done: 1, total: 3 }, result: null });
    expect((await getJson('/api/reconcile/nope')).status).toBe(404);
  });

  it('validates the body', async () => {
    const res = await post('/api/reconcile', JSON.stringify({ reread: 'yes' }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { problems: string[] }).problems[0]).toMatch(/^reread: expected a boolean/);
  });
});

describe('reports', () => {
  it('serves the funnel of the period asked for: the object `smk report funnel --json` prints', async () => {
    const march = await getJson('/api/reports/funnel?from=2025-03-01&to=2025-03-31');
    expect(march.status).toBe(200);
    expect(march.body).toMatchObject({
      from: '2025-03-01',
      to: '2025-03-31',
      steps: [{ stage: 'lead', count: 3 }, { stage: 'mql', count: 2, conversion: 0.5 }, { stage: 'sal', count: 1, conversion: 0 }, { stage: 'sql', count: 0 }, { stage: 'opportunity', count: 0 }, { stage: 'won', count: 0 }],
      revenue: { pipeline: 0, won: 0 },
      mqlTarget: { target: null, actual: 2, pace: 'no-target' },
    });
    const leads = [];
    for await (const page of h.ctx.leads.all()) leads.push(...page.map((s) => s.lead));
    expect(march.body).toEqual(periodFunnel(leads, { from: '2025-03-01', to: '2025-03-31' }, h.ctx.config.file.targets, new Date()));
    expect((await getJson('/api/reports/funnel?period=quarter&trend=2')).body).toMatchObject({ period: 'quarter', trend: [{}, {}] });
  });

  it.each<[string, RegExp]>([
    ['period=year', /^period: expected one of "week", "month", "quarter", got "year"$/],
    ['from=2025-3-1&to=2025-03-31', /^from: expected a date such as 2026-03-31 \(YYYY-MM-DD\), got "2025-3-1"$/],
    ['from=2025-03-31&to=2025-03-01', /^from: from \(2025-03-31\) is after to \(2025-03-01\)$/],
    ['to=2025-03-31', /^from: from and to go together/],
    ['trend=100', /^trend: /],
  ])('answers ?%s with a 400 naming the parameter', async (query, problem) => {
    const { status, body } = await getJson(`/api/reports/funnel?${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid query' });
    expect((body as { problems: string[] }).problems[0]).toMatch(problem);
  });

  it('serves SLA and feedback', async () => {
    expect((await getJson('/api/reports/sla')).body).toMatchObject({ met: 1, compliance: 1, medianFirstTouchMs: 3_600_000, byOwner: [{ ownerId: '005000000000001', ownerName: null }] });
    expect((await getJson('/api/reports/feedback')).body).toMatchObject({ handedOff: 1, accepted: 1, acceptRate: 1 });
  });
});

describe('errors', () => {
  it('answers unknown API routes and malformed JSON as JSON, without stack traces', async () => {
    const missing = await getJson('/api/nothing-here');
    expect(missing).toEqual({ status: 404, body: { error: 'no such API route' } });
    const bad = await post('/api/reconcile', '{"reason":', { 'Content-Type': 'application/json' });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(JSON.parse(text)).toEqual({ error: 'malformed JSON' });
    expect(text).not.toMatch(/at .*\.js/);
  });

  it('hides internal failures behind "internal error" with a request id', async () => {
    const original = h.ctx.leads.count.bind(h.ctx.leads);
    h.ctx.leads.count = async () => {
      throw new Error('secret detail from redis');
    };
    try {
      const res = await fetch(`${h.url}/api/status`, { headers: authHeaders({ 'X-Request-Id': 'req-123' }) });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'internal error', requestId: 'req-123' });
    } finally {
      h.ctx.leads.count = original;
    }
  });

  it('sets the usual security headers', async () => {
    const res = await fetch(`${h.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('a sync-errors export of many pages', () => {
  it('streams every matching entry once, under one header, newest first', async () => {
    const base = { crm: 'hubspot' as const, object: 'contact', code: 'EXPORT_PAGES', message: 'Property values were not valid', field: 'phone', stage: 'write' as const };
    for (let i = 0; i < 1100; i += 1) await h.ctx.errors.record({ ...base, recordId: `77${i}`, leadId: `LX${i}` }, 10_000 + i);
    const res = await fetch(`${h.url}/api/sync-errors.csv?code=EXPORT_PAGES`, { headers: authHeaders() });
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(0, -1);
    expect(rows.filter((r) => r.startsWith('crm,'))).toHaveLength(1);
    expect(rows).toHaveLength(1101);
    expect(rows[1]?.split(',')[2]).toBe('771099');
    expect(new Set(rows.slice(1).map((r) => r.split(',')[2])).size).toBe(1100);
    const page = (await getJson('/api/sync-errors?code=EXPORT_PAGES&limit=2&offset=1099')).body as { total: number; errors: Array<{ recordId: string }> };
    expect(page).toMatchObject({ total: 1100, errors: [{ recordId: '770' }] });
    // Nothing matches: the header alone.
    expect(await (await fetch(`${h.url}/api/sync-errors.csv?code=NO_SUCH_CODE`, { headers: authHeaders() })).text()).toBe('crm,object,recordId,leadId,stage,code,field,value,message,firstSeen,lastSeen,attempts\n');
  });
});
