/**
 * The org's daily API request allocation: a rolling 24 hours by the SandboxClock (crm-api.md S5).
 * Every authenticated API response carries `Sforce-Limit-Info: api-usage=N/MAX`; once the
 * allocation is spent, calls get 403 REQUEST_LIMIT_EXCEEDED until old usage rolls out ("Calls are
 * blocked until usage for the preceding 24 hours drops below the limit", Salesforce Help "System
 * Overview: API Usage"). `GET /limits` is a counted call like any other: only the Versions URI is
 * not counted (REST API Developer Guide, "Limit Info Header").
 *
 * Usage is kept per minute. How finely Salesforce rolls it is not documented [U]; a minute's calls
 * leave the window only once the last of them is 24 hours old, so the sandbox never frees a call
 * earlier than a true rolling 24 hours would.
 */
import type { NextFunction, Request, Response } from 'express';
import type { SandboxClock } from '../../sandbox/common.js';
import { requestLimitExceeded, sendSfError } from './errors.js';

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 24 * 60;
/** What an unlimited allocation (dailyApiLimit 0) reports as its maximum. */
export const UNLIMITED_MAX = 1_000_000_000;

export class ApiUsage {
  /** Per-minute buckets inside the window, oldest first. */
  private buckets: Array<{ minute: number; count: number }> = [];
  private total = 0;

  constructor(
    private readonly clock: SandboxClock,
    private limit: number,
  ) {}

  get dailyLimit(): number {
    return this.limit;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  reset(): void {
    this.buckets = [];
    this.total = 0;
  }

  max(): number {
    return this.limit > 0 ? this.limit : UNLIMITED_MAX;
  }

  used(): number {
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    const last = this.buckets[this.buckets.length - 1];
    // The clock was moved back: usage "from the future" no longer makes sense.
    if (last && last.minute > minute) this.reset();
    let drop = 0;
    while (drop < this.buckets.length && (this.buckets[drop] as { minute: number }).minute < minute - WINDOW_MINUTES) {
      this.total -= (this.buckets[drop] as { count: number }).count;
      drop += 1;
    }
    if (drop) this.buckets.splice(0, drop);
    return this.total;
  }

  remaining(): number {
    return Math.max(0, this.max() - this.used());
  }

  /** Counts one request, or returns false when the allocation is spent. */
  tryConsume(): boolean {
    if (this.limit > 0 && this.used() >= this.limit) return false;
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    this.used();
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.minute === minute) last.count += 1;
    else this.buckets.push({ minute, count: 1 });
    this.total += 1;
    return true;
  }

  header(): string {
    return `api-usage=${this.used()}/${this.max()}`;
  }
}

/** Consumes one request of the allocation or answers 403; either way sets `Sforce-Limit-Info`. */
export function enforceApiLimit(usage: ApiUsage) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const allowed = usage.tryConsume();
    res.setHeader('Sforce-Limit-Info', usage.header());
    if (!allowed) {
      sendSfError(res, requestLimitExceeded());
      return;
    }
    next();
  };
}
