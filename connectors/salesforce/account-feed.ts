/**
 * The account feed: Accounts by SOQL on the `(SystemModstamp, Id)` cursor through `queryAll`, like
 * the Lead, Contact and Opportunity feeds (change-feed.ts, opportunities.ts): deleted Accounts (in
 * the recycle bin) come back with IsDeleted = true and are handed on as deleted. One query call per
 * page of up to 2,000 Accounts.
 *
 * Vendor behaviour relied on (Object Reference, "Account"; SOQL and SOSL Reference, "ALL ROWS" and
 * REST `queryAll`):
 * - Website is free text (`www.acme.com`, `https://acme.com/`); it is handed on as held.
 * - OwnerId is a User id; CreatedDate and SystemModstamp are date-times
 *   (`2026-12-01T10:00:00.000+0000`). SystemModstamp moves on every change, system ones included.
 * - A user without Read on Account cannot see the object at all: SOQL on it answers INVALID_TYPE,
 *   raised as PERMISSION for the caller to report what to grant (change-feed.ts invisibleObjectRefusal).
 */
import { z } from 'zod';
import type { AccountFact, AccountPage, ChangeOptions, FeedPosition } from '../types.js';
import type { FeedDeps } from './change-feed.js';
import { rowProblem, sideFeedOptions, visibleModstampPages } from './change-feed.js';
import { isSalesforceId, toIsoDateTime } from './soql.js';

export const ACCOUNT_STREAM = 'Account';

export const ACCOUNT_FIELDS = ['Id', 'Name', 'Website', 'OwnerId', 'CreatedDate', 'SystemModstamp', 'IsDeleted'];

const sfId = z.string().refine(isSalesforceId, 'not a Salesforce id');
const dateTime = z.string().transform((v, ctx) => toIsoDateTime(v) ?? (ctx.addIssue({ code: 'custom', message: 'not a date-time' }), z.NEVER));
const text = z.string().nullish().transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v));

const accountRowSchema = z.looseObject({
  Id: sfId,
  Name: text,
  Website: text,
  OwnerId: sfId.nullish().transform((v) => v ?? null),
  CreatedDate: dateTime,
  SystemModstamp: dateTime,
  IsDeleted: z.boolean().default(false),
});
type AccountRow = z.infer<typeof accountRowSchema>;

export function accountFactOf(row: AccountRow): AccountFact {
  return {
    source: 'salesforce',
    id: row.Id,
    name: row.Name,
    website: row.Website,
    ownerId: row.OwnerId,
    createdAt: row.CreatedDate,
    modifiedAt: row.SystemModstamp,
    deleted: row.IsDeleted,
  };
}

/** Raw query rows as facts; a row of the wrong shape becomes a problem and the rest go on. */
export function accountPageOf(rows: readonly unknown[], position: AccountPage['position']): AccountPage {
  const out: AccountPage = { stream: ACCOUNT_STREAM, accounts: [], problems: [], position };
  for (const raw of rows) {
    const row = accountRowSchema.safeParse(raw);
    if (row.success) out.accounts.push(accountFactOf(row.data));
    else out.problems.push(rowProblem('Account', raw, row.error));
  }
  return out;
}

/** Accounts changed from the position (every Account, deleted ones included, from an empty one). */
export async function* readAccounts(deps: Pick<FeedDeps, 'client'>, position: FeedPosition, options: ChangeOptions & { pageSize?: number } = {}): AsyncGenerator<AccountPage> {
  for await (const page of visibleModstampPages(deps.client, ACCOUNT_STREAM, ACCOUNT_FIELDS, position[ACCOUNT_STREAM] ?? null, sideFeedOptions(options))) {
    yield accountPageOf(page.rows, page.position);
  }
}
