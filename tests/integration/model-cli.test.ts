/**
 * `smk model` as an admin runs it (bin/smk.js in a child process) over leads with closed
 * outcomes put straight into the store under the test's own Redis prefix: evaluate, train,
 * publish (and the refusals, saying why), list, roll back.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { LeadStore } from '../../src/store/leads.js';
import { outcomeWorld } from '../helpers/outcome-world.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { smk } from '../helpers/smk.js';

async function storeWorld(t: TestRedis, people: number): Promise<Record<string, string>> {
  const store = new LeadStore(t.redis, createKeys(t.prefix));
  for (const lead of outcomeWorld({ people, seed: 3 })) await store.save({ lead, views: {} });
  return { REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, '') };
}

describe('smk model', () => {
  let t: TestRedis;
  let few: TestRedis;
  let env: Record<string, string>;
  let fewEnv: Record<string, string>;

  beforeAll(async () => {
    t = await testRedis('model-cli');
    few = await testRedis('model-cli-few');
    env = await storeWorld(t, 1200);
    fewEnv = await storeWorld(few, 60);
  });

  afterAll(async () => {
    await t?.cleanup();
    await few?.cleanup();
  });

  it('evaluate shows the model against the rule score on the newer outcomes, with counts and calibration, and keeps nothing', async () => {
    const run = await smk(['model', 'evaluate'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Trained on 900 older outcomes \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d; \d+ converted\); tested on the 300 newer/m);
    expect(run.stdout).toMatch(/^AUC\s+0\.\d{3}\s+0\.\d{3}$/m);
    expect(run.stdout).toMatch(/^decile\s+leads\s+model predicted\s+actual\s+rules predicted\s+actual$/m);
    expect(run.stdout).toMatch(/^10\s+30\s+\d+\.\d%\s+\d+\.\d%\s+\d+\.\d%\s+\d+\.\d%$/m);
    expect(run.stdout).toContain('It can be published: it beats the rule score on enough outcomes.');
    const json = JSON.parse((await smk(['model', 'evaluate', '--json'], env)).stdout) as { version?: number; publishable: boolean; evaluation: { model: { auc: number }; rules: { auc: number } } };
    expect(json.version).toBeUndefined();
    expect(json.publishable).toBe(true);
    expect(json.evaluation.model.auc).toBeGreaterThan(json.evaluation.rules.auc);
    expect((await smk(['model', 'list'], env)).stdout).toBe('No model has been trained yet: run smk model train.\n');
  }, 60_000);

  it('train keeps versions with their figures; publish, list and rollback move between them', async () => {
    const first = await smk(['model', 'train'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Saved as version 1; publish it with: smk model publish 1.');
    const published = await smk(['model', 'publish', '1'], env);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/^Published model version 1 \(AUC 0\.\d{3} against the rule score's 0\.\d{3}\)\.$/m);

    const second = await smk(['model', 'train', '--target', 'opportunity', '--publish', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ version: 2, target: 'opportunity', published: true, publishable: true, reasons: [] });

    const list = await smk(['model', 'list'], env);
    expect(list.stdout).toMatch(/^1\s+opportunity\s+.*900\s+300\s+0\.\d{3}\s+0\.\d{3}$/m);
    expect(list.stdout).toMatch(/^2\s+published\s+opportunity\s+/m);

    const back = await smk(['model', 'rollback'], env);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('Rolled back model version 2: version 1 is published again.\n');
    expect((JSON.parse((await smk(['model', 'list', '--json'], env)).stdout) as Array<{ version: number; published: boolean }>).map((m) => [m.version, m.published])).toEqual([[1, true], [2, false]]);
    expect((await smk(['model', 'rollback'], env)).stdout).toBe('Rolled back model version 1: no model is published now, the rule score alone is written.\n');
    const none = await smk(['model', 'rollback'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('smk: No model is published: there is nothing to roll back.\n');
  }, 90_000);

  it('refuses to publish a model with too few outcomes, saying how many and how many are needed', async () => {
    const train = await smk(['model', 'train'], fewEnv);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/^Not publishable: Too few outcomes to learn from: \d+ converted and \d+ not converted in the training part; at least 30 of each are needed\.$/m);
    expect(train.stdout).toContain('Saved as version 1.');
    const publish = await smk(['model', 'publish'], fewEnv);
    expect(publish.code).toBe(1);
    expect(publish.stderr).toMatch(/^smk: Model version 1 was not published: Too few outcomes to learn from: .* at least 30 of each are needed\./);
    const asked = await smk(['model', 'train', '--publish'], fewEnv);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toContain('Saved as version 2.');
    expect((await smk(['model', 'publish', '9'], fewEnv)).stderr).toBe('smk: There is no model version 9 (smk model list shows them).\n');
    expect((await smk(['model', 'train', '--target', 'lost'], fewEnv)).stderr).toMatch(/expected opportunity or won/);
  }, 90_000);
});

describe('the README model commands', () => {
  let t: TestRedis;

  afterAll(async () => {
    await t?.cleanup();
  });

  it('run as written', async () => {
    t = await testRedis('model-readme');
    const env = await storeWorld(t, 1200);
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Likelihood to convert'));
    const commands = (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '');
    expect(commands).toHaveLength(6);
    for (const command of commands) {
      const [npx, bin, ...args] = command.split(/\s+/);
      expect([npx, bin]).toEqual(['npx', 'smk']);
      const run = await smk(args, env);
      expect(run.code, `${command}\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(0);
    }
  }, 120_000);
});
