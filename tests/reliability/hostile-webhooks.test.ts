/**
 * Hostile HubSpot webhook deliveries (fixtures/hostile/webhooks): bad, missing, stale and replayed
 * signatures are a 401 and nothing is read; a signed but malformed body is a 400 naming why; odd
 * events inside a good delivery become problems (sync errors) while the good ones are read. Only
 * what is accepted enqueues an ingest job, and no body can pollute a prototype or crash the route.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestJob } from '../../jobs/queues.js';
import { WEBHOOK_BODY_LIMIT } from '../../src/server/webhooks.js';
import { loadCases } from './helpers/corpus.js';
import { rawRequest } from './helpers/http.js';
import type { RawResponse } from './helpers/http.js';
import { CLIENT_SECRET, signV3, startService } from './helpers/service.js';
import type { Service } from './helpers/service.js';

interface WebhookCase {
  name: string;
  body?: unknown;
  bodyText?: string;
  contentType?: string;
  sign?: {
    secret?: 'right' | 'wrong' | 'none';
    timestamp?: 'now' | 'stale' | 'future' | 'seconds' | 'garbage' | 'missing';
    uri?: 'called' | 'other';
    method?: string;
    tamper?: 'body' | 'truncate' | 'hex' | 'case' | 'spaces' | 'v1';
  };
  send?: 'twice' | 'redeliver';
  expect: { status: number; error?: string; jobs: number; refs?: number; removed?: number; problems?: number; duplicates?: number; ignored?: number; refIds?: string[] };
  bug?: string;
}

/** SMK_HOSTILE_SHOW_BUGS=1 runs the cases of known bugs as plain tests, to see how they fail. */
const SHOW_BUGS = Boolean(process.env.SMK_HOSTILE_SHOW_BUGS);
/**
 * The corpus' "over the 5 MB limit" case pads its one event to 5.3 MB, over the limit of its day.
 * The limit now fits HubSpot's largest delivery (WEBHOOK_BODY_LIMIT, 6.3 MiB): the same case is
 * sent padded to just over that, so that it still tests a body over the limit.
 */
const OVER_THE_LIMIT = 'a body over the 5 MB limit';
function overTheLimit(c: WebhookCase): WebhookCase {
  if (c.name !== OVER_THE_LIMIT || typeof c.bodyText !== 'string') return c;
  const pad = /"pad":"(p+)"/.exec(c.bodyText);
  if (!pad || c.bodyText.length > WEBHOOK_BODY_LIMIT) return c;
  return { ...c, bodyText: c.bodyText.replace(pad[1] as string, 'p'.repeat(WEBHOOK_BODY_LIMIT - c.bodyText.length + (pad[1] as string).length + 1000)) };
}
const cases = (loadCases('webhooks') as unknown as WebhookCase[]).map(overTheLimit);
const PATH = '/webhooks/hubspot';

