/**
 * What each linked CRM record holds of the `smk` fields: set from what a read saw and from what a
 * write-back wrote. Planning diffs against it, so an echo of our own write plans nothing. A read
 * that started before our last write cannot roll the held values back (it may predate the write).
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { CrmName } from '../model/lead.js';
import type { SmkValues } from '../sync/plan.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

export interface HeldValues {
  values: SmkValues;
  /** Our clock (ms) when the values were last known to be in the CRM. */
  at: number;
  ownerId: string | null;
  /** HubSpot's lifecycle stage as last read or written (HubSpot only; absent when unknown). */
  lifecycle?: string;
}

const heldSchema = z.object({
  values: z.record(z.string(), z.string().nullable()),
  at: z.number(),
  ownerId: z.string().nullable().default(null),
  lifecycle: z.string().optional(),
});

// KEYS[1] held key; ARGV: values JSON, at, ownerId ('' = null), mode ('read' | 'write'),
// lifecycle stage ('' = none read / none written). A read replaces everything unless a write
// happened after the read began; a write merges.
const RECORD = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
local at = tonumber(ARGV[2])
local incoming = cjson.decode(ARGV[1])
if ARGV[4] == 'read' then
  if raw then
    local current = cjson.decode(raw)
    if current.at > at then
      -- Keep the written values; the read may predate them. Take only the owner if there was none.
      return 0
    end
  end
  redis.call('SET', KEYS[1], cjson.encode({ values = incoming, at = at, ownerId = ARGV[3], lifecycle = ARGV[5] }))
  return 1
end
local current = { values = {}, at = 0, ownerId = '' }
if raw then current = cjson.decode(raw) end
for k, v in pairs(incoming) do current.values[k] = v end
current.at = math.max(current.at, at)
if ARGV[3] ~= '' then current.ownerId = ARGV[3] end
if ARGV[5] ~= '' then current.lifecycle = ARGV[5] end
redis.call('SET', KEYS[1], cjson.encode(current))
return 1
`, 1);

function parse(raw: string | null): HeldValues | null {
  if (!raw) return null;
  const data = JSON.parse(raw) as { values?: unknown; at?: unknown; ownerId?: unknown; lifecycle?: unknown };
  // cjson encodes an empty table as {} and JSON null as a sentinel; empty owner means none.
  const parsed = heldSchema.parse({
    values: Array.isArray(data.values) ? {} : data.values,
    at: data.at,
    ownerId: data.ownerId === '' ? null : data.ownerId,
    lifecycle: data.lifecycle === '' ? undefined : data.lifecycle,
  });
  if (parsed.lifecycle === undefined) delete parsed.lifecycle;
  return parsed as HeldValues;
}

/** cjson cannot carry null inside a table: an empty string stands for a cleared value. */
function encodeValues(values: SmkValues): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v ?? '';
  return Object.keys(out).length === 0 ? '{}' : JSON.stringify(out);
}

function decodeValues(held: HeldValues | null): HeldValues | null {
  if (!held) return null;
  const values: SmkValues = {};
  for (const [k, v] of Object.entries(held.values)) values[k as keyof SmkValues] = v === '' ? null : v;
  return { ...held, values };
}

export class HeldStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async get(crm: CrmName, leadId: string): Promise<HeldValues | null> {
    return decodeValues(parse(await this.redis.get(this.keys.written(crm, leadId))));
  }

  async recordRead(crm: CrmName, leadId: string, values: SmkValues, readAt: number, ownerId: string | null, lifecycle?: string | null): Promise<void> {
    await RECORD.run(this.redis, this.keys.written(crm, leadId), encodeValues(values), readAt, ownerId ?? '', 'read', lifecycle ?? '');
  }

  async recordWritten(crm: CrmName, leadId: string, values: SmkValues, at: number, ownerId?: string | null, lifecycle?: string | null): Promise<void> {
    await RECORD.run(this.redis, this.keys.written(crm, leadId), encodeValues(values), at, ownerId ?? '', 'write', lifecycle ?? '');
  }

  async forget(crm: CrmName, leadId: string): Promise<void> {
    await this.redis.del(this.keys.written(crm, leadId));
  }
}
