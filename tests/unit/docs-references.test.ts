/**
 * Messages and docs that name a fix or a section name one that exists: the README's ownership
 * table is the code's defaults, the example config's pointers lead to real README sections, and
 * the fixes that name a dashboard control name one the dashboard has.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OWNERSHIP, parseConfigText } from '../../src/config.js';
import { DEFAULT_SYNC_FIELDS } from '../../src/model/field-sync.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

describe('references that must exist', () => {
  it('the README lists every default field owner as the code has it', () => {
    const readme = read('README.md');
    const start = readme.indexOf('### Field ownership');
    expect(start).toBeGreaterThan(0);
    const rest = readme.slice(start + 4);
    const section = rest.slice(0, rest.search(/^#{2,3} /m));
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| (.+) \|$/gm)];
    const documented: Record<string, string> = {};
    for (const [, owner, fields] of rows) for (const f of (fields as string).matchAll(/`([\w.]+)`/g)) documented[f[1] as string] = owner as string;
    expect(documented).toEqual(DEFAULT_OWNERSHIP);
  });

  it('the README lists every default synced field with its direction as the code has it', () => {
    const readme = read('README.md');
    const start = readme.indexOf('### Field sync');
    expect(start).toBeGreaterThan(0);
    const rest = readme.slice(start + 4);
    const section = rest.slice(0, rest.search(/^#{2,3} /m));
    const documented: Record<string, string> = {};
    for (const [, names, direction] of section.matchAll(/^\| ((?:`\w+`(?:, )?)+) \|.*\| `([a-z-]+)` \|$/gm)) {
      for (const f of (names as string).matchAll(/`(\w+)`/g)) documented[f[1] as string] = direction as string;
    }
    expect(documented).toEqual(Object.fromEntries(DEFAULT_SYNC_FIELDS.map((f) => [f.name, f.direction])));
  });

  it('the README\'s sync.fields example is a valid config', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('### Field sync'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toContain('fields:');
    const config = parseConfigText(yaml as string, 'README.md');
    expect(config.sync.fields.region).toMatchObject({ hubspot: 'region', type: 'enum', direction: 'salesforce' });
  });

  it('the README\'s alerts and reps examples are valid config', () => {
    const readme = read('README.md');
    const block = (heading: string) => /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)))?.[1] as string;
    const alerts = parseConfigText(block('### Alerts'), 'README.md').alerts;
    expect(Object.keys(alerts.channels)).toEqual(['sales-team', 'sales-bot', 'reps-email']);
    expect(alerts.routes.flatMap((r) => r.events)).toEqual(expect.arrayContaining(['handoff', 'reminder', 'breach', 'escalation', 'rejection', 'target_behind']));
    const reps = parseConfigText(block('### Reps: time zones, hours and time off'), 'README.md').reps;
    expect(reps['005000000000021AAA']).toMatchObject({ tz: 'Europe/London', hours: '08:30-16:30', timeOff: [{ from: '2026-08-03', to: '2026-08-14' }] });
  });

  it('every README section the example config points to exists', () => {
    const readme = read('README.md');
    const headings = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => (m[1] as string).trim()));
    const pointers = [...read('smarketing.example.yaml').matchAll(/README[^"\n]*"([^"]+)"/g)].map((m) => m[1] as string);
    expect(pointers.length).toBeGreaterThan(0);
    for (const p of pointers) expect(headings, `README section "${p}"`).toContain(p);
  });

  it('fixes that name a dashboard link name one the dashboard renders', () => {
    const dashboard = read('src/server/dashboard/public/dashboard.js');
    const doctor = read('src/cli/doctor.ts');
    const named = [...doctor.matchAll(/"(Connect \w+ with OAuth)"/g)].map((m) => m[1] as string);
    expect(named.length).toBe(2);
    // The dashboard renders "Connect <title> with OAuth" on each CRM card, titled HubSpot or Salesforce.
    expect(dashboard).toContain('Connect ${title.textContent} with OAuth');
    for (const label of named) expect(dashboard).toContain(`'${label.split(' ')[1] as string}'`);
    expect(doctor).not.toContain('Install >');
  });
});
