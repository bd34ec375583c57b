/**
 * The dependency rules of DESIGN.md "Layout" (.dependency-cruiser.mjs, run by `npm run lint`):
 * on a small fixture tree with one deliberate violation per rule they fail, naming the rule; on
 * the repository they find nothing beyond the known-violations baseline, and that baseline only
 * shrinks.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.mjs');
const BASELINE = join(ROOT, '.dependency-cruiser-known-violations.json');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

function depcruise(cwd: string, args: string[]) {
  return spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function cruise(cwd: string, targets: string[]): { errors: number; violations: Violation[] } {
  const run = depcruise(cwd, ['--output-type', 'json', ...targets]);
  if (!run.stdout.trim().startsWith('{')) throw new Error(`depcruise printed no JSON (exit ${run.status}): ${run.stderr}`);
  const result = JSON.parse(run.stdout) as { summary: { error: number; violations: Violation[] } };
  return { errors: result.summary.error, violations: result.summary.violations };
}

const key = (v: { from: string; to: string; rule: { name: string } }) => `${v.rule.name}: ${v.from} -> ${v.to}`;

/** A miniature of the layout: files named `bad-*` or `cycle-*` break a rule, all others keep every rule. */
const FIXTURE: Record<string, string> = {
  'src/model/lead.ts': `export type Lead = { id: string };\nexport const LEAD_VERSION = 1;\n`,
  'src/model/bad-up.ts': `import { score } from '../rules/scoring.js';\nexport const up = score;\n`,

  'src/rules/scoring.ts': `import type { Lead } from '../model/lead.js';\nimport { LEAD_VERSION } from '../model/lead.js';\nexport const score = (lead: Lead): number => LEAD_VERSION + lead.id.length;\n`,
  'src/rules/bad-sync.ts': `import { merge } from '../sync/merge.js';\nexport const m = merge;\n`,
  'src/rules/bad-config.ts': `import type { Settings } from '../config.js';\nexport type S = Settings;\n`,
  'src/rules/bad-logger.ts': `import { log } from '../logger.js';\nexport const l = log;\n`,
  'src/rules/bad-express.ts': `import express from 'express';\nexport const e = express;\n`,

  'src/sync/merge.ts':
    `import type { Settings } from '../config.js';\nimport type { CrmConnector } from '../../connectors/types.js';\nimport { score } from '../rules/scoring.js';\n` +
    `export const merge = (s: Settings, c: CrmConnector | null): number => score({ id: String(s.owned.length) }) + (c ? 1 : 0);\n`,
  'src/sync/bad-config-value.ts': `import { OWNED } from '../config.js';\nexport const o = OWNED;\n`,
  'src/sync/bad-fs.ts': `import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n`,
  'src/sync/bad-redis-type.ts': `import type { Redis } from 'ioredis';\nexport type R = Redis;\n`,
  'src/sync/bad-connector.ts': `import { createHubSpot } from '../../connectors/hubspot/index.js';\nexport const c = createHubSpot;\n`,
  'src/sync/bad-contract-value.ts': `import { CONTRACT_VERSION } from '../../connectors/types.js';\nexport const v = CONTRACT_VERSION;\n`,
  'src/sync/bad-errors.ts': `import { CrmError } from '../../connectors/errors.js';\nexport const e = CrmError;\n`,
  'src/sync/bad-store.ts': `import { saveLead } from '../store/leads.js';\nexport const s = saveLead;\n`,

  'src/store/leads.ts':
    `import { merge } from '../sync/merge.js';\nimport { OWNED } from '../config.js';\nimport { log } from '../logger.js';\nimport { CrmError } from '../../connectors/errors.js';\n` +
    `import type { Redis } from 'ioredis';\nexport const saveLead = (r: Redis | null): unknown => [merge, OWNED, log, CrmError, r];\n`,
  'src/store/bad-jobs.ts': `import { poll } from '../../jobs/poll.js';\nexport const p = poll;\n`,
  'src/store/bad-connector.ts': `import { createHubSpot } from '../../connectors/hubspot/index.js';\nexport const c = createHubSpot;\n`,

  'src/config.ts': `import { readFileSync } from 'node:fs';\nimport { score } from './rules/scoring.js';\nexport type Settings = { owned: string[] };\nexport const OWNED = ['person.title'];\nexport const load = (): unknown => [readFileSync, score];\n`,
  'src/logger.ts': `export const log = (line: string): void => void process.stdout.write(line);\n`,

  'jobs/poll.ts': `import { saveLead } from '../src/store/leads.js';\nimport { createHubSpot } from '../connectors/hubspot/index.js';\nexport const poll = (): unknown => [saveLead, createHubSpot];\n`,
  'jobs/connectors.ts': `import { OWNED } from '../src/config.js';\nimport { createHubSpot } from '../connectors/hubspot/index.js';\nexport const wire = (): unknown => [OWNED, createHubSpot];\n`,
  'jobs/bad-server.ts': `import { app } from '../src/server/app.js';\nexport const a = app;\n`,
  'jobs/cycle-a.ts': `import { b } from './cycle-b.js';\nexport const a = (): unknown => b;\n`,
  'jobs/cycle-b.ts': `import { a } from './cycle-a.js';\nexport const b = (): unknown => a;\n`,

  'src/server/app.ts':
    `import { poll } from '../../jobs/poll.js';\nimport type { Sandboxes } from '../../connectors/sandbox/start.js';\n` +
    `export const app = async (): Promise<Sandboxes> => { void poll; return (await import('../../connectors/sandbox/start.js')).start(); };\n`,
  'src/server/bad-sandbox.ts': `import { start } from '../../connectors/sandbox/start.js';\nexport const s = start;\n`,
  'src/server/bad-cli.ts': `import { program } from '../cli/program.js';\nexport const p = program;\n`,
  'src/cli/program.ts': `import { app } from '../server/app.js';\nimport { wire } from '../../jobs/connectors.js';\nexport const program = (): unknown => [app, wire];\n`,

  'connectors/types.ts': `import type { Lead } from '../src/model/lead.js';\nimport type { CrmError } from './errors.js';\nexport interface CrmConnector { read(id: string): Promise<Lead | CrmError> }\nexport const CONTRACT_VERSION = 1;\n`,
  'connectors/errors.ts': `export class CrmError extends Error {}\n`,
  'connectors/bad-wiring.ts': `import { OWNED } from '../src/config.js';\nexport const w = OWNED;\n`,
  'connectors/hubspot/index.ts':
    `import { mapContact } from './mapping.js';\nimport type { CrmConnector } from '../types.js';\nimport { CrmError } from '../errors.js';\nimport type { Lead } from '../../src/model/lead.js';\n` +
    `export const createHubSpot = (): CrmConnector => ({ read: async (id): Promise<Lead | CrmError> => mapContact(id) });\n`,
  'connectors/hubspot/mapping.ts': `import type { Lead } from '../../src/model/lead.js';\nexport const mapContact = (id: string): Lead => ({ id });\n`,
  'connectors/hubspot/bad-config.ts': `import type { Settings } from '../../src/config.js';\nexport type S = Settings;\n`,
  'connectors/hubspot/bad-rule.ts': `import { score } from '../../src/rules/scoring.js';\nexport const s = score;\n`,
  'connectors/hubspot/bad-other-crm.ts': `import { createSalesforce } from '../salesforce/index.js';\nexport const s = createSalesforce;\n`,
  'connectors/hubspot/bad-own-sandbox.ts': `import { serveHubSpot } from './sandbox/index.js';\nexport const s = serveHubSpot;\n`,
  'connectors/salesforce/index.ts': `import type { CrmConnector } from '../types.js';\nexport const createSalesforce = (): CrmConnector | null => null;\n`,
  'connectors/hubspot/sandbox/index.ts': `import { listen } from '../../sandbox/common.js';\nimport { mapContact } from '../mapping.js';\nexport const serveHubSpot = (): unknown => [listen, mapContact];\n`,
  'connectors/hubspot/sandbox/bad-other.ts': `import { serveSalesforce } from '../../salesforce/sandbox/index.js';\nexport const s = serveSalesforce;\n`,
  'connectors/salesforce/sandbox/index.ts': `import { listen } from '../../sandbox/common.js';\nexport const serveSalesforce = (): unknown => listen;\n`,
  'connectors/sandbox/common.ts': `export const listen = (): number => 0;\n`,
  'connectors/sandbox/start.ts':
    `import { serveHubSpot } from '../hubspot/sandbox/index.js';\nimport { serveSalesforce } from '../salesforce/sandbox/index.js';\n` +
    `export type Sandboxes = { close(): void };\nexport const start = (): Sandboxes => { void [serveHubSpot, serveSalesforce]; return { close() {} }; };\n`,
};

