/**
 * `smk report funnel`: the funnel to revenue for a period, as a readable table, one JSON object
 * (`--json`, the shape of DESIGN.md "Interfaces") or CSV (`--csv`). Options are strings from the
 * command line, checked by the same zod schema as the admin API's query, and a bad one is named.
 */
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { bootstrap } from '../../jobs/bootstrap.js';
import { readPeriodFunnel } from '../../jobs/reports.js';
import { formatIssues } from '../config.js';
import { FUNNEL_STAGES, FUNNEL_LABELS } from '../rules/funnel.js';
import type { BreakdownRow, PeriodFunnel, Revenue } from '../rules/funnel.js';
import { funnelQuerySchema } from '../rules/periods.js';

export const BREAKDOWNS = ['source', 'campaign'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

const reportOptionsSchema = z
  .object({
    query: funnelQuerySchema,
    by: z.enum(BREAKDOWNS).optional(),
    json: z.boolean(),
    csv: z.boolean(),
  })
  .superRefine((options, ctx) => {
    if (options.json && options.csv) ctx.addIssue({ code: 'custom', path: ['csv'], message: 'choose --json or --csv, not both', input: undefined });
  });

export interface ReportFunnelInput {
  configPath?: string;
  period?: string;
  from?: string;
  to?: string;
  trend?: string;
  by?: string;
  json?: boolean;
  csv?: boolean;
}

/** Thrown for bad options: one line naming each, e.g. `--period: expected one of "week", ...`. */
export class ReportOptionsError extends Error {}

export function parseReportOptions(input: ReportFunnelInput): z.infer<typeof reportOptionsSchema> {
  const query = Object.fromEntries(Object.entries({ period: input.period, from: input.from, to: input.to, trend: input.trend }).filter(([, v]) => v !== undefined));
  const result = reportOptionsSchema.safeParse({ query, by: input.by, json: !!input.json, csv: !!input.csv }, { reportInput: true });
  if (!result.success) {
    // The query's fields sit under `query`; the admin names options, not our object's paths.
    const issues = result.error.issues.map((issue) => ({ ...issue, path: issue.path.filter((p) => p !== 'query') }));
    throw new ReportOptionsError(formatIssues(issues).map((line) => `--${line}`).join('; '));
  }
  return result.data;
}

const amount = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const pct = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);
const days = (d: number | null) => (d === null ? '-' : d.toFixed(1));
const deals = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** A text table: the first column left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function revenueText(r: Revenue): string {
  return `pipeline ${amount.format(r.pipeline)} (${deals(r.pipelineDeals, 'open opportunity', 'open opportunities')} closing in the period); won ${amount.format(r.won)} (${deals(r.wonDeals, 'deal', 'deals')})`;
}

function breakdownTable(rows: BreakdownRow[], by: Breakdown): string[] {
  return table(
    [by, ...FUNNEL_STAGES, 'pipeline', 'won revenue'],
    rows.map((r) => [r.key, ...FUNNEL_STAGES.map((s) => String(r.counts[s])), amount.format(r.revenue.pipeline), amount.format(r.revenue.won)]),
  );
}

export function describeFunnel(report: PeriodFunnel, by: Breakdown | undefined): string {
  const dates = report.period === 'custom' ? report.tz : `${report.from} to ${report.to}, ${report.tz}`;
  const lines = [`Funnel for ${report.label} (${dates})`, ''];
  lines.push(...table(['stage', 'count', 'conversion', 'median days'], report.steps.map((s) => [s.label, String(s.count), pct(s.conversion), days(s.medianDays)])));
  lines.push('', `Revenue: ${revenueText(report.revenue)}`);
  const t = report.mqlTarget;
  lines.push(
    t.target === null
      ? `MQL target: none set (${t.actual} MQLs in the period); set targets.mqlPerMonth in smarketing.yaml`
      : `MQL target: ${t.actual} of ${t.target}, ${t.pace === 'on-track' ? 'on track' : `behind by ${t.behindBy ?? 0}`} (${t.expectedByNow ?? 0} expected by now; ${t.projected} projected)`,
  );
  if (by !== undefined) {
    lines.push('', `By ${by}`, ...breakdownTable(by === 'source' ? report.bySource : report.byCampaign, by));
  }
  lines.push('', 'Trend');
  lines.push(...table(['period', ...FUNNEL_STAGES, 'pipeline', 'won revenue'], report.trend.map((p) => [p.label, ...FUNNEL_STAGES.map((s) => String(p.counts[s])), amount.format(p.revenue.pipeline), amount.format(p.revenue.won)])));
  lines.push('', 'A step counts the leads that reached it in the period; conversion is the share of them that reached the next step since.');
  return `${lines.join('\n')}\n`;
}

/** The steps as CSV, or with `by` the breakdown (counts and revenue per source or campaign). */
export function funnelCsv(report: PeriodFunnel, by: Breakdown | undefined): string {
  if (by === undefined) {
    return stringify(
      report.steps.map((s) => [report.from, report.to, s.stage, FUNNEL_LABELS[s.stage], s.count, s.conversion ?? '', s.medianDays ?? '']),
      { header: true, columns: ['from', 'to', 'stage', 'label', 'count', 'conversion', 'median_days'] },
    );
  }
  const rows = by === 'source' ? report.bySource : report.byCampaign;
  return stringify(
    rows.map((r) => [report.from, report.to, r.key, ...FUNNEL_STAGES.map((s) => r.counts[s]), r.revenue.pipeline, r.revenue.won]),
    { header: true, columns: ['from', 'to', by, ...FUNNEL_STAGES, 'pipeline', 'won_revenue'] },
  );
}

export async function runReportFunnel(input: ReportFunnelInput): Promise<void> {
  // Options first: a typo is answered before anything connects.
  const options = parseReportOptions(input);
  const runtime = await bootstrap({ configPath: input.configPath });
  try {
    const report = await readPeriodFunnel(runtime.ctx, options.query);
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (options.csv) process.stdout.write(funnelCsv(report, options.by));
    else process.stdout.write(describeFunnel(report, options.by));
  } finally {
    await runtime.close();
  }
}
