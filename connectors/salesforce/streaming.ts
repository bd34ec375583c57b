/**
 * Change Data Capture through jsforce's Streaming API client (faye over CometD long polling):
 * one client subscribed to `/data/LeadChangeEvent` and `/data/ContactChangeEvent`, each from its
 * replay id, turning every event into a StreamedChange (record ids only; ingest reads the records).
 *
 * Vendor behaviour relied on:
 * - The replay extension: the subscribe message carries `ext.replay {channel: replayId}`, -1 for new
 *   events only, a retained event's id to resume after it (Streaming API Developer Guide, "Message
 *   Durability"; jsforce `api/streaming/extension.ts` Replay, which keeps one channel only, hence
 *   our own extension for two). faye subscribes again by itself after a new handshake (a lost
 *   client, `403::Unknown client`), and the extension then resumes from the last event received.
 * - An expired replay id fails the subscribe with `400::The replayId {…} you provided was invalid`
 *   (events are kept 72 hours); `advice.reconnect: none` on /meta/connect or /meta/handshake ends
 *   the session: `401::Authentication invalid` (jsforce `AuthFailure`), or
 *   `403::Organization total events daily limit exceeded` (the delivery allocation).
 * - `ChangeEventHeader.changeOrigin` names the writing client (`…;client=<id>` from the
 *   `Sforce-Call-Options` header jsforce sends for `callOptions.client`): our own writes are known
 *   by it (https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm).
 * - Gap events (`GAP_*`) name records without details; an overflow event (`GAP_OVERFLOW`) names
 *   none (https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events.htm).
 */
import { Streaming } from 'jsforce/lib/api/streaming.js';
import { z } from 'zod';
import type { Connection } from 'jsforce';
import type { ChangeStreamHandler, ChangeSubscription, ConnectorLogger, StreamState, StreamedChange } from '../types.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';

/** How long a subscription may take before it counts as failed (the handshake and subscribe answer at once). */
const SUBSCRIBE_TIMEOUT_MS = 60_000;

export const STREAM_CHANNELS = { Lead: '/data/LeadChangeEvent', Contact: '/data/ContactChangeEvent' } as const;
export type StreamName = keyof typeof STREAM_CHANNELS;

const headerSchema = z.object({
  entityName: z.string(),
  recordIds: z.array(z.string()),
  changeType: z.string(),
  changeOrigin: z.string().default(''),
  commitTimestamp: z.number(),
});

/** An event as faye hands it to the subscriber (`message.data`). */
export const streamEventSchema = z.object({
  event: z.object({ replayId: z.number().int() }),
  payload: z.looseObject({ ChangeEventHeader: headerSchema }),
});

/** A Bayeux message as an extension sees it (only what we read or add). */
const bayeuxSchema = z.looseObject({
  channel: z.string(),
  successful: z.boolean().optional(),
  error: z.string().optional(),
  subscription: z.union([z.string(), z.array(z.string())]).optional(),
  advice: z.looseObject({ reconnect: z.string().optional() }).optional(),
  ext: z.looseObject({ sfdc: z.looseObject({ failureReason: z.string().optional() }).optional() }).optional(),
});

type BayeuxMessage = Record<string, unknown>;
type Next = (message: BayeuxMessage) => void;

/** faye's client as we use it (jsforce's typings of faye leave most of it out). */
interface FayeClient {
  addExtension(extension: { incoming?(m: BayeuxMessage, next: Next): void; outgoing?(m: BayeuxMessage, next: Next): void }): void;
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<void> & { cancel(): void };
  on(event: 'transport:down' | 'transport:up', listener: () => void): void;
  disconnect(): void;
}

const channelMemberSchema = z.object({ SelectedEntity: z.string() });

/**
 * The objects selected for Change Data Capture (Setup > Integrations > Change Data Capture): the
 * members of the standard `ChangeEvents` channel, read through the Tooling API's
 * PlatformEventChannelMember (`SelectedEntity` `LeadChangeEvent`; Metadata API Developer Guide,
 * "PlatformEventChannelMember"). A custom channel's members are not counted: we subscribe to the
 * standard per-object channels. One API call.
 */
