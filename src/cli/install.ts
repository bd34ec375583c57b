/**
 * `smk install`: provisions the smk fields in both CRMs, and makes them visible to the people who
 * work there: in Salesforce the permission set "Smarketing Connector" (who holds it, `--assign`)
 * and, with `--layouts`, a "Smarketing" section on the Lead and Contact page layouts. A second run
 * changes nothing and says so.
 */
import { bootstrap } from '../../jobs/bootstrap.js';
import { parseAssignTarget } from '../../connectors/salesforce/index.js';
import { SIDEBAR_HOWTO } from '../../connectors/hubspot/index.js';
import type { AssignTarget, SfUser } from '../../connectors/salesforce/index.js';
import type { SchemaReport } from '../../connectors/types.js';
import { LAYOUTS_HINT, describeLayouts, describeUserAccess } from './install-report.js';

export function describeSchemaReport(report: SchemaReport): string[] {
  const lines: string[] = [];
  const name = report.crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
  const list = (action: 'created' | 'updated' | 'granted') => {
    const byObject = new Map<string, string[]>();
    for (const c of report.changes.filter((x) => x.action === action)) byObject.set(c.object, [...(byObject.get(c.object) ?? []), c.field]);
    return [...byObject.entries()].map(([object, fields]) => `${fields.length} on ${object} (${fields.join(', ')})`);
  };
  const created = list('created');
  const updated = list('updated');
  const granted = list('granted');
  const unchanged = report.changes.filter((c) => c.action === 'unchanged').length;
  const notes = report.notes ?? [];
  if (created.length === 0 && updated.length === 0 && granted.length === 0 && notes.length === 0 && report.problems.length === 0) {
    lines.push(`${name}: all ${unchanged} fields already in place; nothing to change.`);
  } else {
    if (created.length > 0) lines.push(`${name}: created ${created.join('; ')}`);
    if (updated.length > 0) lines.push(`${name}: updated ${updated.join('; ')}`);
    if (granted.length > 0) lines.push(`${name}: gave the integration user access to ${granted.join('; ')}`);
    if (unchanged > 0) lines.push(`${name}: ${unchanged} fields already in place.`);
  }
  for (const note of notes) lines.push(`${name}: ${note}.`);
  for (const p of report.problems) lines.push(`${name}: PROBLEM ${p.object}${p.field ? `.${p.field}` : ''}: ${p.message}\n  fix: ${p.fix}`);
  return lines;
}

export interface InstallOptions {
  configPath?: string;
  dryRun: boolean;
  /** `--assign`: a profile name, user emails (comma-separated) or `all-active-users`. */
  assign?: string;
  /** `--layouts`: the "Smarketing" section on the Lead and Contact page layouts. */
  layouts?: boolean;
}

export async function runInstall(options: InstallOptions): Promise<void> {
  // A malformed --assign fails before anything is connected to.
  const target: AssignTarget | undefined = options.assign === undefined ? undefined : parseAssignTarget(options.assign);
  const runtime = await bootstrap({ configPath: options.configPath });
  const out = (line: string) => process.stdout.write(`${options.dryRun ? '(dry run) ' : ''}${line}\n`);
  try {
    const setup = runtime.ctx.connectors.salesforceSetup;
    // Whom --assign names is settled before anything is written: a name that matches nobody changes nothing.
    let users: SfUser[] | undefined;
    if (target && setup) users = await setup.resolveAssignees(target);
    let problems = 0;
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const report = await runtime.ctx.connectors[crm].ensureSchema({ dryRun: options.dryRun });
      problems += report.problems.length;
      for (const line of describeSchemaReport(report)) out(line);
      // HubSpot has no API for the record sidebar: say where an admin shows the group.
      if (crm === 'hubspot') out(`HubSpot: ${SIDEBAR_HOWTO}.`);
    }
    if (setup) {
      const access = await setup.ensureUserAccess({ dryRun: options.dryRun, ...(target && users ? { assign: { target, users } } : {}) });
      const described = describeUserAccess(access, { dryRun: options.dryRun });
      problems += described.problems;
      for (const line of described.lines) out(line);
      if (options.layouts) {
        const layouts = describeLayouts(await setup.ensureLayouts({ dryRun: options.dryRun }), { dryRun: options.dryRun });
        problems += layouts.problems;
        for (const line of layouts.lines) out(line);
      } else {
        out(`Salesforce: ${LAYOUTS_HINT}`);
      }
    }
    if (problems > 0) process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}
