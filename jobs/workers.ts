/**
 * The workers of every queue, for `smk start`, `smk worker` and `smk sync --once`. A job that
 * exhausts its attempts lands in sync errors; SIGTERM lets in-flight jobs finish (BullMQ's
 * close waits for them) and a SIGKILLed worker's jobs are recovered as stalled by the others.
 */
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { Job, Processor } from 'bullmq';
import { isCrmError } from '../connectors/errors.js';
import type { CrmName } from '../src/model/lead.js';
import { REDIS_ERROR_LOG_EVERY_MS } from '../src/store/redis.js';
import type { SyncContext } from './context.js';
import { processEvaluate, processEvaluateMany } from './evaluate.js';
import { afterUpstreamJob } from './schedule-writeback.js';
import { processIngest } from './ingest.js';
import { processPoll } from './poll.js';
import { AlertRateLimitedError, channelSender, describeAlert, processAlert, reportAlertProblem } from './alerts.js';
import type { AlertSender } from './alerts.js';
import type { AlertJob, EvaluateJob, IngestJob, PollJob, QueueName, ReconcileJob, RetrainJob, SlaJob, WritebackJob } from './queues.js';
import { keepListening, queuePrefix } from './queues.js';
import { processReconcile } from './reconcile.js';
import { processRetrain } from './likelihood.js';
import { processSlaTimer } from './sla.js';
import { processWriteback } from './writeback.js';

/**
 * A Worker whose close cannot end the process: as with the queues (see ServiceQueue), a connection
 * still starting when the worker closes fails after BullMQ has removed its listeners. The worker
 * has two connections, its own and the blocking one, both held by its Redis backend.
 */
