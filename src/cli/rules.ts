/** `smk rules test` and `smk rules backtest`: see a rule change's effect before it goes live. */
import { bootstrap } from '../../jobs/bootstrap.js';
import { loadConfig, resolveSyncFields } from '../config.js';
import { describeFieldChanges, fieldChanges, heldFields } from '../sync/field-plan.js';
import type { FieldChangeSummary } from '../sync/field-plan.js';
import { backtestFold, judgeBacktest } from '../rules/backtest.js';
import type { BacktestRow, BacktestVerdict } from '../rules/backtest.js';
import { ruleSetComparison } from '../rules/dry-run.js';
import type { DryRunSummary } from '../rules/dry-run.js';
import type { SyncContext } from '../../jobs/context.js';
import { foldStoredLeads, foldStoredPages } from '../../jobs/store-pass.js';
import type { FileConfig } from '../config.js';

/** The field writes the candidate mapping would make, against what each stored record holds. */
async function fieldChangesUnder(ctx: SyncContext, fields: ReturnType<typeof resolveSyncFields>, examples: number): Promise<FieldChangeSummary> {
  return foldStoredPages(ctx, fieldChanges(fields, { examples }), (page) => Promise.all(page.map(async (s) => {
    const [hubspot, salesforce] = await Promise.all([ctx.held.get('hubspot', s.lead.id), ctx.held.get('salesforce', s.lead.id)]);
    return { leadId: s.lead.id, email: s.lead.email, views: s.views, held: { ...(hubspot ? { hubspot: heldFields(hubspot.values) } : {}), ...(salesforce ? { salesforce: heldFields(salesforce.values) } : {}) } };
  })));
}

export function describeDryRun(summary: DryRunSummary): string {
  const lines = [`${summary.leads} stored leads; ${summary.changed} would change (nothing is written by this command).`];
  const d = summary.scoreDelta;
  lines.push(`score: ${d.up} up, ${d.down} down, ${d.unchanged} unchanged (mean change ${d.mean.toFixed(1)}, from ${d.min} to ${d.max})`);
  for (const g of summary.gradeChanges) lines.push(`grade ${g.from} -> ${g.to}: ${g.count}`);
  for (const s of summary.stageChanges) lines.push(`stage ${s.from} -> ${s.to}: ${s.count}`);
  if (summary.examples.length > 0) lines.push('examples:');
  for (const e of summary.examples) {
    lines.push(`  lead ${e.leadId}: ${e.before.total} ${e.before.grade} ${e.before.stage} -> ${e.after.total} ${e.after.grade} ${e.after.stage}`);
    lines.push(`    before: ${e.before.reasons.join('; ') || '(no reasons)'}`);
    lines.push(`    after:  ${e.after.reasons.join('; ') || '(no reasons)'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `smk rules test`'s report: the candidate's effect on scores, grades and stages, then on field writes. */
export async function rulesTestReport(ctx: SyncContext, candidate: FileConfig, examples: number): Promise<string> {
  const summary = await foldStoredLeads(ctx, ruleSetComparison(ctx.config.file, candidate, new Date(ctx.clock.now()), { examples }));
  return describeDryRun(summary) + describeFieldChanges(await fieldChangesUnder(ctx, resolveSyncFields(candidate.sync), examples));
}

export async function runRulesTest(options: { configPath?: string; candidatePath: string; examples: number }): Promise<void> {
  const candidate = loadConfig({ path: options.candidatePath });
  const runtime = await bootstrap({ configPath: options.configPath });
  try {
    process.stdout.write(await rulesTestReport(runtime.ctx, candidate.file, options.examples));
  } finally {
    await runtime.close();
  }
}

const rate = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);

/** The backtest as an admin reads it: per band the counts behind each rate, then what to be wary of. */
export function describeBacktest(rows: readonly BacktestRow[], verdict: BacktestVerdict): string {
  const header = ['score band', 'leads', 'closed', 'converted', 'conversion', 'won', 'lost', 'win rate', 'disqualified'];
  const cells = rows.map((r) => [r.band, String(r.leads), String(r.closed), String(r.converted), rate(r.conversionRate), String(r.won), String(r.lost), rate(r.winRate), String(r.disqualified)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join(' | ');
  const lines = [line(header), ...cells.map(line)];
  lines.push('', 'conversion = converted / closed (closed: converted or disqualified); win rate = won / (won + lost) opportunities.');
  lines.push(`${verdict.outcomes} won or lost opportunities in all.`);
  for (const warning of verdict.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/** `smk rules backtest`'s report. */
export async function backtestReport(ctx: SyncContext): Promise<string> {
  const rows = await foldStoredLeads(ctx, backtestFold(ctx.config.file, new Date(ctx.clock.now())));
  return describeBacktest(rows, judgeBacktest(rows));
}

export async function runRulesBacktest(options: { configPath?: string }): Promise<void> {
  const runtime = await bootstrap({ configPath: options.configPath });
  try {
    process.stdout.write(await backtestReport(runtime.ctx));
  } finally {
    await runtime.close();
  }
}
