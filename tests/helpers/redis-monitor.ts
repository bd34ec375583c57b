/** What Redis receives, as MONITOR shows it: the commands that name a key of one prefix. */
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../../src/store/redis.js';

export interface CommandWatch {
  /** Stops watching (after a moment for the last commands to arrive) and returns what was seen. */
  stop(): Promise<string[][]>;
}

/** Watches from a connection of its own; on a cluster, every master. */
export async function watchCommands(redis: RedisClient, prefix: string): Promise<CommandWatch> {
  const seen: string[][] = [];
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis as Redis];
  const monitors = await Promise.all(nodes.map(async (node) => {
    const monitor = await node.duplicate().monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(prefix))) seen.push(args);
    });
    return monitor;
  }));
  return {
    stop: async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const monitor of monitors) monitor.disconnect();
      return seen;
    },
  };
}
