/**
 * The sync-errors report: one entry per (CRM, record, code) with the CRM's own message, the
 * field, first and last seen, and attempts. An entry disappears when the record syncs again.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import { stringify } from 'csv-stringify/sync';
import type { CrmName } from '../model/lead.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

export const syncErrorSchema = z.object({
  id: z.string(),
  crm: z.enum(['hubspot', 'salesforce']),
  object: z.string().nullable(),
  recordId: z.string().nullable(),
  leadId: z.string().nullable(),
  code: z.string(),
  message: z.string(),
  field: z.string().nullable(),
  value: z.string().nullable(),
  // `poll`: a change feed's poll that failed all its attempts (no record: the feed's cursor did not move).
  // `alert`: a Slack or email message that could not be sent (the record is the lead's; field is the channel).
  stage: z.enum(['read', 'map', 'identity', 'write', 'create', 'task', 'schema', 'poll', 'alert']),
  firstSeen: z.string(),
  lastSeen: z.string(),
  attempts: z.number().int(),
});
export type SyncError = z.infer<typeof syncErrorSchema>;

export interface SyncErrorInput {
  crm: CrmName;
  object?: string | null;
  recordId?: string | null;
  leadId?: string | null;
  code: string;
  message: string;
  field?: string | null;
  value?: string | null;
  stage: SyncError['stage'];
}

function recordKey(crm: CrmName, object: string, recordId: string): string {
  return `${crm}:${object}:${recordId}`;
}

type RecordGroup = 'write' | 'read';

/** Which success clears an entry of this stage: a write of the record, or a read and merge of it. */
function recordGroupOf(stage: SyncError['stage'], code: string): RecordGroup | null {
  // A merge conflict stays until the duplicate is gone: reading the record again does not settle it.
  if (code === 'MERGE_CONFLICT') return null;
  if (stage === 'write') return 'write';
  if (stage === 'read' || stage === 'map' || stage === 'identity') return 'read';
  return null;
}

function errorId(input: SyncErrorInput): string {
  // A write refused for a field names it: two refused fields of one record are two entries; an
  // alert names its channel the same way.
  const parts = [input.crm, input.object ?? '-', input.recordId ?? input.leadId ?? '-', input.stage, input.code];
  return ((input.stage === 'write' || input.stage === 'alert') && input.field ? [...parts, input.field] : parts).join(':');
}

/**
 * Writes an entry (keeping its first sighting and counting attempts) and indexes it: by time, in
 * its (crm, code) category, and by name. Every key shares the `{sync-errors}` hash tag.
 */
const UPSERT = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
local incoming = cjson.decode(ARGV[1])
if raw then
  local current = cjson.decode(raw)
  incoming.firstSeen = current.firstSeen
  incoming.attempts = current.attempts + 1
end
redis.call('SET', KEYS[1], cjson.encode(incoming))
redis.call('ZADD', KEYS[2], ARGV[2], incoming.id)
redis.call('ZADD', KEYS[3], ARGV[2], incoming.id)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[5], 0, incoming.id)
return incoming.attempts
`, 5);

/**
 * Removes entries and their index entries; a category left empty leaves the categories. ARGV: the
 * entries' key prefix, the categories' key prefix, then the ids. Returns how many entries there were.
 */
const REMOVE = new LuaScript(`
local removed = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local raw = redis.call('GET', ARGV[1] .. id)
  if raw then
    local entry = cjson.decode(raw)
    local category = entry.crm .. ':' .. entry.code
    local key = ARGV[2] .. category
    redis.call('ZREM', key, id)
    if redis.call('ZCARD', key) == 0 then redis.call('SREM', KEYS[2], category) end
    redis.call('DEL', ARGV[1] .. id)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[3], id)
