/**
 * Change Data Capture in the sandbox org: every write to an object selected for Change Data
 * Capture becomes a change event on its channel (`/data/LeadChangeEvent`), kept for 72 hours
 * with a replay id, and delivered to the Streaming API's subscribers (routes-cometd.ts).
 *
 * Vendor behaviour followed (Salesforce Change Data Capture Developer Guide):
 * - The header (`ChangeEventHeader`) carries entityName, recordIds, changeType (CREATE, UPDATE,
 *   DELETE, UNDELETE), changedFields (updates only, LastModifiedDate included), changeOrigin,
 *   transactionKey, sequenceNumber, commitTimestamp (ms), commitNumber, commitUser; a create
 *   carries every field with a value, an update the changed ones, a delete none
 *   (https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html).
 * - changeOrigin is `com/salesforce/api/<api>/<version>;client=<id>` for API writes, the client
 *   id from the `Sforce-Call-Options` header; empty for a change made in the UI.
 * - Events are kept 72 hours and replayed by replay id
 *   (https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.md).
 * - Gap events (GAP_CREATE, GAP_UPDATE, GAP_DELETE, GAP_UNDELETE) and overflow events
 *   (GAP_OVERFLOW, beyond 100,000 changes in one transaction, one per entity, with no record id)
 *   carry the header only
 *   (https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events.htm).
 * - Delivered events count against a daily (rolling 24-hour) event delivery allocation shared by
 *   every CometD client; past it, `/meta/connect` fails with "403::Organization total events daily
 *   limit exceeded" and the events stay on the bus for replay
 *   (https://developer.salesforce.com/docs/platform/api-streaming/guide/limits.html; default 50,000
 *   as for Performance and Unlimited editions without the add-on).
 * - Only objects selected in Setup > Integrations > Change Data Capture publish change events;
 *   a fresh org selects none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { SandboxClock } from '../../sandbox/common.js';
import type { SObjectSchema } from './objects.js';
import { outputValue, readValue } from './values.js';
import type { SfRecord } from './values.js';

export const RETENTION_MS = 72 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
export const DEFAULT_DAILY_EVENT_DELIVERIES = 50_000;
/** The record id an overflow event carries: none of a real record. */
export const OVERFLOW_RECORD_ID = '000000000000000AAA';

export const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE'] as const;
export const GAP_TYPES = ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number] | (typeof GAP_TYPES)[number];

export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
  nulledFields: string[];
  diffFields: string[];
}

export interface ChangeEvent {
  channel: string;
  replayId: number;
  /** Sandbox clock when published (retention runs from here). */
  at: number;
  payload: Record<string, unknown> & { ChangeEventHeader: ChangeEventHeader };
}

/** Who is writing: the API request's client (from Sforce-Call-Options) and its transaction. */
export interface WriteOrigin {
  changeOrigin: string;
  transactionKey: string;
  sequence: number;
}

const origins = new AsyncLocalStorage<WriteOrigin>();

/** Runs `fn` with every store write it makes attributed to `changeOrigin` (one transaction). */
export function withWriteOrigin<T>(changeOrigin: string, fn: () => T): T {
  return origins.run({ changeOrigin, transactionKey: randomUUID(), sequence: 0 }, fn);
}

/** The write origin of the request being served, if a store write is under way in one (the bench's recorder reads it). */
export function currentWriteOrigin(): WriteOrigin | undefined {
  return origins.getStore();
}

/** changeOrigin of a REST call: `com/salesforce/api/rest/62.0;client=<id>` (no `;client` without the header). */
export function restOrigin(version: string, callOptions: string | undefined): string {
  const client = /(?:^|,)\s*client=([^,]+)/.exec(callOptions ?? '')?.[1]?.trim();
  return `com/salesforce/api/rest/${version}${client ? `;client=${client}` : ''}`;
}

export function channelOf(entity: string): string {
  return `/data/${entity}ChangeEvent`;
}

export interface StoreChange {
  schema: SObjectSchema;
  record: SfRecord;
  changeType: 'CREATE' | 'UPDATE' | 'DELETE';
  /** Field names set by the write (updates). */
  fields: string[];
  ts: number;
  actorId: string;
}

type Listener = (event: ChangeEvent) => void;

export class ChangeEventBus {
  private readonly selected = new Set<string>();
  private readonly events = new Map<string, ChangeEvent[]>();
  private readonly lastReplayId = new Map<string, number>();
  private readonly listeners = new Set<Listener>();
  private commitNumber = 0;
  /** When each delivered event went out (sandbox clock), for the rolling 24-hour allocation. */
  private deliveries: number[] = [];
  dailyEventDeliveries: number;

  constructor(
    private readonly clock: SandboxClock,
    options: { entities?: readonly string[]; dailyEventDeliveries?: number } = {},
  ) {
    for (const e of options.entities ?? []) this.selected.add(e);
    this.dailyEventDeliveries = options.dailyEventDeliveries ?? DEFAULT_DAILY_EVENT_DELIVERIES;
  }

  /** The objects selected for Change Data Capture. */
  entities(): string[] {
    return [...this.selected].sort();
  }

  select(entities: readonly string[]): void {
    this.selected.clear();
    for (const e of entities) this.selected.add(e);
  }

