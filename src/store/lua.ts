/**
 * The stores' Lua scripts, called by SHA1. ioredis's `defineCommand` sends EVALSHA and falls back to
 * EVAL with the text only when Redis answers NOSCRIPT (a restarted server, a cluster node that has
 * not run it yet). Calling `eval` with the text sent up to 3 KB of Lua with every call on the hot
 * path (held values, pending entries, the end of an evaluation, the API budget's ledger), and made
 * Redis hash that text each time.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-slots.js';

export type ScriptArg = string | number | Buffer;
type ScriptCommand = (...args: ScriptArg[]) => Promise<unknown>;

export class LuaScript {
  /** The command's name on a client: one per script text, so two texts never share a name. */
  readonly name: string;
  readonly sha: string;

  constructor(
    readonly source: string,
    /** How many of a call's leading arguments are keys (they choose a cluster node). */
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
    this.name = `smkLua${this.sha.slice(0, 16)}`;
  }

  /** Runs the script with `numberOfKeys` keys first, then its arguments. */
  run(redis: RedisClient, ...keysAndArgs: ScriptArg[]): Promise<unknown> {
    if (keysAndArgs.length < this.numberOfKeys) {
      throw new RangeError(`the Lua script ${this.name} takes ${this.numberOfKeys} keys; it was given ${keysAndArgs.length} arguments in all`);
    }
    // defineCommand adds the command as a method of the client; each client is given it once.
    const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
    if (typeof commands[this.name] !== 'function') redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.source });
    return (commands[this.name] as ScriptCommand).apply(redis, keysAndArgs);
  }
}
