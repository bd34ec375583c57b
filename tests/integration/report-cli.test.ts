/**
 * `smk report funnel` and `smk rules backtest` as an admin runs them (bin/smk.js in a child
 * process) over leads put straight into the store under the test's own Redis prefix; the README's
 * report commands run exactly as written.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lead, Stage } from '../../src/model/lead.js';
import { leadSchema } from '../../src/model/lead.js';
import { createKeys } from '../../src/store/keys.js';
import { LeadStore } from '../../src/store/leads.js';
import { writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { smk } from '../helpers/smk.js';

const noon = (day: string) => `${day}T12:00:00.000Z`;

function person(id: string, path: Array<[Stage, string]>, extra: { source?: string; campaign?: string; title?: string; sales?: Partial<Lead['sales']> } = {}): Lead {
  return leadSchema.parse({
    id,
    email: `${id.toLowerCase()}@acme.example`,
    updatedAt: noon(path.at(-1)?.[1] ?? '2026-03-01'),
    links: {},
    person: { title: extra.title ?? 'Analyst' },
    marketing: { engagement: [], source: extra.source ?? null, campaign: extra.campaign ?? null },
    sales: extra.sales ?? {},
    stage: { current: path.at(-1)?.[0], history: path.map(([stage, day]) => ({ stage, at: noon(day), cause: 'test' })) },
  });
}

/** March 2026: four leads, four MQLs, one won for 5,000 and 20,000 of open pipeline. */
const MARCH = [
  person('A', [['lead', '2026-03-02'], ['mql', '2026-03-05'], ['sal', '2026-03-06'], ['sql', '2026-03-10'], ['opportunity', '2026-03-12'], ['customer', '2026-03-19']], {
    source: 'Webinar', campaign: 'Spring launch',
    sales: { opportunityId: '006A', opportunityCreatedAt: noon('2026-03-12'), opportunityWon: true, opportunityAmount: 5000, opportunityCloseDate: '2026-03-18' },
  }),
  person('B', [['lead', '2026-03-03'], ['mql', '2026-03-04'], ['sql', '2026-03-08'], ['opportunity', '2026-03-15']], {
    source: 'Webinar',
    sales: { opportunityId: '006B', opportunityCreatedAt: noon('2026-03-15'), opportunityWon: null, opportunityAmount: 20000, opportunityCloseDate: '2026-03-30' },
  }),
  person('C', [['lead', '2026-02-10'], ['mql', '2026-03-01']], { source: 'Paid search, EMEA' }),
  person('D', [['lead', '2026-03-10']]),
  person('G', [['lead', '2026-03-01'], ['mql', '2026-03-02'], ['sal', '2026-03-03'], ['sql', '2026-03-04'], ['opportunity', '2026-03-05'], ['recycled', '2026-03-19']], {
    source: 'Event',
    sales: { opportunityId: '006G', opportunityCreatedAt: noon('2026-03-05'), opportunityWon: false, opportunityAmount: 9000, opportunityCloseDate: '2026-03-19' },
  }),
];

function readmeCommands(heading: string): string[] {
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`### ${heading}`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '');
}