  /** Channels a client may subscribe to: the change event channel of every object that supports it. */
  static readonly SUPPORTED = new Set(['Lead', 'Contact', 'Account', 'Task', 'User', 'Opportunity', 'OpportunityContactRole']);

  channelExists(channel: string): boolean {
    const m = /^\/data\/(\w+)ChangeEvent$/.exec(channel);
    return !!m && ChangeEventBus.SUPPORTED.has(m[1] as string);
  }

  onPublish(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A store write as its change event (nothing for an object not selected). */
  recordChange(change: StoreChange): void {
    const entity = change.schema.name;
    if (!this.selected.has(entity)) return;
    const origin = origins.getStore();
    const header: ChangeEventHeader = {
      entityName: entity,
      recordIds: [String(change.record.Id)],
      changeType: change.changeType,
      changeOrigin: origin?.changeOrigin ?? '',
      transactionKey: origin?.transactionKey ?? randomUUID(),
      sequenceNumber: origin ? (origin.sequence += 1) : 1,
      commitTimestamp: change.ts,
      commitNumber: 0,
      commitUser: change.actorId,
      changedFields: [],
      nulledFields: [],
      diffFields: [],
    };
    const payload: Record<string, unknown> & { ChangeEventHeader: ChangeEventHeader } = { ChangeEventHeader: header };
    if (change.changeType === 'CREATE') {
      for (const f of change.schema.fields) {
        if (f.compute || f.name === 'Id') continue;
        const value = readValue(change.record, f);
        if (value !== null && value !== undefined) payload[f.name] = outputValue(f, value);
      }
    } else if (change.changeType === 'UPDATE') {
      const names = new Set(change.fields);
      for (const name of names) {
        const f = change.schema.field(name);
        if (!f || f.name === 'SystemModstamp') continue;
        const value = readValue(change.record, f);
        header.changedFields.push(f.name);
        if (value === null) header.nulledFields.push(f.name);
        else payload[f.name] = outputValue(f, value);
      }
    }
    this.publish(channelOf(entity), payload);
  }

  /** A gap or overflow event: the header only (overflow: no record id, the entity alone). */
  publishGap(entity: string, changeType: (typeof GAP_TYPES)[number], recordIds: readonly string[]): ChangeEvent | null {
    if (!this.selected.has(entity)) return null;
    const header: ChangeEventHeader = {
      entityName: entity,
      recordIds: changeType === 'GAP_OVERFLOW' ? [OVERFLOW_RECORD_ID] : [...recordIds],
      changeType,
      changeOrigin: '',
      transactionKey: randomUUID(),
      sequenceNumber: 1,
      commitTimestamp: this.clock.now(),
      commitNumber: 0,
      commitUser: '',
      changedFields: [],
      nulledFields: [],
      diffFields: [],
    };
    return this.publish(channelOf(entity), { ChangeEventHeader: header });
  }

  private publish(channel: string, payload: ChangeEvent['payload']): ChangeEvent {
    const replayId = (this.lastReplayId.get(channel) ?? 0) + 1;
    this.lastReplayId.set(channel, replayId);
    this.commitNumber += 1;
    payload.ChangeEventHeader.commitNumber = this.commitNumber;
    const event: ChangeEvent = { channel, replayId, at: this.clock.now(), payload };
    const list = this.events.get(channel) ?? [];
    list.push(event);
    this.events.set(channel, list);
    for (const l of this.listeners) l(event);
    return event;
  }

  /** Events still within the 72-hour retention of one channel, oldest first. */
  retained(channel: string): ChangeEvent[] {
    const list = this.events.get(channel) ?? [];
    const cutoff = this.clock.now() - RETENTION_MS;
    let drop = 0;
    while (drop < list.length && (list[drop] as ChangeEvent).at <= cutoff) drop += 1;
    if (drop > 0) list.splice(0, drop);
    return list;
  }

  /**
   * Where a subscription starts: -1 only new events, -2 every retained event, or a retained
   * event's replay id (delivery goes on after it). Any other id is refused (null).
   */
  replayFrom(channel: string, replayId: number): ChangeEvent[] | null {
    const retained = this.retained(channel);
    if (replayId === -1) return [];
    if (replayId === -2) return [...retained];
    const i = retained.findIndex((e) => e.replayId === replayId);
    return i < 0 ? null : retained.slice(i + 1);
  }

  /** Whether the allocation has room for one more delivered event (rolling 24 hours). */
  canDeliver(): boolean {
    const cutoff = this.clock.now() - DAY_MS;
    if (this.deliveries.length > 0 && (this.deliveries[0] as number) <= cutoff) this.deliveries = this.deliveries.filter((t) => t > cutoff);
    return this.deliveries.length < this.dailyEventDeliveries;
  }

  countDelivery(): void {
    this.deliveries.push(this.clock.now());
  }

  delivered(): number {
    this.canDeliver();
    return this.deliveries.length;
  }

  /** Every event published so far leaves the retention window (as 72 hours would); returns how many. */
  expireRetained(): number {
    let n = 0;
    for (const list of this.events.values()) {
      n += list.length;
      list.length = 0;
    }
    return n;
  }

  clear(): void {
    this.events.clear();
    this.lastReplayId.clear();
    this.deliveries = [];
  }
}
