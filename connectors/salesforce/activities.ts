/**
 * The activity feed: Tasks reps log on Leads and Contacts that are calls or emails, followed by
 * SOQL on their `(SystemModstamp, Id)` cursor through `queryAll` (deleted ones come back with
 * IsDeleted = true), one query per page of up to 2,000. The connector's own Tasks (handoffs,
 * escalations: TaskSubtype `Task`) are not calls or emails and are not read.
 *
 * Vendor behaviour relied on ([C] Object Reference, Task:
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_task.htm):
 * - TaskSubtype (Task, Email, ListEmail, Cadence, Call, LinkedIn) is set when a task is created
 *   (a logged call is `Call`, an email logged from Salesforce or a mail client is `Email`); the
 *   older Type picklist (Call, Email, Meeting, Other) is what many orgs still fill in. Either says.
 * - WhoId is a Lead (`00Q`) or a Contact (`003`); IsClosed follows the status; CompletedDateTime
 *   (API 46.0+) is when the task was saved as completed. A completed task without it (logged
 *   before the field existed) is dated by its due date, ActivityDate.
 */
import { z } from 'zod';
import type { ActivityFact, ActivityPage, ChangeOptions, FeedPosition } from '../types.js';
import type { FeedDeps } from './change-feed.js';
import { rowProblem, sideFeedOptions, visibleModstampPages } from './change-feed.js';
import { isSalesforceId, toIsoDateTime } from './soql.js';

export const ACTIVITY_STREAM = 'Task';

export const ACTIVITY_FIELDS = ['Id', 'WhoId', 'OwnerId', 'Subject', 'TaskSubtype', 'Type', 'IsClosed', 'CompletedDateTime', 'ActivityDate', 'SystemModstamp', 'IsDeleted'];

/** Calls and emails only (a code-defined condition: no input reaches it). */
export const ACTIVITY_FILTER = "TaskSubtype IN ('Call', 'Email') OR Type IN ('Call', 'Email')";

const sfId = z.string().refine(isSalesforceId, 'not a Salesforce id');
const dateTime = z.string().transform((v, ctx) => toIsoDateTime(v) ?? (ctx.addIssue({ code: 'custom', message: 'not a date-time' }), z.NEVER));
const text = z.string().nullable().optional().transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v));

const taskRowSchema = z.looseObject({
  Id: sfId,
  WhoId: sfId.nullable().optional(),
  OwnerId: sfId.nullable().optional(),
  Subject: text,
  TaskSubtype: text,
  Type: text,
  IsClosed: z.boolean(),
  CompletedDateTime: dateTime.nullable().optional(),
  ActivityDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable().optional(),
  SystemModstamp: dateTime,
  IsDeleted: z.boolean().default(false),
});
type TaskRow = z.infer<typeof taskRowSchema>;

function kindOf(row: TaskRow): ActivityFact['kind'] | null {
  for (const value of [row.TaskSubtype, row.Type]) {
    if (value === 'Call') return 'call';
    if (value === 'Email') return 'email';
  }
  return null;
}

/** One page of Task rows as facts; a row of the wrong shape is a problem, the rest go on. */
export function activityPageOf(rows: readonly unknown[], position: ActivityPage['position']): ActivityPage {
  const page: ActivityPage = { stream: ACTIVITY_STREAM, activities: [], problems: [], position };
  for (const raw of rows) {
    const parsed = taskRowSchema.safeParse(raw);
    if (!parsed.success) {
      page.problems.push(rowProblem('Task', raw, parsed.error));
      continue;
    }
    const row = parsed.data;
    const kind = kindOf(row);
    const prefix = row.WhoId?.slice(0, 3);
    // On an Account or an Opportunity only, or neither a call nor an email: not a person's touch.
    if (kind === null || (prefix !== '00Q' && prefix !== '003')) continue;
    const completedAt = row.IsClosed ? (row.CompletedDateTime ?? (row.ActivityDate ? `${row.ActivityDate}T00:00:00.000Z` : null)) : null;
    page.activities.push({
      source: 'salesforce',
      id: row.Id,
      kind,
      who: { object: prefix === '00Q' ? 'Lead' : 'Contact', id: row.WhoId as string },
      ownerId: row.OwnerId ?? null,
      subject: row.Subject,
      completedAt,
      modifiedAt: row.SystemModstamp,
      deleted: row.IsDeleted,
    });
  }
  return page;
}

/** Calls and emails changed from the position (every one, deleted ones included, from an empty one). */
export async function* readActivities(deps: Pick<FeedDeps, 'client'>, position: FeedPosition, options: ChangeOptions & { pageSize?: number } = {}): AsyncGenerator<ActivityPage> {
  const pages = visibleModstampPages(deps.client, ACTIVITY_STREAM, ACTIVITY_FIELDS, position[ACTIVITY_STREAM] ?? null, sideFeedOptions(options, ACTIVITY_FILTER));
  for await (const page of pages) yield activityPageOf(page.rows, page.position);
}