describe('smk report funnel', () => {
  let t: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await testRedis('report-cli');
    env = { REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, ''), SMK_CONFIG: writeConfig('targets:\n  mqlPerMonth: 10\n') };
    const store = new LeadStore(t.redis, createKeys(t.prefix));
    // And one lead of today, for the period under way.
    const today = new Date().toISOString().slice(0, 10);
    for (const lead of [...MARCH, person('NOW', [['lead', today]])]) await store.save({ lead, views: {} });
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('prints exactly one JSON object of the documented shape with --json', async () => {
    const run = await smk(['report', 'funnel', '--from', '2026-03-01', '--to', '2026-03-31', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { steps: Array<Record<string, unknown>> };
    expect(Object.keys(report).slice(0, 5)).toEqual(['from', 'to', 'steps', 'revenue', 'mqlTarget']);
    expect(report).toMatchObject({ from: '2026-03-01', to: '2026-03-31', revenue: { pipeline: 20000, won: 5000 }, mqlTarget: { target: 10, actual: 4, pace: 'behind' } });
    expect(report.steps.map((s) => [s.stage, s.count, s.conversion, s.medianDays])).toEqual([
      ['lead', 4, 0.75, null],
      ['mql', 4, 0.75, 2],
      ['sal', 3, 1, 1],
      ['sql', 3, 1, 2.5],
      ['opportunity', 3, 0.3333, 2],
      ['won', 1, null, 5.5],
    ]);
    for (const step of report.steps) expect(Object.keys(step)).toEqual(expect.arrayContaining(['stage', 'count', 'conversion', 'medianDays']));
  }, 30_000);

  it('prints a readable table, with the breakdown asked for', async () => {
    const run = await smk(['report', 'funnel', '--from', '2026-03-01', '--to', '2026-03-31', '--by', 'source'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Funnel for 2026-03-01 to 2026-03-31 (UTC)');
    expect(run.stdout).toMatch(/^MQL\s+4\s+75\.0%\s+2\.0$/m);
    expect(run.stdout).toMatch(/^Won\s+1\s+-\s+5\.5$/m);
    expect(run.stdout).toContain('Revenue: pipeline 20,000 (1 open opportunity closing in the period); won 5,000 (1 deal)');
    expect(run.stdout).toContain('MQL target: 4 of 10, behind by');
    expect(run.stdout).toMatch(/^By source\nsource\s+lead\s+mql\s+sal\s+sql\s+opportunity\s+won\s+pipeline\s+won revenue\nWebinar\s+2\s+2\s+2\s+2\s+2\s+1\s+20,000\s+5,000$/m);
  }, 30_000);

  it('writes CSV through a CSV writer: a source with a comma stays one field', async () => {
    const run = await smk(['report', 'funnel', '--from', '2026-03-01', '--to', '2026-03-31', '--by', 'source', '--csv'], env);
    expect(run.code, run.stderr).toBe(0);
    const rows = parse(run.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows.find((r) => r.source === 'Paid search, EMEA')).toMatchObject({ from: '2026-03-01', lead: '0', mql: '1', won: '0' });
    expect(rows.find((r) => r.source === 'Webinar')).toMatchObject({ lead: '2', won: '1', pipeline: '20000', won_revenue: '5000' });
    const steps = parse((await smk(['report', 'funnel', '--from', '2026-03-01', '--to', '2026-03-31', '--csv'], env)).stdout, { columns: true }) as Array<Record<string, string>>;
    expect(steps.map((r) => [r.stage, r.count])).toEqual([['lead', '4'], ['mql', '4'], ['sal', '3'], ['sql', '3'], ['opportunity', '3'], ['won', '1']]);
  }, 30_000);

  it('reports the period under way by default', async () => {
    const run = await smk(['report', 'funnel', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { from: string; steps: Array<{ count: number }>; trend: unknown[] };
    expect(report.from).toBe(`${new Date().toISOString().slice(0, 7)}-01`);
    expect(report.steps[0]?.count).toBe(1);
    expect(report.trend).toHaveLength(6);
  }, 30_000);

  it.each<[string, string[], string]>([
    ['an unknown period', ['--period', 'year'], 'smk: --period: expected one of "week", "month", "quarter", got "year"'],
    ['a malformed date', ['--from', '2026-3-1', '--to', '2026-03-31'], 'smk: --from: expected a date such as 2026-03-31 (YYYY-MM-DD), got "2026-3-1"'],
    ['from after to', ['--from', '2026-04-01', '--to', '2026-03-01'], 'smk: --from: from (2026-04-01) is after to (2026-03-01)'],
    ['from alone', ['--from', '2026-04-01'], 'smk: --to: from and to go together: give both dates or neither'],
    ['an unknown breakdown', ['--by', 'owner'], 'smk: --by: expected one of "source", "campaign", got "owner"'],
    ['JSON and CSV at once', ['--json', '--csv'], 'smk: --csv: choose --json or --csv, not both'],
    ['a trend that is not a number', ['--trend', 'six'], 'smk: --trend: expected a whole number of periods, got "six"'],
  ])('refuses %s in one line naming the option', async (_name, args, message) => {
    const run = await smk(['report', 'funnel', ...args], env);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(message);
    expect(run.stdout).toBe('');
  }, 30_000);

  it('runs every README report command as written', async () => {
    const commands = readmeCommands('The funnel report');
    expect(commands.length).toBeGreaterThanOrEqual(4);
    for (const command of commands) {
      const [npx, bin, ...args] = command.split(/\s+/);
      expect([npx, bin]).toEqual(['npx', 'smk']);
      const run = await smk(args, env);
      expect(run.code, `${command}\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('smk rules backtest', () => {
  let t: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await testRedis('backtest-cli');
    env = { REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, '') };
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('shows conversion and win rate by band with the counts, and warns when too few outcomes exist', async () => {
    const store = new LeadStore(t.redis, createKeys(t.prefix));
    const outcomes: Array<[string, boolean | null]> = [['W1', true], ['W2', true], ['L1', false], ['O1', null]];
    for (const [id, won] of outcomes) {
      await store.save({ lead: person(id, [['lead', '2026-03-01'], ['sql', '2026-03-02']], { sales: { opportunityId: `006${id}`, opportunityWon: won, opportunityAmount: 1000 } }), views: {} });
    }
    const run = await smk(['rules', 'backtest'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^score band \| leads \| closed \| converted \| conversion \| won \| lost \| win rate \| disqualified$/m);
    expect(run.stdout).toMatch(/^0-20\s+\|\s+4 \|\s+4 \|\s+4 \|\s+100\.0% \|\s+2 \|\s+1 \|\s+66\.7% \|\s+0$/m);
    expect(run.stdout).toContain('warning: Too few outcomes to judge the score: 3 won or lost opportunities; at least 30 are needed.');
  }, 30_000);
});
