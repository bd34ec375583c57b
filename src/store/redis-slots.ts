/**
 * Commands over keys of many hash slots, for one Redis and a Redis Cluster alike. On a cluster a
 * multi-key command, a MULTI or a pipeline must keep to one slot (one node for a pipeline), and
 * SCAN sees one node's keys only: these helpers split by slot and go to every master.
 */
import { Cluster } from 'ioredis';
import type { ChainableCommander, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';

/** A connection to one Redis or to a Redis Cluster: the stores and jobs use this type for both. */
export type RedisClient = Redis | Cluster;

/** The masters of a cluster (every key lives on one), or the one Redis. */
export function mastersOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Every key matching `pattern`, in batches, from every master of a cluster (SCAN is per node). */
export async function* scanKeys(client: RedisClient, pattern: string, count = 1000): AsyncIterable<string[]> {
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (found.length > 0) yield found;
    } while (cursor !== '0');
  }
}

/** Deletes every key matching `pattern` (every master of a cluster); returns how many. */
export async function deleteMatching(client: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const found of scanKeys(client, pattern)) {
    // UNLINK of several keys needs them in one slot on a cluster: one per key, pipelined.
    if (client instanceof Cluster) deleted += (await Promise.all(found.map((key) => client.unlink(key)))).reduce((a, b) => a + b, 0);
    else deleted += await client.unlink(...found);
  }
  return deleted;
}

/** The keys grouped by hash slot, each with its positions in `keys` (one group on a single Redis). */
function groupBySlot(client: RedisClient, keys: readonly string[]): Array<{ keys: string[]; at: number[] }> {
  if (!(client instanceof Cluster)) return [{ keys: [...keys], at: keys.map((_, i) => i) }];
  const bySlot = new Map<number, { keys: string[]; at: number[] }>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    const group = bySlot.get(slot) ?? { keys: [], at: [] };
    group.keys.push(key);
    group.at.push(i);
    bySlot.set(slot, group);
  });
  return [...bySlot.values()];
}

/**
 * MGET of keys that may lie in many slots: one MGET on a single Redis; on a cluster one per hash
 * slot, sent together (auto-pipelining batches them per node).
 */
export async function mgetAcross(client: RedisClient, keys: readonly string[]): Promise<Array<string | null>> {
  return mgetGrouped(client, keys, (group) => client.mget(group));
}

/** mgetAcross for values kept as bytes (the stored lead's encoding, src/store/lead-codec.ts). */
export async function mgetBufferAcross(client: RedisClient, keys: readonly string[]): Promise<Array<Buffer | null>> {
  return mgetGrouped(client, keys, (group) => client.mgetBuffer(group));
}

async function mgetGrouped<T>(client: RedisClient, keys: readonly string[], mget: (group: string[]) => Promise<Array<T | null>>): Promise<Array<T | null>> {
  if (keys.length === 0) return [];
  const groups = groupBySlot(client, keys);
  const out = new Array<T | null>(keys.length).fill(null);
  const replies = await Promise.all(groups.map((group) => mget(group.keys)));
  groups.forEach((group, g) => group.at.forEach((i, j) => (out[i] = (replies[g] as Array<T | null>)[j] ?? null)));
  return out;
}

/**
 * A pipeline of commands, the i-th touching `slotKeys[i]` (and only keys of its slot). One
 * pipeline on a single Redis; on a cluster, where a pipeline must stay on one node, one pipeline
 * per hash slot, run together. Replies come back in the order of `slotKeys`.
 */
export async function execBySlot(client: RedisClient, slotKeys: readonly string[], add: (pipe: ChainableCommander, i: number) => void): Promise<Array<[Error | null, unknown]>> {
  if (slotKeys.length === 0) return [];
  const groups = groupBySlot(client, slotKeys);
  const out = new Array<[Error | null, unknown]>(slotKeys.length);
  await Promise.all(
    groups.map(async (group) => {
      const pipe = client.pipeline();
      for (const i of group.at) add(pipe, i);
      const replies = (await pipe.exec()) ?? [];
      group.at.forEach((i, j) => (out[i] = replies[j] ?? [new Error('no reply'), null]));
    }),
  );
  return out;
}
