/** `smk install`: provisions the smk fields in both CRMs; a second run changes nothing and says so. */
import { bootstrap } from '../../jobs/bootstrap.js';
import type { SchemaReport } from '../../connectors/types.js';

export function describeSchemaReport(report: SchemaReport): string[] {
  const lines: string[] = [];
  const created = report.changes.filter((c) => c.action === 'created');
  const updated = report.changes.filter((c) => c.action === 'updated');
  const unchanged = report.changes.filter((c) => c.action === 'unchanged');
  const name = report.crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
  if (created.length === 0 && updated.length === 0 && report.problems.length === 0) {
    lines.push(`${name}: all ${unchanged.length} fields already in place; nothing to change.`);
  } else {
    for (const c of created) lines.push(`${name}: created ${c.object}.${c.field}`);
    for (const c of updated) lines.push(`${name}: updated ${c.object}.${c.field}`);
    if (unchanged.length > 0) lines.push(`${name}: ${unchanged.length} fields already in place.`);
  }
  for (const p of report.problems) lines.push(`${name}: PROBLEM ${p.object}${p.field ? `.${p.field}` : ''}: ${p.message}\n  fix: ${p.fix}`);
  return lines;
}

export async function runInstall(options: { configPath?: string; dryRun: boolean }): Promise<void> {
  const runtime = await bootstrap({ configPath: options.configPath });
  try {
    let problems = 0;
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const report = await runtime.ctx.connectors[crm].ensureSchema({ dryRun: options.dryRun });
      problems += report.problems.length;
      for (const line of describeSchemaReport(report)) process.stdout.write(`${options.dryRun ? '(dry run) ' : ''}${line}\n`);
    }
    if (problems > 0) process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}
