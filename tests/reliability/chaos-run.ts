/**
 * `npm run chaos -- --people 1000 --rate 0.1 --kills 5 --workers 2 --seed 11`: the chaos scenario of
 * tests/reliability/chaos.test.ts at a larger size, printing its figures. Exits 1 when the CRMs end
 * up different from the fault-free reference or the quiet sync afterwards writes anything.
 * Needs `redis-server` on the PATH (it starts a private one with AOF; the shared Redis is not used).
 * SMK_CHAOS_DEBUG=1 keeps every worker log line and prints those about the first differences.
 */
import { parseArgs } from 'node:util';
import { formatFigures, runChaos } from './helpers/chaos.js';

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

// `--model N [--seed S ...]`: N sequences of the model-based pipeline test instead (tests/model/run.ts).
const modelAt = process.argv.indexOf('--model');
if (modelAt > 1) {
  const { main } = await import('../model/run.js');
  process.exit(await main(['--sequences', process.argv[modelAt + 1] ?? '10', ...process.argv.slice(2).filter((_, i) => i + 2 !== modelAt && i + 2 !== modelAt + 1)]));
}

const { values } = parseArgs({
  options: {
    people: { type: 'string' },
    rate: { type: 'string' },
    kills: { type: 'string' },
    'faults-per-kind': { type: 'string' },
    'redis-restarts': { type: 'string' },
    'stream-faults': { type: 'string' },
    'max-minutes': { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    'slow-ms': { type: 'string' },
    'no-redis-restart': { type: 'boolean' },
    'salesforce-creates': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write('[SMK_CHAOS_DEBUG=1] npm run chaos -- [--people 1000] [--rate 0.1] [--kills 5] [--faults-per-kind 3] [--stream-faults 2] [--redis-restarts 1] [--max-minutes 20] [--workers 2] [--seed 11] [--slow-ms 400] [--no-redis-restart] [--salesforce-creates never|mql|always] [--json]\n');
  process.exit(0);
}

const options = {
  people: Math.round(number(values.people, 1000, 'people')),
  rate: number(values.rate, 0.1, 'rate'),
  kills: Math.round(number(values.kills, 5, 'kills')),
  faultsPerKind: Math.round(number(values['faults-per-kind'], 3, 'faults-per-kind')),
  redisRestarts: Math.round(number(values['redis-restarts'], 1, 'redis-restarts')),
  streamFaultsPerKind: Math.round(number(values['stream-faults'], 2, 'stream-faults')),
  maxSeconds: number(values['max-minutes'], 20, 'max-minutes') * 60,
  workers: Math.max(1, Math.round(number(values.workers, 2, 'workers'))),
  seed: Math.round(number(values.seed, 11, 'seed')),
  slowMs: Math.round(number(values['slow-ms'], 400, 'slow-ms')),
  restartRedis: !values['no-redis-restart'],
  salesforceCreates: (values['salesforce-creates'] ?? 'mql') as 'never' | 'mql' | 'always',
  drainTimeoutMs: 30 * 60_000,
  log: (line: string) => process.stderr.write(`${line}\n`),
};
if (options.rate > 1) throw new Error('--rate: expected a fraction between 0 and 1');

// Ctrl-C: exit through process.exit so that the private Redis and the workers are stopped too.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const figures = await runChaos(options);
process.stdout.write(`${values.json ? JSON.stringify(figures, null, 2) : formatFigures(figures)}\n`);
const ok = figures.shortfall.length === 0 && figures.differences === 0 && Object.keys(figures.quietSyncWrites).length === 0;
if (figures.shortfall.length > 0) process.stdout.write(`FAILED: planned faults did not fire within the bound: ${figures.shortfall.join('; ')}\n`);
if (!ok) process.stdout.write('FAILED: a planned fault fell short, the CRMs differ from the fault-free run, or the quiet sync wrote\n');
process.exit(ok ? 0 : 1);
