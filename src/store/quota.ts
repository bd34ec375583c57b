/**
 * The quota limiter shared by every worker process through Redis, counting the windows the way
 * each vendor counts them.
 *
 * - HubSpot: a rolling 10-second window (our share of the burst limit), a per-second search
 *   window, and a daily budget from midnight to midnight in the portal's time zone ("The daily
 *   limits reset at midnight based on the time zone setting of the HubSpot account",
 *   https://developers.hubspot.com/apisbytier). The zone is `timeZone` of
 *   `GET /account-info/v3/details` (HubSpot-public-api-spec-collection, Account Info v3), which the
 *   connector reads when the gate asks for it (`claimProbe`): the first time the budget nears its
 *   end, and again a day later. Until then the budget is counted over a rolling 24 hours, which
 *   holds no more calls than any calendar day in any zone, and one call of it is kept for reading
 *   the zone.
 * - Salesforce: a rolling 24 hours ("Limits are enforced against the aggregate of all API calls
 *   made to the org in a 24-hour period ... Calls are blocked until usage for the preceding 24 hours
 *   drops below the limit", Salesforce Help "System Overview: API Usage"). Our budget is configured
 *   (`dailyCalls`) or our share of the allocation the org reports.
 *
 * Our own calls are counted per minute in one hash per CRM; a minute's calls leave the rolling
 * window once the last of them is 24 hours old, never earlier. A spent budget refuses with
 * QUOTA_EXHAUSTED carrying when it resumes (when enough calls have rolled out, or the portal's
 * midnight), so jobs retry from their cursor.
 *
 * What the CRM says of everyone's usage is observed too (`Sforce-Limit-Info: api-usage=N/M` on
 * every Salesforce answer, `X-HubSpot-RateLimit-Daily(-Remaining)` on HubSpot private-app answers).
 * When the CRM as a whole is nearly out (98 %), the work is held so that we do not stop everyone:
 * HubSpot until the portal's midnight (its count only resets then); Salesforce until the org
 * reports room again, which the connector re-checks with one `GET /limits` call at most once per
 * `probeIntervalMs` across every worker. The hold is lifted by the first answer that shows room.
 */
import type { RedisClient } from './redis.js';
import { DateTime } from 'luxon';
import { CrmError } from '../../connectors/errors.js';
import type { QuotaGate, QuotaObservation, QuotaReport } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import { isValidTimeZone } from '../rules/business-time.js';
import type { Keys } from './keys.js';
import { LuaScript } from './lua.js';

export interface QuotaLimits {
  hubspot: { perTenSeconds: number; share: number; daily: number; searchPerSecond: number };
  salesforce: { share: number; dailyCalls?: number };
}

export interface QuotaGateOptions {
  /** Longest wait inside `take` for a short window (default 60 s). */
  maxWaitMs?: number;
  /** Epoch ms now: the daily windows and holds follow it (the service's clock; tests move it). */
  now?: () => number;
  /** Shortest time between two re-reads of the CRM's own usage while work is held (default 60 s). */
  probeIntervalMs?: number;
}

/** Share of the CRM's limit for everyone at which our work is held (others need the rest). */
const CRM_HOLD_SHARE = 0.98;
const DEFAULT_PROBE_INTERVAL_MS = 60_000;
/** How long a portal time zone read from HubSpot is trusted before it is read again. */
const TIME_ZONE_TTL_MS = 24 * 3_600_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

// Sliding window over a sorted set, timed by the Redis server's clock so that every machine
// agrees. Returns 0 when the calls were admitted, else the ms to wait before trying again.
const SLIDING_WINDOW = new LuaScript(`
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
`, 1);

/*
 * Our calls per minute: field `m<minute>` = calls in that minute (minutes since the epoch, by the
 * gate's clock). Kept 26 hours (the longest local day, and then some). Two running sums spare
 * reading every minute on every call:
 *   rsum = calls of minutes >= rfirst, the rolling 24 hours (a minute counts while now's minute
 *          is at most 1440 later, so each call counts for at least a full 24 hours);
 *   dsum = calls of minutes >= dstart, the current portal day (only while a day start is given).
 * ARGV: now (ms), n (calls), budget (-1: none), day start (minute; -1: rolling 24 hours),
 * commit (1: count the calls when admitted; 0: only answer).
 * Returns {admitted 1|0, used in the window before these calls, ms at which n calls fit again in
 * the rolling window (0 when unknown or not rolling)}.
 */
