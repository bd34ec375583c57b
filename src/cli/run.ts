/** `smk sync`, `smk start` and `smk worker`: the pipeline's process shells. */
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { markAlive, watchRedisLoss } from '../../jobs/redis-loss.js';
import { syncOnce, syncSummary } from '../../jobs/run-once.js';
import { startWorkers } from '../../jobs/workers.js';
import { retrainEveryMs } from '../../jobs/likelihood.js';
import type { QueueName } from '../../jobs/queues.js';
import { scheduleSalesforcePoll, startChangeStream } from '../../jobs/stream.js';
import { checkPortFree, METRICS_HOST, startServer } from '../server/index.js';
import { onStopSignals } from './signals.js';
import { jobObserver, recordApiCall } from '../server/metrics.js';
import { createProgress } from './progress.js';

/** Stops cleanly on SIGTERM/SIGINT: in-flight jobs finish (or go back to the queue), then exit. */
/**
 * Waits for SIGTERM or SIGINT, then stops gracefully: in-flight jobs finish. If that takes longer
 * than `graceMs` (Redis unreachable, a job stuck on a CRM) or a second signal comes, the process
 * exits anyway: every job is leased, so another worker takes what this one left.
 */
function onShutdown(stop: () => Promise<void>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const signals = onStopSignals((signal) => {
      process.stderr.write(`smk: ${signal} received, finishing in-flight jobs (at most ${Math.round(graceMs / 1000)} s)...\n`);
      const timer = setTimeout(() => {
        process.stderr.write(`smk: in-flight jobs did not finish within ${Math.round(graceMs / 1000)} s: exiting; they go back to the queue\n`);
        process.exit(1);
      }, graceMs);
      timer.unref();
      void stop().then(() => {
        clearTimeout(timer);
        signals.dispose();
        process.stderr.write('smk: stopped (in-flight jobs finished)\n');
        resolve();
      });
    }, {
      forced: (signal) => {
        process.stderr.write(`smk: second ${signal}: exiting now; unfinished jobs go back to the queue\n`);
        process.exit(1);
      },
    });
  });
}

/** `smk start` and `smk worker` wait this long for a Redis that does not answer at start (a day: a supervisor's restart loop is not needed). */
const SERVICE_REDIS_WAIT_MS = 24 * 3_600_000;

/** How long a stopping process waits for its jobs: a job's lock lifetime, and at least 30 s. */
function graceFor(runtime: Runtime): number {
  return Math.max(30_000, runtime.ctx.config.file.sync.jobLock);
}

/** Keeps the change feeds and the reconcile on their schedules (one scheduler per job, shared by every process). */
export async function scheduleRecurring(runtime: Runtime): Promise<void> {
  const { ctx } = runtime;
  const { pollEvery, reconcileEvery } = ctx.config.file.sync;
  for (const crm of ['hubspot', 'salesforce'] as const) {
    await ctx.queues.poll.upsertJobScheduler(`poll-${crm}`, { every: pollEvery }, { name: 'poll', data: { crm } });
  }
  await ctx.queues.reconcile.upsertJobScheduler('reconcile', { every: reconcileEvery }, { name: 'reconcile', data: { reason: 'schedule' } });
  // Retraining runs only when the config asks for it; a schedule taken out of the config stops.
  const retrain = retrainEveryMs(ctx.config.file.likelihood);
  if (retrain === null) await ctx.queues.retrain.removeJobScheduler('retrain');
  else await ctx.queues.retrain.upsertJobScheduler('retrain', { every: retrain }, { name: 'retrain', data: { reason: 'schedule' } });
}

export async function runSync(options: { configPath?: string; once: boolean; full: boolean; json?: boolean }): Promise<void> {
  // A cron pass rides out a Redis restart as the service does, within a bounded wait.
  const runtime = await bootstrap({ configPath: options.configPath, waitForRedisMs: 60_000 });
  try {
    if (!options.once) {
      process.stderr.write('smk sync runs one pass with --once; `smk start` keeps syncing.\n');
    }
    const progress = options.json ? { update: () => undefined, stop: () => undefined } : createProgress();
    const result = await syncOnce(runtime.ctx, {
      full: options.full,
      onProgress: (p) => {
        if (p.phase === 'read' && p.crm) progress.update(`read ${p.crm}`, p.records ?? 0);
        if (p.phase === 'drain') progress.update('jobs and writes left', p.remaining ?? 0);
      },
    });
    progress.stop();
    const read = `${result.polls.hubspot.records} HubSpot and ${result.polls.salesforce.records} Salesforce records`;
    const wrote = `wrote ${result.writes.hubspot} HubSpot and ${result.writes.salesforce} Salesforce records, created ${result.created.hubspot} and ${result.created.salesforce}`;
    process.stdout.write(`sync done in ${(result.ms / 1000).toFixed(1)} s: read ${read}; ${result.changed} lead(s) changed, ${result.evaluated} evaluated; ${wrote}; ${result.syncErrors} sync error(s)${result.syncErrors ? ' (see `smk errors`)' : ''}\n`);
    for (const p of result.paused ?? []) {
      const label = p.crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
      process.stdout.write(`${label} API budget spent: paused until ${p.until ?? 'the budget allows'}, with ${p.waiting} write(s) waiting in Redis; they go on by themselves (smk start) or with the next smk sync --once after then, or raise sync.budget.${p.crm} in the config\n`);
    }
    if (options.json) process.stdout.write(`${JSON.stringify(syncSummary(result))}\n`);
  } finally {
    await runtime.close();
  }
}

