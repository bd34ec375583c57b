/**
 * The company feed: HubSpot companies as AccountFacts, for matching leads to accounts.
 *
 * - From an empty position: every live company through the list endpoint,
 *   `GET /crm/v3/objects/companies` (pages of 100 chained by `paging.next.after`, reference H1),
 *   the cheapest full read and free of search's 10,000-result cap. Only its last page carries a
 *   position: `now - safetyMarginMs` with an empty id, where search takes over (inclusive).
 * - From a position: CRM search on `hs_lastmodifieddate` with the contacts' `(timestamp, id)`
 *   cursor (change-feed.ts `readSearchPages`: 200 a page, keyset paging so the cap is never met,
 *   the index lag kept behind by the safety margin).
 * - Archived companies: search never returns them (H3), so the list endpoint with `archived=true`
 *   is read whole and those archived after the `companies:archived` position are handed on as
 *   deleted, with the archive time as their modification time.
 *
 * Vendor behaviour relied on: companies carry `hs_lastmodifieddate` (no `lastmodifieddate`),
 * `domain` (the company domain name, without scheme), `hubspot_owner_id` (an owner id, as on
 * contacts), `createdate`; datetimes come as ISO strings (the SDK leaves property values as text;
 * `createdAt`, `updatedAt` and `archivedAt` it turns into Dates). [C Companies guide
 * https://developers.hubspot.com/docs/api-reference/crm-companies-v3/guide; the sandbox's
 * crm-objects.ts has the sources]
 */
import { z } from 'zod';
import type { AccountFact, AccountPage, RecordProblem, StreamPosition } from '../types.js';
import type { ChangeFeedOptions, Cursor, SearchRequest } from './change-feed.js';
import { compareCursors, cursorFromPosition, positionFromCursor, readSearchPages } from './change-feed.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';
import { LIST_PAGE_LIMIT } from './list.js';

export const COMPANIES_STREAM = 'companies';
export const ARCHIVED_COMPANIES_STREAM = 'companies:archived';
export const COMPANY_LAST_MODIFIED = 'hs_lastmodifieddate';
export const COMPANY_PROPERTIES = ['name', 'domain', 'hubspot_owner_id', 'createdate', COMPANY_LAST_MODIFIED, 'hs_object_id'];

const searchAnswerSchema = z.object({ results: z.array(z.unknown()) });
const pageSchema = z.object({
  results: z.array(z.unknown()),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});

const text = z.string().nullish().transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v.trim()));
const when = z.union([z.date(), z.string()]).nullish();
const companySchema = z.object({
  id: z.string().regex(/^\d+$/, 'not a HubSpot object id'),
  properties: z.object({
    name: text,
    domain: text,
    hubspot_owner_id: text.refine((v) => v === null || /^\d+$/.test(v), 'not an owner id'),
    createdate: text,
    [COMPANY_LAST_MODIFIED]: text,
  }),
  createdAt: when,
  updatedAt: when,
  archivedAt: when,
});

