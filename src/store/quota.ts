/**
 * The quota limiter shared by every worker process through Redis. HubSpot: a rolling 10-second
 * window (our share of the burst limit), a per-second search window, and a daily budget.
 * Salesforce: a daily budget, either configured or our share of the org allocation that
 * `Sforce-Limit-Info` reports. Short windows are waited out; a spent daily budget pauses the
 * work with a QUOTA_EXHAUSTED error carrying when it resumes, so jobs retry from their cursor.
 */
import type { Redis } from 'ioredis';
import { CrmError } from '../../connectors/errors.js';
import type { QuotaGate, QuotaReport } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import type { Keys } from './keys.js';

export interface QuotaLimits {
  hubspot: { perTenSeconds: number; share: number; daily: number; searchPerSecond: number };
  salesforce: { share: number; dailyCalls?: number };
}

// Sliding window over a sorted set, timed by the Redis server's clock so that every machine
// agrees. Returns 0 when the calls were admitted, else the ms to wait before trying again.
const SLIDING_WINDOW = `
local key = KEYS[1]
local windowMs = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local member = ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
local used = redis.call('ZCARD', key)
if used + n > limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local wait = windowMs
  if oldest[2] then wait = tonumber(oldest[2]) + windowMs - now end
  if wait < 1 then wait = 1 end
  return wait
end
for i = 1, n do redis.call('ZADD', key, now, member .. ':' .. i) end
redis.call('PEXPIRE', key, windowMs + 1000)
return 0
`;

// A daily counter: admits n calls if the budget allows, else returns -1.
const DAILY = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local budget = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if budget >= 0 and used + n > budget then return -1 end
local v = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], 2 * 86400)
return v
`;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function msUntilNextUtcDay(ms: number): number {
  const next = new Date(ms);
  next.setUTCHours(24, 0, 0, 0);
  return next.getTime() - ms;
}

let memberSeq = 0;

export class RedisQuotaGate implements QuotaGate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly limits: QuotaLimits,
    private readonly options: { maxWaitMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async sliding(key: string, windowMs: number, limit: number, calls: number): Promise<number> {
    const member = `${process.pid}:${Date.now()}:${(memberSeq += 1)}`;
    const result = await this.redis.eval(SLIDING_WINDOW, 1, key, windowMs, limit, calls, member);
    return Number(result);
  }

  /** Waits until the window admits `calls`, or throws RATE_LIMITED past `maxWaitMs`. */
  private async waitForWindow(crm: CrmName, key: string, windowMs: number, limit: number, calls: number): Promise<void> {
    const deadline = this.now() + (this.options.maxWaitMs ?? 60_000);
    for (;;) {
      const wait = await this.sliding(key, windowMs, Math.max(1, limit), Math.min(calls, Math.max(1, limit)));
      if (wait === 0) return;
      if (this.now() + wait > deadline) {
        throw new CrmError({ crm, code: 'RATE_LIMITED', message: `our ${crm} rate budget is busy`, retryAfterMs: wait });
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async dailyBudget(crm: CrmName): Promise<number | null> {
    if (crm === 'hubspot') return Math.floor(this.limits.hubspot.daily * this.limits.hubspot.share);
    if (this.limits.salesforce.dailyCalls !== undefined) return this.limits.salesforce.dailyCalls;
    const observed = await this.redis.hget(this.keys.quotaObserved(crm), 'dailyLimit');
    return observed ? Math.floor(Number(observed) * this.limits.salesforce.share) : null;
  }

  async take(crm: CrmName, kind: 'read' | 'write' | 'search', calls = 1): Promise<void> {
    const now = this.now();
    const pausedUntil = Number((await this.redis.get(this.keys.quotaPause(crm))) ?? 0);
    if (pausedUntil > now) {
      throw new CrmError({ crm, code: 'QUOTA_EXHAUSTED', message: `${crm} API budget paused until ${new Date(pausedUntil).toISOString()}`, retryAfterMs: pausedUntil - now });
    }
    if (crm === 'hubspot') {
      const h = this.limits.hubspot;
      if (kind === 'search') {
        await this.waitForWindow(crm, this.keys.quotaWindow(crm, 'search'), 1000, h.searchPerSecond, calls);
      }
      await this.waitForWindow(crm, this.keys.quotaWindow(crm, 'burst'), 10_000, Math.floor(h.perTenSeconds * h.share), calls);
    }
    const budget = await this.dailyBudget(crm);
    const admitted = await this.redis.eval(DAILY, 1, this.keys.quotaDay(crm, utcDay(now)), budget ?? -1, calls);
    if (Number(admitted) < 0) {
      const wait = msUntilNextUtcDay(now);
      throw new CrmError({
        crm,
        code: 'QUOTA_EXHAUSTED',
        message: `the daily ${crm} API budget of ${budget} calls is spent; work resumes at ${new Date(now + wait).toISOString()}`,
        retryAfterMs: wait,
      });
    }
  }

  async observe(crm: CrmName, info: { dailyUsed?: number; dailyLimit?: number; windowRemaining?: number; windowLimit?: number }): Promise<void> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(info)) if (typeof v === 'number' && Number.isFinite(v)) fields[k] = String(v);
    if (Object.keys(fields).length === 0) return;
    fields.observedAt = String(this.now());
    await this.redis.hset(this.keys.quotaObserved(crm), fields);
    // The org as a whole (other integrations too) is nearly out: stop before the CRM stops everyone.
    if (info.dailyUsed !== undefined && info.dailyLimit !== undefined && info.dailyUsed >= info.dailyLimit * 0.98) {
      await this.pause(crm, 60 * 60_000);
    }
  }

  async pause(crm: CrmName, ms: number): Promise<void> {
    await this.redis.set(this.keys.quotaPause(crm), String(this.now() + ms), 'PX', ms);
  }

  async report(crm: CrmName): Promise<QuotaReport> {
    const now = this.now();
    const [used, observed, pausedUntil, windowUsed] = await Promise.all([
      this.redis.get(this.keys.quotaDay(crm, utcDay(now))),
      this.redis.hgetall(this.keys.quotaObserved(crm)),
      this.redis.get(this.keys.quotaPause(crm)),
      crm === 'hubspot' ? this.redis.zcount(this.keys.quotaWindow(crm, 'burst'), now - 10_000, '+inf') : Promise.resolve(undefined),
    ]);
    const budget = await this.dailyBudget(crm);
    const paused = Number(pausedUntil ?? 0) > now || (budget !== null && Number(used ?? 0) >= budget);
    return {
      crm,
      dailyUsed: Number(used ?? 0),
      dailyLimit: observed.dailyLimit ? Number(observed.dailyLimit) : crm === 'hubspot' ? this.limits.hubspot.daily : null,
      dailyBudget: budget,
      windowUsed,
      windowLimit: crm === 'hubspot' ? Math.floor(this.limits.hubspot.perTenSeconds * this.limits.hubspot.share) : undefined,
      paused,
      resumesAt: paused ? new Date(Math.max(Number(pausedUntil ?? 0), now + (budget !== null && Number(used ?? 0) >= budget ? msUntilNextUtcDay(now) : 0))).toISOString() : undefined,
    };
  }
}
