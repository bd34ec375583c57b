/**
 * `smk model`: train a likelihood to convert on the org's own outcomes, see it measured against
 * the rule score on the newer outcomes, publish it, list the versions, roll back.
 */
import { bootstrap } from '../../jobs/bootstrap.js';
import { publishModel, rollbackModel, trainModel } from '../../jobs/likelihood.js';
import type { TrainResult } from '../../jobs/likelihood.js';
import type { SyncContext } from '../../jobs/context.js';
import type { LikelihoodEvaluation, LikelihoodModel, PublishVerdict } from '../rules/learn/model.js';
import { judgeLikelihoodModel } from '../rules/learn/model.js';
import type { LikelihoodTarget } from '../rules/learn/outcomes.js';

const day = (iso: string | null) => (iso === null ? '-' : iso.slice(0, 10));
const auc = (x: number | null) => (x === null ? '-' : x.toFixed(3));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const count = (n: number) => n.toLocaleString('en-US');

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The figures as an admin reads them: the counts behind them, AUC side by side, calibration by decile. */
export function describeEvaluation(target: LikelihoodTarget, e: LikelihoodEvaluation, verdict: PublishVerdict): string {
  const what = target === 'won' ? 'an opportunity to be won' : 'a lead to become an opportunity';
  const yes = target === 'won' ? 'won' : 'converted';
  const lines = [
    `Likelihood of ${what}, learnt from the org's own outcomes.`,
    `Trained on ${count(e.train.outcomes)} older outcomes (${day(e.train.from)} to ${day(e.train.to)}; ${count(e.train.positives)} ${yes}); tested on the ${count(e.test.outcomes)} newer (${day(e.test.from)} to ${day(e.test.to)}; ${count(e.test.positives)} ${yes}).`,
  ];
  if (e.undated > 0) lines.push(`${count(e.undated)} outcomes without a date to start from were left out.`);
  lines.push('', ...table(['on the newer outcomes', 'model', 'rule score'], [['AUC', auc(e.model.auc), auc(e.rules.auc)]]), '');
  lines.push('Calibration on the newer outcomes: predicted against actual, by decile of each score (the rule score as a probability fit on the older outcomes).');
  const rows = e.model.calibration.map((m, i) => {
    const r = e.rules.calibration[i];
    return [String(m.decile), count(m.count), pct(m.predicted), pct(m.actual), r ? pct(r.predicted) : '-', r ? pct(r.actual) : '-'];
  });
  lines.push(...table(['decile', 'leads', 'model predicted', 'actual', 'rules predicted', 'actual'], rows), '');
  if (verdict.publishable) lines.push('It can be published: it beats the rule score on enough outcomes.');
  else for (const reason of verdict.reasons) lines.push(`Not publishable: ${reason}`);
  return `${lines.join('\n')}\n`;
}

function describeTrain(result: TrainResult): string {
  let text = describeEvaluation(result.model.target, result.model.evaluation, result.verdict);
  if ('version' in result.model) {
    const v = result.model.version;
    text += result.published ? `Saved and published as version ${v}.\n` : `Saved as version ${v}${result.verdict.publishable ? `; publish it with: smk model publish ${v}` : ''}.\n`;
  }
  return text;
}

async function withContext<T>(configPath: string | undefined, run: (ctx: SyncContext) => Promise<T>): Promise<T> {
  const runtime = await bootstrap({ configPath });
  try {
    return await run(runtime.ctx);
  } finally {
    await runtime.close();
  }
}

const summary = (model: Omit<LikelihoodModel, 'version'> & { version?: number }, verdict: PublishVerdict, published: boolean) => ({
  ...(model.version !== undefined ? { version: model.version } : {}),
  target: model.target,
  trainedAt: model.trainedAt,
  published,
  publishable: verdict.publishable,
  reasons: verdict.reasons,
  evaluation: model.evaluation,
});

export async function runModelTrain(options: { configPath?: string; target?: LikelihoodTarget; save: boolean; publish: boolean; json: boolean }): Promise<void> {
  await withContext(options.configPath, async (ctx) => {
    const result = await trainModel(ctx, { ...(options.target ? { target: options.target } : {}), save: options.save, publish: options.publish });
    if (options.json) process.stdout.write(`${JSON.stringify(summary(result.model, result.verdict, result.published))}\n`);
    else process.stdout.write(describeTrain(result));
    // Asked to publish and refused: the command failed, the reasons are above.
    if (options.publish && !result.published) process.exitCode = 1;
  });
}

export async function runModelList(options: { configPath?: string; json: boolean }): Promise<void> {
  await withContext(options.configPath, async (ctx) => {
    const [models, published] = await Promise.all([ctx.models.list(), ctx.models.publishedVersion()]);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(models.map((m) => summary(m, judgeLikelihoodModel(m), m.version === published)))}\n`);
      return;
    }
    if (models.length === 0) {
      process.stdout.write('No model has been trained yet: run smk model train.\n');
      return;
    }
    const rows = models.map((m) => {
      const e = m.evaluation;
      return [String(m.version), m.version === published ? 'published' : '', m.target, m.trainedAt.slice(0, 16).replace('T', ' '), count(e.train.outcomes), count(e.test.outcomes), auc(e.model.auc), auc(e.rules.auc)];
    });
    process.stdout.write(`${table(['version', '', 'target', 'trained (UTC)', 'trained on', 'tested on', 'AUC', 'rules AUC'], rows).join('\n')}\n`);
    if (published === null) process.stdout.write('No model is published: the rule score alone is written.\n');
  });
}

export async function runModelPublish(options: { configPath?: string; version?: number }): Promise<void> {
  await withContext(options.configPath, async (ctx) => {
    const model = await publishModel(ctx, options.version);
    process.stdout.write(`Published model version ${model.version} (AUC ${auc(model.evaluation.model.auc)} against the rule score's ${auc(model.evaluation.rules.auc)}).\n`);
  });
}

export async function runModelRollback(options: { configPath?: string }): Promise<void> {
  await withContext(options.configPath, async (ctx) => {
    const result = await rollbackModel(ctx);
    if (result === null) throw new Error('No model is published: there is nothing to roll back.');
    process.stdout.write(
      result.to === null
        ? `Rolled back model version ${result.from}: no model is published now, the rule score alone is written.\n`
        : `Rolled back model version ${result.from}: version ${result.to} is published again.\n`,
    );
  });
}
