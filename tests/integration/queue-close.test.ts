/**
 * Closing queues and workers while their connection is still starting must not end the process.
 * BullMQ's start-up of a connection sends an INFO; if the socket closes before the answer (a short
 * command such as `smk errors list` closing at once), BullMQ re-emits the failure as 'error' on a
 * connection whose listeners its close already removed, and Node turns that into a crash (CI saw
 * "Connection is closed" from `smk errors list`). A blocking command sent first holds the INFO back
 * so that the race is the same every run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/store/redis.js';
import { createQueues, queuePrefix } from '../../jobs/queues.js';
import { ServiceWorker } from '../../jobs/workers.js';
import { createRedis } from '../../src/store/redis.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';

/**
 * How long the BLPOP holds the INFO back: far longer than the 20 ms before close, so that even a
 * stalled CI machine closes while the INFO waits. The queues drop the socket at once, so it costs
 * them no time; a BullMQ 6 worker's close first waits for its main loop, whose first command is
 * queued behind the BLPOP, so the worker's case takes this long.
 */
const HOLD_MS = 5000;

/** A fresh connection whose first command, sent as it becomes ready, blocks it for `ms`. */
async function connectionHeldBack(url: string, key: string, ms: number): Promise<RedisClient> {
  const connection = createRedis(url, { forQueues: true });
  await new Promise<void>((resolve) => {
    connection.once('ready', () => {
      connection.blpop(key, ms / 1000).catch(() => undefined);
      resolve();
    });
  });
  return connection;
}

describe('closing while a connection still starts', () => {
  let t: TestRedis;
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);

  beforeEach(async () => {
    t = await testRedis('queue-close');
    escaped.length = 0;
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
    await t.cleanup();
  });

  it('the queues close and nothing escapes as an unhandled error', async () => {
    const problems: string[] = [];
    const connection = await connectionHeldBack(t.url, `${t.prefix}held`, HOLD_MS);
    const held = createQueues(connection, t.prefix, (name, err) => problems.push(`${name}: ${err.message}`));
    // The queues' INFO is queued behind the BLPOP: closing and dropping the socket now fails it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await held.close();
    connection.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(escaped.map(String)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a worker closes and nothing escapes as an unhandled error', async () => {
    const connection = await connectionHeldBack(t.url, `${t.prefix}held`, HOLD_MS);
    const worker = new ServiceWorker('poll', async () => undefined, { connection, prefix: queuePrefix(t.prefix, 'poll') });
    const errors: string[] = [];
    worker.on('error', (err) => errors.push(err.message));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await worker.close();
    connection.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(escaped.map(String)).toEqual([]);
    expect(errors.filter((m) => !/Connection is closed/.test(m))).toEqual([]);
  });
});
