/**
 * The opportunity feed: Opportunities and OpportunityContactRoles, each followed by SOQL on its
 * `(SystemModstamp, Id)` cursor through `queryAll` (deleted rows come back with IsDeleted = true),
 * like the Lead and Contact feed (change-feed.ts). A changed Opportunity is handed on with every
 * Contact on it now (one `OpportunityContactRole WHERE OpportunityId IN (...)` query per 300
 * opportunities); a changed role is handed on with its Opportunity as it is now (one
 * `Opportunity WHERE Id IN (...)` query per 300). So a page of up to 2,000 rows costs 1 + ceil(n / 300)
 * query calls.
 *
 * Vendor behaviour relied on:
 * - Opportunity's IsClosed and IsWon follow StageName (Object Reference, "Opportunity": "If the
 *   StageName is updated, then the ForecastCategoryName, IsClosed, IsWon, and Probability are
 *   automatically updated"): they, not the stage's name, say closed and won, whatever an org calls its stages.
 * - CloseDate is a date (`YYYY-MM-DD` in REST), Amount a currency number or null, CreatedDate and
 *   SystemModstamp date-times (`2026-12-01T10:00:00.000+0000`).
 * - OpportunityContactRole (OpportunityId, ContactId, IsDeleted, SystemModstamp) names the Contacts on
 *   an Opportunity; removing a role moves the role's SystemModstamp, not the Opportunity's.
 */
import { z } from 'zod';
import type { ChangeOptions, FeedPosition, OpportunityFact, OpportunityPage, RecordProblem } from '../types.js';
import { chunk } from './batch.js';
import type { FeedDeps, StreamOptions } from './change-feed.js';
import { rowProblem, sideFeedOptions, visibleModstampPages } from './change-feed.js';
import { parseOrThrow } from './client.js';
import { IDS_PER_QUERY } from './records.js';
import { byIdsQuery, isSalesforceId, soqlId, soqlIn, toIsoDateTime } from './soql.js';

export const OPPORTUNITY_STREAMS = ['Opportunity', 'OpportunityContactRole'] as const;

const OPPORTUNITY_FIELDS = ['Id', 'Name', 'StageName', 'IsClosed', 'IsWon', 'Amount', 'CloseDate', 'CreatedDate', 'SystemModstamp', 'IsDeleted'];
const ROLE_FIELDS = ['Id', 'OpportunityId', 'ContactId', 'IsDeleted', 'SystemModstamp'];

const sfId = z.string().refine(isSalesforceId, 'not a Salesforce id');
const dateTime = z.string().transform((v, ctx) => toIsoDateTime(v) ?? (ctx.addIssue({ code: 'custom', message: 'not a date-time' }), z.NEVER));

const opportunityRowSchema = z.looseObject({
  Id: sfId,
  Name: z.string().nullable(),
  StageName: z.string().nullable(),
  IsClosed: z.boolean(),
  IsWon: z.boolean(),
  Amount: z.number().finite().nullable(),
  CloseDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable(),
  CreatedDate: dateTime,
  SystemModstamp: dateTime,
  IsDeleted: z.boolean().default(false),
});
type OpportunityRow = z.infer<typeof opportunityRowSchema>;

const roleRowSchema = z.looseObject({
  Id: sfId,
  OpportunityId: sfId,
  ContactId: sfId.nullable(),
  IsDeleted: z.boolean().default(false),
  SystemModstamp: dateTime,
});
type RoleRow = z.infer<typeof roleRowSchema>;

function factOf(row: OpportunityRow, contacts: OpportunityFact['contacts']): OpportunityFact {
  return {
    source: 'salesforce',
    id: row.Id,
    name: row.Name,
    stage: row.StageName,
    closed: row.IsClosed,
    won: row.IsWon,
    amount: row.Amount,
    closeDate: row.CloseDate,
    createdAt: row.CreatedDate,
    modifiedAt: row.SystemModstamp,
    deleted: row.IsDeleted,
    contacts,
  };
}

/** Salesforce ids compare on their first 15 characters. */
const idKey = (id: string) => id.slice(0, 15);