end
return removed
`, 3);

/** The report's filters: by CRM, by code, or both. */
export interface SyncErrorFilter {
  crm?: CrmName;
  code?: string;
}

/** How many entries one CRM has of one code. */
export interface SyncErrorCategory {
  crm: CrmName;
  code: string;
  count: number;
}

type MergeHead = { key: string; buffer: Array<{ id: string; score: number }>; next: number; done: boolean };

/** Newest first; ties by the larger id first, as ZREVRANGE orders one key. */
function comesFirst(a: { id: string; score: number }, b: { id: string; score: number }): boolean {
  return a.score > b.score || (a.score === b.score && a.id > b.id);
}

export class SyncErrorStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async record(input: SyncErrorInput, now = Date.now()): Promise<SyncError> {
    const id = errorId(input);
    const iso = new Date(now).toISOString();
    const entry: SyncError = {
      id,
      crm: input.crm,
      object: input.object ?? null,
      recordId: input.recordId ?? null,
      leadId: input.leadId ?? null,
      code: input.code,
      message: input.message.slice(0, 2000),
      field: input.field ?? null,
      value: input.value === undefined || input.value === null ? null : String(input.value).slice(0, 200),
      stage: input.stage,
      firstSeen: iso,
      lastSeen: iso,
      attempts: 1,
    };
    const attempts = await UPSERT.run(
      this.redis,
      this.keys.syncError(id),
      this.keys.syncErrors(),
      this.keys.syncErrorCategory(entry.crm, entry.code),
      this.keys.syncErrorCategories(),
      this.keys.syncErrorIds(),
      JSON.stringify(entry),
      now,
      `${entry.crm}:${entry.code}`,
    );
    // A failed poll is the feed's: indexed by CRM, so that the next poll that succeeds clears it.
    if (input.stage === 'poll') await this.redis.sadd(this.keys.syncError(`poll-failures:${input.crm}`), id);
    const group = recordGroupOf(input.stage, input.code);
    if (group && input.object && input.recordId) {
      // Indexed by record, so that a later successful write (or read) of the record clears it.
      const record = recordKey(input.crm, input.object, input.recordId);
      await this.redis.multi().sadd(this.keys.syncError(`${group}-record:${record}`), id).sadd(this.keys.syncError(`${group}-records`), record).exec();
    }
    return { ...entry, attempts: Number(attempts) };
  }

  /**
   * Records just written successfully: their write errors are no longer true, so they leave the
   * report. One round trip for the whole batch when none of them had an error.
   */
  async resolveWritten(crm: CrmName, refs: ReadonlyArray<{ object: string; id: string }>): Promise<number> {
    return this.resolveGroup('write', crm, refs);
  }

  /**
   * Records just read and merged (or linked) successfully: their read, mapping and identity errors
   * are no longer true. One round trip for the whole page when none of them had an error.
   */
  async resolveRead(crm: CrmName, refs: ReadonlyArray<{ object: string; id: string }>): Promise<number> {
    return this.resolveGroup('read', crm, refs);
  }

  private async resolveGroup(group: RecordGroup, crm: CrmName, refs: ReadonlyArray<{ object: string; id: string }>): Promise<number> {
    if (refs.length === 0) return 0;
    const records = refs.map((r) => recordKey(crm, r.object, r.id));
    const known = await this.redis.smismember(this.keys.syncError(`${group}-records`), ...records);
    let removed = 0;
    for (const [i, record] of records.entries()) {
      if (known[i] !== 1) continue;
      const setKey = this.keys.syncError(`${group}-record:${record}`);
      removed += await this.remove(await this.redis.smembers(setKey));
      await this.redis.multi().del(setKey).srem(this.keys.syncError(`${group}-records`), record).exec();
    }
    return removed;
  }

  /**
   * The CRM was polled successfully: its failed polls are no longer true (a poll reads from the
   * feed's cursor, which a failed one did not move, so what it would have read is read now).
   */
  async resolvePolled(crm: CrmName): Promise<number> {
    const key = this.keys.syncError(`poll-failures:${crm}`);
    const ids = await this.redis.smembers(key);
    if (ids.length === 0) return 0;
    const removed = await this.remove(ids);
    await this.redis.srem(key, ...ids);
    return removed;
  }

  /** A record that synced again (or is gone) clears its entries: a range of the ids by name. */
  async resolveRecord(crm: CrmName, object: string, recordId: string): Promise<number> {
    const prefix = `${recordKey(crm, object, recordId)}:`;
    // Every id that starts with the prefix: from the prefix itself to the prefix and a 0xff byte,
    // which no UTF-8 text holds.
    const ids = await this.redis.zrangebylex(this.keys.syncErrorIds(), `[${prefix}`, Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]));
    return this.remove(ids);
  }

  /** Removes entries by id; returns how many there were. */
  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    let removed = 0;
    // The categories' keys are this prefix and `<crm>:<code>`.
    const categoryPrefix = this.keys.syncErrorCategory('', '').slice(0, -1);
    for (let i = 0; i < ids.length; i += 500) {
      const some = ids.slice(i, i + 500);
      removed += Number(
        await REMOVE.run(this.redis, this.keys.syncErrors(), this.keys.syncErrorCategories(), this.keys.syncErrorIds(), this.keys.syncError(''), categoryPrefix, ...some),
      );
    }
    return removed;
  }

  /** Entries per (crm, code), the largest first; reads the counts, not the entries. */
  async categories(): Promise<SyncErrorCategory[]> {
    const members = await this.redis.smembers(this.keys.syncErrorCategories());
    if (members.length === 0) return [];
    const pipe = this.redis.pipeline();
    const parsed = members.map((m) => {
      const at = m.indexOf(':');
      return { crm: m.slice(0, at) as CrmName, code: m.slice(at + 1) };
    });
    for (const c of parsed) pipe.zcard(this.keys.syncErrorCategory(c.crm, c.code));
    const counts = (await pipe.exec()) ?? [];
    return parsed
      .map((c, i) => {
        const [error, count] = counts[i] ?? [null, 0];
        if (error) throw error;
        return { ...c, count: Number(count) };
      })
      .filter((c) => c.count > 0)
      .sort((a, b) => b.count - a.count || a.crm.localeCompare(b.crm) || a.code.localeCompare(b.code));
  }

  /** The index keys a filter reads (the whole report's, or its categories'), and how many entries they hold. */
  private async sourcesOf(filter: SyncErrorFilter): Promise<{ keys: string[]; total: number }> {
    if (!filter.crm && !filter.code) return { keys: [this.keys.syncErrors()], total: await this.redis.zcard(this.keys.syncErrors()) };
    const matching = (await this.categories()).filter((c) => (!filter.crm || c.crm === filter.crm) && (!filter.code || c.code === filter.code));
    return { keys: matching.map((c) => this.keys.syncErrorCategory(c.crm, c.code)), total: matching.reduce((n, c) => n + c.count, 0) };
  }

  /** Refills, in one round trip, every head whose buffer is empty. */
  private async fill(heads: MergeHead[], size: number): Promise<void> {
    const empty = heads.filter((h) => h.buffer.length === 0 && !h.done);
    if (empty.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const h of empty) pipe.zrevrange(h.key, h.next, h.next + size - 1, 'WITHSCORES');
    const replies = (await pipe.exec()) ?? [];
    for (const [i, h] of empty.entries()) {
      const [error, reply] = replies[i] ?? [null, []];
      if (error) throw error;
      const flat = reply as string[];
      for (let j = 0; j + 1 < flat.length; j += 2) h.buffer.push({ id: flat[j] as string, score: Number(flat[j + 1]) });
      h.next += size;
      if (flat.length < size * 2) h.done = true;
    }
  }

  /**
   * The ids of the given indexes merged newest first, `size` at a time (the last batch may be
   * shorter). Each index is read `size` at a time, from where it was left.
   */
  private async *mergedIds(keys: string[], size: number): AsyncGenerator<string[]> {
    const heads: MergeHead[] = keys.map((key) => ({ key, buffer: [], next: 0, done: false }));
    let out: string[] = [];
    for (;;) {
      await this.fill(heads, size);
      // Take while every index that has more has some of it here: the newest of the heads is then the newest of all.
      while (heads.every((h) => h.buffer.length > 0 || h.done)) {
        let best: MergeHead | null = null;
        for (const h of heads) {
          const first = h.buffer[0];
          if (first && (!best || comesFirst(first, best.buffer[0] as { id: string; score: number }))) best = h;
        }
        if (!best) {
          if (out.length > 0) yield out;
          return;
        }
        out.push((best.buffer.shift() as { id: string }).id);
        if (out.length === size) {
          yield out;
          out = [];
        }
      }
    }
  }

  /** The entries of these ids, in their order; an id whose entry is gone meanwhile is left out. */
  private async entries(ids: string[]): Promise<SyncError[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.keys.syncError(id)));
    return raws.flatMap((raw) => (raw ? [syncErrorSchema.parse(JSON.parse(raw))] : []));
  }

  /** A page of the report, newest first, and how many entries match the filter in all. */
  async list(options: SyncErrorFilter & { limit?: number; offset?: number } = {}): Promise<{ total: number; errors: SyncError[] }> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? 100;
    const { keys, total } = await this.sourcesOf(options);
    const end = Math.min(offset + limit, total);
    if (end <= offset) return { total, errors: [] };
    if (keys.length === 1) return { total, errors: await this.entries(await this.redis.zrevrange(keys[0] as string, offset, end - 1)) };
    // Several categories: each one's first `end` entries hold the page.
    const ids: string[] = [];
    for await (const batch of this.mergedIds(keys, end)) {
      ids.push(...batch);
      if (ids.length >= end) break;
    }
    return { total, errors: await this.entries(ids.slice(offset, end)) };
  }

  /** Every entry that matches, newest first, a page at a time (for exports and retries of all). */
  async *pages(filter: SyncErrorFilter = {}, size = 500): AsyncGenerator<SyncError[]> {
    const { keys } = await this.sourcesOf(filter);
    for await (const ids of this.mergedIds(keys, size)) {
      const page = await this.entries(ids);
      if (page.length > 0) yield page;
    }
  }

  /** Every entry that matches, newest first. */
  async all(filter: SyncErrorFilter = {}): Promise<SyncError[]> {
    const out: SyncError[] = [];
    for await (const page of this.pages(filter)) out.push(...page);
    return out;
  }

  async get(id: string): Promise<SyncError | null> {
    const raw = await this.redis.get(this.keys.syncError(id));
    return raw ? syncErrorSchema.parse(JSON.parse(raw)) : null;
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.syncErrors());
  }
}

const CSV_COLUMNS: Array<keyof SyncError> = ['crm', 'object', 'recordId', 'leadId', 'stage', 'code', 'field', 'value', 'message', 'firstSeen', 'lastSeen', 'attempts'];

/**
 * CSV for spreadsheets; a cell that starts like a formula is prefixed with `'` so that it stays
 * text (csv-stringify's `escape_formulas`). `header: false` gives the rows alone, for the pages
 * after the first.
 */
export function syncErrorsToCsv(errors: SyncError[], options: { header?: boolean } = {}): string {
  return stringify(errors, { header: options.header !== false, columns: CSV_COLUMNS, escape_formulas: true });
}

/** The CSV of every page, a chunk a page: the header comes with the first (alone when there is none). */
export async function* syncErrorsCsvChunks(pages: AsyncIterable<SyncError[]>): AsyncGenerator<string> {
  let first = true;
  for await (const page of pages) {
    yield syncErrorsToCsv(page, { header: first });
    first = false;
  }
  if (first) yield syncErrorsToCsv([]);
}