const LEDGER = new LuaScript(`
local K = KEYS[1]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local dayStart = tonumber(ARGV[4])
local commit = ARGV[5] == '1'
local KEEP = 1560
local ROLL = 1440
local minute = math.floor(now / 60000)
local h = redis.call('HMGET', K, 'kfirst', 'rfirst', 'rsum', 'dstart', 'dsum', 'last')
local kfirst = tonumber(h[1]) or (minute - KEEP)
local rfirst = tonumber(h[2]) or (minute - ROLL)
local rsum = tonumber(h[3]) or 0
local dstart = tonumber(h[4])
local dsum = tonumber(h[5]) or 0
local last = tonumber(h[6]) or minute
-- A clock moved far back: minutes "from the future" are no longer walked (they still count in the sums).
if last > minute + KEEP then last = minute end
local top = math.max(minute, last)
local function count(b) return tonumber(redis.call('HGET', K, 'm' .. b) or '0') end
local function sum(from, to)
  local s = 0
  for b = math.max(from, kfirst), to do s = s + count(b) end
  return s
end
-- The rolling 24 hours.
local rollFrom = minute - ROLL
if rollFrom - rfirst > ROLL then
  rsum = sum(rollFrom, top)
  rfirst = rollFrom
else
  while rfirst < rollFrom do
    rsum = rsum - count(rfirst)
    rfirst = rfirst + 1
  end
end
-- The portal day.
if dayStart >= 0 then
  if dstart == nil or math.abs(dayStart - dstart) > KEEP then
    dsum = sum(dayStart, top)
  elseif dayStart > dstart then
    dsum = dsum - sum(dstart, dayStart - 1)
  elseif dayStart < dstart then
    dsum = dsum + sum(dayStart, dstart - 1)
  end
  dstart = dayStart
else
  dstart = nil
end
-- Then forget minutes older than 26 hours (all of them after a long pause or a jump of the clock).
local keepFrom = minute - KEEP
if keepFrom - kfirst > KEEP then
  local fields = redis.call('HKEYS', K)
  for _, f in ipairs(fields) do
    local b = tonumber(string.match(f, '^m(%-?%d+)$'))
    if b and b < keepFrom then redis.call('HDEL', K, f) end
  end
  kfirst = keepFrom
else
  while kfirst < keepFrom do
    redis.call('HDEL', K, 'm' .. kfirst)
    kfirst = kfirst + 1
  end
end
local used = rsum
if dstart ~= nil then used = dsum end
local admitted = budget < 0 or used + n <= budget
local resumeAt = 0
if not admitted and dstart == nil and n <= budget then
  local left = rsum
  local b = rfirst
  while b <= top and left + n > budget do
    left = left - count(b)
    b = b + 1
  end
  if left + n <= budget then resumeAt = (b - 1 + ROLL + 1) * 60000 end
end
if admitted and commit and n > 0 then
  redis.call('HINCRBY', K, 'm' .. minute, n)
  rsum = rsum + n
  if dstart ~= nil and minute >= dstart then dsum = dsum + n end
  last = math.max(last, minute)
end
redis.call('HSET', K, 'kfirst', kfirst, 'rfirst', rfirst, 'rsum', rsum, 'dsum', dsum, 'last', last)
if dstart ~= nil then redis.call('HSET', K, 'dstart', dstart) else redis.call('HDEL', K, 'dstart') end
redis.call('PEXPIRE', K, (KEEP + 60) * 60000)
local admittedFlag = 0
if admitted then admittedFlag = 1 end
return {admittedFlag, used, resumeAt}
`, 1);

/*
 * What the CRM said, and whether that holds our work. ARGV: now, delay before the first re-read
 * of a new hold, hold share, used (-1: not said), limit (-1: not said), limit reached (1|0),
 * zone wanted (1: re-read at once while no time zone is stored), then field/value pairs to
 * store. A report of usage below the hold share lifts the hold at once.
 */
const OBSERVE = new LuaScript(`
local K = KEYS[1]
local now = tonumber(ARGV[1])
local firstProbe = tonumber(ARGV[2])
local share = tonumber(ARGV[3])
local used = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local reached = ARGV[6] == '1'
local zoneWanted = ARGV[7] == '1'
local function over(u, l) return u ~= nil and l ~= nil and l > 0 and u >= l * share end
local h = redis.call('HMGET', K, 'dailyUsed', 'dailyLimit', 'heldAt')
local wasHeld = h[3] ~= false or over(tonumber(h[1]), tonumber(h[2]))
for i = 8, #ARGV, 2 do redis.call('HSET', K, ARGV[i], ARGV[i + 1]) end
if zoneWanted and redis.call('HEXISTS', K, 'timeZone') == 0 then firstProbe = 0 end
local isHeld = wasHeld
if used >= 0 and limit >= 0 then
  isHeld = over(used, limit)
  if not isHeld then redis.call('HDEL', K, 'heldAt', 'nextProbeAt') end
end
if reached then
  redis.call('HSET', K, 'heldAt', now)
  isHeld = true
end
if isHeld and not wasHeld then redis.call('HSET', K, 'nextProbeAt', now + firstProbe) end
return 0
`, 1);

