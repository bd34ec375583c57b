/**
 * Retraining the likelihood model on a schedule (`likelihood.retrainEvery`, a BullMQ job
 * scheduler that `smk start` keeps) and its outcome: a new version each run, published by itself
 * with `autoPublish` when it passes the checks; too few outcomes is recorded, not a failed job.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../jobs/bootstrap.js';
import type { Runtime } from '../../jobs/bootstrap.js';
import { processRetrain } from '../../jobs/likelihood.js';
import { startWorkers } from '../../jobs/workers.js';
import { scheduleRecurring } from '../../src/cli/run.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { outcomeWorld } from '../helpers/outcome-world.js';
import { writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';

async function runtimeWith(t: TestRedis, yaml: string, people: number): Promise<Runtime> {
  const env = { REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, ''), SMK_CONFIG: writeConfig(yaml) };
  const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }) });
  for (const lead of outcomeWorld({ people, seed: 3 })) await runtime.ctx.leads.save({ lead, views: {} });
  return runtime;
}

describe('retraining the likelihood model', () => {
  const open: Array<{ runtime: Runtime; t: TestRedis }> = [];

  afterAll(async () => {
    for (const { runtime, t } of open) {
      await runtime.close();
      await t.cleanup();
    }
  });

  it('runs on the configured schedule, keeps each run as a version, publishes with autoPublish, and stops when the schedule leaves the config', async () => {
    const t = await testRedis('retrain-schedule');
    const runtime = await runtimeWith(t, 'likelihood:\n  retrainEvery: 1d\n  autoPublish: true\n', 1200);
    open.push({ runtime, t });
    const { ctx } = runtime;
    await scheduleRecurring(runtime);
    const schedulers = await ctx.queues.retrain.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, Number(s.every)])).toEqual([['retrain', 86_400_000]]);

    const workers = startWorkers(ctx, { queues: ['retrain'] });
    try {
      // The scheduler's first run is due at once.
      const deadline = Date.now() + 30_000;
      while ((await ctx.models.publishedVersion()) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await workers.close();
    }
    const [model] = await ctx.models.list();
    expect(model?.version).toBe(1);
    expect(await ctx.models.publishedVersion()).toBe(1);
    // Published: every lead is evaluated again so both CRMs get its likelihood.
    expect((await ctx.queues.reconcile.getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.data.reason)).toContain('likelihood model 1 published');
    expect((await ctx.events.read()).filter((e) => e.type === 'likelihood_retrained').map((e) => e.detail)).toEqual([{ reason: 'schedule', version: 1, published: true, why: null }]);

    // The same Redis, the schedule taken out of the config: the next start removes it.
    const plain = await runtimeWith(t, 'likelihood:\n  autoPublish: true\n', 0);
    open.push({ runtime: plain, t: { ...t, cleanup: async () => undefined } });
    await scheduleRecurring(plain);
    expect(await plain.ctx.queues.retrain.getJobSchedulers()).toEqual([]);
  }, 90_000);

  it('without autoPublish, or with too few outcomes, keeps or records the run and publishes nothing', async () => {
    const t = await testRedis('retrain-few');
    const runtime = await runtimeWith(t, 'likelihood:\n  autoPublish: true\n', 60);
    open.push({ runtime, t });
    const result = await processRetrain(runtime.ctx, 'asked from the dashboard');
    expect(result.published).toBe(false);
    expect(result.reasons.join(' ')).toMatch(/Too few outcomes to learn from|Nothing to learn from/);
    expect(await runtime.ctx.models.publishedVersion()).toBeNull();

    const t2 = await testRedis('retrain-manual');
    const manual = await runtimeWith(t2, 'likelihood:\n  autoPublish: false\n', 1200);
    open.push({ runtime: manual, t: t2 });
    expect(await processRetrain(manual.ctx, 'schedule')).toEqual({ version: 1, published: false, reasons: [] });
    expect(await manual.ctx.models.publishedVersion()).toBeNull();
  }, 90_000);
});
