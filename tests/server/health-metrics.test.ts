import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmError } from '../../connectors/errors.js';
import { reconnectFix } from '../../src/store/connection-status.js';
import { endpointLabel, jobObserver, recordApiCall } from '../../src/server/metrics.js';
import { makeLead, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness('health');
});
afterAll(async () => {
  await h.close();
});

describe('probes', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await fetch(`${h.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('/readyz is 200 when Redis answers, and spends no CRM API call', async () => {
    h.connectors.salesforce.pingError = new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'would have been a CRM call' });
    h.connectors.hubspot.pingError = new CrmError({ crm: 'hubspot', code: 'TRANSIENT', message: 'would have been a CRM call' });
    try {
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(`${h.url}/readyz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ ok: true, checks: { redis: { ok: true }, hubspot: { ok: true, state: 'unknown' }, salesforce: { ok: true, state: 'unknown' } } });
      }
    } finally {
      h.connectors.salesforce.pingError = null;
      h.connectors.hubspot.pingError = null;
    }
  });

  it('/readyz names a CRM that refuses our authorisation, with the fix, and stays in rotation', async () => {
    await h.ctx.connections.set('salesforce', 'auth_failed', Date.now(), { message: 'expired access/refresh token', fix: reconnectFix('salesforce') });
    try {
      const res = await fetch(`${h.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        ok: true,
        failed: ['salesforce'],
        checks: { redis: { ok: true }, salesforce: { ok: false, state: 'auth_failed', message: 'expired access/refresh token', fix: expect.stringContaining('/oauth/salesforce/start') } },
      });
    } finally {
      await h.ctx.connections.set('salesforce', 'connected', Date.now());
    }
  });
});

describe('/metrics', () => {
  it('exposes the service metrics in Prometheus text format', async () => {
    await h.ctx.leads.save({ lead: makeLead('L1', { stage: { current: 'mql', history: [] }, sla: { status: 'breached', escalations: 0 } }), views: {} });
    await h.ctx.queues.ingest.add('webhook', { crm: 'hubspot', readAt: 0, refs: [{ object: 'contact', id: '1' }] });
    recordApiCall('hubspot', 'POST /crm/v3/objects/contacts/batch/read');
    recordApiCall('salesforce', 'GET /services/data/v62.0/sobjects/Lead/00Q000000000001AAA');
    jobObserver.completed('evaluate', 42);
    jobObserver.failed('writeback-hubspot', 1500);

    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const name of ['smk_api_calls_total', 'smk_quota_remaining', 'smk_quota_used', 'smk_queue_jobs', 'smk_job_duration_seconds_bucket', 'smk_leads', 'smk_sla_breaches', 'smk_sla_leads', 'smk_sync_errors', 'process_cpu_user_seconds_total']) {
      expect(text).toContain(`${name}`);
    }
    expect(text).toContain('smk_api_calls_total{crm="hubspot",endpoint="POST /crm/v3/objects/contacts/batch/read"}');
    expect(text).toContain('smk_api_calls_total{crm="salesforce",endpoint="GET /services/data/v62.0/sobjects/Lead/:id"}');
    expect(text).toContain('smk_quota_remaining{crm="hubspot"} 323800');
    expect(text).toContain('smk_queue_jobs{queue="ingest",state="waiting"} 1');
    expect(text).toContain('smk_leads{stage="mql"} 1');
    expect(text).toContain('smk_sla_breaches 1');
    expect(text).toMatch(/smk_job_duration_seconds_count\{queue="evaluate",outcome="completed"\} \d+/);
  });
});

describe('endpointLabel', () => {
  it.each([
    ['GET /crm/v3/objects/contacts/12345', 'GET /crm/v3/objects/contacts/:id'],
    ['PATCH /services/data/v62.0/sobjects/Lead/00Q5g00000AbCdE', 'PATCH /services/data/v62.0/sobjects/Lead/:id'],
    ['GET /services/data/v62.0/query?q=SELECT', 'GET /services/data/v62.0/query'],
    ['POST /crm/v3/objects/contacts/batch/update', 'POST /crm/v3/objects/contacts/batch/update'],
  ])('%s -> %s', (input, expected) => {
    expect(endpointLabel(input)).toBe(expected);
  });
});
