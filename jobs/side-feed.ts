/**
 * The loop every side feed shares (opportunities, accounts, activities): read the pages from the
 * stream positions, report each page's problems, apply the page, and only then move that stream's
 * cursor (a crash re-reads the page; applying it twice changes nothing). A CRM that refuses the
 * whole feed (a missing scope, an object the integration user cannot see) is one sync error saying
 * what to grant, and people go on syncing.
 */
import { isCrmError } from '../connectors/errors.js';
import type { ChangeOptions, FeedPosition, RecordProblem, StreamPosition } from '../connectors/types.js';
import type { CrmName } from '../src/model/lead.js';
import type { SyncContext } from './context.js';

export interface SideFeedPage {
  stream: string;
  problems: RecordProblem[];
  position: StreamPosition | null;
}

export async function readSideFeed<P extends SideFeedPage>(
  ctx: SyncContext,
  crm: CrmName,
  open: (position: FeedPosition, options: ChangeOptions) => AsyncIterable<P>,
  options: { full?: boolean; refused: string; apply: (page: P) => Promise<void> },
): Promise<void> {
  const position: FeedPosition = options.full ? {} : await ctx.cursors.get(crm);
  const feed = open(position, { now: new Date(ctx.clock.now()), safetyMarginMs: ctx.config.file.sync.searchSafetyMargin });
  try {
    for await (const page of feed) {
      for (const p of page.problems) {
        await ctx.errors.record({ crm, object: page.stream, recordId: p.ref?.id, code: p.code, message: p.message, field: p.field, value: p.value, stage: 'read' }, ctx.clock.now());
      }
      await options.apply(page);
      if (page.position) await ctx.cursors.set(crm, page.stream, page.position);
    }
  } catch (err) {
    if (!isCrmError(err) || err.code !== 'PERMISSION') throw err;
    await ctx.errors.record({ crm, object: null, recordId: null, leadId: null, code: err.code, stage: 'read', message: `cannot read ${options.refused}: ${err.message}` }, ctx.clock.now());
  }
}
