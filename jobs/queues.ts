/**
 * The BullMQ queues. Each has retries with exponential back-off and jitter; a job that runs out
 * of attempts lands in the sync-errors store (see jobs/workers.ts). Queue keys live under the
 * configured prefix with a hash tag per queue, so the service runs on Redis Cluster.
 */
import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import type { DefaultJobOptions, JobsOptions } from 'bullmq';
import { createKeys } from '../src/store/keys.js';
import type { RedisClient } from '../src/store/redis.js';
import type { CreateRequest, RecordUpdate, RemovedRecord, RecordProblem, TaskRequest } from '../connectors/types.js';
import type { CrmName, LeadFragment } from '../src/model/lead.js';
import type { AlertEvent, AlertRecipient } from '../src/rules/alerts.js';

export const QUEUE_NAMES = ['poll', 'ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce', 'sla', 'reconcile', 'retrain', 'alerts'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface PollJob {
  crm: CrmName;
  /** Re-read everything (initial sync, `sync --full`) instead of following the cursor. */
  full?: boolean;
  /** Times a worker already reading another CRM in full handed this read back (jobs/workers.ts). */
  handedBack?: number;
}
export interface IngestJob {
  crm: CrmName;
  /** Our clock when the page was read: a read older than our last write does not roll it back. */
  readAt: number;
  /** A change-feed page kept in Redis (src/store/pages.ts): the job itself carries no personal values. */
  page?: string;
  /** Inline data (a full read applied in process, tests); queued jobs use `page` and `refs`. */
  fragments?: LeadFragment[];
  removed?: RemovedRecord[];
  problems?: RecordProblem[];
  /**
   * Webhook deliveries and retries carry ids only; ingest reads them in batches. A page job lists
   * its records' ids here too (for the dead-letter report, and to read them again should the
   * stored page have expired).
   */
  refs?: Array<{ object: 'contact' | 'Lead' | 'Contact'; id: string }>;
  /** Per ref id: the property changes a webhook named (all its events), to recognise our own echo. */
  changes?: Record<string, Array<{ property: string; value: string | null; digest?: string }>>;
  /** The `smk sync --once` pass that queued this page (src/store/passes.ts): it waits for what the page asks. */
  pass?: string;
}
export interface EvaluateJob {
  /** One lead: its job id is the lead's, so a burst of changes collapses into one evaluation. */
  leadId?: string;
  /** Many leads at once (a full sync, a reconcile, a large page): one job instead of one each. */
  leadIds?: string[];
  cause?: string;
}
export interface WritebackJob {
  crm: CrmName;
}
export interface SlaJob {
  leadId: string;
  dueAt: string;
  kind: 'due' | 'reminder' | 'escalate';
}
/** Train the likelihood model again (on a schedule, or asked for from the dashboard). */
export interface RetrainJob {
  reason: string;
}
/**
 * One message to send (src/rules/alerts.ts PlannedAlert): ids and the event only; the worker reads
 * the lead and renders the message when it sends, so no personal value waits in the queue.
 */
export interface AlertJob {
  key: string;
  channel: string;
  recipient: AlertRecipient;
  event: AlertEvent;
}
export interface ReconcileJob {
  reason: string;
  /** Re-read both CRMs before re-evaluating (after a mapping change). */
  reread?: boolean;
}

export type WritePayload = RecordUpdate;
export type CreatePayload = CreateRequest;
export type TaskPayload = TaskRequest;

/**
 * BullMQ priorities: a job without one goes before every job with one, and a lower number before a
 * higher (docs.bullmq.io/guide/jobs/prioritized; FIFO within one priority). Feed pages, SLA work,
 * retries and reps' changes carry none. A webhook flood (a marketing import, a workflow touching
 * thousands of contacts) waits behind them, and so do the evaluations it asks for; the bulk
 * evaluations of a full read or a reconcile wait behind the flood.
 */
export const PRIORITY = { webhook: 10, bulk: 20 } as const;

export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 86_400, count: 10_000 },
};

