/**
 * Lead snapshots and identity links in Redis. A snapshot holds the composed Lead and each CRM's
 * last view of the person; links map a CRM record to its lead, and the email index maps a
 * normalised email to its lead. Writers hold the lead's lock (src/store/locks.ts).
 */
import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { mgetBufferAcross } from './redis.js';
import type { RedisClient } from './redis.js';
import type { CrmName } from '../model/lead.js';
import { LEAD_COUNTER } from './keys.js';
import type { Keys } from './keys.js';
import { decodeStoredLead, encodeStoredLead } from './lead-codec.js';
import type { StoredLead } from './lead-schema.js';
import { LuaScript } from './lua.js';

export { opportunityCoreSchema, storedLeadSchema } from './lead-schema.js';
export type { StoredLead } from './lead-schema.js';

/** Deterministic: a retried ingest of the same first record makes the same lead, never a second one. */
export function leadIdFor(crm: CrmName, object: string, recordId: string): string {
  return `L${createHash('sha256').update(`${crm}:${object}:${recordId}`).digest('hex').slice(0, 20)}`;
}

// KEYS: the lead's counters. ARGV: the version the evaluation began at. When the lead has not moved
// since, its evaluation is done at that version (recorded, never moving back); returns the version now.
const FINISH_EVALUATION = new LuaScript(`
local now = tonumber(redis.call('HGET', KEYS[1], '${LEAD_COUNTER.version}') or '0')
if now == tonumber(ARGV[1]) then
  local done = tonumber(redis.call('HGET', KEYS[1], '${LEAD_COUNTER.evaluated}') or '-1')
  if now > done then redis.call('HSET', KEYS[1], '${LEAD_COUNTER.evaluated}', now) end
end
return now
`, 1);

// KEYS: the lead's counters. ARGV: a version. The evaluated version becomes it unless already past it.
const MARK_EVALUATED = new LuaScript(`
local current = tonumber(redis.call('HGET', KEYS[1], '${LEAD_COUNTER.evaluated}') or '-1')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], '${LEAD_COUNTER.evaluated}', ARGV[1]) end
return 0
`, 1);

// KEYS: leads' counters (one slot on a cluster). ARGV: a field. The field of each, in one call: a
// pipeline of an HGET per lead cost Redis and the client about 8 times an MGET of string keys.
const READ_COUNTERS = new LuaScript(`
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGET', key, ARGV[1]) end
return out
`, 'any');