export async function changeCaptureObjects(client: SalesforceClient): Promise<string[]> {
  const rows = await client.call('Change Data Capture selection', (conn) =>
    conn.tooling.query("SELECT SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'").then((r): unknown => r.records),
  );
  return parseOrThrow(z.array(channelMemberSchema), rows, 'PlatformEventChannelMember query')
    .map((r) => r.SelectedEntity.replace(/ChangeEvent$/, ''))
    .sort();
}

/** Whether a changeOrigin names our client (`com/salesforce/api/rest/62.0;client=<id>`). */
export function isOwnOrigin(changeOrigin: string, clientName: string): boolean {
  return changeOrigin.split(';').some((part) => part.trim() === `client=${clientName}`);
}

export function toStreamedChange(stream: StreamName, data: z.infer<typeof streamEventSchema>, clientName: string): StreamedChange {
  const h = data.payload.ChangeEventHeader;
  const kind = h.changeType === 'GAP_OVERFLOW' ? 'overflow' : h.changeType.startsWith('GAP_') ? 'gap' : 'change';
  return {
    stream,
    replayId: data.event.replayId,
    kind,
    changeType: h.changeType,
    refs: kind === 'overflow' ? [] : h.recordIds.map((id) => ({ object: stream, id })),
    own: kind === 'change' && isOwnOrigin(h.changeOrigin, clientName),
    committedAt: h.commitTimestamp,
  };
}

export interface SubscribeOptions {
  clientName: string;
  logger?: ConnectorLogger;
}

/** The org refused the session the streaming client was made with (it keeps that token for good). */
class SessionRefused extends Error {
  constructor(
    readonly state: Extract<StreamState, { state: 'down' }>,
    readonly token: string | null,
  ) {
    super(state.message);
  }
}

/**
 * Subscribes both streams. Changes are handed on in arrival order, one batch per delivery, and the
 * next batch waits for the handler: a position is only ever after changes already handed on.
 *
 * jsforce's streaming client sends the access token it was created with on every request, for
 * good (`lib/api/streaming.js` `_createClient`: `fayeClient.setHeader('Authorization', 'OAuth ' +
 * this._conn.accessToken)`), and a refused session is not refreshed the way a REST call's 401 is.
 * So a subscription the org refuses for its session (`403::Handshake denied` with
 * `401::Authentication invalid`) refreshes the session once and subscribes again with a new client
 * made with the new token, from the same positions. A session that dies under a running
 * subscription ends it with reason `auth`; subscribing again does the same.
 */
export async function subscribeChanges(client: SalesforceClient, from: Record<string, number | null>, handler: ChangeStreamHandler, options: SubscribeOptions): Promise<ChangeSubscription> {
  try {
    return await subscribeWith(await client.conn(), from, handler, options, true);
  } catch (err) {
    if (!(err instanceof SessionRefused)) throw err;
    options.logger?.info({ crm: 'salesforce' }, 'the streaming session was refused: refreshing it and subscribing again');
    try {
      await client.refreshSession(err.token);
    } catch (refreshError) {
      handler.onState(err.state);
      throw refreshError;
    }
    return subscribeWith(await client.conn(), from, handler, options, false);
  }
}