/** What each deliberate violation must be reported as (a file may break more rules than listed). */
const EXPECTED: Array<[file: string, rule: string]> = [
  ['src/model/bad-up.ts', 'model-is-the-bottom'],
  ['src/rules/bad-sync.ts', 'rules-only-on-model'],
  ['src/rules/bad-config.ts', 'model-and-rules-do-not-import-config'],
  ['src/rules/bad-logger.ts', 'pure-does-no-io'],
  ['src/rules/bad-express.ts', 'pure-does-no-io'],
  ['src/sync/bad-config-value.ts', 'pure-imports-config-types-only'],
  ['src/sync/bad-fs.ts', 'pure-does-no-io'],
  ['src/sync/bad-redis-type.ts', 'pure-does-no-io'],
  ['src/sync/bad-connector.ts', 'pure-imports-connector-types-only'],
  ['src/sync/bad-connector.ts', 'connectors-not-in-the-core'],
  ['src/sync/bad-contract-value.ts', 'pure-imports-connector-types-by-type-only'],
  ['src/sync/bad-errors.ts', 'pure-imports-connector-types-only'],
  ['src/sync/bad-store.ts', 'sync-only-on-rules-and-model'],
  ['src/store/bad-jobs.ts', 'store-not-above'],
  ['src/store/bad-connector.ts', 'store-not-above'],
  ['jobs/bad-server.ts', 'jobs-not-above'],
  ['jobs/cycle-a.ts', 'no-circular'],
  ['src/server/bad-sandbox.ts', 'no-static-sandbox-import'],
  ['src/server/bad-cli.ts', 'server-not-on-cli'],
  ['connectors/bad-wiring.ts', 'connectors-below-the-core'],
  ['connectors/hubspot/bad-config.ts', 'connectors-below-the-core'],
  ['connectors/hubspot/bad-config.ts', 'connector-only-on-model-and-contract'],
  ['connectors/hubspot/bad-rule.ts', 'connector-only-on-model-and-contract'],
  ['connectors/hubspot/bad-other-crm.ts', 'connector-only-on-model-and-contract'],
  ['connectors/hubspot/bad-own-sandbox.ts', 'no-static-sandbox-import'],
  ['connectors/hubspot/sandbox/bad-other.ts', 'connector-sandbox-only-on-sandbox-helpers'],
];

