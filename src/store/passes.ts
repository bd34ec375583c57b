/**
 * What one pass of `smk sync --once` asked for, so that it waits for its own work and not for a
 * foreign backlog (a running service's webhook flood): the ingest jobs it queued, and the leads
 * whose evaluation it asked for, each with the lead's version at that moment. The ledger is in
 * Redis because any worker may do the work (the pass's own, or a running service's). It expires a
 * day after its last use: a pass that died leaves nothing for long.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

const LEDGER_TTL_S = 86_400;

// KEYS: the ledger's leads hash. ARGV: ttl, then lead id and version pairs. Keeps each lead's highest version.
const WATCH = new LuaScript(`
for i = 2, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
`, 1);

export class PassLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** A new pass's id. */
  open(): string {
    return randomUUID();
  }

  private jobsKey(pass: string): string {
    return this.keys.meta(`pass:{${pass}}:jobs`);
  }

  private leadsKey(pass: string): string {
    return this.keys.meta(`pass:{${pass}}:leads`);
  }

  async addJob(pass: string, jobId: string): Promise<void> {
    await this.redis.multi().sadd(this.jobsKey(pass), jobId).expire(this.jobsKey(pass), LEDGER_TTL_S).exec();
  }

  /** The pass waits until each lead is evaluated at `versions[i]` or later. */
  async watch(pass: string, leadIds: readonly string[], versions: readonly number[]): Promise<void> {
    if (leadIds.length === 0) return;
    const args: Array<string | number> = [LEDGER_TTL_S];
    leadIds.forEach((id, i) => args.push(id, versions[i] ?? 0));
    await WATCH.run(this.redis, this.leadsKey(pass), ...args);
  }

  async jobs(pass: string): Promise<string[]> {
    return this.redis.smembers(this.jobsKey(pass));
  }

  async leads(pass: string): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.leadsKey(pass));
    return new Map(Object.entries(raw).map(([id, v]) => [id, Number(v)]));
  }

  async close(pass: string): Promise<void> {
    await this.redis.del(this.jobsKey(pass), this.leadsKey(pass));
  }
}
