/**
 * Passes over every stored lead, a page of the store at a time: a pass keeps what it computes
 * (a fold, src/rules/fold.ts), never the leads, so that it fits a worker at a million people.
 */
import type { Lead } from '../src/model/lead.js';
import type { Fold } from '../src/rules/fold.js';
import type { StoredLead } from '../src/store/leads.js';
import type { SyncContext } from './context.js';

/** Leads decoded at once by a pass. */
export const STORE_PASS_PAGE = 500;

/** Feeds every stored lead to the fold, a page at a time, and returns its result. */
export function foldStoredLeads<R>(ctx: SyncContext, fold: Fold<Lead, R>): Promise<R> {
  return foldStoredPages(ctx, fold, async (page) => page.map((stored) => stored.lead));
}

/** The same with what each page's leads need from Redis besides themselves (`prepare`). */
export async function foldStoredPages<T, R>(ctx: SyncContext, fold: Fold<T, R>, prepare: (page: StoredLead[]) => Promise<Iterable<T>>): Promise<R> {
  for await (const page of ctx.leads.all(STORE_PASS_PAGE)) fold.add(await prepare(page));
  return fold.result();
}