describe('dependency rules on a fixture', () => {
  let dir: string;
  let result: ReturnType<typeof cruise>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'smk-layers-'));
    for (const [path, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    // The repository's package.json (so ioredis, express... are known dependencies) and its packages.
    writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, verbatimModuleSyntax: true, skipLibCheck: true }, include: ['src', 'connectors', 'jobs'] }),
    );
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    result = cruise(dir, ['src', 'connectors', 'jobs']);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails as npm run lint runs it (the err reporter exits with the number of errors)', () => {
    expect(result.errors).toBeGreaterThan(0);
    expect(result.violations.every((v) => v.rule.severity === 'error')).toBe(true);
    const lint = depcruise(dir, ['src', 'connectors', 'jobs']);
    expect(lint.status).toBe(result.errors);
    expect(lint.stdout).toMatch(/error no-static-sandbox-import: src\/server\/bad-sandbox\.ts → connectors\/sandbox\/start\.ts/);
  }, 60_000);

  it.each(EXPECTED)('%s breaks %s', (file, rule) => {
    expect(result.violations.filter((v) => v.from === file).map((v) => v.rule.name)).toContain(rule);
  });

  it('an inline `import { type X }` is refused by eslint: it still loads the module (`import {}` under verbatimModuleSyntax)', async () => {
    // dependency-cruiser counts it as type-only, so the sandbox and src/config rules rely on eslint here.
    const eslint = new ESLint({ cwd: ROOT });
    const [report] = await eslint.lintText(`import { type Sandboxes } from '../../connectors/sandbox/start.js';\nexport type S = Sandboxes;\n`, { filePath: join(ROOT, 'src/cli/inline-type-probe.ts') });
    expect(report?.messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-import-type-side-effects');
    const [clean] = await eslint.lintText(`import type { Sandboxes } from '../../connectors/sandbox/start.js';\nexport type S = Sandboxes;\n`, { filePath: join(ROOT, 'src/cli/inline-type-probe.ts') });
    expect(clean?.messages).toEqual([]);
  }, 60_000);

  it('files that keep the rules (type-only contract and config imports, dynamic sandbox import, the wiring in jobs) pass', () => {
    const wrong = result.violations.filter((v) => !/\/(bad-[^/]*|cycle-[ab])\.ts$/.test(v.from));
    expect(wrong.map(key)).toEqual([]);
  });
});

describe('dependency rules on the repository', () => {
  it('npm run lint runs eslint and the cruiser with the repository config', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.lint).toMatch(/eslint \./);
    expect(scripts.lint).toMatch(/lint:deps/);
    expect(scripts['lint:deps']).toMatch(/^depcruise --config \.dependency-cruiser\.mjs --ignore-known \.dependency-cruiser-known-violations\.json src connectors jobs bin$/);
  });

  it('finds no violation outside the known-violations baseline, and every baselined one still exists (remove it once fixed)', () => {
    const { violations } = cruise(ROOT, ['src', 'connectors', 'jobs', 'bin']);
    const known = (JSON.parse(readFileSync(BASELINE, 'utf8')) as Violation[]).map(key);
    const found = violations.map(key);
    expect(found.filter((v) => !known.includes(v))).toEqual([]);
    expect(known.filter((v) => !found.includes(v))).toEqual([]);
  }, 60_000);

  it('the baseline only shrinks: it may hold no more than the violations known when the rules came in', () => {
    // Empty since the ownership vocabulary moved to src/model/ownership.ts.
    const allowed: string[] = [];
    const known = (JSON.parse(readFileSync(BASELINE, 'utf8')) as Violation[]).map(key);
    expect(known.filter((v) => !allowed.includes(v))).toEqual([]);
  });
});
