/**
 * Prometheus metrics. Three kinds:
 * - process-wide counters and histograms that other layers push into: `recordApiCall` (the
 *   connectors' API calls) and `jobObserver` (pass it to `startWorkers({ observer })`);
 * - gauges read at scrape time from cheap state (quota left, queue depths, sync errors, last sync,
 *   connection, rebuild), per app, through the same cached status snapshot the dashboard uses;
 * - the per-lead gauges (leads by stage, by SLA status, breaches), from the lead summary that one
 *   pass over the store keeps in Redis (lead-summary.ts): a scrape never reads the lead store.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobObserver } from '../../jobs/workers.js';
import type { QueueName } from '../../jobs/queues.js';
import type { CrmName } from '../model/lead.js';
import { CRM_NAMES, SLA_STATUSES, STAGES } from '../model/lead.js';
import type { LeadSummary, LeadSummaryKeeper } from './lead-summary.js';
import type { ServerData } from './snapshot.js';
import { QUEUE_STATES } from './snapshot.js';

/** Everything pushed from outside the server lives here, once per process. */
export const processRegistry = new Registry();
let defaultsStarted = false;

const apiCalls = new Counter({
  name: 'smk_api_calls_total',
  help: 'CRM API calls made, by CRM and endpoint (method and path template).',
  labelNames: ['crm', 'endpoint'] as const,
  registers: [processRegistry],
});

const jobDuration = new Histogram({
  name: 'smk_job_duration_seconds',
  help: 'How long jobs ran, by queue and outcome.',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [processRegistry],
});

/**
 * Ids in a path would make one time series per record: segments with digits that look like ids
 * (HubSpot numeric ids, 15/18-character Salesforce ids) become `:id`.
 */
export function endpointLabel(endpoint: string): string {
  return endpoint
    .replace(/\?.*$/, '')
    .split('/')
    .map((segment) => (/^\d+$/.test(segment) || (/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(segment) && /\d/.test(segment)) ? ':id' : segment))
    .join('/')
    .slice(0, 200);
}

/** Counts CRM API calls; `endpoint` is e.g. `POST /crm/v3/objects/contacts/batch/read`. */
export function recordApiCall(crm: CrmName, endpoint: string, calls = 1): void {
  apiCalls.inc({ crm, endpoint: endpointLabel(endpoint) }, calls);
}

/** Job latencies for `startWorkers(ctx, { observer: jobObserver })`. */
export const jobObserver: JobObserver = {
  completed(queue: QueueName, ms: number): void {
    jobDuration.observe({ queue, outcome: 'completed' }, Math.max(0, ms) / 1000);
  },
  failed(queue: QueueName, ms: number): void {
    jobDuration.observe({ queue, outcome: 'failed' }, Math.max(0, ms) / 1000);
  },
};

export interface AppMetrics {
  registry: Registry;
  contentType: string;
  render(): Promise<string>;
}

