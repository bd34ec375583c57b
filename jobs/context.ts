/**
 * Everything a job needs, built once per process from the config: Redis state stores, the two
 * connectors, the queues, the clock and the logger. Jobs are the shell around the pure core.
 */
import type { RedisClient } from '../src/store/redis.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CrmConnector, TaskRequest, CrmOwner } from '../connectors/types.js';
import type { SalesforceSetup } from '../connectors/salesforce/index.js';
import type { AppConfig } from '../src/config.js';
import { effectiveOwnership, resolveSyncFields } from '../src/config.js';
import type { SyncField } from '../src/model/field-sync.js';
import type { OwnedPath, OwnershipPolicy } from '../src/config.js';
import type { CrmName } from '../src/model/lead.js';
import { CursorStore } from '../src/store/cursors.js';
import { ConnectionStatusStore } from '../src/store/connection-status.js';
import { CounterStore } from '../src/store/counters.js';
import { PageStore } from '../src/store/pages.js';
import { PassLedger } from '../src/store/passes.js';
import { EventStore } from '../src/store/events.js';
import { LikelihoodModelStore } from '../src/store/likelihood-models.js';
import { HeldStore } from '../src/store/held.js';
import { createKeys } from '../src/store/keys.js';
import type { Keys } from '../src/store/keys.js';
import { LeadStore } from '../src/store/leads.js';
import { AccountStore } from '../src/store/accounts.js';
import { ActivityStore } from '../src/store/activities.js';
import { Locks } from '../src/store/locks.js';
import { PendingStore } from '../src/store/pending.js';
import { SyncErrorStore } from '../src/store/sync-errors.js';
import { TimeOffStore } from '../src/store/time-off.js';
import { OpenLeadIndex } from '../src/store/open-leads.js';
import { createQueues } from './queues.js';
import type { CreatePayload, Queues, TaskPayload, WritePayload } from './queues.js';

/** The service's notion of now. Tests and the demo can move it (the SLA clock); production cannot. */
export interface Clock {
  now(): number;
  /** Re-reads a shared offset (multi-process tests); a no-op in production. */
  sync(): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sync: async () => undefined };

/** A clock whose offset lives in Redis, so that every worker process of a test agrees on "now". */
export function sharedTestClock(redis: RedisClient, keys: Keys): Clock & { advance(ms: number): Promise<void>; set(ms: number): Promise<void> } {
  let offset = 0;
  const key = keys.meta('clock-offset');
  return {
    now: () => Date.now() + offset,
    sync: async () => {
      offset = Number((await redis.get(key)) ?? 0);
    },
    advance: async (ms: number) => {
      offset = await redis.incrby(key, ms);
    },
    set: async (ms: number) => {
      offset = ms - Date.now();
      await redis.set(key, String(offset));
    },
  };
}

export interface SalesforceExtras {
  createTasks?(tasks: TaskRequest[]): Promise<Array<{ key: string; ok: boolean; id?: string; error?: Error }>>;
}

export type Connectors = Record<CrmName, CrmConnector> & {
  salesforceTasks?: SalesforceExtras['createTasks'];
  salesforceSetup?: SalesforceSetup;
  /** The objects selected for Change Data Capture in the Salesforce org (jobs/stream.ts). */
  salesforceChangeCapture?: () => Promise<string[]>;
};

export interface PendingStores {
  write: PendingStore<WritePayload>;
  create: PendingStore<CreatePayload>;
  task: PendingStore<TaskPayload>;
}

export interface SyncContext {
  config: AppConfig;
  /** Plain commands. */
  redis: RedisClient;
  /** BullMQ's blocking connection (maxRetriesPerRequest: null). */
  queueConnection: RedisClient;
  keys: Keys;
  leads: LeadStore;
  held: HeldStore;
  cursors: CursorStore;
  /** Salesforce Accounts and HubSpot companies, for matching leads to them (jobs/accounts.ts). */
  accounts: AccountStore;
  /** Calls and emails sales logged, per Salesforce record (jobs/activities.ts). */
  activities: ActivityStore;
  errors: SyncErrorStore;
  events: EventStore;
  /** Likelihood models, versioned, and which one is published. */
  models: LikelihoodModelStore;
  counters: CounterStore;
  pages: PageStore;
  passes: PassLedger;
  connections: ConnectionStatusStore;
  locks: Locks;
  pending: Record<CrmName, PendingStores>;
  connectors: Connectors;
  queues: Queues;
  clock: Clock;
  logger: Logger;
  ownership: Record<OwnedPath, OwnershipPolicy>;
  /** The fields copied between the CRMs, each with its direction (src/config.ts resolveSyncFields). */
  syncFields: readonly SyncField[];
  /** Owner lists of both CRMs (routing writes a Salesforce user id; HubSpot needs its own owner id). */
  owners: OwnerDirectory;
  /** Reps' time off set through the admin API, a CSV import or the mark-away rule. */
  timeOff: TimeOffStore;
  /** The open leads each owner holds, counted against routing's member caps. */
  openLeads: OpenLeadIndex;
}