export class ServiceWorker<T> extends Worker<T> {
  override async close(force = false): Promise<void> {
    const { connection, blockingConnection } = this.getBackend();
    const connections: unknown[] = [connection, blockingConnection];
    try {
      await super.close(force);
    } finally {
      keepListening(...connections);
    }
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

/** A lost Redis connection: the Redis clients log the outage once for the process (src/store/redis.ts). */
function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/i.test(err.message);
}

/** How many times a second full read is handed back for another worker, and after how long. */
const FULL_READ_HANDBACKS = 20;
const FULL_READ_HANDBACK_MS = 250;

export interface WorkerSet {
  workers: Worker[];
  close(): Promise<void>;
}

/** Counters for metrics: jobs done and failed, and their durations, per queue. */
export interface JobObserver {
  completed(queue: QueueName, ms: number): void;
  failed(queue: QueueName, ms: number): void;
}

export function startWorkers(ctx: SyncContext, options: { queues?: QueueName[]; observer?: JobObserver; alertSender?: AlertSender } = {}): WorkerSet {
  const { concurrency } = ctx.config.file.sync;
  const wanted = new Set(options.queues ?? (['poll', 'ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce', 'sla', 'reconcile', 'retrain', 'alerts'] as QueueName[]));
  const workers: Worker[] = [];

  const make = <T>(name: QueueName, processor: Processor<T>, workerConcurrency: number, extra: { limiter?: { max: number; duration: number } } = {}) => {
    if (!wanted.has(name)) return;
    const worker = new ServiceWorker<T>(name, processor, {
      connection: ctx.queueConnection,
      prefix: queuePrefix(ctx.keys.prefix, name),
      concurrency: workerConcurrency,
      ...extra,
      // A worker killed mid-job: its lock lapses and another worker takes the job again.
      lockDuration: ctx.config.file.sync.jobLock,
      stalledInterval: Math.max(1000, Math.floor(ctx.config.file.sync.jobLock / 2)),
      maxStalledCount: 3,
    });
    worker.on('completed', (job: Job) => options.observer?.completed(name, Date.now() - (job.processedOn ?? Date.now())));
    worker.on('failed', (job: Job | undefined, err: Error) => {
      options.observer?.failed(name, job ? Date.now() - (job.processedOn ?? Date.now()) : 0);
      if (!job) return;
      // An UnrecoverableError (a webhook that is gone, an owner without an email) is not retried.
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError' || err instanceof UnrecoverableError;
      ctx.logger.warn({ queue: name, jobId: job.id, attempt: job.attemptsMade, final, errorCode: isCrmError(err) ? err.code : undefined, err: err.message }, 'job failed');
      if (final) void deadLetter(ctx, name, job, err);
    });
    // While Redis is away every worker's connection fails several times a second: the Redis
    // clients log the outage (one line, one a minute, one when back); any other worker error is
    // logged once, then at most once a minute per queue.
    let loggedAt = 0;
    let quiet = 0;
    worker.on('error', (err) => {
      if (isConnectionError(err)) return;
      const now = Date.now();
      if (now - loggedAt < REDIS_ERROR_LOG_EVERY_MS) {
        quiet += 1;
        return;
      }
      ctx.logger.error({ queue: name, err: err.message, ...(quiet > 0 ? { sameErrorsSinceLastLine: quiet } : {}) }, 'worker error');
      loggedAt = now;
      quiet = 0;
    });
    workers.push(worker as Worker);
    return worker;
  };

  // A full read ingests as it reads: CPU of this process for as long as the read lasts (minutes at
  // a million people). This worker fetches a poll job per free slot, so it may have taken both
  // CRMs' full reads while another worker's process sits idle. Already reading one CRM in full, it
  // hands a second full read back for a moment, for another worker of the queue to take; with no
  // other worker there, or after FULL_READ_HANDBACKS tries, it reads it itself.
  let fullReadsHere = 0;
  // BullMQ counts the queue's workers by their connections' names (CLIENT LIST). A Redis that
  // refuses CLIENT LIST shows no other worker: the read is read here.
  const otherPollWorkers = async (): Promise<boolean> => {
    try {
      return (await ctx.queues.poll.getWorkersCount()) > 1;
    } catch (err) {
      ctx.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'could not count the poll workers');
      return false;
    }
  };
  const fullReadGate = (job: Job<PollJob>, token: string | undefined) => ({
    enter: async () => {
      const handedBack = job.data.handedBack ?? 0;
      if (fullReadsHere > 0 && token && handedBack < FULL_READ_HANDBACKS && (await otherPollWorkers())) {
        await job.updateData({ ...job.data, handedBack: handedBack + 1 });
        await job.moveToDelayed(Date.now() + FULL_READ_HANDBACK_MS, token);
        throw new DelayedError();
      }
      fullReadsHere += 1;
    },
    leave: () => {
      fullReadsHere -= 1;
    },
  });
  const pollWorker = make<PollJob>('poll', (job, token) => processPoll(ctx, job.data.crm, { full: job.data.full, whenBusy: job.data.full ? 'wait' : 'skip', fullRead: fullReadGate(job, token) }), 2);
  const ingestWorker = make<IngestJob>('ingest', (job) => processIngest(ctx, job.data, { retried: job.attemptsMade > 0 || job.stalledCounter > 0, via: job.name }), concurrency.ingest);
  const evaluateWorker = make<EvaluateJob>('evaluate', (job) => {
    if (job.data.leadIds) return processEvaluateMany(ctx, job.data.leadIds, job.data.cause);
    if (!job.data.leadId) throw new Error(`evaluate job ${job.id ?? ''} names no lead`);
    return processEvaluate(ctx, job.data.leadId);
  }, concurrency.evaluate);
  // Done (no longer active): a burst's tail that settled while one of them ran may go now.
  for (const upstream of [pollWorker, ingestWorker, evaluateWorker]) {
    upstream?.on('completed', () => {
      afterUpstreamJob(ctx).catch((err: unknown) => ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not ask for the burst tail\'s drain'));
    });
  }
  for (const crm of ['hubspot', 'salesforce'] as const) {
    make<WritebackJob>(`writeback-${crm}`, () => processWriteback(ctx, crm), concurrency.writeback);
  }
  for (const crm of ['hubspot', 'salesforce'] as const) {
    // A drain at start: writes left by a stopped service, or parked behind a budget since raised.
    if (wanted.has(`writeback-${crm}`)) {
      ctx.queues.writeback[crm].add('drain', { crm }, { jobId: `drain-${crm}-now` }).catch((err: unknown) => {
        ctx.logger.warn({ crm, err: err instanceof Error ? err.message : String(err) }, 'could not schedule the start-up drain');
      });
    }
  }
  make<SlaJob>('sla', (job) => processSlaTimer(ctx, job.data), 2);
  const alertSender = options.alertSender ?? (wanted.has('alerts') ? channelSender(ctx.config.secrets ?? {}) : null);
  if (alertSender) {
    // Rate-limited over all channels (BullMQ's limiter is per queue, across workers).
    const alertWorker: { current?: Worker } = {};
    make<AlertJob>('alerts', async (job) => {
      try {
        return await processAlert(ctx, job.data, alertSender, job.id);
      } catch (err) {
        // Slack said to wait: the whole queue waits that long and the job keeps its attempts
        // (docs.bullmq.io/guide/rate-limiting, "Manual rate-limit").
        if (err instanceof AlertRateLimitedError && alertWorker.current) {
          ctx.logger.warn({ channel: job.data.channel, retryAfterMs: err.retryAfterMs }, 'alerts rate limited by the channel');
          await alertWorker.current.rateLimit(err.retryAfterMs);
          throw Worker.RateLimitError();
        }
        throw err;
      }
    }, 2, { limiter: { max: ctx.config.file.alerts.maxPerMinute, duration: 60_000 } });
    alertWorker.current = workers.find((w) => w.name === 'alerts');
  }
  make<ReconcileJob>('reconcile', (job) => processReconcile(ctx, { reread: job.data.reread, onProgress: (done, total) => job.updateProgress({ done, total }) }), 1);
  make<RetrainJob>('retrain', (job) => processRetrain(ctx, job.data.reason), 1);

  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      if (alertSender && !options.alertSender) await alertSender.close();
    },
  };
}

