/**
 * `npm run sandbox -- ...` as another team uses it: the connection JSON first on stdout, then both
 * CRMs served, their stats counting API calls only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import jsforce from 'jsforce';
import { z } from 'zod';

const lineSchema = z.object({
  hubspot: z.object({ baseUrl: z.url(), accessToken: z.string().min(1), clientSecret: z.string().min(1), appId: z.number() }),
  salesforce: z.object({ instanceUrl: z.url(), loginUrl: z.url(), accessToken: z.string().min(1), refreshToken: z.string().min(1), clientId: z.string().min(1), clientSecret: z.string().min(1) }),
});

describe('npm run sandbox', () => {
  let child: ChildProcess;
  let connection: z.infer<typeof lineSchema>;

  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'connectors/sandbox/cli.ts', '--people', '50', '--seed', '3', '--hubspot-port', '0', '--salesforce-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const first = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
    });
    connection = lineSchema.parse(JSON.parse(first));
  }, 60_000);

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('prints the connection line of DESIGN.md first, then serves both CRMs to the official clients', async () => {
    const hubspot = new Client({ accessToken: connection.hubspot.accessToken, basePath: connection.hubspot.baseUrl });
    const page = await hubspot.crm.contacts.basicApi.getPage(100);
    expect(page.results.length).toBeGreaterThan(10);
    const sf = new jsforce.Connection({ instanceUrl: connection.salesforce.instanceUrl, accessToken: connection.salesforce.accessToken, version: '62.0' });
    const leads = await sf.query('SELECT Id FROM Lead');
    expect(leads.totalSize).toBeGreaterThan(5);
  });

  it('counts API calls by method and path in /__sandbox/stats, and not control calls', async () => {
    await fetch(`${connection.hubspot.baseUrl}/__sandbox/reset-stats`, { method: 'POST' });
    const hubspot = new Client({ accessToken: connection.hubspot.accessToken, basePath: connection.hubspot.baseUrl });
    await hubspot.crm.contacts.basicApi.getPage(10);
    await fetch(`${connection.hubspot.baseUrl}/__sandbox/requests`);
    const stats = (await (await fetch(`${connection.hubspot.baseUrl}/__sandbox/stats`)).json()) as { total: number; calls: Record<string, number> };
    expect(stats).toEqual({ total: 1, calls: { 'GET /crm/v3/objects/contacts': 1 } });
  });

  it('refuses bad flags with a clear message', async () => {
    const bad = spawn(process.execPath, ['--import', 'tsx', 'connectors/sandbox/cli.ts', '--people', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    bad.stderr!.on('data', (d: Buffer) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--people must be a whole number/);
  });
});
