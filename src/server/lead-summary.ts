/**
 * The per-lead figures of `/metrics` (leads by stage, by first-touch SLA status) at a bounded cost.
 *
 * Until now every scrape read and parsed every stored lead (0.3 s at 5,000 leads, 12 s at 200,000,
 * longer than Prometheus' default 10 s scrape timeout). Now one pass over the lead store counts
 * them, and its result is kept in Redis (`meta:lead-summary`) and served to every scrape of every
 * process until it is older than the refresh interval: at least `minRefreshMs` (30 s), and at least
 * `costFactor` (20) times as long as the last pass took, so that the passes never take more than
 * 1/20 of one core, however large the store. A scrape never waits for a pass, except for a short
 * while (`waitMs`, 1 s) when no figures exist at all, so that a small store has them at once.
 *
 * Why a refreshed summary and not counters updated where leads are saved:
 * - Many processes: the pipeline's hot path is untouched (no extra Redis command per saved lead),
 *   and the web processes share one pass per interval: the pass is started by whoever first takes
 *   the `lock:lead-summary` key (SET NX with the interval as its expiry, never deleted, so it
 *   also spaces the passes), and its result is read by all.
 * - A Redis restart, failover or flush: the figures are recounted from what the store holds, so
 *   they cannot drift. Counters kept on save would need every save and delete path to move them
 *   atomically with the lead (the old stage is only known inside that write), and after a partial
 *   loss (an AOF that lost its last second) they would disagree with the store for good, with
 *   nothing but this very recount to repair them. When Redis comes back empty the summary key and
 *   the lock are gone with it: the next scrape starts a new pass, and nothing is served from this
 *   process's memory meanwhile (`smk_rebuilding` says the store is being rebuilt).
 * The price is staleness: a figure is at most one interval (plus one pass) old, and
 * `smk_lead_summary_age_seconds` says how old.
 *
 * The pass reads the raw JSON and picks two fields: no schema validation, which is what made the
 * old scrape slow (a lead that does not parse is counted as unreadable, never fatal).
 */
import { decodeStoredLead } from '../store/lead-codec.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { SLA_STATUSES, STAGES } from '../model/lead.js';
import type { SlaStatus, Stage } from '../model/lead.js';
import { mgetBufferAcross } from '../store/redis.js';

export type StageCounts = Record<Stage | 'none', number>;
export type SlaCounts = Record<SlaStatus, number>;

export interface LeadSummary {
  /** When the pass finished (epoch ms, wall clock). */
  computedAt: number;
  /** How long the pass took (ms). */
  ms: number;
  leads: number;
  /** Stored values that were not a lead's JSON (counted nowhere else). */
  unreadable: number;
  stages: StageCounts;
  sla: SlaCounts;
}

const countsOf = <K extends string>(names: readonly K[]) => z.object(Object.fromEntries(names.map((n) => [n, z.number().int().nonnegative()])) as Record<K, z.ZodNumber>);
const summarySchema = z.object({
  computedAt: z.number(),
  ms: z.number().nonnegative(),
  leads: z.number().int().nonnegative(),
  unreadable: z.number().int().nonnegative(),
  stages: countsOf([...STAGES, 'none'] as const),
  sla: countsOf(SLA_STATUSES),
});

export interface LeadSummaryOptions {
  /** The shortest interval between two passes (default 30 s). */
  minRefreshMs?: number;
  /** The interval is also at least this many times the last pass's duration (default 20). */
  costFactor?: number;
  /** How long a scrape waits for the first figures when none exist (default 1 s). */
  waitMs?: number;
  /** Leads read per Redis round trip (default 500). */
  pageSize?: number;
  /** Wall clock (tests move it). */
  now?: () => number;
  logger?: Logger;
}

function emptyStages(): StageCounts {
  return Object.fromEntries([...STAGES, 'none'].map((s) => [s, 0])) as StageCounts;
}

function emptySla(): SlaCounts {
  return Object.fromEntries(SLA_STATUSES.map((s) => [s, 0])) as SlaCounts;
}

const STAGE_SET = new Set<string>(STAGES);
const SLA_SET = new Set<string>(SLA_STATUSES);