describe('hostile HubSpot webhook deliveries', () => {
  let service: Service;

  beforeAll(async () => {
    service = await startService('hostile-webhooks');
  });

  afterAll(async () => {
    await service?.close();
  });

  beforeEach(async () => {
    // Each case on its own: no events remembered from another case, no jobs left from it.
    await service.t.redis.del(service.ctx.keys.webhookSeen());
    await service.ctx.queues.ingest.obliterate({ force: true });
  });

  function signedHeaders(c: WebhookCase, body: string): Record<string, string> {
    const sign = c.sign ?? {};
    const now = Date.now();
    const timestamp = {
      now: String(now),
      stale: String(now - 6 * 60_000),
      future: String(now + 6 * 60_000),
      seconds: String(Math.floor(now / 1000)),
      garbage: 'yesterday',
      missing: String(now),
    }[sign.timestamp ?? 'now'];
    const secret = sign.secret === 'wrong' ? 'not-the-app-secret' : CLIENT_SECRET;
    const uri = `${service.url}${sign.uri === 'other' ? '/webhooks/other' : PATH}`;
    let signature = signV3(secret, sign.method ?? 'POST', uri, sign.tamper === 'body' ? `${body} ` : body, timestamp);
    if (sign.tamper === 'truncate') signature = signature.slice(0, 20);
    if (sign.tamper === 'hex') signature = Buffer.from(signature, 'base64').toString('hex');
    if (sign.tamper === 'case') signature = [...signature].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join('');
    if (sign.tamper === 'spaces') signature = `  ${signature}  `;
    if (sign.tamper === 'v1') signature = createHash('sha256').update(`${secret}${body}`).digest('hex');
    const headers: Record<string, string> = { 'content-type': c.contentType ?? 'application/json', 'x-hubspot-signature-version': 'v3' };
    if (sign.secret !== 'none') headers['x-hubspot-signature-v3'] = signature;
    if (sign.timestamp !== 'missing') headers['x-hubspot-request-timestamp'] = timestamp;
    return headers;
  }

  async function newJobs(): Promise<IngestJob[]> {
    const jobs = await service.ctx.queues.ingest.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
    return jobs.map((j) => j.data);
  }

  const run = async (c: WebhookCase) => {
    const body = c.bodyText ?? JSON.stringify(c.body);
    const send = (): Promise<RawResponse> => rawRequest(service.url, { method: 'POST', path: PATH, headers: signedHeaders(c, body), body });
    let res: RawResponse;
    if (c.send === 'twice') {
      const headers = signedHeaders(c, body);
      const first = await rawRequest(service.url, { method: 'POST', path: PATH, headers, body });
      expect(first.status, first.text).toBe(200);
      res = await rawRequest(service.url, { method: 'POST', path: PATH, headers, body });
    } else if (c.send === 'redeliver') {
      const first = await send();
      expect(first.status, first.text).toBe(200);
      res = await send();
    } else {
      res = await send();
    }

    expect(res.status, res.text.slice(0, 300)).toBe(c.expect.status);
    const json = res.json as { error?: string; accepted?: number; duplicates?: number; ignored?: number } | undefined;
    expect(json, `a JSON answer, got ${res.text.slice(0, 200)}`).toBeDefined();
    if (c.expect.error) expect(json?.error).toContain(c.expect.error);
    if (res.status >= 400) expect(res.text).not.toMatch(/\n\s+at |node_modules/);
    if (c.expect.duplicates !== undefined) expect(json?.duplicates).toBe(c.expect.duplicates);
    if (c.expect.ignored !== undefined) expect(json?.ignored).toBe(c.expect.ignored);

    const jobs = await newJobs();
    expect(jobs.length, 'ingest jobs enqueued').toBe(c.expect.jobs);
    const refs = jobs.flatMap((j) => j.refs ?? []);
    const removed = jobs.flatMap((j) => j.removed ?? []);
    const problems = jobs.flatMap((j) => j.problems ?? []);
    if (c.expect.refs !== undefined) expect(refs.length, 'contacts to read').toBe(c.expect.refs);
    if (c.expect.removed !== undefined) expect(removed.length, 'contacts removed').toBe(c.expect.removed);
    if (c.expect.problems !== undefined) {
      expect(problems.length, 'events reported as problems').toBe(c.expect.problems);
      for (const p of problems) expect(p.message).toMatch(/webhook event #\d+ does not have the expected shape: \S/);
    }
    if (c.expect.refIds) expect(refs.map((r) => r.id).sort()).toEqual([...c.expect.refIds].sort());
    // Only contact ids, as digits: nothing from a hostile body reaches a read as anything else.
    for (const r of refs) expect(r.id).toMatch(/^\d+$/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).objectId).toBeUndefined();
  };

  it('holds enough cases to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  for (const c of cases) {
    if (c.bug && !SHOW_BUGS) {
      // BUG (see the case's `bug` in fixtures/hostile/webhooks): fails until the product is fixed.
      it.fails(`${c.name} → ${c.expect.status} [bug: ${c.bug}]`, () => run(c));
    } else {
      it(`${c.name} → ${c.expect.status}`, () => run(c));
    }
  }
});
