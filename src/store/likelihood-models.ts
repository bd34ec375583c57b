/**
 * Likelihood models in Redis: every trained model under its version with its figures, and the
 * publish history (newest last: the published model). Rolling back drops the newest publish and
 * so returns to the one before it. Models are read back through their zod schema. The newest
 * MAX_KEPT_MODELS versions are kept, and every version in the publish history.
 */
import type { RedisClient } from './redis.js';
import { likelihoodModelSchema } from '../rules/learn/model.js';
import type { LikelihoodModel } from '../rules/learn/model.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

// KEYS: models hash, history list. ARGV: version. Publishes a stored version (a no-op when it is already the published one).
const PUBLISH = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('LINDEX', KEYS[2], -1) == ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
`, 2);

// KEYS: history list. Drops the newest publish; returns {dropped, now published}, {dropped} when
// none was published before it (no model is published then), or {} when none is published.
const ROLLBACK = new LuaScript(`
local dropped = redis.call('RPOP', KEYS[1])
if not dropped then return {} end
local now = redis.call('LINDEX', KEYS[1], -1)
if not now then return {dropped} end
return {dropped, now}
`, 1);

/** Versions kept besides those in the publish history: a daily retrain keeps two months, not a year. */
export const MAX_KEPT_MODELS = 60;

// KEYS: models hash, history list. ARGV: how many to keep. Drops the oldest versions beyond that,
// never one in the publish history (a rollback may return to it).
const PRUNE = new LuaScript(`
local versions = redis.call('HKEYS', KEYS[1])
local keep = tonumber(ARGV[1])
if #versions <= keep then return 0 end
local history = {}
for _, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do history[v] = true end
local numbers = {}
for _, v in ipairs(versions) do if not history[v] then table.insert(numbers, tonumber(v)) end end
table.sort(numbers)
local dropped = 0
for i = 1, #numbers - keep do
  redis.call('HDEL', KEYS[1], tostring(numbers[i]))
  dropped = dropped + 1
end
return dropped
`, 2);

export class LikelihoodModelStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** Stores a trained model under the next version. */
  async save(model: Omit<LikelihoodModel, 'version'>): Promise<LikelihoodModel> {
    const version = await this.redis.incr(this.keys.likelihoodModelSeq());
    const stored = likelihoodModelSchema.parse({ ...model, version });
    await this.redis.hset(this.keys.likelihoodModels(), String(version), JSON.stringify(stored));
    await PRUNE.run(this.redis, this.keys.likelihoodModels(), this.keys.likelihoodPublished(), String(MAX_KEPT_MODELS));
    return stored;
  }

  async get(version: number): Promise<LikelihoodModel | null> {
    const raw = await this.redis.hget(this.keys.likelihoodModels(), String(version));
    return raw === null ? null : likelihoodModelSchema.parse(JSON.parse(raw));
  }

  /** Every stored model, oldest first. */
  async list(): Promise<LikelihoodModel[]> {
    const all = await this.redis.hvals(this.keys.likelihoodModels());
    return all.map((raw) => likelihoodModelSchema.parse(JSON.parse(raw))).sort((a, b) => a.version - b.version);
  }

  async latest(): Promise<LikelihoodModel | null> {
    return (await this.list()).at(-1) ?? null;
  }

  async publishedVersion(): Promise<number | null> {
    const raw = await this.redis.lindex(this.keys.likelihoodPublished(), -1);
    return raw === null ? null : Number(raw);
  }

  async published(): Promise<LikelihoodModel | null> {
    const version = await this.publishedVersion();
    return version === null ? null : this.get(version);
  }

  /** Makes a stored version the published one; false when no such version is stored. */
  async publish(version: number): Promise<boolean> {
    const result = Number(await PUBLISH.run(this.redis, this.keys.likelihoodModels(), this.keys.likelihoodPublished(), String(version)));
    return result >= 0;
  }

  /**
   * Returns to the model published before the current one (`to`), or to none (`to` null: the
   * rule score alone) when the current one was the first; null when no model is published.
   */
  async rollback(): Promise<{ from: number; to: number | null } | null> {
    const result = (await ROLLBACK.run(this.redis, this.keys.likelihoodPublished())) as string[];
    if (result.length === 0) return null;
    return { from: Number(result[0]), to: result[1] === undefined ? null : Number(result[1]) };
  }
}
