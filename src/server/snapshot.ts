/**
 * The I/O around the pure reports: reads stored leads page by page and the audit trail
 * incrementally, and gathers queue depths, quota and last-sync figures. Results are cached for a
 * few seconds with one computation in flight, so that a dashboard refreshing every few seconds,
 * several open tabs and a Prometheus scrape cost one pass over the store, not one each.
 */
import { streamStatus } from '../../jobs/stream.js';
import type { StreamStatus } from '../../jobs/stream.js';
import type { ConnectionStatus } from '../store/connection-status.js';
import { rebuildingSince } from '../../jobs/redis-loss.js';
import type { QuotaReport } from '../../connectors/types.js';
import type { SyncContext } from '../../jobs/context.js';
import type { CrmName } from '../model/lead.js';
import { CRM_NAMES } from '../model/lead.js';
import { readPeriodFunnel } from '../../jobs/reports.js';
import type { PeriodFunnel } from '../rules/funnel.js';
import type { FunnelQuery } from '../rules/periods.js';
import { countEvents, ReportBuilder } from './reports.js';
import type { EventCounts, Reports } from './reports.js';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
export type QueueDepths = Record<string, Record<QueueState, number>>;

export type QuotaStatus = QuotaReport | { crm: CrmName; error: string };

export interface CrmStatus {
  lastSyncAt: string | null;
  quota: QuotaStatus;
  /** The connection as the pipeline last saw it (null: not known yet). */
  connection: ConnectionStatus | null;
  /** How this service is connected to the CRM, in the admin's words. */
  connectedBy: string;
  /** Whether an OAuth install can be started from the dashboard (the app and SMK_PUBLIC_URL are configured). */
  oauthInstall: boolean;
  /** Salesforce only: the Change Data Capture stream (connected, last event, lag). */
  stream?: StreamStatus;
}

/** How a CRM is connected, from the environment (the OAuth install is what remains). */
export function connectionOf(env: SyncContext['config']['env'], crm: CrmName): { connectedBy: string; oauthInstall: boolean } {
  const publicUrl = !!env.SMK_PUBLIC_URL;
  if (crm === 'hubspot') {
    const oauthInstall = publicUrl && !!env.HUBSPOT_CLIENT_ID && !!env.HUBSPOT_CLIENT_SECRET;
    if (env.HUBSPOT_ACCESS_TOKEN) return { connectedBy: 'a private app token (HUBSPOT_ACCESS_TOKEN)', oauthInstall };
    return { connectedBy: oauthInstall ? 'the OAuth app installed from this dashboard' : 'nothing yet: set HUBSPOT_ACCESS_TOKEN, or HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and SMK_PUBLIC_URL to install the OAuth app', oauthInstall };
  }
  const oauthInstall = publicUrl && !!env.SALESFORCE_CLIENT_ID;
  if (env.SALESFORCE_JWT_USERNAME) return { connectedBy: `the JWT bearer flow as ${env.SALESFORCE_JWT_USERNAME}`, oauthInstall };
  if (env.SALESFORCE_REFRESH_TOKEN || env.SALESFORCE_ACCESS_TOKEN) return { connectedBy: 'tokens from the environment (SALESFORCE_REFRESH_TOKEN / SALESFORCE_ACCESS_TOKEN)', oauthInstall };
  return { connectedBy: oauthInstall ? 'the connected app authorised from this dashboard' : 'nothing yet: set SALESFORCE_REFRESH_TOKEN, or SALESFORCE_CLIENT_ID and SMK_PUBLIC_URL to connect from the dashboard', oauthInstall };
}

export interface StatusSnapshot {
  now: string;
  /** Since when the lead store is being rebuilt after Redis came back empty (null: it is whole). */
  rebuildingSince: string | null;
  crms: Record<CrmName, CrmStatus>;
  queues: QueueDepths;
  leads: number;
  syncErrors: number;
}

