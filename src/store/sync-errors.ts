/**
 * The sync-errors report: one entry per (CRM, record, code) with the CRM's own message, the
 * field, first and last seen, and attempts. An entry disappears when the record syncs again.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
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
return incoming.attempts
`, 2);

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
    const attempts = await UPSERT.run(this.redis, this.keys.syncError(id), this.keys.syncErrors(), JSON.stringify(entry), now);
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

  /** A record that synced again clears its entries. */
  async resolveRecord(crm: CrmName, object: string, recordId: string): Promise<number> {
    const prefix = `${crm}:${object}:${recordId}:`;
    const ids = (await this.redis.zrange(this.keys.syncErrors(), 0, -1)).filter((id) => id.startsWith(prefix));
    return this.remove(ids);
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const multi = this.redis.multi();
    for (const id of ids) multi.del(this.keys.syncError(id)).zrem(this.keys.syncErrors(), id);
    await multi.exec();
    return ids.length;
  }

  async list(options: { limit?: number; offset?: number; crm?: CrmName; code?: string } = {}): Promise<{ total: number; errors: SyncError[] }> {
    const ids = await this.redis.zrevrange(this.keys.syncErrors(), 0, -1);
    if (ids.length === 0) return { total: 0, errors: [] };
    const raws = await this.redis.mget(ids.map((id) => this.keys.syncError(id)));
    let errors = raws.flatMap((raw) => (raw ? [syncErrorSchema.parse(JSON.parse(raw))] : []));
    if (options.crm) errors = errors.filter((e) => e.crm === options.crm);
    if (options.code) errors = errors.filter((e) => e.code === options.code);
    const offset = options.offset ?? 0;
    return { total: errors.length, errors: errors.slice(offset, offset + (options.limit ?? 100)) };
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

/** CSV for spreadsheets; a cell that starts like a formula is prefixed so that it stays text. */
export function syncErrorsToCsv(errors: SyncError[]): string {
  const cell = (value: unknown): string => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [CSV_COLUMNS.join(','), ...errors.map((e) => CSV_COLUMNS.map((c) => cell(e[c])).join(','))].join('\n') + '\n';
}