// KEYS: an index bucket. ARGV: field, lead id. Removes the entry only while it names that lead.
const REMOVE_IF_HELD_BY = new LuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`, 1);

const COUNTERS_PER_CALL = 1000;

export class LeadStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async get(leadId: string): Promise<StoredLead | null> {
    const raw = await this.redis.getBuffer(this.keys.lead(leadId));
    if (!raw) return null;
    return decodeStoredLead(raw);
  }

  async getMany(leadIds: string[]): Promise<Map<string, StoredLead>> {
    const out = new Map<string, StoredLead>();
    if (leadIds.length === 0) return out;
    const raws = await mgetBufferAcross(this.redis, leadIds.map((id) => this.keys.lead(id)));
    raws.forEach((raw, i) => {
      if (raw) out.set(leadIds[i] as string, decodeStoredLead(raw));
    });
    return out;
  }

  /**
   * The index and the snapshot live in different hash slots (a cluster cannot write them in one
   * MULTI): the index first, so that a crash between the two leaves an id without a snapshot
   * (readers skip it, the next save fills it), never a snapshot that reconcile cannot find.
   */
  async save(stored: StoredLead, options: { indexed?: boolean } = {}): Promise<void> {
    // `indexed`: the caller read this lead's snapshot (under its lock), so its index entry exists
    // (written before the snapshot, removed only after it): re-adding it was a round trip per save.
    if (!options.indexed) await this.redis.zadd(this.keys.leadIndex(), 0, stored.lead.id);
    await this.redis.set(this.keys.lead(stored.lead.id), encodeStoredLead(stored));
  }

  /** The lead's own keys share its hash tag (one MULTI); the index entry goes after them. */
  async delete(leadId: string): Promise<void> {
    await this.redis.multi().del(this.keys.lead(leadId)).del(this.keys.leadCounters(leadId)).exec();
    await this.redis.zrem(this.keys.leadIndex(), leadId);
  }

  async linkOf(crm: CrmName, object: string, recordId: string): Promise<string | null> {
    const { key, field } = this.keys.link(crm, object, recordId);
    return this.redis.hget(key, field);
  }

  async setLink(crm: CrmName, object: string, recordId: string, leadId: string): Promise<void> {
    const { key, field } = this.keys.link(crm, object, recordId);
    await this.redis.hset(key, field, leadId);
  }

  async removeLink(crm: CrmName, object: string, recordId: string): Promise<void> {
    const { key, field } = this.keys.link(crm, object, recordId);
    await this.redis.hdel(key, field);
  }

  async leadByEmail(email: string): Promise<string | null> {
    const { key, field } = this.keys.emailIndex(email);
    return this.redis.hget(key, field);
  }

  async setEmail(email: string, leadId: string): Promise<void> {
    const { key, field } = this.keys.emailIndex(email);
    await this.redis.hset(key, field, leadId);
  }

  /**
   * Gives the email to this lead unless a lead holds it already (then false; the holder is
   * `leadByEmail`). Atomic: of two workers creating a lead for one email, one wins.
   */
  async claimEmail(email: string, leadId: string): Promise<boolean> {
    const { key, field } = this.keys.emailIndex(email);
    return (await this.redis.hsetnx(key, field, leadId)) === 1;
  }

  /** Only if it still points at this lead (checked and removed in one step). */
  async removeEmail(email: string, leadId: string): Promise<void> {
    const { key, field } = this.keys.emailIndex(email);
    await REMOVE_IF_HELD_BY.run(this.redis, key, field, leadId);
  }

  /** Bumped by every ingest that changes the lead; evaluation re-runs while it moves. */
  async bumpVersion(leadId: string): Promise<number> {
    return this.redis.hincrby(this.keys.leadCounters(leadId), LEAD_COUNTER.version, 1);
  }

  async version(leadId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.leadCounters(leadId), LEAD_COUNTER.version)) ?? 0);
  }

  /**
   * One round trip at the end of an evaluation that began at `version`: the lead's version now,
   * and, when it has not moved, the record that its evaluation is done at that version.
   */
  async finishEvaluation(leadId: string, version: number): Promise<number> {
    return Number(await FINISH_EVALUATION.run(this.redis, this.keys.leadCounters(leadId), version));
  }

  /** Each lead's version now (0 for a lead no ingest changed yet), in one round trip. */
  async versions(leadIds: readonly string[]): Promise<number[]> {
    return this.counters(leadIds, LEAD_COUNTER.version);
  }

  /**
   * Records that the lead's evaluation is done up to `version` (or given up, when its job ran out of
   * attempts: the failure is in sync errors). Never moves back.
   */
  async markEvaluated(leadId: string, version: number): Promise<void> {
    await MARK_EVALUATED.run(this.redis, this.keys.leadCounters(leadId), version);
  }

  /** The version each lead's last evaluation saw (0: never evaluated). */
  async evaluatedVersions(leadIds: readonly string[]): Promise<number[]> {
    return this.counters(leadIds, LEAD_COUNTER.evaluated);
  }

  /**
   * One counter of many leads: on one Redis a script call per COUNTERS_PER_CALL leads (so that no
   * call holds Redis long); on a cluster, where each lead's counters lie in a slot of their own (as
   * its version's key did, one MGET per slot), an HGET each, auto-pipelined per node.
   */
  private async counters(leadIds: readonly string[], field: string): Promise<number[]> {
    if (leadIds.length === 0) return [];
    const keys = leadIds.map((id) => this.keys.leadCounters(id));
    let raws: Array<string | null>;
    if (this.redis instanceof Cluster) {
      const cluster = this.redis;
      raws = await Promise.all(keys.map((key) => cluster.hget(key, field)));
    } else {
      const chunks: Array<Promise<Array<string | null>>> = [];
      for (let i = 0; i < keys.length; i += COUNTERS_PER_CALL) {
        chunks.push(READ_COUNTERS.runOn(this.redis, keys.slice(i, i + COUNTERS_PER_CALL), field) as Promise<Array<string | null>>);
      }
      raws = (await Promise.all(chunks)).flat();
    }
    return raws.map((raw) => Number(raw ?? 0));
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.leadIndex());
  }

  /**
   * Lead ids in pages, for reconcile and reports. Paged by the last id seen (every member has
   * score 0, so the set is ordered by id): a lead added or removed meanwhile shifts nothing.
   */
  async *ids(pageSize = 1000): AsyncIterable<string[]> {
    let after = '-';
    for (;;) {
      const page = await this.redis.zrangebylex(this.keys.leadIndex(), after, '+', 'LIMIT', 0, pageSize);
      if (page.length === 0) return;
      yield page;
      after = `(${page[page.length - 1] as string}`;
    }
  }

  /** Every stored lead, in pages (reports, dry runs). */
  async *all(pageSize = 500): AsyncIterable<StoredLead[]> {
    for await (const ids of this.ids(pageSize)) {
      const map = await this.getMany(ids);
      yield [...map.values()];
    }
  }
}