/** The records an ingest job was about: its refs, and the records behind its fragments and removals. */
export function recordsOfIngest(data: IngestJob): Array<{ object: string; id: string }> {
  const seen = new Map<string, { object: string; id: string }>();
  const add = (object: string | undefined, id: string | undefined) => {
    if (object && id) seen.set(`${object}:${id}`, { object, id });
  };
  for (const ref of data.refs ?? []) add(ref.object, ref.id);
  for (const f of data.fragments ?? []) add(f.object, f.recordId);
  for (const r of data.removed ?? []) add(r.ref.object, r.ref.id);
  return [...seen.values()];
}

/**
 * The dead-letter path: a job that ran out of attempts is reported, never silently dropped. An
 * ingest page is reported record by record, with each record's id: its changes lie behind the
 * cursor already, so Retry must read exactly those records again.
 */
export async function deadLetter(ctx: SyncContext, queue: QueueName, job: Job, err: Error): Promise<void> {
  const data = job.data as Partial<{ crm: CrmName; leadId: string }>;
  const records = queue === 'ingest' ? recordsOfIngest(job.data as IngestJob) : [];
  try {
    // An evaluation given up on is reported below: a `sync --once` pass waiting on it stops waiting.
    if (queue === 'evaluate') {
      const leadIds = data.leadId ? [data.leadId] : ((job.data as { leadIds?: string[] }).leadIds ?? []);
      const versions = await ctx.leads.versions(leadIds);
      for (const [i, leadId] of leadIds.entries()) await ctx.leads.markEvaluated(leadId, versions[i] ?? 0);
    }
    if (queue === 'alerts') {
      const alert = job.data as AlertJob;
      await reportAlertProblem(ctx, alert, 'ALERT_FAILED', `${describeAlert(alert)} was not sent (${job.attemptsMade} attempts): ${err.message}`);
      return;
    }
    if (records.length > 0) {
      const crm = (job.data as IngestJob).crm;
      for (const record of records) {
        await ctx.errors.record({
          crm, object: record.object, recordId: record.id, leadId: null,
          code: isCrmError(err) ? err.code : 'JOB_FAILED',
          message: `reading this record failed ${job.attemptsMade} times (ingest job ${job.id}): ${err.message}; Retry reads it again`,
          stage: 'read',
        }, ctx.clock.now());
      }
      return;
    }
    await ctx.errors.record({
      crm: data.crm ?? (queue === 'writeback-salesforce' ? 'salesforce' : 'hubspot'),
      object: null,
      recordId: null,
      leadId: data.leadId ?? null,
      code: isCrmError(err) ? err.code : 'JOB_FAILED',
      message: `${queue} job ${job.id} failed after ${job.attemptsMade} attempts: ${err.message}`,
      stage: queue === 'poll' ? 'poll' : queue === 'ingest' ? 'read' : 'write',
    }, ctx.clock.now());
  } catch (reportErr) {
    ctx.logger.error({ queue, jobId: job.id, err: reportErr instanceof Error ? reportErr.message : String(reportErr) }, 'could not record a dead-lettered job');
  }
}