async function subscribeWith(conn: Connection, from: Record<string, number | null>, handler: ChangeStreamHandler, options: SubscribeOptions, refreshOnRefusal: boolean): Promise<ChangeSubscription> {
  const token = conn.accessToken ?? null;
  // The last replay id received per channel: a resubscription by faye (after a new handshake)
  // resumes after it, since everything received is in this process's queue already.
  const received = new Map<string, number>();
  for (const [stream, channel] of Object.entries(STREAM_CHANNELS)) received.set(channel, from[stream] ?? -1);
  let closed = false;
  let down = false;
  // A refusal that ends the session (reconnect: none) or a subscription (replay id): faye gives
  // up, and a subscribe waiting for it would wait forever.
  let rejectRefusal: (error: Error) => void = () => undefined;
  const refusal = new Promise<never>((_resolve, reject) => (rejectRefusal = reject));
  refusal.catch(() => undefined);
  let subscribed = false;
  const report = (state: StreamState) => {
    if (closed) return;
    // Refused before the subscriptions stand, for the session: the caller refreshes and tries again
    // (the state is told only if that fails too).
    if (state.state === 'down' && state.reason === 'auth' && refreshOnRefusal && !subscribed) {
      closed = true;
      rejectRefusal(new SessionRefused(state, token));
      return;
    }
    down = state.state === 'down';
    handler.onState(state);
    if (state.state === 'down' && state.reason !== 'transport' && state.reason !== 'malformed') rejectRefusal(new Error(state.message));
  };

  const streamOf = (channel: unknown): StreamName | undefined =>
    (Object.keys(STREAM_CHANNELS) as StreamName[]).find((s) => STREAM_CHANNELS[s] === channel);

  const replayExtension = {
    outgoing(message: BayeuxMessage, next: Next): void {
      if (message.channel === '/meta/subscribe' && typeof message.subscription === 'string') {
        const ext = typeof message.ext === 'object' && message.ext !== null ? (message.ext as Record<string, unknown>) : {};
        message.ext = { ...ext, replay: { [message.subscription]: received.get(message.subscription) ?? -1 } };
      }
      next(message);
    },
    incoming(message: BayeuxMessage, next: Next): void {
      const parsed = bayeuxSchema.safeParse(message);
      if (parsed.success) {
        const m = parsed.data;
        if (m.channel === '/meta/subscribe' && m.successful === false && /replayId/i.test(m.error ?? '')) {
          report({ state: 'down', reason: 'replay-invalid', message: m.error ?? '', stream: streamOf(m.subscription) });
        } else if ((m.channel === '/meta/connect' || m.channel === '/meta/handshake') && m.advice?.reconnect === 'none') {
          const text = m.ext?.sfdc?.failureReason ?? m.error ?? 'the CRM ended the streaming session';
          report({ state: 'down', reason: /daily limit/i.test(text) ? 'allocation' : 'auth', message: text });
        }
      }
      next(message);
    },
  };

  const faye = new Streaming(conn).createClient([replayExtension]) as unknown as FayeClient;
  faye.on('transport:down', () => report({ state: 'down', reason: 'transport', message: 'the streaming connection is lost; the client reconnects by itself' }));
  faye.on('transport:up', () => {
    if (down && subscribed) report({ state: 'connected' });
  });

  // One delivery (one connect answer) is many messages in one tick: they go on as one batch, and
  // batches go on one at a time.
  let buffer: StreamedChange[] = [];
  let chain: Promise<void> = Promise.resolve();
  let handoffFailed = false;
  const flush = () => {
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    chain = chain.then(() => (handoffFailed ? undefined : handler.onChanges(batch))).catch((err: unknown) => {
      // Nothing after this batch may be handed on in this subscription (its replay id would move
      // past the batch): the subscription is over, and the next one replays from the stored ids.
      handoffFailed = true;
      buffer = [];
      options.logger?.error({ crm: 'salesforce', err: err instanceof Error ? err.message : String(err) }, 'change events could not be handed on');
      report({ state: 'down', reason: 'handoff', message: `change events could not be handed on (${err instanceof Error ? err.message : String(err)}); they are delivered again from the stored replay id` });
    });
  };

  const subscriptions: Array<{ cancel(): void }> = [];
  try {
    for (const stream of Object.keys(STREAM_CHANNELS) as StreamName[]) {
      const channel = STREAM_CHANNELS[stream];
      const subscription = faye.subscribe(channel, (data: unknown) => {
        if (closed || handoffFailed) return;
        const event = streamEventSchema.safeParse(data);
        if (!event.success) {
          options.logger?.warn({ crm: 'salesforce', channel }, 'a change event failed validation: polling instead');
          report({ state: 'down', reason: 'malformed', message: `an event on ${channel} failed validation`, stream });
          return;
        }
        received.set(channel, event.data.event.replayId);
        if (buffer.length === 0) setImmediate(flush);
        buffer.push(toStreamedChange(stream, event.data, options.clientName));
      });
      subscriptions.push(subscription);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to the subscription of ${channel} within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`)), SUBSCRIBE_TIMEOUT_MS);
      });
      try {
        await Promise.race([new Promise<void>((resolve, reject) => subscription.then(resolve, (err: unknown) => reject(new Error(errorText(err))))), refusal, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
  } catch (err) {
    closed = true;
    faye.disconnect();
    throw err;
  }
  if (closed) {
    faye.disconnect();
    throw new Error('the subscription ended before it stood');
  }
  subscribed = true;
  report({ state: 'connected' });

  return {
    close: async () => {
      closed = true;
      for (const s of subscriptions) s.cancel();
      faye.disconnect();
      flush();
      await chain;
    },
  };
}

function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