/** One re-read per interval across workers: 1 when this caller may make it. */
const CLAIM_PROBE = new LuaScript(`
local now = tonumber(ARGV[1])
local nextAt = tonumber(redis.call('HGET', KEYS[1], 'nextProbeAt') or '0')
if now < nextAt then return 0 end
redis.call('HSET', KEYS[1], 'nextProbeAt', now + tonumber(ARGV[2]))
return 1
`, 1);

// ---------------------------------------------------------------------------------------------
// The portal's calendar day (luxon, as the SLA calendar in src/rules/business-time.ts): a local
// day lasts 23 to 25 hours, and in a zone whose clocks skip midnight it starts at the first
// instant that has its date.

/** The first instant of the local calendar day that holds `ms`. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  return DateTime.fromMillis(ms, { zone: timeZone }).startOf('day').toMillis();
}

/** The first instant of the next local calendar day. */
export function nextLocalMidnight(ms: number, timeZone: string): number {
  return DateTime.fromMillis(ms, { zone: timeZone }).startOf('day').plus({ days: 1 }).startOf('day').toMillis();
}

// ---------------------------------------------------------------------------------------------
// The gate

interface Hold {
  /** The CRM's count only resets then (HubSpot's portal midnight). */
  until?: number;
  /** Lifted by the CRM's next report of room; re-read from this time on. */
  recheckAt?: number;
  used?: number;
  limit?: number;
}

interface DailyWindow {
  /** The portal day (HubSpot with a known time zone), else a rolling 24 hours. */
  day: { timeZone: string; startsAt: number; endsAt: number } | null;
}

type Observed = Record<string, string>;

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

let memberSeq = 0;