/** Adds one stored lead's raw JSON to the counts; false when it is not a lead. */
export function countStoredLead(raw: string | Buffer, stages: StageCounts, sla: SlaCounts): boolean {
  let lead: unknown;
  try {
    // Plain JSON (an earlier version's, or a test's) is read as is; the encoded form is decoded.
    const json = typeof raw === 'string' ? raw : raw[0] === 0x7b ? raw.toString('utf8') : null;
    lead = json !== null ? (JSON.parse(json) as { lead?: unknown }).lead : decodeStoredLead(raw as Buffer).lead;
  } catch {
    return false;
  }
  if (typeof lead !== 'object' || lead === null) return false;
  const { stage, sla: leadSla } = lead as { stage?: { current?: unknown } | null; sla?: { status?: unknown } | null };
  const current = stage?.current;
  stages[typeof current === 'string' && STAGE_SET.has(current) ? (current as Stage) : 'none'] += 1;
  // The schema's default: a lead without SLA state, or with one without a status, has none.
  const status = leadSla?.status;
  sla[typeof status === 'string' && SLA_SET.has(status) ? (status as SlaStatus) : 'none'] += 1;
  return true;
}

export class LeadSummaryKeeper {
  private readonly minRefreshMs: number;
  private readonly costFactor: number;
  private readonly waitMs: number;
  private readonly pageSize: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private inflight: Promise<LeadSummary | null> | null = null;

  constructor(
    private readonly ctx: SyncContext,
    options: LeadSummaryOptions = {},
  ) {
    this.minRefreshMs = options.minRefreshMs ?? 30_000;
    this.costFactor = options.costFactor ?? 20;
    this.waitMs = options.waitMs ?? 1000;
    this.pageSize = options.pageSize ?? 500;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? ctx.logger;
  }

  private get key(): string {
    return this.ctx.keys.meta('lead-summary');
  }

  private get lockKey(): string {
    return this.ctx.keys.lock('lead-summary');
  }

  /** The interval after a pass that took `ms`. */
  refreshEvery(ms: number): number {
    return Math.max(this.minRefreshMs, Math.ceil(ms * this.costFactor));
  }

  /** The stored figures, or null when there are none (or they cannot be read). */
  async stored(): Promise<LeadSummary | null> {
    const raw = await this.ctx.redis.get(this.key);
    if (!raw) return null;
    try {
      const parsed = summarySchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /**
   * The figures for a scrape: the stored ones, with a new pass started in the background when they
   * are due (by this process only if it takes the lock). With none stored, waits up to `waitMs`.
   */
  async get(): Promise<LeadSummary | null> {
    const summary = await this.stored();
    const due = summary === null || this.now() - summary.computedAt >= this.refreshEvery(summary.ms);
    if (!due) return summary;
    const pass = this.refresh(summary);
    if (summary !== null) return summary;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([pass, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.waitMs)))]);
    clearTimeout(timer);
    // Another process may hold the lock and have finished meanwhile.
    return waited ?? (await this.stored());
  }

  /** Starts a pass unless one runs here or another process took the lock for this interval. */
  refresh(previous: LeadSummary | null): Promise<LeadSummary | null> {
    if (this.inflight) return this.inflight;
    const pass = (async () => {
      // Held for the whole interval (and never released), so that passes are spaced across processes;
      // long enough to cover the pass itself, so that a slow pass is not started twice.
      const hold = this.refreshEvery(previous?.ms ?? 0);
      const taken = await this.ctx.redis.set(this.lockKey, randomBytes(8).toString('hex'), 'PX', hold, 'NX');
      if (taken !== 'OK') return null;
      const summary = await this.count();
      await this.ctx.redis.set(this.key, JSON.stringify(summary));
      // A pass that took longer than expected spaces the next one accordingly.
      const next = this.refreshEvery(summary.ms);
      if (next > hold) await this.ctx.redis.pexpire(this.lockKey, next);
      this.logger.debug({ leads: summary.leads, ms: summary.ms, unreadable: summary.unreadable }, 'lead summary counted');
      return summary;
    })()
      .catch((err: unknown) => {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not count the lead store for /metrics; the figures stay as they were');
        return null;
      })
      .finally(() => {
        this.inflight = null;
      });
    this.inflight = pass;
    return pass;
  }

  /** One pass over the store: two fields per lead, read without the schema. */
  async count(): Promise<LeadSummary> {
    const t0 = performance.now();
    const stages = emptyStages();
    const sla = emptySla();
    let leads = 0;
    let unreadable = 0;
    for await (const ids of this.ctx.leads.ids(this.pageSize)) {
      const raws = await mgetBufferAcross(this.ctx.redis, ids.map((id) => this.ctx.keys.lead(id)));
      for (const raw of raws) {
        // Deleted between the index page and the read: not a lead any more.
        if (raw === null) continue;
        if (countStoredLead(raw, stages, sla)) leads += 1;
        else unreadable += 1;
      }
    }
    const ms = Math.round(performance.now() - t0);
    return { computedAt: this.now(), ms, leads, unreadable, stages, sla };
  }
}
