/**
 * The shell around the period funnel: reads the stored leads page by page into the pure builder
 * (src/rules/funnel.ts), so `smk report funnel` and `/api/reports/funnel` compute the same object.
 */
import type { PeriodFunnel } from '../src/rules/funnel.js';
import { funnelRanges, PeriodFunnelBuilder } from '../src/rules/funnel.js';
import type { FunnelQuery } from '../src/rules/periods.js';
import type { SyncContext } from './context.js';

export async function readPeriodFunnel(ctx: SyncContext, query: FunnelQuery): Promise<PeriodFunnel> {
  const now = new Date(ctx.clock.now());
  const targets = ctx.config.file.targets;
  const builder = new PeriodFunnelBuilder(funnelRanges(query, targets, now), targets, now);
  for await (const page of ctx.leads.all(500)) builder.addLeads(page.map((stored) => stored.lead));
  return builder.build();
}
