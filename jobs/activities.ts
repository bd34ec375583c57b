/**
 * The activity feed of Salesforce (completed calls and emails reps log as Tasks), read after the
 * people's pages of each poll: each page is kept per Salesforce record (src/store/activities.ts),
 * and the lead linked to a record whose activities changed is evaluated, so a logged call meets
 * its SLA at the minute it was completed. At evaluation the lead carries what sales logged
 * (`lead.activity`): the latest touch and, with sync.activities.engagement on, the activities as
 * engagement events for the score.
 *
 * The cursor moves only after its page was stored: a crash re-reads the page, and storing it twice
 * changes nothing.
 */
import type { CrmName, EngagementEvent, Lead, SalesActivity } from '../src/model/lead.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { readSideFeed } from './side-feed.js';

export interface ActivityPollResult {
  pages: number;
  activities: number;
  /** Leads evaluated again because what sales logged on them changed. */
  reevaluated: number;
}

/** Engagement events kept per lead (the newest). */
const MAX_EVENTS = 50;

export function activitiesEnabled(ctx: SyncContext): boolean {
  return ctx.config.file.sync.activities.read;
}

/** Reads the CRM's activity feed from its cursor (`full`: from the start) and stores it page by page. */
export async function pollActivities(ctx: SyncContext, crm: CrmName, options: { full?: boolean; pass?: string } = {}): Promise<ActivityPollResult> {
  const result: ActivityPollResult = { pages: 0, activities: 0, reevaluated: 0 };
  const activities = ctx.connectors[crm].activities?.bind(ctx.connectors[crm]);
  if (!activities || !activitiesEnabled(ctx)) return result;
  await readSideFeed(ctx, crm, (position, feedOptions) => activities(position, feedOptions), {
    ...(options.full ? { full: true } : {}),
    refused: 'Tasks (give the integration user read access to Task, or set sync.activities.read: false)',
    apply: async (page) => {
      const applied = await ctx.activities.apply(page.activities);
      // A full read is followed by an evaluation of every lead (jobs/poll.ts); otherwise the leads
      // of the records that changed are evaluated now.
      if (!options.full && applied.changed.length > 0) {
        const leads = new Set<string>();
        for (const ref of applied.changed) {
          const leadId = await ctx.leads.linkOf(crm, ref.object, ref.id);
          if (leadId) leads.add(leadId);
        }
        // Its inputs moved (as an ingest's would): an evaluation running now goes round again, and a
        // pass waiting on the lead waits for the new evaluation.
        for (const leadId of leads) await ctx.leads.bumpVersion(leadId);
        await enqueueEvaluate(ctx, leads, 'sales activity logged', options.pass ? { pass: options.pass } : {});
        result.reevaluated += leads.size;
      }
      result.pages += 1;
      result.activities += page.activities.length;
    },
  });
  return result;
}

const ENGAGEMENT_KIND = { call: 'call', email: 'sales_email' } as const;

/** What sales logged on the lead's Salesforce records (its record, and the Lead it was converted from). */
export async function salesActivityFor(ctx: SyncContext, lead: Lead): Promise<SalesActivity | undefined> {
  if (!activitiesEnabled(ctx)) return undefined;
  const link = lead.links.salesforce;
  if (!link) return undefined;
  const records = [link.id, ...(link.convertedFrom ? [link.convertedFrom] : [])];
  const completed = (await ctx.activities.forRecords(records)).filter((a) => a.completedAt !== null);
  if (completed.length === 0) return undefined;
  const latest = completed[0] as (typeof completed)[number];
  const events: EngagementEvent[] = ctx.config.file.sync.activities.engagement
    ? completed.slice(0, MAX_EVENTS).map((a) => ({ kind: ENGAGEMENT_KIND[a.kind], at: new Date(Date.parse(a.completedAt as string)).toISOString(), ...(a.subject ? { detail: a.subject.slice(0, 200) } : {}) }))
    : [];
  return { lastTouchAt: new Date(Date.parse(latest.completedAt as string)).toISOString(), lastTouchKind: latest.kind, lastTouchBy: latest.ownerId, events };
}