const onApiCall = (crm: 'hubspot' | 'salesforce', kind: string, calls: number) => recordApiCall(crm, kind, calls);

export async function runWorker(options: { configPath?: string; queues?: QueueName[] }): Promise<void> {
  const runtime = await bootstrap({ configPath: options.configPath, onApiCall, waitForRedisMs: SERVICE_REDIS_WAIT_MS });
  const workers = startWorkers(runtime.ctx, { observer: jobObserver, ...(options.queues ? { queues: options.queues } : {}) });
  runtime.ctx.logger.info({ queues: workers.workers.length }, 'workers started');
  await onShutdown(async () => {
    await workers.close();
    await runtime.close();
  }, graceFor(runtime));
}

export async function runStart(options: { configPath?: string; port?: number; workers?: boolean }): Promise<void> {
  // A taken port is said at once, before Redis, workers or schedules are touched.
  const envPort = Number(process.env.PORT);
  const envHost = process.env.HOST?.trim() || undefined;
  await checkPortFree(options.port ?? (Number.isInteger(envPort) && envPort > 0 ? envPort : 3000), 'set PORT (or smk start --port) to a free one', envHost);
  const envMetricsPort = Number(process.env.SMK_METRICS_PORT?.trim() || NaN);
  if (Number.isInteger(envMetricsPort) && envMetricsPort > 0) await checkPortFree(envMetricsPort, 'set SMK_METRICS_PORT to a free one', METRICS_HOST);
  const runtime = await bootstrap({ configPath: options.configPath, onApiCall, waitForRedisMs: SERVICE_REDIS_WAIT_MS });
  // `--no-workers`: the web process only takes webhooks and serves the dashboard; `smk worker`
  // processes do the work, so a flood of deliveries never starves the sync of CPU (nor the reverse).
  const workers = options.workers === false ? null : startWorkers(runtime.ctx, { observer: jobObserver });
  if (!workers) runtime.ctx.logger.info({}, 'no workers in this process (--no-workers): run `smk worker` beside it');
  await scheduleRecurring(runtime);
  // Redis that comes back empty is noticed (a marker kept in it), and healed: schedules again,
  // polls at once, and a rebuild of the lead store reported until done (jobs/redis-loss.ts).
  await markAlive(runtime.ctx);
  const stopWatching = watchRedisLoss(runtime.ctx, async () => {
    await scheduleRecurring(runtime);
    for (const crm of ['hubspot', 'salesforce'] as const) await runtime.ctx.queues.poll.add('poll', { crm });
  }, Math.min(10_000, runtime.ctx.config.file.sync.pollEvery));
  // Salesforce changes pushed by Change Data Capture when the org has it on (jobs/stream.ts): the
  // Salesforce poll then slows to the safety net, and speeds up again whenever the stream is down.
  const stream = runtime.ctx.config.file.sync.stream.salesforce === 'cdc'
    ? startChangeStream(runtime.ctx, { onHealth: async (healthy) => void (await scheduleSalesforcePoll(runtime.ctx, healthy)) })
    : null;
  // HOST and SMK_METRICS_PORT come with the environment (startServer reads them from the config).
  const server = await startServer(runtime.ctx, { port: options.port ?? runtime.ctx.config.env.PORT, quotaFallback: (crm) => runtime.gate.report(crm) });
  runtime.ctx.logger.info({ url: server.url, ...(server.metricsUrl ? { metricsUrl: `${server.metricsUrl}/metrics` } : {}) }, 'service started');
  process.stdout.write(`Smarketing Connector running: dashboard at ${server.url}/${server.metricsUrl ? `, metrics at ${server.metricsUrl}/metrics` : ''}\n`);
  await onShutdown(async () => {
    stopWatching();
    await stream?.stop();
    await server.close();
    await workers?.close();
    await runtime.close();
  }, graceFor(runtime));
}