async function rolesOf(deps: FeedDeps, opportunityIds: readonly string[]): Promise<Map<string, RoleRow[]>> {
  const out = new Map<string, RoleRow[]>();
  for (const part of chunk(opportunityIds, IDS_PER_QUERY)) {
    const soql = `SELECT ${ROLE_FIELDS.join(', ')} FROM OpportunityContactRole WHERE OpportunityId IN ${soqlIn(part.map(soqlId))}`;
    for (const raw of await deps.client.queryAll(`roles of ${part.length} opportunities`, soql)) {
      const row = parseOrThrow(roleRowSchema, raw, 'OpportunityContactRole');
      out.set(idKey(row.OpportunityId), [...(out.get(idKey(row.OpportunityId)) ?? []), row]);
    }
  }
  return out;
}

async function opportunitiesById(deps: FeedDeps, ids: readonly string[], problems: RecordProblem[]): Promise<Map<string, OpportunityRow>> {
  const out = new Map<string, OpportunityRow>();
  for (const part of chunk(ids, IDS_PER_QUERY)) {
    const page = await deps.client.queryPage(`read Opportunity x${part.length}`, byIdsQuery('Opportunity', OPPORTUNITY_FIELDS, part), { scanAll: true });
    for (const raw of page.records) {
      const row = opportunityRowSchema.safeParse(raw);
      if (row.success) out.set(idKey(row.data.Id), row.data);
      else problems.push(rowProblem('Opportunity', raw, row.error));
    }
  }
  return out;
}

async function* opportunityStream(deps: FeedDeps, start: FeedPosition[string], options: StreamOptions): AsyncGenerator<OpportunityPage> {
  for await (const page of visibleModstampPages(deps.client, 'Opportunity', OPPORTUNITY_FIELDS, start ?? null, options)) {
    const out: OpportunityPage = { stream: 'Opportunity', opportunities: [], complete: true, problems: [], position: page.position };
    const rows: OpportunityRow[] = [];
    for (const raw of page.rows) {
      const row = opportunityRowSchema.safeParse(raw);
      if (row.success) rows.push(row.data);
      else out.problems.push(rowProblem('Opportunity', raw, row.error));
    }
    const live = rows.filter((r) => !r.IsDeleted).map((r) => r.Id);
    const roles = live.length > 0 ? await rolesOf(deps, live) : new Map<string, RoleRow[]>();
    for (const row of rows) {
      const contacts = (roles.get(idKey(row.Id)) ?? [])
        .filter((r): r is RoleRow & { ContactId: string } => r.ContactId !== null && !r.IsDeleted)
        .map((r) => ({ ref: { object: 'Contact' as const, id: r.ContactId }, removed: false }));
      out.opportunities.push(factOf(row, contacts));
    }
    yield out;
  }
}

async function* roleStream(deps: FeedDeps, start: FeedPosition[string], options: StreamOptions): AsyncGenerator<OpportunityPage> {
  for await (const page of visibleModstampPages(deps.client, 'OpportunityContactRole', ROLE_FIELDS, start ?? null, options)) {
    const out: OpportunityPage = { stream: 'OpportunityContactRole', opportunities: [], complete: false, problems: [], position: page.position };
    const roles: RoleRow[] = [];
    for (const raw of page.rows) {
      const row = roleRowSchema.safeParse(raw);
      if (row.success) roles.push(row.data);
      else out.problems.push(rowProblem('OpportunityContactRole', raw, row.error));
    }
    const ids = [...new Map(roles.map((r) => [idKey(r.OpportunityId), r.OpportunityId])).values()];
    const opportunities = ids.length > 0 ? await opportunitiesById(deps, ids, out.problems) : new Map<string, OpportunityRow>();
    const byOpportunity = new Map<string, OpportunityFact['contacts']>();
    for (const role of roles) {
      if (role.ContactId === null) continue;
      const list = byOpportunity.get(idKey(role.OpportunityId)) ?? [];
      list.push({ ref: { object: 'Contact', id: role.ContactId }, removed: role.IsDeleted });
      byOpportunity.set(idKey(role.OpportunityId), list);
    }
    for (const [key, contacts] of byOpportunity) {
      const row = opportunities.get(key);
      // An Opportunity hard-deleted since (no row even through queryAll): no one carries it.
      if (row) out.opportunities.push(factOf(row, contacts));
    }
    yield out;
  }
}

/** Both streams from their positions (an empty position reads every opportunity and role). */
export async function* readOpportunities(deps: FeedDeps, position: FeedPosition, options: ChangeOptions & { pageSize?: number } = {}): AsyncGenerator<OpportunityPage> {
  const stream = sideFeedOptions(options);
  yield* opportunityStream(deps, position.Opportunity ?? null, stream);
  if (options.signal?.aborted) return;
  yield* roleStream(deps, position.OpportunityContactRole ?? null, stream);
}
