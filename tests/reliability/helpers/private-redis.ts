/**
 * A private `redis-server` of the reliability suite's own: AOF on, on its own port and directory,
 * so that a test may stop and start it (the AOF reloads) without touching the shared Redis.
 * `asTestRedis` gives a connection and a prefix of their own, like tests/helpers/redis.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../../src/store/redis.js';
import { createRedis, freePort, startPrivateRedis } from '../../../src/store/redis.js';
import type { PrivateRedis } from '../../../src/store/redis.js';

/** The shape of tests/helpers/redis.ts's TestRedis (that module needs vitest's inject). */
export interface PrefixedRedis {
  url: string;
  redis: RedisClient;
  prefix: string;
  cleanup(): Promise<void>;
}

export interface RestartableRedis {
  url: string;
  port: number;
  dir: string;
  restarts: number;
  /** Stops the server (SIGTERM: it writes its AOF out) and starts it again on the same port and dir. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** A connection and a fresh key prefix on this server (the server is the suite's own). */
  asTestRedis(label: string): PrefixedRedis;
  stop(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'smk-chaos-redis-'));
  const port = await freePort();
  let server: PrivateRedis = await startPrivateRedis({ appendOnly: true, port, dir });
  const state: RestartableRedis = {
    url: server.url,
    port,
    dir,
    restarts: 0,
    restart: async (options = {}) => {
      await server.stop();
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      server = await startPrivateRedis({ appendOnly: true, port, dir });
      state.restarts += 1;
    },
    asTestRedis: (label) => {
      const redis = createRedis(server.url);
      redis.on('error', () => undefined);
      return {
        url: server.url,
        redis,
        prefix: `smk-chaos:${label}:${randomUUID().slice(0, 8)}:`,
        // The whole server goes away with stop(); a prefix cleanup is not needed here.
        cleanup: async () => {
          redis.disconnect();
        },
      };
    },
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return state;
}
