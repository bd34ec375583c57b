/**
 * What each linked CRM record holds of the `smk` fields and the synced fields: set from what a read
 * saw and from what a write-back wrote. Planning diffs against it, so an echo of our own write plans
 * nothing. A read that started before our last write cannot roll the held values back (it may
 * predate the write). The encoding is src/store/held-codec.ts.
 */
import type { RedisClient } from './redis.js';
import type { CrmName } from '../model/lead.js';
import type { SmkValues } from '../sync/plan.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';
import { decodeHeld, encodeHeld, HELD_CODEC_VERSION, HELD_FIRST_SLOT, HELD_NAMES_V1 } from './held-codec.js';
import type { HeldValues } from './held-codec.js';

export type { HeldValues } from './held-codec.js';

// KEYS[1] held key; ARGV[1] the record read or written (encoding version 1); ARGV[2] 'read' | 'write'.
// A read replaces everything unless a write happened after the read began; a write merges: the
// latest time, the owner and stage when it has them, each value it knows. The previous version's
// JSON (first byte '{') is read, and a write stores the merge in version 1.
const FIRST = HELD_FIRST_SLOT + 1;
const RECORD = new LuaScript(`
local VERSION = ${HELD_CODEC_VERSION}
local FIRST = ${FIRST}
local function unknownVersion(raw)
  return redis.error_reply('held values have encoding version ' .. string.byte(raw, 1) .. ' that this script does not know: were they written by a newer version of the service?')
end
local function text(v)
  if type(v) == 'string' then return v end
  return ''
end
local raw = redis.call('GET', KEYS[1])
local isJson = raw and string.byte(raw, 1) == 123
if raw and not isJson and string.byte(raw, 1) ~= VERSION then return unknownVersion(raw) end
if ARGV[2] == 'read' then
  if raw then
    local at
    if isJson then at = cjson.decode(raw).at else local _, _, t = cmsgpack.unpack_limit(raw, 2); at = t end
    local _, _, incomingAt = cmsgpack.unpack_limit(ARGV[1], 2)
    -- Keep the written values; the read may predate them.
    if at > incomingAt then return 0 end
  end
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
local current
if not raw then
  current = { VERSION, 0, '', '', false }
elseif isJson then
  local NAMES = { ${HELD_NAMES_V1.map((name) => `'${name}'`).join(', ')} }
  local slot = {}
  for i, name in ipairs(NAMES) do slot[name] = FIRST + i - 1 end
  local old = cjson.decode(raw)
  current = { VERSION, old.at, text(old.ownerId), text(old.lifecycle), false }
  for i = FIRST, FIRST + #NAMES - 1 do current[i] = false end
  if type(old.values) == 'table' then
    for name, v in pairs(old.values) do
      -- A cleared value was '' or null.
      if slot[name] then current[slot[name]] = text(v)
      else
        if not current[FIRST - 1] then current[FIRST - 1] = {} end
        current[FIRST - 1][name] = text(v)
      end
    end
  end
else
  current = { cmsgpack.unpack(raw) }
end
local incoming = { cmsgpack.unpack(ARGV[1]) }
current[2] = math.max(current[2], incoming[2])
if incoming[3] ~= '' then current[3] = incoming[3] end
if incoming[4] ~= '' then current[4] = incoming[4] end
local others = incoming[FIRST - 1]
if others then
  if not current[FIRST - 1] then current[FIRST - 1] = {} end
  for name, v in pairs(others) do current[FIRST - 1][name] = v end
end
-- Lua re-encodes an empty map as an empty array: none is false, as the codec writes it.
if current[FIRST - 1] and next(current[FIRST - 1]) == nil then current[FIRST - 1] = false end
local n = math.max(#current, #incoming)
for i = FIRST, n do
  local v = incoming[i]
  if v ~= nil and v ~= false then current[i] = v elseif current[i] == nil then current[i] = false end
end
while #current >= FIRST and current[#current] == false do current[#current] = nil end
redis.call('SET', KEYS[1], cmsgpack.pack(unpack(current)))
return 1
`, 1);

export class HeldStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async get(crm: CrmName, leadId: string): Promise<HeldValues | null> {
    const raw = await this.redis.getBuffer(this.keys.written(crm, leadId));
    return raw ? decodeHeld(leadId, raw) : null;
  }

  async recordRead(crm: CrmName, leadId: string, values: SmkValues, readAt: number, ownerId: string | null, lifecycle?: string | null): Promise<void> {
    await RECORD.run(this.redis, this.keys.written(crm, leadId), encodeHeld(leadId, values, readAt, ownerId, lifecycle ?? null), 'read');
  }

  async recordWritten(crm: CrmName, leadId: string, values: SmkValues, at: number, ownerId?: string | null, lifecycle?: string | null): Promise<void> {
    await RECORD.run(this.redis, this.keys.written(crm, leadId), encodeHeld(leadId, values, at, ownerId ?? null, lifecycle ?? null), 'write');
  }

  async forget(crm: CrmName, leadId: string): Promise<void> {
    await this.redis.del(this.keys.written(crm, leadId));
  }
}
