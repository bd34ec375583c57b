/**
 * The `smk` command as an admin runs it (bin/smk.js in a child process), against both sandboxes
 * and a real Redis under the test's own key prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { smk } from '../helpers/smk.js';

describe('smk', () => {
  let sandboxes: Sandboxes;
  let t: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 80, seed: 9, hubspotPerTenSeconds: 0 });
    t = await testRedis('cli');
    env = {
      ...sandboxEnv(sandboxes.connection),
      REDIS_URL: t.url,
      SMK_KEY_PREFIX: t.prefix.replace(/:$/, ''),
      SMK_CONFIG: writeConfig('sync:\n  batchWait: 200ms\n  searchSafetyMargin: 0s\n'),
    };
  });

  afterAll(async () => {
    await t?.cleanup();
    await sandboxes?.close();
  });

  it('provisions the fields, and a second install changes nothing and says so', async () => {
    const first = await smk(['install'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/HubSpot: created .*smk_score/);
    expect(first.stdout).toMatch(/Salesforce: created .*on Lead .*Smk_Score__c/);
    const second = await smk(['install'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/HubSpot: all \d+ fields already in place; nothing to change\./);
    expect(second.stdout).toMatch(/Salesforce: all \d+ fields already in place; nothing to change\./);
  }, 60_000);

  it('runs sync --once to the end and exits 0, then lists no unexpected errors', async () => {
    const run = await smk(['sync', '--once'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/sync done in [\d.]+ s: read \d+ HubSpot and \d+ Salesforce records/);
    const errors = await smk(['errors', 'list'], env);
    expect(errors.code, errors.stderr).toBe(0);
    expect(errors.stdout).not.toMatch(/VALIDATION|TRANSIENT|JOB_FAILED/);
  }, 120_000);

  it('prints the pass as JSON with --json, and a second pass with nothing changed outside does nothing', async () => {
    const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    const first = await smk(['sync', '--once', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(Object.keys(lastJson(first.stdout)).sort()).toEqual(['changed', 'created', 'evaluated', 'ms', 'read', 'syncErrors', 'writes']);
    const quiet = await smk(['sync', '--once', '--json'], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(lastJson(quiet.stdout)).toMatchObject({ changed: 0, evaluated: 0, writes: { hubspot: 0, salesforce: 0 }, created: { hubspot: 0, salesforce: 0 } });
    expect(quiet.stdout).toMatch(/0 lead\(s\) changed, 0 evaluated; wrote 0 HubSpot and 0 Salesforce records/);
  }, 120_000);

  it('runs `smk rules test --config new.yaml` as the README writes it: the option names the candidate', async () => {
    const candidate = writeConfig('scoring:\n  grades: { hot: 95, warm: 90 }\n');
    const run = await smk(['rules', 'test', '--config', candidate], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/lead/i);
    // The running config still comes from the environment or `smk -c`, before the command.
    const both = await smk(['-c', env.SMK_CONFIG as string, 'rules', 'test', '--config', candidate], env);
    expect(both.code, both.stderr).toBe(0);
    // And every other command takes -c after its name too.
    const sync = await smk(['sync', '--once', '-c', env.SMK_CONFIG as string], env);
    expect(sync.code, sync.stderr).toBe(0);
  }, 120_000);

  it('says a port is taken, and how to choose another, before starting anything', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    const taken = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    try {
      const start = await smk(['start'], { ...env, PORT: String(taken) });
      expect(start.code).toBe(1);
      expect(start.stderr.trim()).toBe(`smk: port ${taken} is already in use (another smk start or demo, or another program); set PORT (or smk start --port) to a free one`);
      const demo = await smk(['demo', '--port', String(taken)], env);
      expect(demo.code).toBe(1);
      expect(demo.stderr).toContain(`port ${taken} is already in use`);
      expect(demo.stderr).toContain('smk demo --port');
      // Nothing was started: no Redis, no sandbox, no field.
      expect(demo.stdout).not.toMatch(/Sandboxes:|private Redis/);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('explains bad input in one line, without a stack trace', async () => {
    const bad = await smk(['errors', 'list', '--crm', 'pipedrive'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('smk: --crm must be hubspot or salesforce, got "pipedrive"');
    const config = await smk(['sync', '--once'], { ...env, SMK_CONFIG: writeConfig('sync:\n  pollEvery: sometimes\n') });
    expect(config.code).toBe(1);
    expect(config.stderr).toContain('sync.pollEvery: expected a duration such as 30s');
    expect(config.stderr).not.toMatch(/\n\s+at /);
    const help = await smk(['--help'], env);
    expect(help.stdout).toMatch(/install[\s\S]*sync[\s\S]*start[\s\S]*worker[\s\S]*doctor[\s\S]*rules[\s\S]*errors[\s\S]*sandbox[\s\S]*demo/);
  }, 60_000);
});
