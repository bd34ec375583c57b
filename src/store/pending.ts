/**
 * Pending writes per CRM, coalesced per record and drained in full batches by the write-back job
 * (open-source BullMQ has no batch processing). An entry taken by a worker is leased, not removed:
 * if that worker dies before acknowledging, the lease runs out and another worker writes it.
 * A newer plan for a record being written bumps the entry's version, so the acknowledgement of
 * the older write keeps the entry for another round instead of losing the newer values.
 */
import type { RedisClient } from './redis.js';
import type { CrmName } from '../model/lead.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

export interface PendingEntry<T> {
  key: string;
  leadId: string;
  payload: T;
  attempts: number;
  version: number;
  firstQueuedAt: number;
  /**
   * How many times the entry has been taken, this time included. 1 means no earlier call can have
   * carried it (a create can skip looking for an earlier try); more means a worker may have died
   * after its call (its lease ran out) or the call's outcome was unclear.
   */
  taken: number;
}

// KEYS: ids zset, data hash. ARGV: key, entry JSON, now, mergeField ('' = replace payload).
// Merges `payload[mergeField]` maps (newest wins) and shallow-replaces the other payload fields.
// A plan that changes nothing of the entry (another evaluation of the lead planning the same
// values, often while they are being written) leaves it as it is: a new version would make the
// write's acknowledgement keep the entry, and the same values would be sent a second time.
const ADD = new LuaScript(`
local function same(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k, v in pairs(b) do if a[k] == nil then return false end end
  return true
end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
local incoming = cjson.decode(ARGV[2])
local now = tonumber(ARGV[3])
if raw then
  local current = cjson.decode(raw)
  local before = cjson.decode(raw).payload
  local field = ARGV[4]
  if field ~= '' and type(current.payload[field]) == 'table' and type(incoming.payload[field]) == 'table' then
    for k, v in pairs(incoming.payload[field]) do current.payload[field][k] = v end
    for k, v in pairs(incoming.payload) do if k ~= field then current.payload[k] = v end end
  else
    current.payload = incoming.payload
  end
  if same(before, current.payload) then return 0 end
  current.version = current.version + 1
  current.attempts = 0
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(current))
  local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or now)
  if score > now then redis.call('ZADD', KEYS[1], now, ARGV[1]) end
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
`, 2);

// Takes up to ARGV[2] due entries, leasing them until ARGV[1] + ARGV[3]. With ARGV[4] (a time),
// fewer than ARGV[2] are taken only when the oldest of them has been due since ARGV[4] or before,
// or (with ARGV[5], a time) when the newest of them has been due since ARGV[5] or before: a partial
// batch waits for more entries until it has waited long enough, or until nothing new has come for a while.
const TAKE = new LuaScript(`
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local keys = {}
for i = 1, #due, 2 do table.insert(keys, due[i]) end
if ARGV[4] ~= '' and #keys > 0 and #keys < limit and tonumber(due[2]) > tonumber(ARGV[4]) then
  if ARGV[5] == '' or tonumber(due[#due]) > tonumber(ARGV[5]) then return {} end
end
local out = {}
for i, key in ipairs(keys) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), key)
  local raw = redis.call('HGET', KEYS[2], key)
  if raw then
    table.insert(out, raw)
    table.insert(out, redis.call('HINCRBY', KEYS[3], key, 1))
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
`, 3);

// Done with an entry at version ARGV[2]: removed, unless a newer plan arrived meanwhile.
const ACK = new LuaScript(`
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('HDEL', KEYS[3], ARGV[1]) return 1 end
local current = cjson.decode(raw)
if current.version == tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[1])
return 0
`, 3);

// Try again at ARGV[3], with one more attempt when ARGV[5] is '1' (unless a newer plan arrived: then it is due now).
const RETRY = new LuaScript(`
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local current = cjson.decode(raw)
if current.version == tonumber(ARGV[2]) then
  if ARGV[5] == '1' then
    current.attempts = current.attempts + 1
    redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(current))
  end
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[1])
else
  redis.call('ZADD', KEYS[1], tonumber(ARGV[4]), ARGV[1])
end
return current.attempts
`, 2);

// Every due entry (not leased: a leased entry's score is its lease's end) waits until ARGV[2].
const DEFER_DUE = new LuaScript(`
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]))
for i, key in ipairs(keys) do redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), key) end
return #keys
`, 1);

// Entries parked at exactly one of the scores ARGV[2..] are due at ARGV[1] instead.
const PROMOTE = new LuaScript(`
local n = 0
for i = 2, #ARGV do
  local keys = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[i], ARGV[i])
  for j, key in ipairs(keys) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), key) n = n + 1 end
end
return n
`, 1);

export type PendingKind = 'write' | 'create' | 'task';