/** The scrape-time gauges of one app, merged with the process-wide metrics. */
export function createAppMetrics(data: ServerData, leadSummary: LeadSummaryKeeper, now: () => number = Date.now): AppMetrics {
  if (!defaultsStarted) {
    defaultsStarted = true;
    collectDefaultMetrics({ register: processRegistry });
  }
  const registry = new Registry();
  // The per-lead gauges live apart: they are left out of a scrape while no figures exist (right
  // after a start on a large store, or after Redis came back empty), rather than reported as 0.
  const leadRegistry = new Registry();
  let summary: LeadSummary | null = null;

  new Gauge({
    name: 'smk_quota_remaining',
    help: 'API calls left today in our share of each CRM budget (absent when the budget is unknown).',
    labelNames: ['crm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const status = await data.status();
      for (const crm of CRM_NAMES) {
        const quota = status.crms[crm].quota;
        if ('error' in quota || quota.dailyBudget === null) continue;
        this.set({ crm }, Math.max(0, quota.dailyBudget - quota.dailyUsed));
      }
    },
  });

  new Gauge({
    name: 'smk_quota_used',
    help: 'API calls counted today, per CRM.',
    labelNames: ['crm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const status = await data.status();
      for (const crm of CRM_NAMES) {
        const quota = status.crms[crm].quota;
        if (!('error' in quota)) this.set({ crm }, quota.dailyUsed);
      }
    },
  });

  new Gauge({
    name: 'smk_queue_jobs',
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const { queues } = await data.status();
      for (const [queue, states] of Object.entries(queues)) {
        for (const state of QUEUE_STATES) this.set({ queue, state }, states[state]);
      }
    },
  });

  new Gauge({
    name: 'smk_leads',
    help: 'Stored leads by current stage (none = not evaluated yet), as of smk_lead_summary_age_seconds ago.',
    labelNames: ['stage'] as const,
    registers: [leadRegistry],
    collect() {
      if (summary) for (const stage of [...STAGES, 'none' as const]) this.set({ stage }, summary.stages[stage]);
    },
  });

  new Gauge({
    name: 'smk_sla_leads',
    help: 'Leads by first-touch SLA status, as of smk_lead_summary_age_seconds ago.',
    labelNames: ['status'] as const,
    registers: [leadRegistry],
    collect() {
      if (summary) for (const status of SLA_STATUSES) this.set({ status }, summary.sla[status]);
    },
  });

  new Gauge({
    name: 'smk_sla_breaches',
    help: 'Leads whose first-touch SLA is breached, as of smk_lead_summary_age_seconds ago.',
    registers: [leadRegistry],
    collect() {
      if (summary) this.set(summary.sla.breached);
    },
  });

  new Gauge({
    name: 'smk_lead_summary_age_seconds',
    help: 'How old the per-lead figures (smk_leads, smk_sla_leads, smk_sla_breaches) are: one pass over the lead store, shared by every process, recounts them at most every 30 s (longer on a store that takes long to count).',
    registers: [leadRegistry],
    collect() {
      if (summary) this.set(Math.max(0, now() - summary.computedAt) / 1000);
    },
  });

  new Gauge({
    name: 'smk_lead_summary_duration_seconds',
    help: 'How long the last pass over the lead store for the per-lead figures took.',
    registers: [leadRegistry],
    collect() {
      if (summary) this.set(summary.ms / 1000);
    },
  });

  new Gauge({
    name: 'smk_sync_errors',
    help: 'Entries in the sync-errors report.',
    registers: [registry],
    async collect() {
      this.set((await data.status()).syncErrors);
    },
  });

  new Gauge({
    name: 'smk_last_sync_timestamp_seconds',
    help: 'When each CRM last completed a sync cycle (epoch seconds).',
    labelNames: ['crm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const status = await data.status();
      for (const crm of CRM_NAMES) {
        const at = status.crms[crm].lastSyncAt;
        if (at) this.set({ crm }, Date.parse(at) / 1000);
      }
    },
  });

  new Gauge({
    name: 'smk_crm_auth_ok',
    help: 'Whether each CRM accepts our authorisation as the pipeline last saw it (1) or refuses it (0; see /readyz for the message and fix).',
    labelNames: ['crm'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const status = await data.status();
      for (const crm of CRM_NAMES) this.set({ crm }, status.crms[crm].connection?.state === 'auth_failed' ? 0 : 1);
    },
  });

  new Gauge({
    name: 'smk_rebuilding',
    help: 'Whether the lead store is being rebuilt from both CRMs after Redis came back empty (1) or is whole (0).',
    registers: [registry],
    async collect() {
      this.set((await data.status()).rebuildingSince ? 1 : 0);
    },
  });

  const merged = Registry.merge([processRegistry, registry]);
  const withLeads = Registry.merge([processRegistry, registry, leadRegistry]);
  return {
    registry: withLeads,
    contentType: merged.contentType,
    render: async () => {
      summary = await leadSummary.get().catch(() => null);
      return summary ? withLeads.metrics() : merged.metrics();
    },
  };
}
