/**
 * The stores' Lua scripts, called by SHA1. ioredis's `defineCommand` sends EVALSHA and falls back to
 * EVAL with the text only when Redis answers NOSCRIPT (a restarted server, a cluster node that has
 * not run it yet). Calling `eval` with the text sent up to 3 KB of Lua with every call on the hot
 * path (held values, pending entries, the end of an evaluation, the API budget's ledger), and made
 * Redis hash that text each time.
 */
import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-slots.js';

export type ScriptArg = string | number | Buffer;
type ScriptCommand = (...args: ScriptArg[]) => Promise<unknown>;

export class LuaScript {
  /** The command's name on a client: one per script text, so two texts never share a name. */
  readonly name: string;
  readonly sha: string;

  constructor(
    readonly source: string,
    /**
     * How many of a call's leading arguments are keys (they choose a cluster node); `'any'` for a
     * script over as many keys as a call gives (`runOn`), such as a read of many leads at once.
     */
    readonly numberOfKeys: number | 'any',
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
    this.name = `smkLua${this.sha.slice(0, 16)}`;
  }

  /** Runs the script with `numberOfKeys` keys first, then its arguments. */
  run(redis: RedisClient, ...keysAndArgs: ScriptArg[]): Promise<unknown> {
    if (this.numberOfKeys === 'any') throw new TypeError(`the Lua script ${this.name} takes any number of keys: call it with runOn`);
    if (keysAndArgs.length < this.numberOfKeys) {
      throw new RangeError(`the Lua script ${this.name} takes ${this.numberOfKeys} keys; it was given ${keysAndArgs.length} arguments in all`);
    }
    // defineCommand adds the command as a method of the client; each client is given it once.
    const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
    if (typeof commands[this.name] !== 'function') redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.source });
    return (commands[this.name] as ScriptCommand).apply(redis, keysAndArgs);
  }

  /**
   * Runs a script of any number of keys over `keys`, then its arguments, on one Redis. Redis is
   * told the count with the call, as EVALSHA's own `numkeys`. Not on a cluster: ioredis's
   * auto-pipelining routes a call by its first argument, which here is the count, not a key.
   */
  runOn(redis: RedisClient, keys: readonly string[], ...args: ScriptArg[]): Promise<unknown> {
    if (this.numberOfKeys !== 'any') throw new TypeError(`the Lua script ${this.name} takes ${this.numberOfKeys} keys: call it with run`);
    if (redis instanceof Cluster) throw new TypeError(`the Lua script ${this.name} takes any number of keys: a Redis Cluster client cannot route it`);
    const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
    // Without `numberOfKeys`, ioredis takes the count as the call's first argument.
    if (typeof commands[this.name] !== 'function') redis.defineCommand(this.name, { lua: this.source });
    return (commands[this.name] as ScriptCommand).apply(redis, [keys.length, ...keys, ...args]);
  }
}
