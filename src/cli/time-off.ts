/**
 * `smk reps import-time-off <file.csv>`: reps' time off from a spreadsheet export. Columns (a
 * header line names them, in any order): `owner` (a Salesforce user id such as 005..., or the
 * rep's email as Salesforce knows it), `from` and `to` (yyyy-MM-dd, both days included) and an
 * optional `reason`. A bad row is reported with its line and the rest are imported; importing the
 * same file again changes nothing (a range with the same dates replaces the old one).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { bootstrap } from '../../jobs/bootstrap.js';
import { formatIssues } from '../config.js';
import { timeOffSchema } from '../rules/config.js';
import type { TimeOff } from '../rules/config.js';

const rowSchema = z.object({
  owner: z.string().trim().min(1, 'the owner is empty'),
  from: z.string().trim(),
  to: z.string().trim(),
  reason: z.string().trim().optional(),
});

export interface TimeOffRow {
  line: number;
  owner: string;
  range: TimeOff;
}

/** The rows of a time-off CSV, and a sentence per row that cannot be used. */
export function parseTimeOffCsv(text: string): { rows: TimeOffRow[]; problems: string[] } {
  const records = parse(text, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, info: true, relax_column_count: true }) as Array<{ record: Record<string, string>; info: { lines: number } }>;
  const rows: TimeOffRow[] = [];
  const problems: string[] = [];
  for (const { record, info } of records) {
    const line = info.lines;
    const base = rowSchema.safeParse(record);
    if (!base.success) {
      problems.push(`line ${line}: ${formatIssues(base.error.issues).join('; ')}`);
      continue;
    }
    const { owner, reason, ...dates } = base.data;
    const range = timeOffSchema.safeParse({ ...dates, ...(reason ? { reason } : {}) });
    if (!range.success) {
      problems.push(`line ${line}: ${formatIssues(range.error.issues).join('; ')}`);
      continue;
    }
    rows.push({ line, owner, range: range.data });
  }
  return { rows, problems };
}

export async function runImportTimeOff(options: { configPath?: string; file: string }): Promise<void> {
  const { rows, problems } = parseTimeOffCsv(readFileSync(options.file, 'utf8'));
  const runtime = await bootstrap({ configPath: options.configPath });
  try {
    const ctx = runtime.ctx;
    const byEmail = new Map<string, string>();
    if (rows.some((row) => row.owner.includes('@'))) {
      await ctx.owners.refresh(true);
      for (const owner of ctx.owners.list('salesforce')) if (owner.email) byEmail.set(owner.email.toLowerCase(), owner.id);
    }
    const byOwner = new Map<string, TimeOff[]>();
    for (const row of rows) {
      const id = row.owner.includes('@') ? byEmail.get(row.owner.toLowerCase()) : row.owner;
      if (!id) {
        problems.push(`line ${row.line}: no Salesforce user has the email ${row.owner}`);
        continue;
      }
      if (!/^[A-Za-z0-9]{1,64}$/.test(id)) {
        problems.push(`line ${row.line}: expected a Salesforce user id such as 005000000000001 or an email, got "${row.owner}"`);
        continue;
      }
      byOwner.set(id, [...(byOwner.get(id) ?? []), row.range]);
    }
    let imported = 0;
    for (const [owner, ranges] of byOwner) {
      await ctx.timeOff.add(owner, ranges.map((range) => ({ ...range, source: 'csv' as const })));
      imported += ranges.length;
    }
    process.stdout.write(`imported ${imported} range(s) of time off for ${byOwner.size} rep(s)\n`);
    for (const problem of problems) process.stdout.write(`skipped ${problem}\n`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}