/** One value, recomputed at most every `ttlMs`; callers arriving meanwhile share the computation. */
class Cached<T> {
  private value: { at: number; data: T } | null = null;
  private pending: Promise<T> | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly compute: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    if (this.value && Date.now() - this.value.at < this.ttlMs) return Promise.resolve(this.value.data);
    if (!this.pending) {
      this.pending = this.compute()
        .then((data) => {
          this.value = { at: Date.now(), data };
          return data;
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const MAX_CACHED_FUNNELS = 16;

export interface ServerDataOptions {
  /** How long status (queues, quota, counts) stays fresh (default 2 s). */
  ttlMs?: number;
  /** How long reports stay fresh (default 5 s): each computation reads every stored lead. */
  reportTtlMs?: number;
  /** The limiter's report, used when a connector cannot report its quota itself. */
  quotaFallback?: (crm: CrmName) => Promise<QuotaReport>;
}

export class ServerData {
  private readonly reportsCache: Cached<Reports>;
  private readonly statusCache: Cached<StatusSnapshot>;
  /** The period funnel per query: the dashboard asks for one period every few seconds. */
  private readonly funnels = new Map<string, Cached<PeriodFunnel>>();
  private eventCursor = '0';
  private eventCounts: EventCounts = countEvents([]);

  constructor(
    private readonly ctx: SyncContext,
    private readonly options: ServerDataOptions = {},
  ) {
    this.reportsCache = new Cached(options.reportTtlMs ?? options.ttlMs ?? 5000, () => this.computeReports());
    this.statusCache = new Cached(options.ttlMs ?? 2000, () => this.computeStatus());
  }

  reports(): Promise<Reports> {
    return this.reportsCache.get();
  }

  status(): Promise<StatusSnapshot> {
    return this.statusCache.get();
  }

  /** The funnel of a period (a pass over the store, cached like the other reports, per query). */
  funnel(query: FunnelQuery): Promise<PeriodFunnel> {
    const key = JSON.stringify([query.period ?? null, query.from ?? null, query.to ?? null, query.trend ?? null]);
    let cached = this.funnels.get(key);
    if (cached === undefined) {
      // A handful of periods are in use at a time; forget the oldest beyond that.
      if (this.funnels.size >= MAX_CACHED_FUNNELS) this.funnels.delete(this.funnels.keys().next().value as string);
      cached = new Cached(this.options.reportTtlMs ?? this.options.ttlMs ?? 5000, () => readPeriodFunnel(this.ctx, query));
      this.funnels.set(key, cached);
    }
    return cached.get();
  }

  /** The audit trail only grows: read what is new since the last call and add it to the counts. */
  private async readNewEvents(): Promise<EventCounts> {
    for (;;) {
      const rows = await this.ctx.events.read(this.eventCursor, 2000);
      if (rows.length === 0) return this.eventCounts;
      this.eventCounts = countEvents(rows, this.eventCounts);
      this.eventCursor = (rows[rows.length - 1] as { id: string }).id;
    }
  }

  private async computeReports(): Promise<Reports> {
    const builder = new ReportBuilder();
    for await (const page of this.ctx.leads.all(500)) builder.addLeads(page.map((s) => s.lead));
    builder.setEvents(await this.readNewEvents());
    return builder.build();
  }

  async queueDepths(): Promise<QueueDepths> {
    const out: QueueDepths = {};
    await Promise.all(
      this.ctx.queues.all().map(async (queue) => {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        out[queue.name] = Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as Record<QueueState, number>;
      }),
    );
    return out;
  }

  async quota(crm: CrmName): Promise<QuotaStatus> {
    try {
      return await withTimeout(this.ctx.connectors[crm].quota(), 3000, `${crm} quota`);
    } catch (err) {
      if (this.options.quotaFallback) {
        try {
          return await this.options.quotaFallback(crm);
        } catch {
          // fall through to the connector's own error, which says more
        }
      }
      return { crm, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private async computeStatus(): Promise<StatusSnapshot> {
    const [queues, leads, syncErrors, perCrm] = await Promise.all([
      this.queueDepths(),
      this.ctx.leads.count(),
      this.ctx.errors.count(),
      Promise.all(
        CRM_NAMES.map(async (crm) => {
          const [last, quota, connection, stream] = await Promise.all([
            this.ctx.cursors.lastSyncAt(crm),
            this.quota(crm),
            this.ctx.connections.get(crm),
            crm === 'salesforce' ? streamStatus(this.ctx) : Promise.resolve(null),
          ]);
          const status: CrmStatus = { lastSyncAt: last === null ? null : new Date(last).toISOString(), quota, connection, ...connectionOf(this.ctx.config.env, crm), ...(stream ? { stream } : {}) };
          return [crm, status] as const;
        }),
      ),
    ]);
    return {
      now: new Date(this.ctx.clock.now()).toISOString(),
      rebuildingSince: await rebuildingSince(this.ctx),
      crms: Object.fromEntries(perCrm) as Record<CrmName, CrmStatus>,
      queues,
      leads,
      syncErrors,
    };
  }
}