export class RedisQuotaGate implements QuotaGate {
  private readonly probeIntervalMs: number;
  /** The portal day last worked out (the same for every call until its midnight). */
  private lastDay: { timeZone: string; startsAt: number; endsAt: number } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly limits: QuotaLimits,
    private readonly options: QuotaGateOptions = {},
  ) {
    this.probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private ledgerKey(crm: CrmName): string {
    return this.keys.quotaDay(crm, 'minutes');
  }

  private async sliding(key: string, windowMs: number, limit: number, calls: number): Promise<number> {
    const member = `${process.pid}:${Date.now()}:${(memberSeq += 1)}`;
    const result = await SLIDING_WINDOW.run(this.redis, key, windowMs, limit, calls, member);
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

  private budgetOf(crm: CrmName, observed: Observed): number | null {
    if (crm === 'hubspot') return Math.floor(this.limits.hubspot.daily * this.limits.hubspot.share);
    if (this.limits.salesforce.dailyCalls !== undefined) return this.limits.salesforce.dailyCalls;
    const limit = num(observed.dailyLimit);
    return limit !== undefined ? Math.floor(limit * this.limits.salesforce.share) : null;
  }

  async dailyBudget(crm: CrmName): Promise<number | null> {
    return this.budgetOf(crm, await this.redis.hgetall(this.keys.quotaObserved(crm)));
  }

  /** The portal's time zone, while it is fresh (HubSpot only). */
  private timeZoneOf(crm: CrmName, observed: Observed, now: number): string | null {
    if (crm !== 'hubspot' || !observed.timeZone || !isValidTimeZone(observed.timeZone)) return null;
    const at = num(observed.timeZoneAt) ?? 0;
    return now - at < TIME_ZONE_TTL_MS && at <= now + HOUR_MS ? observed.timeZone : null;
  }

  private windowOf(crm: CrmName, observed: Observed, now: number): DailyWindow {
    const timeZone = this.timeZoneOf(crm, observed, now);
    if (!timeZone) return { day: null };
    const day = this.lastDay;
    if (day && day.timeZone === timeZone && now >= day.startsAt && now < day.endsAt) return { day };
    this.lastDay = { timeZone, startsAt: startOfLocalDay(now, timeZone), endsAt: nextLocalMidnight(now, timeZone) };
    return { day: this.lastDay };
  }

  /** Whether the CRM's own report of everyone's usage holds our work, and until when. */
  private holdOf(crm: CrmName, observed: Observed, window: DailyWindow, now: number): Hold | null {
    const used = num(observed.dailyUsed);
    const limit = num(observed.dailyLimit);
    const over = used !== undefined && limit !== undefined && limit > 0 && used >= limit * CRM_HOLD_SHARE;
    const heldAt = num(observed.heldAt);
    if (!over && heldAt === undefined) return null;
    if (window.day) {
      // HubSpot counts the portal's calendar day: what it said before today's midnight is spent.
      const saidAt = Math.max(over ? (num(observed.dailyAt) ?? 0) : 0, heldAt ?? 0);
      if (saidAt < window.day.startsAt) return null;
      return { until: window.day.endsAt, used, limit };
    }
    return { recheckAt: Math.max(now, num(observed.nextProbeAt) ?? now), used, limit };
  }

  private holdError(crm: CrmName, hold: Hold, now: number): CrmError {
    const at = hold.until ?? hold.recheckAt ?? now;
    const usage = hold.used !== undefined && hold.limit !== undefined ? `${hold.used} of ${hold.limit}` : 'all';
    const when = hold.until !== undefined ? `work resumes at ${iso(at)}` : `its usage is read again at ${iso(at)}, and work resumes as soon as there is room`;
    return new CrmError({
      crm,
      code: 'QUOTA_EXHAUSTED',
      message: `${crm} reports ${usage} daily API calls used by everyone: our work is held so that others are not stopped; ${when}`,
      retryAfterMs: Math.max(1000, at - now),
    });
  }

  private async ledger(crm: CrmName, window: DailyWindow, budget: number | null, calls: number, now: number, commit: boolean): Promise<{ admitted: boolean; used: number; resumeAt: number }> {
    const dayStart = window.day ? Math.floor(window.day.startsAt / MINUTE_MS) : -1;
    const result = (await LEDGER.run(this.redis, this.ledgerKey(crm), now, calls, budget ?? -1, dayStart, commit ? 1 : 0)) as [number, number, number];
    return { admitted: Number(result[0]) === 1, used: Number(result[1]), resumeAt: Number(result[2]) };
  }

  async take(crm: CrmName, kind: 'read' | 'write' | 'search', calls = 1, options: { probe?: boolean } = {}): Promise<void> {
    const now = this.now();
    const [pausedRaw, observed] = await Promise.all([this.redis.get(this.keys.quotaPause(crm)), this.redis.hgetall(this.keys.quotaObserved(crm))]);
    const pausedUntil = Number(pausedRaw ?? 0);
    if (pausedUntil > now) {
      throw new CrmError({ crm, code: 'QUOTA_EXHAUSTED', message: `${crm} API budget paused until ${iso(pausedUntil)}`, retryAfterMs: pausedUntil - now });
    }
    const window = this.windowOf(crm, observed, now);
    const hold = this.holdOf(crm, observed, window, now);
    // A probe passes a hold that only the CRM's next report can lift; nothing else does.
    if (hold && !(options.probe && hold.until === undefined)) throw this.holdError(crm, hold, now);
    if (crm === 'hubspot') {
      const h = this.limits.hubspot;
      if (kind === 'search') {
        await this.waitForWindow(crm, this.keys.quotaWindow(crm, 'search'), 1000, h.searchPerSecond, calls);
      }
      await this.waitForWindow(crm, this.keys.quotaWindow(crm, 'burst'), 10_000, Math.floor(h.perTenSeconds * h.share), calls);
    }
    const budget = this.budgetOf(crm, observed);
    // Until HubSpot's time zone is known, one call of the budget is kept for reading it.
    const reserve = crm === 'hubspot' && !window.day && !options.probe && budget !== null ? 1 : 0;
    const result = await this.ledger(crm, window, budget === null ? null : Math.max(0, budget - reserve), calls, now, true);
    if (result.admitted) return;
    if (window.day) {
      throw new CrmError({
        crm,
        code: 'QUOTA_EXHAUSTED',
        message: `the daily ${crm} API budget of ${budget} calls is spent for the portal's day (${window.day.timeZone}); work resumes at ${iso(window.day.endsAt)}`,
        retryAfterMs: window.day.endsAt - now,
      });
    }
    const resumeAt = result.resumeAt > now ? result.resumeAt : now + 24 * HOUR_MS;
    throw new CrmError({
      crm,
      code: 'QUOTA_EXHAUSTED',
      message: `the ${crm} API budget of ${budget} calls in 24 hours is spent; work resumes at ${iso(resumeAt)}`,
      retryAfterMs: resumeAt - now,
    });
  }

  async observe(crm: CrmName, info: QuotaObservation): Promise<void> {
    const now = this.now();
    const fields: string[] = [];
    for (const k of ['dailyUsed', 'dailyLimit', 'windowRemaining', 'windowLimit'] as const) {
      const v = info[k];
      if (typeof v === 'number' && Number.isFinite(v)) fields.push(k, String(v));
    }
    const usage = typeof info.dailyUsed === 'number' && typeof info.dailyLimit === 'number' && Number.isFinite(info.dailyUsed) && Number.isFinite(info.dailyLimit);
    if (usage) fields.push('dailyAt', String(now));
    if (crm === 'hubspot' && info.timeZone && isValidTimeZone(info.timeZone)) fields.push('timeZone', info.timeZone, 'timeZoneAt', String(now));
    if (fields.length === 0 && !info.limitReached) return;
    fields.push('observedAt', String(now));
    // A new hold is re-read after an interval: the answer that started it is fresh. HubSpot's
    // time zone, when unknown, is read at once: it says until when the portal's day runs.
    await OBSERVE.run(this.redis, this.keys.quotaObserved(crm),
      now,
      this.probeIntervalMs,
      CRM_HOLD_SHARE,
      usage ? (info.dailyUsed as number) : -1,
      usage ? (info.dailyLimit as number) : -1,
      info.limitReached ? 1 : 0,
      crm === 'hubspot' ? 1 : 0,
      ...fields,
    );
  }

  async claimProbe(crm: CrmName): Promise<boolean> {
    const now = this.now();
    const observed = await this.redis.hgetall(this.keys.quotaObserved(crm));
    const window = this.windowOf(crm, observed, now);
    const hold = this.holdOf(crm, observed, window, now);
    const wanted = (hold !== null && hold.until === undefined) || (crm === 'hubspot' && !window.day);
    if (!wanted) return false;
    return Number(await CLAIM_PROBE.run(this.redis, this.keys.quotaObserved(crm), now, this.probeIntervalMs)) === 1;
  }

  /** Holds every call of `crm` for `ms` (an operator's pause). */
  async pause(crm: CrmName, ms: number): Promise<void> {
    await this.redis.set(this.keys.quotaPause(crm), String(this.now() + ms), 'PX', ms);
  }

  async report(crm: CrmName): Promise<QuotaReport> {
    const now = this.now();
    const [pausedRaw, observed, windowUsed] = await Promise.all([
      this.redis.get(this.keys.quotaPause(crm)),
      this.redis.hgetall(this.keys.quotaObserved(crm)),
      crm === 'hubspot' ? this.redis.zcount(this.keys.quotaWindow(crm, 'burst'), now - 10_000, '+inf') : Promise.resolve(undefined),
    ]);
    const window = this.windowOf(crm, observed, now);
    const hold = this.holdOf(crm, observed, window, now);
    const budget = this.budgetOf(crm, observed);
    const next = await this.ledger(crm, window, budget, 1, now, false);
    const pausedUntil = Number(pausedRaw ?? 0);
    const reasons: Array<{ by: NonNullable<QuotaReport['pausedBy']>; until: number }> = [];
    if (pausedUntil > now) reasons.push({ by: 'pause', until: pausedUntil });
    if (hold) reasons.push({ by: 'crm-limit', until: hold.until ?? hold.recheckAt ?? now });
    if (!next.admitted) reasons.push({ by: 'budget', until: window.day ? window.day.endsAt : next.resumeAt > now ? next.resumeAt : now + 24 * HOUR_MS });
    const last = reasons.reduce<(typeof reasons)[number] | null>((a, r) => (a === null || r.until > a.until ? r : a), null);
    const used = num(observed.dailyUsed);
    const limit = num(observed.dailyLimit);
    return {
      crm,
      dailyUsed: next.used,
      dailyLimit: limit ?? (crm === 'hubspot' ? this.limits.hubspot.daily : null),
      dailyBudget: budget,
      windowUsed,
      windowLimit: crm === 'hubspot' ? Math.floor(this.limits.hubspot.perTenSeconds * this.limits.hubspot.share) : undefined,
      paused: last !== null,
      ...(last ? { resumesAt: iso(last.until), pausedBy: last.by } : {}),
      window: window.day ? { kind: 'portal-day', timeZone: window.day.timeZone, resetsAt: iso(window.day.endsAt) } : { kind: 'rolling-24h' },
      ...(used !== undefined && limit !== undefined ? { crmUsage: { used, limit, at: iso(num(observed.dailyAt) ?? num(observed.observedAt) ?? now) } } : {}),
    };
  }
}
