import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, formatIssues, loadConfig, parseConfigData, parseConfigText, parseEnv } from '../../src/config.js';

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, 'smarketing.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config loader', () => {
  it('an empty file gives a working configuration', () => {
    const config = parseConfigText('', 'smarketing.yaml');
    expect(config.sync.pollEvery).toBe(30_000);
    expect(config.scoring.fit.length).toBeGreaterThan(0);
  });

  it('Salesforce Bulk API 2.0: full reads above 20,000 rows by default, writes only when a threshold is set, bounds named', () => {
    const sync = parseConfigText('', 'smarketing.yaml').sync;
    expect(sync).toMatchObject({ bulkThreshold: null, bulkQueryThreshold: 20_000, bulkPollEvery: 5_000, bulkTimeout: 90_000 });
    expect(parseConfigText('sync:\n  bulkThreshold: 2000\n  bulkQueryThreshold: null\n  bulkPollEvery: 2s\n', 'smarketing.yaml').sync).toMatchObject({ bulkThreshold: 2000, bulkQueryThreshold: null, bulkPollEvery: 2_000 });
    expect(() => parseConfigText('sync:\n  bulkQueryThreshold: 500\n', 'smarketing.yaml')).toThrow(/sync\.bulkQueryThreshold/);
  });

  it('lists every problem by path and expectation', () => {
    const problems = problemsOf(`
scoring:
  fit:
    - { field: person.title, matches: "vp", points: 20, reason: Senior }
    - { field: company.employees, gte: 200, points: 15, reason: Big }
    - { field: email, freemail: true, points: "ten", reason: Personal }
sync:
  pollEvery: soon
  budget: { hubspot: { share: 2 } }
  bogus: 1
`);
    expect(problems).toContain('scoring.fit[2].points: expected a number, got "ten"');
    expect(problems.some((p) => p.startsWith('sync.pollEvery: expected a duration such as 30s'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sync.budget.hubspot.share:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sync: unknown key "bogus"'))).toBe(true);
  });

  it('names what is wrong in sync.fields: a custom field without its columns, a calculated HubSpot property written to, a bad name', () => {
    const problems = problemsOf(`
sync:
  fields:
    region: { hubspot: region, direction: two-way }
    leadSource: { direction: two-way }
    title: { salesforce: "Title; DROP" }
`);
    expect(problems).toContain('sync.fields.region.salesforce: a custom field needs salesforce (the defaults are firstName, lastName, email, title, phone, mobile, company, website, industry, employees, annualRevenue, street, city, state, postalCode, country, leadSource, leadStatus)');
    expect(problems.some((p) => p.startsWith('sync.fields.region.type: a custom field needs type'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sync.fields.leadSource.direction: HubSpot calculates hs_analytics_source itself and refuses writes to it: expected hubspot, salesforce-unless-blank or none, got two-way'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sync.fields.title.salesforce:'))).toBe(true);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problemsOf('scoring:\n  fit: [\n')[0]).toMatch(/^line \d+:/);
  });

  it('rejects a top-level section it does not know, and a file that is not a map', () => {
    expect(problemsOf('scorng: {}')).toEqual(['(top level): unknown key "scorng"']);
    expect(problemsOf('- a\n- b')).toEqual(['(top level): expected a map of sections, got a list']);
  });

  it('refuses an alias bomb as a ConfigError, without expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g']]) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    expect(problemsOf(levels.join('\n'))).toEqual(['(top level): the file expands YAML aliases (*name) more than 100 times; write the values out instead']);
    // A few aliases are fine (the unknown keys are the only problem).
    expect(problemsOf('a: &a [1]\nb: *a\n')).toEqual(['(top level): unknown keys "a", "b"']);
  });

  it('names every __proto__, constructor and prototype key, at any depth, in YAML and in parsed JSON', () => {
    expect(problemsOf('routing:\n  pools:\n    __proto__:\n      members: [{ owner: x }]\n')).toEqual([
      'routing.pools.__proto__: "__proto__" is a reserved word and cannot be used as a key',
    ]);
    expect(problemsOf('mapping:\n  rating:\n    constructor: Hot\n    prototype: Cold\n')).toEqual([
      'mapping.rating.constructor: "constructor" is a reserved word and cannot be used as a key',
      'mapping.rating.prototype: "prototype" is a reserved word and cannot be used as a key',
    ]);
    const json: unknown = JSON.parse('{"scoring":{"__proto__":{"polluted":true}}}');
    expect(() => parseConfigData(json, 'the body')).toThrow(ConfigError);
    try {
      parseConfigData(json, 'the body');
    } catch (err) {
      expect((err as ConfigError).problems[0]).toBe('scoring.__proto__: "__proto__" is a reserved word and cannot be used as a key');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('says "above" and "below" for exclusive bounds', () => {
    const issuesOf = (schema: z.ZodType, value: unknown) => formatIssues(schema.safeParse(value, { reportInput: true }).error?.issues ?? []);
    expect(issuesOf(z.number().gt(0), 0)).toEqual(['(top level): expected a number above 0, got 0']);
    expect(issuesOf(z.number().lt(1), 1)).toEqual(['(top level): expected a number below 1, got 1']);
    expect(issuesOf(z.number().min(1), 0)).toEqual(['(top level): expected a value of at least 1, got 0']);
    expect(issuesOf(z.number().max(1), 2)).toEqual(['(top level): expected a value of at most 1, got 2']);
    expect(problemsOf('sync:\n  budget: { salesforce: { share: 0 } }\n')).toEqual(['sync.budget.salesforce.share: expected a number above 0, got 0']);
  });

  it('loads the file named by SMK_CONFIG and says when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smk-config-'));
    const path = join(dir, 'smarketing.yaml');
    writeFileSync(path, 'sync:\n  pollEvery: 45s\n');
    expect(loadConfig({ env: { SMK_CONFIG: path } }).file.sync.pollEvery).toBe(45_000);
    expect(() => loadConfig({ env: { SMK_CONFIG: join(dir, 'nope.yaml') } })).toThrow(/does not exist/);
  });

  it('validates the environment without echoing secrets', () => {
    let message = '';
    try {
      parseEnv({ SMK_ENCRYPTION_KEY: 'hunter2-secret', HUBSPOT_BASE_URL: 'not a url' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/SMK_ENCRYPTION_KEY: expected 32 bytes/);
    expect(message).toMatch(/HUBSPOT_BASE_URL/);
    expect(message).not.toContain('hunter2');
  });
});

describe('the JSON Schema of the config', () => {
  it('describes every section for editors', async () => {
    const { configJsonSchema } = await import('../../src/config-json-schema.js');
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties).sort()).toEqual(['alerts', 'likelihood', 'mapping', 'reps', 'routing', 'scoring', 'sla', 'stages', 'sync', 'targets']);
    expect(Object.keys(schema.properties.alerts?.properties ?? {})).toEqual(expect.arrayContaining(['channels', 'routes', 'managers']));
    expect(Object.keys(schema.properties.sync?.properties ?? {})).toContain('pollEvery');
  });
});

describe('the environment from an .env file', () => {
  it('takes an empty value as unset, as docker compose passes `NAME=` lines of .env.example', async () => {
    const { parseEnv } = await import('../../src/config.js');
    const env = parseEnv({ HUBSPOT_ACCESS_TOKEN: '', SALESFORCE_INSTANCE_URL: '', SMK_PUBLIC_URL: ' ', PORT: '', SMK_KEY_PREFIX: '' });
    expect(env.HUBSPOT_ACCESS_TOKEN).toBeUndefined();
    expect(env.PORT).toBe(3000);
    expect(env.SMK_KEY_PREFIX).toBe('smk');
  });
});
