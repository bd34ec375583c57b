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
import { funnelRanges, PeriodFunnelBuilder } from '../rules/funnel.js';
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

/** A value stays fresh for at least this many times as long as it took to compute. */
const COST_FACTOR = 10;

/**
 * One value, recomputed at most every `ttlMs`, and at most every ten times as long as its last
 * computation took (a pass over a million leads takes the better part of a minute: a dashboard
 * left open would otherwise run one after another); callers arriving meanwhile share the
 * computation.
 */
export class Cached<T> {
  private value: { at: number; ms: number; data: T } | null = null;
  private pending: Promise<T> | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly compute: () => Promise<T>,
  ) {}

  /** A value computed after this call: what is cached, or in flight since before, will not do. */
  async fresh(): Promise<T> {
    await this.pending?.catch(() => undefined);
    this.value = null;
    return this.get();
  }

  /** A time to live of 0 caches nothing (tests); any other is stretched for a costly value. */
  private freshFor(ms: number): number {
    return this.ttlMs <= 0 ? 0 : Math.max(this.ttlMs, COST_FACTOR * ms);
  }

  get(): Promise<T> {
    if (this.value && Date.now() - this.value.at < this.freshFor(this.value.ms)) return Promise.resolve(this.value.data);
    if (!this.pending) {
      const started = Date.now();
      this.pending = this.compute()
        .then((data) => {
          const at = Date.now();
          this.value = { at, ms: at - started, data };
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

const MAX_FUNNEL_QUERIES = 16;
/** How long a period keeps being computed with the reports after it was last asked for. */
const FUNNEL_IDLE_MS = 120_000;

export interface ServerDataOptions {
  /** How long status (queues, quota, counts) stays fresh (default 2 s). */
  ttlMs?: number;
  /** How long reports stay fresh (default 5 s, or ten times as long as the last pass took when that is longer): each computation reads every stored lead. */
  reportTtlMs?: number;
  /** The limiter's report, used when a connector cannot report its quota itself. */
  quotaFallback?: (crm: CrmName) => Promise<QuotaReport>;
}

export class ServerData {
  private readonly reportsCache: Cached<Reports>;
  private readonly statusCache: Cached<StatusSnapshot>;
  /**
   * The periods asked for lately, each with its funnel from the last pass over the store: every
   * pass of the reports builds them too, so the dashboard's refresh reads the store once.
   */
  private readonly funnels = new Map<string, { query: FunnelQuery; askedAt: number; report: PeriodFunnel | null }>();
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

  /** The funnel of a period, from the same pass over the store as the other reports. */
  async funnel(query: FunnelQuery): Promise<PeriodFunnel> {
    const key = JSON.stringify([query.period ?? null, query.from ?? null, query.to ?? null, query.trend ?? null]);
    let entry = this.funnels.get(key);
    if (entry === undefined) {
      // A handful of periods are in use at a time; forget the oldest beyond that.
      if (this.funnels.size >= MAX_FUNNEL_QUERIES) this.funnels.delete(this.funnels.keys().next().value as string);
      entry = { query, askedAt: Date.now(), report: null };
      this.funnels.set(key, entry);
    }
    entry.askedAt = Date.now();
    await this.reportsCache.get();
    // Asked for the first time (or again after a while): the cached pass did not build it.
    if (entry.report === null) await this.reportsCache.fresh();
    // Pushed out meanwhile by more periods than are kept: a pass of its own.
    return entry.report ?? readPeriodFunnel(this.ctx, query);
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
    const now = new Date(this.ctx.clock.now());
    const targets = this.ctx.config.file.targets;
    const funnels: Array<{ entry: { report: PeriodFunnel | null }; builder: PeriodFunnelBuilder }> = [];
    for (const [key, entry] of this.funnels) {
      // A period nobody looked at for a while is dropped, not computed on every pass.
      if (Date.now() - entry.askedAt > FUNNEL_IDLE_MS) this.funnels.delete(key);
      else funnels.push({ entry, builder: new PeriodFunnelBuilder(funnelRanges(entry.query, targets, now), targets, now) });
    }
    for await (const page of this.ctx.leads.all(500)) {
      const leads = page.map((s) => s.lead);
      builder.addLeads(leads);
      for (const f of funnels) f.builder.addLeads(leads);
    }
    for (const f of funnels) f.entry.report = f.builder.build();
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
