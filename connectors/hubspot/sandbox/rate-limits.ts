/**
 * HubSpot's API limits per app (reference H5): a rolling 10-second window (private apps 190,
 * OAuth apps 100), a daily allowance for private apps, and 5 search requests a second. The 429
 * bodies carry the exact strings the official client's RetryDecorator looks for.
 *
 * The daily allowance counts calls from midnight to midnight in the portal's time zone ("The daily
 * limits reset at midnight based on the time zone setting of the HubSpot account",
 * https://developers.hubspot.com/apisbytier; see account.ts), by the sandbox clock.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxClock } from '../../sandbox/common.js';
import { nextLocalMidnight, startOfLocalDay } from './account.js';

const limit = z.number().int().min(0);
/** A change of some limits; no defaults here, so that unnamed limits keep their values. */
export const rateLimitUpdateSchema = z.object({ perTenSeconds: limit, daily: limit, searchPerSecond: limit }).partial();
export const rateLimitSettingsSchema = z.object({
  perTenSeconds: limit.default(190),
  daily: limit.default(1_000_000),
  searchPerSecond: limit.default(5),
});
export type RateLimitSettings = z.infer<typeof rateLimitSettingsSchema>;

/** OAuth (public) apps get 100 requests per 10 s and no daily limit (reference H5). */
const OAUTH_PER_TEN_SECONDS = 100;
const WINDOW_MS = 10_000;

export type CallerKind = 'private' | 'oauth';

export interface RateLimitBody {
  status: 'error';
  message: string;
  errorType: 'RATE_LIMIT';
  correlationId: string;
  policyName: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';
  groupName?: string;
}

export type RateDecision = { ok: true; headers: Record<string, string> } | { ok: false; headers: Record<string, string>; body: RateLimitBody };

interface Usage {
  window: number[];
  searches: number[];
  /** The portal day the daily count belongs to: [dayStartsAt, dayEndsAt). */
  dayStartsAt: number;
  dayEndsAt: number;
  dailyUsed: number;
}

export function tenSecondlyBody(groupName: string): RateLimitBody {
  return {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: 'TEN_SECONDLY_ROLLING',
    groupName,
  };
}

export class RateLimiter {
  private usage = new Map<string, Usage>();
  settings: RateLimitSettings;

  constructor(
    settings: Partial<RateLimitSettings>,
    private readonly clock: SandboxClock,
    private readonly groupName: string,
    /** The portal's time zone, whose midnight starts a new daily count. */
    private readonly timeZone: () => string,
  ) {
    this.settings = rateLimitSettingsSchema.parse(settings);
  }

  /**
   * The portal moved to another time zone: each current day ends at the later of its midnight and
   * the new zone's next midnight, so that a change never hands out a fresh allowance early.
   */
  timeZoneChanged(): void {
    const now = this.clock.now();
    const next = nextLocalMidnight(now, this.timeZone());
    for (const u of this.usage.values()) u.dayEndsAt = Math.max(u.dayEndsAt, next);
  }

  update(next: Partial<RateLimitSettings>): RateLimitSettings {
    this.settings = rateLimitSettingsSchema.parse({ ...this.settings, ...next });
    return this.settings;
  }

  /** Forgets all usage (windows and daily counters). */
  resetUsage(): void {
    this.usage.clear();
  }

  /** Decides one API call of `key` and, when allowed, counts it. */
  check(key: string, kind: CallerKind, isSearch: boolean): RateDecision {
    const now = this.clock.now();
    const u = this.usageOf(key, now);
    prune(u.window, now - WINDOW_MS, now);
    prune(u.searches, now - 1000, now);
    const { daily, searchPerSecond } = this.settings;
    const burst = this.burstLimit(kind);
    const dailyOn = kind === 'private' && daily > 0;
    const headers = (): Record<string, string> => (isSearch ? {} : this.headers(u, kind, burst, now));

    if (dailyOn && u.dailyUsed >= daily) {
      return {
        ok: false,
        headers: headers(),
        body: {
          status: 'error',
          message: 'You have reached your daily limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'DAILY',
        },
      };
    }
    if (burst > 0 && u.window.length >= burst) {
      return { ok: false, headers: headers(), body: tenSecondlyBody(this.groupName) };
    }
    if (isSearch && searchPerSecond > 0 && u.searches.length >= searchPerSecond) {
      return {
        ok: false,
        headers: headers(),
        body: {
          status: 'error',
          message: 'You have reached your secondly limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'SECONDLY',
        },
      };
    }
    u.window.push(now);
    if (isSearch) u.searches.push(now);
    u.dailyUsed += 1;
    return { ok: true, headers: headers() };
  }

  private burstLimit(kind: CallerKind): number {
    const { perTenSeconds } = this.settings;
    if (perTenSeconds === 0) return 0;
    return kind === 'oauth' ? Math.min(perTenSeconds, OAUTH_PER_TEN_SECONDS) : perTenSeconds;
  }

  private usageOf(key: string, now: number): Usage {
    let u = this.usage.get(key);
    if (!u) {
      u = { window: [], searches: [], dayStartsAt: 0, dayEndsAt: 0, dailyUsed: 0 };
      this.usage.set(key, u);
    }
    // A new portal day (or the clock was moved back before the counted one): count from zero.
    if (now >= u.dayEndsAt || now < u.dayStartsAt) {
      const timeZone = this.timeZone();
      u.dayStartsAt = startOfLocalDay(now, timeZone);
      u.dayEndsAt = nextLocalMidnight(now, timeZone);
      u.dailyUsed = 0;
    }
    return u;
  }

  /** The X-HubSpot-RateLimit-* headers; the daily pair only for private apps (reference H5). */
  private headers(u: Usage, kind: CallerKind, burst: number, now: number): Record<string, string> {
    const h: Record<string, string> = {};
    const { daily } = this.settings;
    if (kind === 'private' && daily > 0) {
      h['X-HubSpot-RateLimit-Daily'] = String(daily);
      h['X-HubSpot-RateLimit-Daily-Remaining'] = String(Math.max(0, daily - u.dailyUsed));
    }
    if (burst > 0) {
      const secondly = Math.max(1, Math.ceil(burst / 10));
      const lastSecond = u.window.filter((t) => t > now - 1000).length;
      h['X-HubSpot-RateLimit-Interval-Milliseconds'] = String(WINDOW_MS);
      h['X-HubSpot-RateLimit-Max'] = String(burst);
      h['X-HubSpot-RateLimit-Remaining'] = String(Math.max(0, burst - u.window.length));
      h['X-HubSpot-RateLimit-Secondly'] = String(secondly);
      h['X-HubSpot-RateLimit-Secondly-Remaining'] = String(Math.max(0, secondly - lastSecond));
    }
    return h;
  }
}

/** Drops timestamps at or before `edge` from an ascending list (all of them if the clock went back). */
function prune(times: number[], edge: number, now: number): void {
  if (times.length > 0 && (times[times.length - 1] as number) > now) {
    times.length = 0;
    return;
  }
  let n = 0;
  while (n < times.length && (times[n] as number) <= edge) n++;
  if (n > 0) times.splice(0, n);
}
