/**
 * Production runs compiled JavaScript. This builds the image's files without a Docker engine (the
 * Dockerfile's stages carried out in temporary folders, tests/helpers/docker-image.ts: the build
 * stage runs `npm run build` on exactly the files the Dockerfile copies into it), checks what the
 * final stage holds, and runs its entry point from exactly those files: the help, the sandbox
 * commands (which say the sandboxes are not part of the image), and `smk start` against the
 * sandboxes and this test's Redis prefix: it serves /healthz and the dashboard's assets, polls both
 * CRMs through the official clients, and stops on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxEnv, startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { freePort } from '../../src/store/redis.js';
import { ROOT, SANDBOX, buildImage, packageName, runtimeGraph } from '../helpers/docker-image.js';
import type { BuiltImage } from '../helpers/docker-image.js';
import { writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';

const ADMIN_TOKEN = 'build-test-admin-token';

/** The image's environment: none of this test runner's variables (VITEST would silence the logger). */
function imageEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...extra };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => {
  if (child.exitCode !== null) resolve(child.exitCode);
  else child.once('exit', (code) => resolve(code));
});

describe('the compiled service (npm run build, as the Docker image builds and runs it)', () => {
  let image: BuiltImage;
  let command: string[];

  beforeAll(() => {
    image = buildImage();
    command = image.stage.entrypoint;
  }, 120_000);

  afterAll(() => image?.remove());

  const smk = (...args: string[]) => spawnSync(command[0]!, [...command.slice(1), ...args], { cwd: image.app, encoding: 'utf8', timeout: 30_000, env: imageEnv({ REDIS_URL: 'redis://127.0.0.1:1' }) });

  it('holds the compiled modules and the files they read, and no source, sandbox or test', () => {
    expect(image.log).toMatch(/build: compiled src, connectors, jobs into dist/);
    const files = [...image.files];
    for (const f of ['dist/src/cli.js', 'dist/src/cli.js.map', 'dist/jobs/workers.js', 'dist/connectors/hubspot/index.js', 'dist/src/server/dashboard/dashboard.html', 'dist/src/server/dashboard/public/dashboard.js', 'dist/src/server/dashboard/public/dashboard.css', 'package.json']) {
      expect(image.files.has(f), f).toBe(true);
    }
    expect(files.filter((f) => f.endsWith('.ts') || SANDBOX.test(f) || /^(src|connectors|jobs|bin|tests|bench|fixtures)\//.test(f))).toEqual([]);
  });

  it('every module the entry point can load is in the image, and it needs only production dependencies', () => {
    const entry = command.find((arg) => arg.endsWith('.js'))!;
    const { reached, edges, packages } = runtimeGraph(image.app, [entry]);
    expect(reached.size).toBeGreaterThan(50);
    expect([...reached].filter((f) => !image.files.has(f))).toEqual([]);
    // The sandboxes are loaded on demand only, and are absent.
    const onDemand = edges.filter((e) => SANDBOX.test(e.to));
    expect(onDemand.map((e) => `${e.from} -> ${e.to}`)).toEqual(expect.arrayContaining(['dist/src/cli/sandbox.js -> dist/connectors/sandbox/start.js']));
    expect(onDemand.filter((e) => !e.dynamic || image.files.has(e.to))).toEqual([]);
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const needed = [...new Set([...packages].map(packageName).filter((p): p is string => p !== null))];
    expect(needed.filter((p) => !(p in dependencies))).toEqual([]);
    expect(needed).not.toContain('tsx');
  });

  it('runs: the help, and smk sandbox / smk demo say the sandboxes are not part of it', () => {
    const help = smk('--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/sandbox[\s\S]*demo/);
    for (const args of [['sandbox', '--people', '5'], ['demo', '--rounds', '1']]) {
      const run = smk(...args);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(/^smk: (sandbox|demo): the HubSpot and Salesforce sandboxes are not part of this installation \(the Docker image ships the service only\)/);
      expect(run.stdout).toBe('');
    }
  });

  describe('smk start', () => {
    let t: TestRedis;
    let sandboxes: Sandboxes;

    beforeAll(async () => {
      t = await testRedis('build');
      sandboxes = await startSandboxes({ people: 5, seed: 3, hubspotPerTenSeconds: 0 });
    });

    afterAll(async () => {
      await sandboxes?.close();
      await t?.cleanup();
    });

    it('serves, syncs both CRMs and stops on SIGTERM', async () => {
      const port = await freePort();
      const prefix = t.prefix.replace(/:$/, '');
      const env = imageEnv({ ...sandboxEnv(sandboxes.connection), REDIS_URL: t.url, SMK_KEY_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', SMK_ADMIN_TOKEN: ADMIN_TOKEN, SMK_CONFIG: writeConfig('sync:\n  pollEvery: 1s\n'), LOG_LEVEL: 'warn' });
      const service = spawn(command[0]!, [...command.slice(1), 'start'], { cwd: image.app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      service.stdout?.on('data', (d: Buffer) => (output += String(d)));
      service.stderr?.on('data', (d: Buffer) => (output += String(d)));
      const url = `http://127.0.0.1:${port}`;
      try {
        await until('the service to answer /healthz', async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok === true).catch((err: Error) => {
          throw new Error(`${err.message}\n${output}`);
        });
        const script = await fetch(`${url}/assets/dashboard.js`);
        expect(script.status).toBe(200);
        expect(await script.text()).toBe(readFileSync(join(ROOT, 'src/server/dashboard/public/dashboard.js'), 'utf8'));
        const page = await fetch(`${url}/`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
        expect(await page.text()).toContain('id="funnel-chart"');
        // Both change feeds ran: the official clients work from the compiled connectors.
        for (const crm of ['hubspot', 'salesforce']) {
          await until(`a ${crm} poll`, async () => (await t.redis.hget(`${prefix}:cursor:${crm}`, '_lastSyncAt')) !== null);
        }
        service.kill('SIGTERM');
        expect(await exited(service), output).toBe(0);
        expect(output).toContain('smk: stopped (in-flight jobs finished)');
      } finally {
        if (service.exitCode === null) service.kill('SIGKILL');
      }
    }, 60_000);
  });
});
