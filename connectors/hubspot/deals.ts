/**
 * The deal feed, for a portal whose sales use deals: CRM search on `hs_lastmodifieddate` with the
 * contacts' `(timestamp, id)` cursor (change-feed.ts `readSearchPages`), and, per page, the deals'
 * contacts in one v4 batch read (`POST /crm/v4/associations/deals/contacts/batch/read`, up to 200
 * inputs, the search page). So a page of up to 200 deals costs two calls.
 *
 * Vendor behaviour relied on (crm-objects.ts in the sandbox has the sources):
 * - Deals carry `hs_lastmodifieddate` (no `lastmodifieddate`); `hs_is_closed` and
 *   `hs_is_closed_won` say closed and won whatever a portal names its stages, `dealstage` is the
 *   stage's id, `amount` a number as text, `closedate` and `createdate` ISO date-times.
 * - Associating a contact moves the deal's `num_associated_contacts`, so its modification time:
 *   a contact added later reaches the feed with the deal.
 * - The v4 batch read answers results only for deals with associations (an input without any may
 *   come back as an error of a 207); `toObjectId` is a string in the reference, a number in examples.
 * - Archived deals are never returned by search: a deal archived after it was read stays on its
 *   people until an admin re-reads (the contacts' archived listing has no deal counterpart here).
 */
import { z } from 'zod';
import type { OpportunityFact, OpportunityPage, RecordProblem, StreamPosition } from '../types.js';
import type { ChangeFeedOptions, SearchRequest } from './change-feed.js';
import { readSearchPages } from './change-feed.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';

export const DEALS_STREAM = 'deals';
export const DEAL_LAST_MODIFIED = 'hs_lastmodifieddate';
export const DEAL_PROPERTIES = ['dealname', 'dealstage', 'pipeline', 'amount', 'closedate', 'createdate', DEAL_LAST_MODIFIED, 'hs_is_closed', 'hs_is_closed_won', 'hs_object_id'];

const searchAnswerSchema = z.object({ results: z.array(z.unknown()) });

const text = z.string().nullish().transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v));
const dealSchema = z.object({
  id: z.string().regex(/^\d+$/),
  properties: z.object({
    dealname: text,
    dealstage: text,
    amount: text.refine((v) => v === null || Number.isFinite(Number(v)), 'not a number'),
    closedate: text,
    createdate: text,
    [DEAL_LAST_MODIFIED]: z.string(),
    hs_is_closed: text,
    hs_is_closed_won: text,
  }),
  createdAt: z.union([z.date(), z.string()]).optional(),
});

const associationsAnswerSchema = z.object({
  results: z.array(z.object({
    _from: z.object({ id: z.string() }),
    to: z.array(z.object({ toObjectId: z.union([z.string(), z.number()]).transform(String) })),
    paging: z.unknown().optional(),
  })),
});

/** An ISO date-time or epoch ms, as ISO; null when neither. */
function isoOf(value: string | null): string | null {
  if (value === null) return null;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function toFact(raw: unknown, contacts: readonly string[]): { fact: OpportunityFact } | { problem: RecordProblem } {
  const parsed = dealSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: { ref: null, code: 'VALIDATION', message: `a HubSpot deal does not have the expected shape: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim() } };
  }
  const p = parsed.data.properties;
  const modifiedAt = isoOf(p[DEAL_LAST_MODIFIED]);
  const createdAt = isoOf(p.createdate) ?? (parsed.data.createdAt instanceof Date ? parsed.data.createdAt.toISOString() : isoOf(parsed.data.createdAt ?? null));
  if (!modifiedAt || !createdAt) return { problem: { ref: null, code: 'VALIDATION', message: `HubSpot deal ${parsed.data.id} has no readable ${DEAL_LAST_MODIFIED} or createdate` } };
  const closeDate = isoOf(p.closedate)?.slice(0, 10) ?? null;
  return {
    fact: {
      source: 'hubspot',
      id: parsed.data.id,
      name: p.dealname,
      stage: p.dealstage,
      closed: p.hs_is_closed === 'true',
      won: p.hs_is_closed_won === 'true',
      amount: p.amount === null ? null : Number(p.amount),
      closeDate,
      createdAt,
      modifiedAt,
      deleted: false,
      contacts: contacts.map((id) => ({ ref: { object: 'contact' as const, id }, removed: false })),
    },
  };
}

/**
 * Each deal's contacts: one v4 batch read for the page. `complete` is false when a deal has more
 * than one page of contacts (500): the rest are not read, so the list is not the whole truth.
 */
async function contactsOf(client: HubSpotClient, dealIds: readonly string[]): Promise<{ contacts: Map<string, string[]>; complete: boolean }> {
  const out = new Map<string, string[]>();
  if (dealIds.length === 0) return { contacts: out, complete: true };
  const answer = await client.call('read', 'associations.deals.contacts.batchRead', (sdk, o) =>
    sdk.crm.associations.v4.batchApi.getPage('deals', 'contacts', { inputs: dealIds.map((id) => ({ id })) }, o),
  );
  const parsed = associationsAnswerSchema.safeParse(answer);
  if (!parsed.success) throw unexpectedAnswer('deal associations batch read', parsed.error.issues[0]?.message ?? 'not a batch response');
  for (const r of parsed.data.results) out.set(r._from.id, [...(out.get(r._from.id) ?? []), ...r.to.map((t) => t.toObjectId)]);
  return { contacts: out, complete: parsed.data.results.every((r) => r.paging === undefined || r.paging === null) };
}

/** Deals changed from `start` (every deal from null), with their contacts, a page per search. */
export async function* readDeals(client: HubSpotClient, start: StreamPosition | null, options: ChangeFeedOptions): AsyncGenerator<OpportunityPage> {
  // POST /crm/v3/objects/deals/search (reference H3): `sorts` objects pass the SDK's serializer untouched.
  const search = async (request: SearchRequest): Promise<{ results: readonly unknown[] }> => {
    const answer = await client.call('search', 'deals.search', (sdk, o) =>
      sdk.crm.deals.searchApi.doSearch({
        ...request,
        sorts: request.sorts as unknown as string[],
        filterGroups: request.filterGroups as unknown as Parameters<typeof sdk.crm.deals.searchApi.doSearch>[0]['filterGroups'],
      }, o),
    );
    const parsed = searchAnswerSchema.safeParse(answer);
    if (!parsed.success) throw unexpectedAnswer('deals search', parsed.error.issues[0]?.message ?? 'not a search page');
    return parsed.data;
  };
  for await (const page of readSearchPages({ search, properties: DEAL_PROPERTIES, lastModified: DEAL_LAST_MODIFIED }, start, options)) {
    const ids = page.raws.map((raw) => z.object({ id: z.string() }).safeParse(raw)).flatMap((r) => (r.success ? [r.data.id] : []));
    const { contacts, complete } = await contactsOf(client, ids);
    const out: OpportunityPage = { stream: DEALS_STREAM, opportunities: [], complete, problems: [...page.problems], position: page.position };
    for (const raw of page.raws) {
      const id = z.object({ id: z.string() }).safeParse(raw);
      const mapped = toFact(raw, id.success ? (contacts.get(id.data.id) ?? []) : []);
      if ('fact' in mapped) out.opportunities.push(mapped.fact);
      else out.problems.push(mapped.problem);
    }
    yield out;
  }
}