export class PendingStore<T> {
  private readonly idsKey: string;
  private readonly dataKey: string;
  private readonly takenKey: string;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
    readonly crm: CrmName,
    readonly kind: PendingKind,
    private readonly mergeField: string = '',
  ) {
    this.idsKey = `${keys.prefix}:pending:{${crm}}:${kind}:ids`;
    this.dataKey = `${keys.prefix}:pending:{${crm}}:${kind}:data`;
    this.takenKey = `${keys.prefix}:pending:{${crm}}:${kind}:taken`;
  }

  async add(key: string, leadId: string, payload: T, now = Date.now()): Promise<boolean> {
    const entry: Omit<PendingEntry<T>, 'taken'> = { key, leadId, payload, attempts: 0, version: 1, firstQueuedAt: now };
    const added = await ADD.run(this.redis, this.idsKey, this.dataKey, key, JSON.stringify(entry), now, this.mergeField);
    return Number(added) === 1;
  }

  /**
   * Leases up to `limit` due entries. With `partialIfDueBy`, a batch smaller than `limit` is taken
   * only when its oldest entry has been due since then (so batches fill while entries keep coming),
   * or, with `partialIfSettledBy`, when its newest entry has been due since then (nothing new came).
   */
  async take(limit: number, leaseMs = 120_000, now = Date.now(), partialIfDueBy?: number, partialIfSettledBy?: number): Promise<Array<PendingEntry<T>>> {
    const raws = (await TAKE.run(this.redis, this.idsKey, this.dataKey, this.takenKey, now, limit, leaseMs, partialIfDueBy ?? '', partialIfSettledBy ?? '')) as Array<string | number>;
    const entries: Array<PendingEntry<T>> = [];
    for (let i = 0; i + 1 < raws.length; i += 2) entries.push({ ...(JSON.parse(String(raws[i])) as Omit<PendingEntry<T>, 'taken'>), taken: Number(raws[i + 1]) });
    return entries;
  }

  async ack(entry: PendingEntry<T>, now = Date.now()): Promise<void> {
    await ACK.run(this.redis, this.idsKey, this.dataKey, this.takenKey, entry.key, entry.version, now);
  }

  /** Try again at `atMs`; `countAttempt: false` for a wait that is not the record's fault (a spent budget). */
  async retryLater(entry: PendingEntry<T>, atMs: number, now = Date.now(), countAttempt = true): Promise<number> {
    return Number(await RETRY.run(this.redis, this.idsKey, this.dataKey, entry.key, entry.version, atMs, now, countAttempt ? '1' : '0'));
  }

  /** Parks every due entry until `untilMs` (a spent budget: nothing due can go before then). */
  async deferDue(untilMs: number, now = Date.now()): Promise<number> {
    return Number(await DEFER_DUE.run(this.redis, this.idsKey, now, untilMs));
  }

  /** Makes the entries parked at one of `scores` due at `now` (a budget that allows again). */
  async promoteParked(scores: number[], now = Date.now()): Promise<number> {
    if (scores.length === 0) return 0;
    return Number(await PROMOTE.run(this.redis, this.idsKey, now, ...scores));
  }

  /** The entry under `key` (pending or being written), or null. */
  async peek(key: string): Promise<PendingEntry<T> | null> {
    const raw = await this.redis.hget(this.dataKey, key);
    return raw ? { ...(JSON.parse(raw) as Omit<PendingEntry<T>, 'taken'>), taken: 0 } : null;
  }

  /** Entries due now (not leased, not waiting for a retry). */
  async dueCount(now = Date.now()): Promise<number> {
    return this.redis.zcount(this.idsKey, '-inf', now);
  }

  /** The keys of the entries (pending or being written) that belong to one of `leadIds`. */
  async keysOfLeads(leadIds: ReadonlySet<string>): Promise<string[]> {
    const out: string[] = [];
    if (leadIds.size === 0) return out;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.dataKey, cursor, 'COUNT', 500);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const entry = JSON.parse(flat[i + 1] as string) as { leadId?: string };
        if (entry.leadId && leadIds.has(entry.leadId)) out.push(flat[i] as string);
      }
    } while (cursor !== '0');
    return out;
  }

  /** Every entry's key (pending or being written). */
  async keys(): Promise<string[]> {
    return this.redis.hkeys(this.dataKey);
  }

  /** Which of `keys` are still pending or being written. */
  async stillPending(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const raws = await this.redis.hmget(this.dataKey, ...keys);
    return keys.filter((_, i) => raws[i] !== null);
  }

  async size(): Promise<number> {
    return this.redis.zcard(this.idsKey);
  }

  /** When the newest entry that is due now became due (was added, for a new entry), or null when none is due. */
  async newestDueAt(now = Date.now()): Promise<number | null> {
    const last = await this.redis.zrevrangebyscore(this.idsKey, now, '-inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return last[1] !== undefined ? Number(last[1]) : null;
  }

  /** When the next entry falls due, or null when none is pending. */
  async nextDueAt(): Promise<number | null> {
    const first = await this.redis.zrange(this.idsKey, 0, 0, 'WITHSCORES');
    return first[1] !== undefined ? Number(first[1]) : null;
  }
}
