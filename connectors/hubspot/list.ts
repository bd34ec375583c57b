/**
 * Reads through the contacts list endpoint, `GET /crm/v3/objects/contacts` (reference H1): pages
 * of at most 100 (`limit` 100, the SDK's own getAll size) chained by `paging.next.after`, which is
 * absent on the last page. It is the cheapest full read: n contacts cost ceil(n/100) calls. With
 * `archived=true` it lists archived contacts only, which search never returns (H3).
 */
import { z } from 'zod';
import type { ChangePage, RemovedRecord, StreamPosition } from '../types.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';
import type { MappedContacts } from './mapping.js';
import { CONTACTS_STREAM, compareCursors, cursorFromPosition, positionFromCursor } from './change-feed.js';
import type { Cursor } from './change-feed.js';

export const LIST_PAGE_LIMIT = 100;
export const ARCHIVED_STREAM = 'contacts:archived';

const pageSchema = z.object({
  results: z.array(z.unknown()),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});

async function listPage(
  client: HubSpotClient,
  after: string | undefined,
  properties: readonly string[],
  archived: boolean,
): Promise<{ results: unknown[]; after: string | undefined }> {
  // getPage(limit, after, properties, propertiesWithHistory, associations, archived): the SDK
  // sends `properties` as repeated query parameters.
  const answer = await client.call('read', archived ? 'contacts.list.archived' : 'contacts.list', (sdk, o) =>
    sdk.crm.contacts.basicApi.getPage(LIST_PAGE_LIMIT, after, [...properties], undefined, undefined, archived, o),
  );
  const parsed = pageSchema.safeParse(answer);
  if (!parsed.success) throw unexpectedAnswer('contacts list', parsed.error.issues[0]?.message ?? 'not a page');
  return { results: parsed.data.results, after: parsed.data.paging?.next?.after };
}

/** Every live contact, one ChangePage per list call. */
export async function* readAllContacts(
  client: HubSpotClient,
  properties: readonly string[],
  map: (raw: readonly unknown[]) => MappedContacts,
  signal?: AbortSignal,
): AsyncGenerator<ChangePage> {
  let after: string | undefined;
  do {
    if (signal?.aborted) return;
    const page = await listPage(client, after, properties, false);
    const mapped = map(page.results);
    yield { stream: CONTACTS_STREAM, fragments: mapped.fragments, removed: mapped.removed, problems: mapped.problems, position: null };
    after = page.after;
  } while (after !== undefined);
}

const archivedSchema = z.object({
  id: z.string().min(1),
  archivedAt: z.union([z.date(), z.iso.datetime({ offset: true })]).optional(),
  updatedAt: z.union([z.date(), z.iso.datetime({ offset: true })]).optional(),
});

/**
 * Archived contacts newer than `start`, as removals. The list is not ordered by archive time, so
 * the whole list is read and the position (newest archive time, id) rides on the last page only.
 */
export async function* readArchivedContacts(
  client: HubSpotClient,
  start: StreamPosition | null,
  signal?: AbortSignal,
): AsyncGenerator<ChangePage> {
  const from = cursorFromPosition(start);
  let newest: Cursor | null = from;
  let after: string | undefined;
  do {
    if (signal?.aborted) return;
    const page = await listPage(client, after, ['hs_object_id'], true);
    const removed: RemovedRecord[] = [];
    for (const raw of page.results) {
      const parsed = archivedSchema.safeParse(raw);
      if (!parsed.success) continue;
      const when = parsed.data.archivedAt ?? parsed.data.updatedAt;
      const ts = when instanceof Date ? when.getTime() : when ? Date.parse(when) : NaN;
      if (!Number.isFinite(ts)) continue;
      const key: Cursor = { ts, id: parsed.data.id };
      if (from && compareCursors(key, from) <= 0) continue;
      removed.push({ ref: { object: 'contact', id: key.id }, reason: 'archived', at: new Date(ts).toISOString() });
      if (!newest || compareCursors(key, newest) > 0) newest = key;
    }
    after = page.after;
    if (removed.length > 0 || after === undefined) {
      yield { stream: ARCHIVED_STREAM, fragments: [], removed, problems: [], position: after === undefined ? positionFromCursor(newest) : null };
    }
  } while (after !== undefined);
}
