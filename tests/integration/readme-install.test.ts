/**
 * Every command of the README's "Who sees the fields" block runs exactly as written (bin/smk.js
 * for `npx smk`, in order, against both sandboxes) and exits 0; what they did is read back through
 * jsforce. The two users the README names by email exist in the sandbox org for the run.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { smk } from '../helpers/smk.js';
import { connect } from './salesforce-sandbox/helpers.js';

/** The `sh` block under a README heading, as command lines without their comments. */
function readmeCommands(heading: string): string[] {
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`### ${heading}`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '');
}

/** Shell words: spaces separate, double quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe('README: Who sees the fields', () => {
  let sandboxes: Sandboxes;
  let t: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 10, seed: 17, hubspotPerTenSeconds: 0 });
    t = await testRedis('readme-install');
    env = { ...sandboxEnv(sandboxes.connection), REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, '') };
    const store = sandboxes.salesforce.store;
    const standard = store.list('Profile').find((p) => p.Name === 'Standard User')?.Id as string;
    for (const name of ['ana', 'bo']) {
      store.insert('User', { Username: `${name}@acme.example`, Email: `${name}@acme.example`, LastName: name, Alias: name, IsActive: true, UserType: 'Standard', ProfileId: standard });
    }
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
    await sandboxes?.close();
  });

  it('runs each command as the README writes it', async () => {
    const commands = readmeCommands('Who sees the fields');
    expect(commands.length).toBeGreaterThanOrEqual(7);
    for (const command of commands) {
      const [npx, bin, ...args] = words(command);
      expect([npx, bin]).toEqual(['npx', 'smk']);
      const run = await smk(args, env);
      expect(run.code, `${command}\n${run.stdout}${run.stderr}`).toBe(0);
    }
    const conn = connect(sandboxes.salesforce);
    const holders = await conn.query<{ Assignee: { Username: string } }>("SELECT Assignee.Username FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Smarketing_Connector'");
    expect(holders.records.map((r) => r.Assignee.Username)).toEqual(expect.arrayContaining(['ana@acme.example', 'bo@acme.example']));
    const lead = (await conn.metadata.read('Layout', 'Lead-Lead Layout')) as unknown as { layoutSections: Array<{ label?: string | null }> };
    expect(lead.layoutSections.some((s) => s.label === 'Smarketing')).toBe(true);
  }, 240_000);
});
