/**
 * A newcomer attaches the CLI to the sandboxes without copying ten values by hand:
 * `smk sandbox --write-env .env` writes them, and `smk install`, `smk doctor` and `smk sync --once`,
 * run from that folder, read `./.env`. `.env.example` lists every variable the README does.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SMK = join(ROOT, 'bin/smk.js');

/** The environment of a fresh shell: nothing of the connector's own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(HUBSPOT|SALESFORCE|SMK)_|^REDIS_URL$|^PORT$/.test(k)) env[k] = v;
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [SMK, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    child.on('exit', (code) => done({ code, out }));
  });
}

describe('smk sandbox --write-env', () => {
  let dir: string;
  let t: TestRedis;
  let sandbox: ChildProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smk-envfile-'));
    t = await testRedis('envfile');
    sandbox = spawn(process.execPath, [SMK, 'sandbox', '--people', '20', '--write-env', '.env'], { cwd: dir, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    sandbox.stderr?.on('data', (d: Buffer) => (err += String(d)));
    const deadline = Date.now() + 60_000;
    while (!err.includes('Wrote .env')) {
      if (Date.now() > deadline || sandbox.exitCode !== null) throw new Error(`the sandbox did not write .env: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    sandbox?.kill('SIGTERM');
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the sandboxes\' environment, readable by the owner only, with an admin token and an encryption key', () => {
    const text = readFileSync(join(dir, '.env'), 'utf8');
    for (const name of ['HUBSPOT_BASE_URL', 'HUBSPOT_ACCESS_TOKEN', 'SALESFORCE_INSTANCE_URL', 'SALESFORCE_REFRESH_TOKEN', 'SMK_ADMIN_TOKEN', 'SMK_ENCRYPTION_KEY']) {
      expect(text).toMatch(new RegExp(`^${name}=\\S+`, 'm'));
    }
    expect(statSync(join(dir, '.env')).mode & 0o077).toBe(0);
  });

  it('lets install, doctor and sync --once run from that folder with nothing else set', async () => {
    const env = cleanEnv({ REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, '') });
    const install = await run(['install'], dir, env);
    expect(install.code, install.out).toBe(0);
    const doctor = await run(['doctor'], dir, env);
    expect(doctor.out).toMatch(/HubSpot connection.*reachable and authorised/);
    expect(doctor.out).toMatch(/Salesforce connection.*reachable and authorised/);
    const sync = await run(['sync', '--once', '--json'], dir, env);
    expect(sync.code, sync.out).toBe(0);
    expect(sync.out).toMatch(/read 20 HubSpot and \d+ Salesforce records|"read":\{"hubspot":\d+/);
  }, 120_000);

  it('.env.example lists every variable the README documents', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| variable | meaning |'));
    const documented = new Set([...table.slice(0, table.indexOf('\n\n')).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] as string));
    expect(documented.size).toBeGreaterThan(10);
    expect([...documented].filter((name) => !listed.has(name))).toEqual([]);
  });
});
