/**
 * Reps' time off as an admin sets it: through the admin API, and imported from a CSV file with
 * `smk reps import-time-off`, read back from the store routing uses.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smk } from '../helpers/smk.js';
import { ADMIN_TOKEN, authHeaders, ENCRYPTION_KEY, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let h: ServerHarness;
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  h = await startHarness('time-off');
});

afterAll(async () => {
  await h.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.url}${path}`, { method, headers: authHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' }), body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

describe('time off in the admin API', () => {
  it('adds a range, lists the rep as away today, and removes it', async () => {
    const added = await call('POST', '/api/reps/005000000000001/time-off', { from: today, to: today, reason: 'Doctor' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ owner: '005000000000001', stored: [{ from: today, to: today, reason: 'Doctor', source: 'api' }] });
    const listed = await call('GET', '/api/reps/time-off');
    expect(listed.body).toEqual({ reps: [{ owner: '005000000000001', tz: 'UTC', awayToday: true, config: [], stored: [{ from: today, to: today, reason: 'Doctor', source: 'api' }] }] });
    expect(await h.ctx.timeOff.of('005000000000001')).toHaveLength(1);
    expect((await call('DELETE', `/api/reps/005000000000001/time-off?from=${today}&to=${today}`)).status).toBe(204);
    expect(await h.ctx.timeOff.of('005000000000001')).toEqual([]);
    expect((await call('DELETE', `/api/reps/005000000000001/time-off?from=${today}&to=${today}`)).status).toBe(404);
  });

  it('refuses a bad range, naming what is wrong', async () => {
    const bad = await call('POST', '/api/reps/005000000000001/time-off', { from: '2026-12-10', to: '2026-12-01' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('ends (2026-12-01) before it starts (2026-12-10)');
    const unknown = await call('POST', '/api/reps/005000000000001/time-off', { from: '2026-13-01', to: '2026-12-01', note: 'x' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/invalid date \\"2026-13-01\\"/);
  });
});

/** Runs bin/smk.js as `npx smk` does in a clone, from another working directory. */
function smkIn(cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const bin = fileURLToPath(new URL('../../bin/smk.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

describe('README: Reps: time zones, hours and time off', () => {
  it('imports the README\'s CSV with the command as written', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const section = readme.slice(readme.indexOf('### Reps: time zones, hours and time off'));
    const csv = /```csv\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const command = (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '').trim();
    expect(command).toBe('npx smk reps import-time-off time-off.csv');
    const dir = mkdtempSync(join(tmpdir(), 'smk-readme-time-off-'));
    writeFileSync(join(dir, 'time-off.csv'), csv);
    const env = { REDIS_URL: h.t.url, SMK_KEY_PREFIX: h.t.prefix.replace(/:$/, ''), SMK_ADMIN_TOKEN: ADMIN_TOKEN, SMK_ENCRYPTION_KEY: ENCRYPTION_KEY };
    const run = await smkIn(dir, command.split(' ').slice(2), env);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('imported 2 range(s) of time off for 2 rep(s)');
    expect(await h.ctx.timeOff.of('005000000000021AAA')).toEqual([{ from: '2026-12-21', to: '2027-01-01', reason: 'Holidays', source: 'csv' }]);
  }, 60_000);
});

describe('smk reps import-time-off', () => {
  it('imports the good rows of a CSV file, reports the bad ones by line, and changes nothing the second time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smk-time-off-'));
    const file = join(dir, 'time-off.csv');
    writeFileSync(file, ['owner,from,to,reason', '005000000000002,2026-12-21,2027-01-01,Holidays', '005000000000003,2026-12-24,2026-12-20,Typo', '005000000000003,2026-12-28,2026-12-30,', 'not an id!,2026-12-01,2026-12-01,x', ''].join('\n'));
    const env = { REDIS_URL: h.t.url, SMK_KEY_PREFIX: h.t.prefix.replace(/:$/, ''), SMK_ADMIN_TOKEN: ADMIN_TOKEN, SMK_ENCRYPTION_KEY: ENCRYPTION_KEY };
    const run = await smk(['reps', 'import-time-off', file], env);
    expect(run.stdout).toContain('imported 2 range(s) of time off for 2 rep(s)');
    expect(run.stdout).toContain('skipped line 3: to: ends (2026-12-20) before it starts (2026-12-24)');
    expect(run.stdout).toContain('skipped line 5: expected a Salesforce user id such as 005000000000001 or an email, got "not an id!"');
    expect(run.code).toBe(1);
    expect(await h.ctx.timeOff.of('005000000000002')).toEqual([{ from: '2026-12-21', to: '2027-01-01', reason: 'Holidays', source: 'csv' }]);
    expect(await h.ctx.timeOff.of('005000000000003')).toEqual([{ from: '2026-12-28', to: '2026-12-30', source: 'csv' }]);
    await smk(['reps', 'import-time-off', file], env);
    expect(await h.ctx.timeOff.of('005000000000002')).toHaveLength(1);
  }, 60_000);
});