/** An ISO date-time, epoch ms or Date, as ISO; null when none. */
function isoOf(value: string | Date | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function problem(message: string): RecordProblem {
  return { ref: null, code: 'VALIDATION', message };
}

/** One raw company as a fact (archived ones as deleted, modified when archived), or the problem with it. */
export function companyFact(raw: unknown, archived = false): { fact: AccountFact } | { problem: RecordProblem } {
  const parsed = companySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const id = z.object({ id: z.string() }).safeParse(raw);
    return { problem: problem(`HubSpot company ${id.success ? id.data.id : ''} does not have the expected shape: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.replace(/\s+/g, ' ').trim()) };
  }
  const c = parsed.data;
  const p = c.properties;
  const createdAt = isoOf(p.createdate) ?? isoOf(c.createdAt);
  const modifiedAt = archived ? (isoOf(c.archivedAt) ?? isoOf(c.updatedAt)) : (isoOf(p[COMPANY_LAST_MODIFIED]) ?? isoOf(c.updatedAt));
  if (!createdAt || !modifiedAt) return { problem: problem(`HubSpot company ${c.id} has no readable createdate or ${archived ? 'archivedAt' : COMPANY_LAST_MODIFIED}`) };
  return { fact: { source: 'hubspot', id: c.id, name: p.name, website: p.domain, ownerId: p.hubspot_owner_id, createdAt, modifiedAt, deleted: archived } };
}

function pageOf(stream: string, raws: readonly unknown[], position: StreamPosition | null, archived = false, problems: RecordProblem[] = []): AccountPage {
  const out: AccountPage = { stream, accounts: [], problems: [...problems], position };
  for (const raw of raws) {
    const mapped = companyFact(raw, archived);
    if ('fact' in mapped) out.accounts.push(mapped.fact);
    else out.problems.push(mapped.problem);
  }
  return out;
}

async function listPage(client: HubSpotClient, after: string | undefined, archived: boolean): Promise<{ results: unknown[]; after: string | undefined }> {
  // getPage(limit, after, properties, propertiesWithHistory, associations, archived).
  const answer = await client.call('read', archived ? 'companies.list.archived' : 'companies.list', (sdk, o) =>
    sdk.crm.companies.basicApi.getPage(LIST_PAGE_LIMIT, after, [...COMPANY_PROPERTIES], undefined, undefined, archived, o),
  );
  const parsed = pageSchema.safeParse(answer);
  if (!parsed.success) throw unexpectedAnswer('companies list', parsed.error.issues[0]?.message ?? 'not a page');
  return { results: parsed.data.results, after: parsed.data.paging?.next?.after };
}

/** Every live company, a page per list call; the last page's position is where search takes over. */
async function* readAllCompanies(client: HubSpotClient, options: ChangeFeedOptions): AsyncGenerator<AccountPage> {
  const takeOver: StreamPosition = { ts: new Date(options.now - options.safetyMarginMs).toISOString(), id: '' };
  let after: string | undefined;
  let pages = 0;
  do {
    if (options.signal?.aborted) return;
    if (options.maxPages !== undefined && pages >= options.maxPages) return;
    const page = await listPage(client, after, false);
    after = page.after;
    pages += 1;
    yield pageOf(COMPANIES_STREAM, page.results, after === undefined ? takeOver : null);
  } while (after !== undefined);
}

/** Companies changed from `start`, through search on hs_lastmodifieddate. */
async function* searchCompanies(client: HubSpotClient, start: StreamPosition, options: ChangeFeedOptions): AsyncGenerator<AccountPage> {
  // POST /crm/v3/objects/companies/search (reference H3): `sorts` objects pass the SDK's serializer untouched.
  const search = async (request: SearchRequest): Promise<{ results: readonly unknown[] }> => {
    const answer = await client.call('search', 'companies.search', (sdk, o) =>
      sdk.crm.companies.searchApi.doSearch({
        ...request,
        sorts: request.sorts as unknown as string[],
        filterGroups: request.filterGroups as unknown as Parameters<typeof sdk.crm.companies.searchApi.doSearch>[0]['filterGroups'],
      }, o),
    );
    const parsed = searchAnswerSchema.safeParse(answer);
    if (!parsed.success) throw unexpectedAnswer('companies search', parsed.error.issues[0]?.message ?? 'not a search page');
    return parsed.data;
  };
  for await (const page of readSearchPages({ search, properties: COMPANY_PROPERTIES, lastModified: COMPANY_LAST_MODIFIED }, start, options)) {
    yield pageOf(COMPANIES_STREAM, page.raws, page.position, false, page.problems);
  }
}

const archivedKeySchema = z.object({ id: z.string().min(1), archivedAt: when, updatedAt: when });

/**
 * Companies archived after `start`, as deleted facts. The archived list is not ordered by archive
 * time, so it is read whole and the position (newest archive time, id) rides on its last page.
 */
async function* readArchivedCompanies(client: HubSpotClient, start: StreamPosition | null, signal?: AbortSignal): AsyncGenerator<AccountPage> {
  const from = cursorFromPosition(start);
  let newest: Cursor | null = from;
  let after: string | undefined;
  do {
    if (signal?.aborted) return;
    const page = await listPage(client, after, true);
    const fresh: unknown[] = [];
    for (const raw of page.results) {
      const key = archivedKeySchema.safeParse(raw);
      if (!key.success) continue;
      const ts = Date.parse(isoOf(key.data.archivedAt) ?? isoOf(key.data.updatedAt) ?? '');
      if (!Number.isFinite(ts)) continue;
      const cursor: Cursor = { ts, id: key.data.id };
      if (from && compareCursors(cursor, from) <= 0) continue;
      fresh.push(raw);
      if (!newest || compareCursors(cursor, newest) > 0) newest = cursor;
    }
    after = page.after;
    if (fresh.length > 0 || after === undefined) {
      yield pageOf(ARCHIVED_COMPANIES_STREAM, fresh, after === undefined ? positionFromCursor(newest) : null, true);
    }
  } while (after !== undefined);
}

export interface CompanyFeedOptions extends ChangeFeedOptions {
  /** Whether to list archived companies on this call (the connector spaces these scans out). */
  archived: boolean;
}

/** Live companies from the `companies` position (all of them from none), then, if asked, the newly archived. */
export async function* readCompanies(
  client: HubSpotClient,
  position: { live: StreamPosition | null; archived: StreamPosition | null },
  options: CompanyFeedOptions,
): AsyncGenerator<AccountPage> {
  if (position.live) yield* searchCompanies(client, position.live, options);
  else yield* readAllCompanies(client, options);
  if (options.archived && !options.signal?.aborted) yield* readArchivedCompanies(client, position.archived, options.signal);
}