const ownerSchema = z.object({ id: z.string(), email: z.string().nullable(), name: z.string(), active: z.boolean() });
const sharedOwnersSchema = z.object({ at: z.number(), byCrm: z.object({ hubspot: z.array(ownerSchema), salesforce: z.array(ownerSchema) }) });

/**
 * Maps owners across the CRMs by email; refreshed from both CRMs every few minutes. The lists are
 * shared through Redis: every process (workers, and a web process that runs none) reads the
 * copy another one fetched, so the CRMs are asked once per period, not once per process.
 */
export class OwnerDirectory {
  private byCrm: Record<CrmName, CrmOwner[]> = { hubspot: [], salesforce: [] };
  private loadedAt = 0;

  constructor(
    private readonly connectors: Connectors,
    private readonly logger: Logger,
    private readonly shared?: { redis: RedisClient; key: string },
    private readonly ttlMs = 5 * 60_000,
  ) {}

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < this.ttlMs) return;
    if (!force && (await this.loadShared())) return;
    let fetched = false;
    for (const crm of ['hubspot', 'salesforce'] as const) {
      try {
        this.byCrm[crm] = await this.connectors[crm].owners();
        fetched = true;
      } catch (err) {
        this.logger.warn({ crm, err: err instanceof Error ? err.message : String(err) }, 'could not list owners');
      }
    }
    this.loadedAt = Date.now();
    if (fetched && this.shared) {
      await this.shared.redis.set(this.shared.key, JSON.stringify({ at: this.loadedAt, byCrm: this.byCrm }), 'EX', 86_400).catch(() => undefined);
    }
  }

  /** Takes the copy in Redis when it is fresh enough; false when there is none or it is old. */
  private async loadShared(): Promise<boolean> {
    if (!this.shared) return false;
    const raw = await this.shared.redis.get(this.shared.key).catch(() => null);
    if (!raw) return false;
    let parsed: ReturnType<typeof sharedOwnersSchema.safeParse>;
    try {
      parsed = sharedOwnersSchema.safeParse(JSON.parse(raw));
    } catch {
      return false;
    }
    if (!parsed.success || Date.now() - parsed.data.at >= this.ttlMs) return false;
    this.byCrm = parsed.data.byCrm;
    this.loadedAt = parsed.data.at;
    return true;
  }

  /** The same person's owner id in `to`, matched by email (case-insensitive). */
  translate(ownerId: string, from: CrmName, to: CrmName): string | null {
    if (from === to) return ownerId;
    const source = this.byCrm[from].find((o) => o.id === ownerId);
    const email = source?.email?.toLowerCase();
    if (!email) return null;
    return this.byCrm[to].find((o) => o.email?.toLowerCase() === email)?.id ?? null;
  }

  list(crm: CrmName): CrmOwner[] {
    return this.byCrm[crm];
  }
}

export function createSyncContext(input: {
  config: AppConfig;
  redis: RedisClient;
  queueConnection: RedisClient;
  connectors: Connectors;
  logger: Logger;
  clock?: Clock;
  keyPrefix?: string;
}): SyncContext {
  const keys = createKeys(input.keyPrefix ?? input.config.env.SMK_KEY_PREFIX);
  const { redis } = input;
  const pendingFor = (crm: CrmName): PendingStores => ({
    write: new PendingStore<WritePayload>(redis, keys, crm, 'write', 'smk'),
    create: new PendingStore<CreatePayload>(redis, keys, crm, 'create'),
    task: new PendingStore<TaskPayload>(redis, keys, crm, 'task'),
  });
  return {
    config: input.config,
    redis,
    queueConnection: input.queueConnection,
    keys,
    leads: new LeadStore(redis, keys),
    held: new HeldStore(redis, keys),
    cursors: new CursorStore(redis, keys),
    accounts: new AccountStore(redis, keys),
    activities: new ActivityStore(redis, keys),
    errors: new SyncErrorStore(redis, keys),
    events: new EventStore(redis, keys),
    models: new LikelihoodModelStore(redis, keys),
    counters: new CounterStore(redis, keys),
    pages: new PageStore(redis, keys),
    passes: new PassLedger(redis, keys),
    connections: new ConnectionStatusStore(redis, keys),
    locks: new Locks(redis, keys, input.config.file.sync.jobLock),
    pending: { hubspot: pendingFor('hubspot'), salesforce: pendingFor('salesforce') },
    connectors: input.connectors,
    queues: createQueues(input.queueConnection, keys.prefix, (queue, err) => input.logger.warn({ queue, err: err.message }, 'queue connection error')),
    clock: input.clock ?? systemClock,
    logger: input.logger,
    ownership: effectiveOwnership(input.config.file.sync),
    syncFields: resolveSyncFields(input.config.file.sync),
    owners: new OwnerDirectory(input.connectors, input.logger, { redis, key: keys.meta('owners') }),
    timeOff: new TimeOffStore(redis, keys),
    openLeads: new OpenLeadIndex(redis, keys),
  };
}
