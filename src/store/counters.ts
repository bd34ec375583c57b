/**
 * Running totals of what the pipeline did, shared by every worker (one Redis hash): leads whose
 * stored view changed, leads evaluated, records written and created in each CRM. `smk sync --once`
 * reports the difference over its pass; `/metrics` can read the totals.
 */
import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';

export const COUNTER_NAMES = ['changed', 'evaluated', 'writes.hubspot', 'writes.salesforce', 'created.hubspot', 'created.salesforce', 'tasks.salesforce'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counts = Record<CounterName, number>;

export function zeroCounts(): Counts {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counts;
}

export class CounterStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
  ) {
    this.key = keys.meta('counters');
  }

  async add(counts: Partial<Counts>): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => typeof n === 'number' && n !== 0) as Array<[CounterName, number]>;
    if (entries.length === 0) return;
    const multi = this.redis.multi();
    for (const [name, n] of entries) multi.hincrby(this.key, name, n);
    await multi.exec();
  }

  async read(): Promise<Counts> {
    const raw = await this.redis.hgetall(this.key);
    const out = zeroCounts();
    for (const name of COUNTER_NAMES) out[name] = Number(raw[name] ?? 0);
    return out;
  }
}

/** What happened between two readings. */
export function countsSince(before: Counts, after: Counts): Counts {
  const out = zeroCounts();
  for (const name of COUNTER_NAMES) out[name] = Math.max(0, after[name] - before[name]);
  return out;
}
