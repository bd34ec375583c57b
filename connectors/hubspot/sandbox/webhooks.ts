/**
 * Contact webhooks (reference H7): store events become HubSpot webhook events, gathered for
 * `batchMs` and POSTed as JSON arrays of at most 100, signed with X-HubSpot-Signature-v3 exactly as
 * the SDK's `Signature.isValid` checks it. Failed deliveries are retried with exponential back-off
 * and an incremented `attemptNumber`. Delivery never blocks an API response.
 */
import { createHmac } from 'node:crypto';
import type { SandboxClock } from '../../sandbox/common.js';
import type { StoreEvent } from './store.js';

export interface WebhookSettings {
  url: string | null;
  /** How long events are gathered before one POST. */
  batchMs: number;
  /** Delay before retry k is retryBaseMs * 2^(k-1). */
  retryBaseMs: number;
  /** Total attempts per batch, the first included. */
  maxAttempts: number;
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { url: null, batchMs: 200, retryBaseMs: 1000, maxAttempts: 10, timeoutMs: 5000 };
const MAX_EVENTS_PER_POST = 100;
const SUBSCRIPTION_IDS: Record<StoreEvent['kind'], number> = { creation: 1001, propertyChange: 1002, deletion: 1003, merge: 1004 };

export interface WebhookEventJson {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  sourceId?: string;
  changeFlag?: 'CREATED' | 'DELETED';
  propertyName?: string;
  propertyValue?: string;
  primaryObjectId?: number;
  mergedObjectIds?: number[];
  newObjectId?: number;
  numberOfPropertiesMoved?: number;
}

export interface DeliveryRecord {
  at: string;
  url: string;
  attemptNumber: number;
  events: number;
  status: number | null;
  ok: boolean;
  error?: string;
}

/** The v3 signature: base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp)). */
export function signV3(clientSecret: string, method: string, uri: string, body: string, timestamp: string): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

export class WebhookDispatcher {
  private queue: WebhookEventJson[] = [];
  private timer: NodeJS.Timeout | null = null;
  private retryTimers = new Set<NodeJS.Timeout>();
  private inFlight = new Set<Promise<void>>();
  private nextEventId = 100;
  private closed = false;
  private log: DeliveryRecord[] = [];
  readonly counts = { delivered: 0, failedAttempts: 0, abandoned: 0, dropped: 0 };
  settings: WebhookSettings;

  constructor(
    settings: Partial<WebhookSettings>,
    private readonly ids: { portalId: number; appId: number; clientSecret: string },
    private readonly clock: SandboxClock,
  ) {
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...settings };
  }

  update(next: Partial<WebhookSettings>): WebhookSettings {
    this.settings = { ...this.settings, ...next };
    return this.settings;
  }

  deliveries(limit = 100): DeliveryRecord[] {
    return this.log.slice(-limit);
  }

  pending(): number {
    return this.queue.length + this.retryTimers.size + this.inFlight.size;
  }

  enqueue(event: StoreEvent): void {
    if (this.closed) return;
    // With no target URL there is no subscription: HubSpot sends nothing.
    if (!this.settings.url) {
      this.counts.dropped += 1;
      return;
    }
    this.queue.push(this.toJson(event));
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.settings.batchMs);
      this.timer.unref();
    }
  }

  /** Sends everything gathered so far now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) this.track(this.send(this.queue.splice(0, MAX_EVENTS_PER_POST), 1));
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry (tests and the demo). */
  async whenIdle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.timer || this.pending() > 0) {
      if (Date.now() > deadline) throw new Error(`webhooks still pending after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.queue = [];
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private toJson(e: StoreEvent): WebhookEventJson {
    const json: WebhookEventJson = {
      eventId: this.nextEventId++,
      subscriptionId: SUBSCRIPTION_IDS[e.kind],
      portalId: this.ids.portalId,
      appId: this.ids.appId,
      occurredAt: e.at,
      subscriptionType: `contact.${e.kind}`,
      attemptNumber: 0,
      objectId: Number(e.objectId),
      changeSource: e.source.changeSource,
    };
    if (e.source.sourceId) json.sourceId = e.source.sourceId;
    switch (e.kind) {
      case 'creation':
        json.changeFlag = 'CREATED';
        break;
      case 'deletion':
        json.changeFlag = 'DELETED';
        break;
      case 'propertyChange':
        json.propertyName = e.propertyName;
        json.propertyValue = e.propertyValue;
        break;
      case 'merge':
        json.primaryObjectId = Number(e.objectId);
        json.mergedObjectIds = e.mergedObjectIds.map(Number);
        json.newObjectId = Number(e.objectId);
        json.numberOfPropertiesMoved = e.numberOfPropertiesMoved;
        break;
    }
    return json;
  }

  private async send(events: WebhookEventJson[], attempt: number): Promise<void> {
    const url = this.settings.url;
    if (this.closed || !url) return;
    const payload = events.map((e) => ({ ...e, attemptNumber: attempt - 1 }));
    const body = JSON.stringify(payload);
    // The signature timestamp is wall-clock time: receivers compare it with their own clock.
    const timestamp = String(Date.now());
    const record: DeliveryRecord = {
      at: new Date(this.clock.now()).toISOString(),
      url,
      attemptNumber: attempt - 1,
      events: events.length,
      status: null,
      ok: false,
    };
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/)',
          'X-HubSpot-Signature-v3': signV3(this.ids.clientSecret, 'POST', url, body, timestamp),
          'X-HubSpot-Signature-Version': 'v3',
          'X-HubSpot-Request-Timestamp': timestamp,
        },
        body,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      record.ok = res.status >= 200 && res.status < 300;
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    this.remember(record);
    if (record.ok) {
      this.counts.delivered += events.length;
      return;
    }
    this.counts.failedAttempts += 1;
    if (this.closed) return;
    if (attempt >= this.settings.maxAttempts) {
      this.counts.abandoned += events.length;
      return;
    }
    const delay = this.settings.retryBaseMs * 2 ** (attempt - 1);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.track(this.send(events, attempt + 1));
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private remember(record: DeliveryRecord): void {
    this.log.push(record);
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
  }
}
