/**
 * `smk`: the admin's command line. Every command has --help; bad input gets one clear line, and a
 * config error lists each problem by path, never a stack trace.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config.js';
import { RedisUnavailableError } from '../store/redis.js';
import { isCrmError } from '../../connectors/errors.js';
import { runInstall } from './install.js';
import { runSync, runStart, runWorker } from './run.js';
import { runErrors } from './errors.js';
import { runImportTimeOff } from './time-off.js';
import { runRulesTest, runRulesBacktest } from './rules.js';
import { runReportFunnel } from './report.js';
import { runModelList, runModelPublish, runModelRollback, runModelTrain } from './model.js';
import { runDoctor } from './doctor.js';
import { runDemo } from './demo.js';
import { loadDotEnv } from './env-file.js';
import { sandboxCommand } from './sandbox.js';
import { QUEUE_NAMES } from '../../jobs/queues.js';
import type { QueueName } from '../../jobs/queues.js';

const CONFIG_HELP = 'smarketing.yaml to use (default: $SMK_CONFIG, else ./smarketing.yaml, else the built-in defaults)';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 (any free port) to 65535');
  return n;
}

function queueList(value: string): QueueName[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(QUEUE_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`expected queue names from ${QUEUE_NAMES.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`);
  }
  return [...new Set(names)] as QueueName[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('smk')
    .description('Smarketing Connector: one lead model, one scoring, handoff and SLA rule set, synced between HubSpot and Salesforce')
    .option('-c, --config <path>', CONFIG_HELP)
    // Options belong to the command they follow: `smk rules test --config new.yaml` names the
    // candidate, not the running config (which `smk -c current.yaml rules test ...` names).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  // Every command that reads the config takes `-c, --config` after its name too (`smk sync --once -c x.yaml`).
  const configOf = (opts: { config?: string }): string | undefined => opts.config ?? (program.opts() as { config?: string }).config;

  program
    .command('install')
    .description('connect both CRMs, provision the smk fields and the Salesforce permission sets that show them (safe to run again: it changes only what is missing)')
    .option('--dry-run', 'show what would be created without changing anything')
    .option('--assign <who>', 'give reps the Salesforce permission set "Smarketing Connector": a profile name (its active users), user emails (comma-separated) or all-active-users')
    .option('--layouts', 'add a "Smarketing" section with the Smk fields to the Salesforce Lead and Contact page layouts')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { dryRun?: boolean; assign?: string; layouts?: boolean; config?: string }) =>
      runInstall({ configPath: configOf(opts), dryRun: !!opts.dryRun, layouts: !!opts.layouts, ...(opts.assign !== undefined ? { assign: opts.assign } : {}) }),
    );

  program
    .command('sync')
    .description('run the change feeds, evaluation and write-back')
    .option('--once', 'run until every queue is empty, then exit 0')
    .option('--full', 're-read every record of both CRMs instead of following the cursors')
    .option('--json', 'print, as the last line, one JSON object: ms, read, changed, evaluated, writes, created, syncErrors')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { once?: boolean; full?: boolean; json?: boolean; config?: string }) => runSync({ configPath: configOf(opts), once: !!opts.once, full: !!opts.full, json: !!opts.json }));

  program
    .command('start')
    .description('run the service: web server (dashboard, webhooks, admin API), schedulers and workers')
    .option('--port <port>', 'HTTP port (default: $PORT or 3000)', port)
    .option('--no-workers', 'serve (webhooks, dashboard, admin API, schedules) without workers: run `smk worker` processes beside it')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { port?: number; config?: string; workers: boolean }) => runStart({ configPath: configOf(opts), port: opts.port, workers: opts.workers }));

  program
    .command('worker')
    .description('run extra workers for every queue (any number of them can share one Redis)')
    .option('--queues <names>', `only these queues, comma-separated (${QUEUE_NAMES.join(', ')}): e.g. alerts for a process that only sends alerts`, queueList)
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { config?: string; queues?: QueueName[] }) => runWorker({ configPath: configOf(opts), queues: opts.queues }));

  program
    .command('doctor')
    .description('check config, Redis, tokens, scopes, fields and quota headroom; each failure comes with its fix')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { config?: string }) => runDoctor({ configPath: configOf(opts) }));

  const rules = program.command('rules').description('try rule changes before they go live');
  rules
    .command('test')
    .description('dry-run a rule change over the stored leads and show what would change (writes nothing)')
    .requiredOption('--config <path>', 'the candidate smarketing.yaml (the running one: smk -c current.yaml rules test --config new.yaml)')
    .option('--examples <n>', 'how many example leads to show', positiveInt, 5)
    .action((opts: { config: string; examples: number }) => runRulesTest({ configPath: (program.opts() as { config?: string }).config, candidatePath: opts.config, examples: opts.examples }));
  rules
    .command('backtest')
    .description('conversion and win rate by score band from real outcomes (won and lost opportunities): does the score predict anything?')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { config?: string }) => runRulesBacktest({ configPath: configOf(opts) }));

  const target = (value: string): 'opportunity' | 'won' => {
    if (value !== 'opportunity' && value !== 'won') throw new InvalidArgumentError('expected opportunity or won');
    return value;
  };
  const model = program.command('model').description("a likelihood to convert learnt from the org's own outcomes, measured against the rule score");
  model
    .command('train')
    .description('learn from the closed outcomes (older ones), test on the newer ones against the rule score, and keep it as a new version')
    .option('--target <target>', 'opportunity (a lead becomes one) or won (an opportunity is won); default: likelihood.target in the config')
    .option('--publish', 'publish it too when it passes the checks (enough outcomes, better than the rules); exit 1 when it does not')
    .option('--json', 'print one JSON object: version, target, published, publishable, reasons, evaluation')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { target?: string; publish?: boolean; json?: boolean; config?: string }) =>
      runModelTrain({ configPath: configOf(opts), ...(opts.target !== undefined ? { target: target(opts.target) } : {}), save: true, publish: !!opts.publish, json: !!opts.json }),
    );
  model
    .command('evaluate')
    .description('train and test as train does, and show the figures against the rule score; keeps nothing')
    .option('--target <target>', 'opportunity or won; default: likelihood.target in the config')
    .option('--json', 'print one JSON object: target, publishable, reasons, evaluation')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { target?: string; json?: boolean; config?: string }) =>
      runModelTrain({ configPath: configOf(opts), ...(opts.target !== undefined ? { target: target(opts.target) } : {}), save: false, publish: false, json: !!opts.json }),
    );
  model
    .command('list')
    .description('the trained versions with their figures, and which one is published')
    .option('--json', 'print one JSON array')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { json?: boolean; config?: string }) => runModelList({ configPath: configOf(opts), json: !!opts.json }));
  model
    .command('publish [version]')
    .description('publish a version (default: the newest) when it passes the checks; its likelihood and reasons are then written to both CRMs')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((version: string | undefined, opts: { config?: string }) => runModelPublish({ configPath: configOf(opts), ...(version !== undefined ? { version: positiveInt(version) } : {}) }));
  model
    .command('rollback')
    .description('go back to the version published before the current one (none: the rule score alone)')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { config?: string }) => runModelRollback({ configPath: configOf(opts) }));

  const report = program.command('report').description('reports for RevOps: the funnel to revenue');
  report
    .command('funnel')
    .description('Lead -> MQL -> SAL -> SQL -> Opportunity -> Won for a period: counts, conversion, median days, pipeline and won revenue, the MQL target and a trend')
    .option('--period <period>', 'week, month or quarter: the one under way (default: month)')
    .option('--from <date>', 'first day of a custom range, YYYY-MM-DD (with --to)')
    .option('--to <date>', 'last day of a custom range, YYYY-MM-DD, included (with --from)')
    .option('--by <dimension>', 'break the funnel down by source or campaign')
    .option('--trend <n>', 'how many periods the trend shows, the chosen one last (default 6)')
    .option('--json', 'print one JSON object: from, to, steps, revenue, mqlTarget (and the breakdowns and trend)')
    .option('--csv', 'print CSV: the steps, or with --by the breakdown')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { period?: string; from?: string; to?: string; by?: string; trend?: string; json?: boolean; csv?: boolean; config?: string }) =>
      runReportFunnel({ ...opts, configPath: configOf(opts) }),
    );

  const reps = program.command('reps').description("reps' availability");
  reps
    .command('import-time-off <file>')
    .description('import time off from a CSV file with the columns owner (Salesforce user id or email), from, to (yyyy-MM-dd) and reason')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((file: string, opts: { config?: string }) => runImportTimeOff({ configPath: configOf(opts), file }));

  const errors = program.command('errors').description('the sync-errors report');
  errors
    .command('list', { isDefault: true })
    .description('list sync errors')
    .option('--crm <crm>', 'hubspot or salesforce')
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { crm?: string; limit: number; config?: string }) => runErrors({ configPath: configOf(opts), action: 'list', crm: opts.crm, limit: opts.limit }));
  errors
    .command('retry [id]')
    .description('retry one error (by id) or, with --all, every error')
    .option('--all', 'retry every error')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((id: string | undefined, opts: { all?: boolean; config?: string }) => runErrors({ configPath: configOf(opts), action: 'retry', id, all: !!opts.all }));
  errors
    .command('export')
    .description('write the sync errors as CSV to stdout')
    .option('-c, --config <path>', CONFIG_HELP)
    .action((opts: { config?: string }) => runErrors({ configPath: configOf(opts), action: 'export' }));

  program.addCommand(sandboxCommand());

  program
    .command('demo')
    .description('start Redis if needed, both sandboxes, the service and workers; sync, then simulate marketing and sales activity (not in the Docker image)')
    .option('--people <n>', 'people in the sandboxes', positiveInt, 300)
    .option('--seed <s>', 'seed of the sandboxes', positiveInt, 7)
    .option('--minutes <m>', 'how long the simulated activity runs (0 = until stopped)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of minutes, 0 or more');
      return n;
    }, 0)
    .option('--rounds <n>', 'stop after this many rounds of simulated activity', positiveInt)
    .option('--port <port>', 'dashboard port (0 = any free port)', port, 3000)
    .action((opts: { people: number; seed: number; minutes: number; port: number; rounds?: number }) => runDemo(opts));

  return program;
}

/** One line for what went wrong, with its fix where we know it. */
export function explain(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof RedisUnavailableError) return err.message;
  if (isCrmError(err)) return `${err.crm} said ${err.code}${err.vendorCode ? ` (${err.vendorCode})` : ''}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export async function main(argv: string[]): Promise<void> {
  try {
    loadDotEnv();
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`smk: ${explain(err)}\n`);
    process.exitCode = 1;
  }
}