export interface Queues {
  poll: Queue<PollJob>;
  ingest: Queue<IngestJob>;
  evaluate: Queue<EvaluateJob>;
  writeback: Record<CrmName, Queue<WritebackJob>>;
  sla: Queue<SlaJob>;
  reconcile: Queue<ReconcileJob>;
  retrain: Queue<RetrainJob>;
  /** Alerts go through a queue of their own, so a slow or failing channel never holds up the sync. */
  alerts: Queue<AlertJob>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * BullMQ's key prefix for one queue. BullMQ's Lua scripts touch many keys of a queue at once, so on
 * Redis Cluster they must share a slot: BullMQ's guide (docs.bullmq.io, "Redis Cluster") puts a
 * hash tag in the prefix, a different one per queue so that the queues spread over the cluster's
 * nodes. The tag is the queue's name (createKeys), and every key still starts with the service's
 * own prefix. (Before layout 2 every queue shared the `{q}` tag: src/store/layout.ts moves them.)
 */
export function queuePrefix(keyPrefix: string, queue: QueueName): string {
  return createKeys(keyPrefix).queuePrefix(queue);
}

/**
 * A Queue whose close cannot end the process. BullMQ's close removes every listener of the queue's
 * connection, yet the connection's start-up (an INFO for the version check) may still be in flight:
 * when the socket then closes, the start-up fails and BullMQ re-emits that as 'error' on a
 * connection nobody listens to any more, which Node turns into a crash ("Connection is closed",
 * seen when `smk errors list` closed while a queue was still starting). So the listener comes back
 * once close is done.
 */
export class ServiceQueue<T> extends Queue<T> {
  override async close(): Promise<void> {
    const { connection } = this.getBackend();
    try {
      await super.close();
    } finally {
      keepListening(connection);
    }
  }
}

/** After close: a late start-up failure of these connections is expected and goes nowhere. */
export function keepListening(...connections: unknown[]): void {
  for (const connection of connections) {
    if (connection instanceof EventEmitter) connection.on('error', () => undefined);
  }
}

export function createQueues(connection: RedisClient, keyPrefix: string, onError: (queue: QueueName, err: Error) => void = () => undefined): Queues {
  // A Queue re-emits its connection's errors; without a listener Node ends the process on them.
  let closing = false;
  const make = <T>(name: QueueName, options: Partial<DefaultJobOptions> = {}) => {
    const queue = new ServiceQueue<T>(name, { connection, prefix: queuePrefix(keyPrefix, name), defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...options } });
    queue.on('error', (err: Error) => {
      if (!closing) onError(name, err);
    });
    return queue;
  };
  const queues = {
    poll: make<PollJob>('poll', { attempts: 3 }),
    ingest: make<IngestJob>('ingest'),
    evaluate: make<EvaluateJob>('evaluate'),
    writeback: {
      hubspot: make<WritebackJob>('writeback-hubspot'),
      salesforce: make<WritebackJob>('writeback-salesforce'),
    },
    sla: make<SlaJob>('sla'),
    reconcile: make<ReconcileJob>('reconcile', { attempts: 3 }),
    retrain: make<RetrainJob>('retrain', { attempts: 2 }),
    // A channel that is down is tried again for about an hour (2 s doubling, 12 attempts) before the
    // message lands in sync errors.
    alerts: make<AlertJob>('alerts', { attempts: 12, backoff: { type: 'exponential', delay: 2000, jitter: 0.3 }, removeOnComplete: { age: 86_400, count: 10_000 } }),
  };
  const all = (): Queue[] => [queues.poll, queues.ingest, queues.evaluate, queues.writeback.hubspot, queues.writeback.salesforce, queues.sla, queues.reconcile, queues.retrain, queues.alerts] as Queue[];
  return {
    ...queues,
    all,
    close: async () => {
      closing = true;
      await Promise.all(all().map((q) => q.close()));
    },
  };
}

/**
 * A lead's evaluation is deduplicated by BullMQ's own option, not by a fixed job id: a burst of
 * changes collapses into one waiting job; a change landing while that lead is being evaluated
 * keeps one more job to run after it (`keepLastIfActive`); and a job that failed for good frees
 * the id, so it never silences the lead's later changes (a fixed job id kept the failed job, and
 * every later add of that id was dropped for the 7 days failed jobs are kept).
 */
export function evaluateJobOptions(leadId: string, extra: JobsOptions = {}): JobsOptions {
  // One deduplication id per priority: a waiting job keeps its own priority, so a rep's change
  // folded into a flood's waiting job would wait behind the flood. An urgent request gets a job of
  // its own instead (the flood's job then finds nothing left to do).
  const id = extra.priority ? `lead-${leadId}@${extra.priority}` : `lead-${leadId}`;
  return { deduplication: { id, keepLastIfActive: true }, ...extra };
}
