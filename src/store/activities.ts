/**
 * The calls and emails sales logged, kept per Salesforce record (Lead or Contact) rather than per
 * lead: a Task read before its person is linked needs no parking, and a converted Lead's calls stay
 * with its id, which the lead keeps as `convertedFrom`. One hash per record, Task id -> reading; the
 * newest reading of a Task wins (a page retried late changes nothing), a deleted Task stays as a
 * tombstone so that an older page cannot bring it back, and each record keeps its latest
 * MAX_PER_RECORD Tasks.
 */
import { execBySlot } from './redis.js';
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { ActivityFact, RecordRef } from '../../connectors/types.js';
import type { Keys } from './keys.js';

const MAX_PER_RECORD = 100;

const storedActivitySchema = z.object({
  kind: z.enum(['call', 'email']),
  completedAt: z.string().nullable(),
  ownerId: z.string().nullable(),
  subject: z.string().nullable(),
  modifiedAt: z.string(),
  deleted: z.boolean(),
});
export type StoredActivity = z.infer<typeof storedActivitySchema> & { id: string };

export class ActivityStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  private parse(recordId: string, id: string, raw: string): StoredActivity | null {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return null;
    }
    const parsed = storedActivitySchema.safeParse(json);
    return parsed.success ? { ...parsed.data, id } : null;
  }

  /** Applies one page of readings; returns the records whose activities changed. */
  async apply(facts: readonly ActivityFact[]): Promise<{ changed: RecordRef[]; stale: number }> {
    const byRecord = new Map<string, { ref: RecordRef; facts: Map<string, ActivityFact> }>();
    let stale = 0;
    for (const fact of facts) {
      const entry = byRecord.get(fact.who.id) ?? { ref: fact.who, facts: new Map<string, ActivityFact>() };
      byRecord.set(fact.who.id, entry);
      const seen = entry.facts.get(fact.id);
      if (seen !== undefined) stale += 1;
      if (seen === undefined || Date.parse(fact.modifiedAt) >= Date.parse(seen.modifiedAt)) entry.facts.set(fact.id, fact);
    }
    const changed: RecordRef[] = [];
    for (const { ref, facts: readings } of byRecord.values()) {
      const key = this.keys.activities(ref.id);
      const ids = [...readings.keys()];
      const held = await this.redis.hmget(key, ...ids);
      const writes: Record<string, string> = {};
      for (const [i, id] of ids.entries()) {
        const fact = readings.get(id) as ActivityFact;
        const raw = held[i];
        const before = raw === null || raw === undefined ? null : this.parse(ref.id, id, raw);
        if (before !== null && Date.parse(before.modifiedAt) > Date.parse(fact.modifiedAt)) {
          stale += 1;
          continue;
        }
        const next = { kind: fact.kind, completedAt: fact.completedAt, ownerId: fact.ownerId, subject: fact.subject, modifiedAt: fact.modifiedAt, deleted: fact.deleted };
        const text = JSON.stringify(next);
        if (raw === text) continue;
        writes[id] = text;
      }
      if (Object.keys(writes).length === 0) continue;
      await this.redis.hset(key, writes);
      changed.push(ref);
      if ((await this.redis.hlen(key)) > MAX_PER_RECORD) await this.trim(ref.id);
    }
    return { changed, stale };
  }

  /** Keeps a record's latest MAX_PER_RECORD Tasks (by completion, else modification). */
  private async trim(recordId: string): Promise<void> {
    const key = this.keys.activities(recordId);
    const all = await this.redis.hgetall(key);
    const entries = Object.entries(all).map(([id, raw]) => {
      const activity = this.parse(recordId, id, raw);
      return { id, at: Date.parse(activity?.completedAt ?? activity?.modifiedAt ?? '') || 0 };
    });
    entries.sort((a, b) => b.at - a.at);
    const drop = entries.slice(MAX_PER_RECORD).map((e) => e.id);
    if (drop.length > 0) await this.redis.hdel(key, ...drop);
  }

  /** The live (not deleted) activities of these records, newest completion first. */
  async forRecords(recordIds: readonly string[]): Promise<StoredActivity[]> {
    if (recordIds.length === 0) return [];
    // Each record's hash is a slot of its own on a cluster: one pipeline per slot (execBySlot).
    const replies = await execBySlot(this.redis, recordIds.map((id) => this.keys.activities(id)), (pipe, i) => pipe.hgetall(this.keys.activities(recordIds[i] as string)));
    const out: StoredActivity[] = [];
    for (const [i, [err, value]] of replies.entries()) {
      if (err) throw err;
      for (const [id, raw] of Object.entries(value as Record<string, string>)) {
        const activity = this.parse(recordIds[i] as string, id, raw);
        if (activity && !activity.deleted) out.push(activity);
      }
    }
    const at = (a: StoredActivity) => (a.completedAt === null ? Number.NEGATIVE_INFINITY : Date.parse(a.completedAt));
    return out.sort((a, b) => (at(b) > at(a) ? 1 : at(b) < at(a) ? -1 : 0));
  }
}
