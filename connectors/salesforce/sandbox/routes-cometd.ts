/**
 * The Streaming API's CometD endpoint, `/cometd/<version>`, for Change Data Capture channels: the
 * Bayeux protocol over long polling as jsforce's streaming client (faye) speaks it.
 *
 * Vendor behaviour followed (Streaming API Developer Guide, "How the Client Connects",
 * "Streaming API Error Codes", "Handling Streaming API Errors";
 * https://developer.salesforce.com/docs/platform/api-streaming/guide/streaming-error-codes.html):
 * - Only long polling; the handshake answers a clientId, `advice {reconnect: retry, interval: 0,
 *   timeout: 110000}` (the server holds a connect up to 110 s) and `ext.replay: true`.
 * - A client that does not reconnect within 40 s after a connect was answered is dropped; its next
 *   connect fails with `403::Unknown client` and advice to handshake again.
 * - An invalid session: a handshake fails with `403::Handshake denied` and
 *   `ext.sfdc.failureReason: "401::Authentication invalid"`, a connect with
 *   `401::Authentication invalid`; both with `advice.reconnect: none`. The session of a connect
 *   being held is checked again while it waits ("Streaming API regularly validates the OAuth token
 *   or session ID while the client is connected"): a revoked one is answered at once with the 401
 *   ("Handling Streaming API Errors", 401 Authentication Errors,
 *   https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/streaming_handling_errors.htm).
 *   A connected client keeps its session alive (the same page: "In CometD clients, the Salesforce
 *   session never expires ... as long as the client is connected"): only revocation ends it.
 * - Only long polling: a connect with another `connectionType` fails with
 *   `400::Invalid connection type {type}` ("Streaming API Error Codes").
 * - Timeouts ("Clients and Timeouts",
 *   https://developer.salesforce.com/docs/platform/api-streaming/guide/using-streaming-api-timeouts.html):
 *   a connect is held at most 110 s (socket timeout); a client that has not connected again within
 *   40 s of an answer is expired (reconnect timeout), and its next message gets `403::Unknown client`.
 * - Subscribing takes the replay extension `ext.replay {channel: replayId}`: -1 new events only
 *   (the default), -2 every retained event, or a retained event's id; anything else fails with
 *   `400::The replayId {id} you provided was invalid. ...`. An unknown channel fails with
 *   `400::The channel you requested to subscribe to doesn't exist {channel}`.
 * - Past the daily event delivery allocation, `/meta/connect` fails with
 *   `403::Organization total events daily limit exceeded`; the events stay retained for replay.
 * CometD requests are not REST API calls: they are not counted in `/__sandbox/stats`.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { AuthState } from './auth.js';
import { bearerToken } from './auth.js';
import type { ChangeEvent, ChangeEventBus } from './change-events.js';
import { MAX_VERSION } from './context.js';

/** How long a connect is held when nothing happens (ms); Salesforce's socket timeout is 110 s. */
export const CONNECT_TIMEOUT_MS = 110_000;
/** A client that has not reconnected this long after a connect was answered is forgotten. */
export const CLIENT_EXPIRY_MS = 40_000;
/** How often the session of a held connect is checked again (Salesforce says "regularly"). */
const SESSION_CHECK_MS = 1_000;
const MIN_STREAMING_VERSION = 37;

const messageSchema = z.looseObject({
  channel: z.string(),
  clientId: z.string().optional(),
  connectionType: z.string().optional(),
  id: z.union([z.string(), z.number()]).optional(),
  subscription: z.union([z.string(), z.array(z.string())]).optional(),
  ext: z.looseObject({ replay: z.record(z.string(), z.union([z.number(), z.string()])).optional() }).optional(),
  advice: z.looseObject({ timeout: z.number().optional() }).optional(),
});
type BayeuxMessage = z.infer<typeof messageSchema>;
type Reply = Record<string, unknown>;

interface Client {
  id: string;
  subscriptions: Set<string>;
  queue: ChangeEvent[];
  connected: boolean;
  waiting: { res: Response; replies: Reply[]; message: BayeuxMessage; timer: NodeJS.Timeout; token: string } | null;
  expiry: NodeJS.Timeout | null;
}

export interface CometdServer {
  router: Router;
  clients(): number;
  /** Forgets every client (the server side of a lost stream): their next connect is refused. */
  dropClients(): void;
  /** A server restart: every client forgotten, every held connect's socket closed without an answer. */
  restart(): void;
  close(): void;
}

const ADVICE = { reconnect: 'retry', interval: 0, timeout: CONNECT_TIMEOUT_MS };

export function cometdServer(bus: ChangeEventBus, auth: AuthState, options: { connectTimeoutMs?: number } = {}): CometdServer {
  const clients = new Map<string, Client>();
  const holdMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;

  const forget = (client: Client) => {
    if (client.expiry) clearTimeout(client.expiry);
    if (client.waiting) {
      clearTimeout(client.waiting.timer);
      client.waiting = null;
    }
    clients.delete(client.id);
  };

  const armExpiry = (client: Client) => {
    if (client.expiry) clearTimeout(client.expiry);
    client.expiry = setTimeout(() => forget(client), CLIENT_EXPIRY_MS);
    client.expiry.unref();
  };

  /** Answers a held (or immediate) connect with the queued events the allocation allows. */
  const answerConnect = (client: Client, res: Response, replies: Reply[], message: BayeuxMessage) => {
    const out: Reply[] = [...replies];
    let refused = false;
    while (client.queue.length > 0) {
      if (!bus.canDeliver()) {
        refused = true;
        break;
      }
      const event = client.queue.shift() as ChangeEvent;
      bus.countDelivery();
      out.push({ channel: event.channel, data: { schema: `sandbox-${event.payload.ChangeEventHeader.entityName}`, payload: event.payload, event: { replayId: event.replayId } } });
    }
    if (refused) {
      out.push({ channel: '/meta/connect', clientId: client.id, id: message.id, successful: false, error: '403::Organization total events daily limit exceeded', advice: { reconnect: 'none', interval: 0 } });
      forget(client);
    } else {
      out.push({ channel: '/meta/connect', clientId: client.id, id: message.id, successful: true, advice: ADVICE });
      armExpiry(client);
    }
    res.json(out);
  };

  const flush = (client: Client) => {
    const w = client.waiting;
    if (!w || client.queue.length === 0) return;
    clearTimeout(w.timer);
    client.waiting = null;
    answerConnect(client, w.res, w.replies, w.message);
  };

  // "Streaming API regularly validates the OAuth token or session ID while the client is connected":
  // a held connect whose session was revoked (or expired) is answered with 401 at the next look.
  const authRefused = (client: Client, message: BayeuxMessage): Reply => ({ channel: '/meta/connect', clientId: client.id, id: message.id, successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none', interval: 0 } });
  const revalidate = setInterval(() => {
    for (const client of [...clients.values()]) {
      const w = client.waiting;
      if (!w || auth.authenticate(w.token)) continue;
      forget(client);
      w.res.json([...w.replies, authRefused(client, w.message)]);
    }
  }, SESSION_CHECK_MS);
  revalidate.unref();

  const unsubscribeBus = bus.onPublish((event) => {
    for (const client of clients.values()) {
      if (!client.subscriptions.has(event.channel)) continue;
      client.queue.push(event);
      flush(client);
    }
  });

  const handshake = (req: Request, message: BayeuxMessage): Reply => {
    const token = bearerToken(req);
    if (!token || !auth.authenticate(token)) {
      return { channel: '/meta/handshake', id: message.id, successful: false, error: '403::Handshake denied', ext: { sfdc: { failureReason: '401::Authentication invalid' } }, advice: { reconnect: 'none' } };
    }
    const client: Client = { id: randomBytes(14).toString('base64url'), subscriptions: new Set(), queue: [], connected: false, waiting: null, expiry: null };
    clients.set(client.id, client);
    armExpiry(client);
    return {
      channel: '/meta/handshake',
      id: message.id,
      version: '1.0',
      minimumVersion: '1.0',
      clientId: client.id,
      supportedConnectionTypes: ['long-polling'],
      advice: ADVICE,
      ext: { replay: true, 'payload.format': true },
      successful: true,
    };
  };

  const subscribe = (client: Client, message: BayeuxMessage): Reply[] => {
    const channels = typeof message.subscription === 'string' ? [message.subscription] : (message.subscription ?? []);
    if (channels.length === 0) return [{ channel: '/meta/subscribe', clientId: client.id, id: message.id, successful: false, error: '400::Channel name not specified' }];
    return channels.map((channel) => {
      const base = { channel: '/meta/subscribe', clientId: client.id, id: message.id, subscription: channel };
      if (!channel.startsWith('/')) return { ...base, successful: false, error: "400::Channel subscriptions must start with a leading '/'" };
      if (!bus.channelExists(channel)) return { ...base, successful: false, error: `400::The channel you requested to subscribe to doesn't exist {${channel}}` };
      const requested = message.ext?.replay?.[channel];
      const replayId = requested === undefined ? -1 : Number(requested);
      const backlog = Number.isInteger(replayId) ? bus.replayFrom(channel, replayId) : null;
      if (!backlog) {
        return { ...base, successful: false, error: `400::The replayId {${String(requested)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.` };
      }
      client.subscriptions.add(channel);
      client.queue.push(...backlog);
      return { ...base, successful: true };
    });
  };

  const router = express.Router();
  router.post('/cometd/:version', express.json({ limit: '32kb' }), (req: Request, res: Response) => {
    const version = /^(\d+)\.0$/.exec(String(req.params.version ?? ''));
    if (!version || Number(version[1]) < MIN_STREAMING_VERSION || Number(version[1]) > MAX_VERSION) {
      res.status(400).json([{ successful: false, error: `400::Unsupported API version. Only API versions '${MIN_STREAMING_VERSION}.0' and later are supported. URI format: '/cometd/${MAX_VERSION}.0'` }]);
      return;
    }
    const raw: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    const replies: Reply[] = [];
    let connect: { client: Client; message: BayeuxMessage } | null = null;
    for (const item of raw) {
      const parsed = messageSchema.safeParse(item);
      if (!parsed.success) {
        replies.push({ successful: false, error: '400::Invalid message' });
        continue;
      }
      const message = parsed.data;
      if (message.channel === '/meta/handshake') {
        replies.push(handshake(req, message));
        continue;
      }
      const client = message.clientId ? clients.get(message.clientId) : undefined;
      if (!client) {
        replies.push({ channel: message.channel, clientId: message.clientId, id: message.id, successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } });
        continue;
      }
      const token = bearerToken(req);
      if (!token || !auth.authenticate(token)) {
        replies.push({ channel: message.channel, clientId: client.id, id: message.id, successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none', interval: 0 } });
        forget(client);
        continue;
      }
      switch (message.channel) {
        case '/meta/connect':
          if (message.connectionType !== undefined && message.connectionType !== 'long-polling') {
            replies.push({ channel: message.channel, clientId: client.id, id: message.id, successful: false, error: `400::Invalid connection type {${message.connectionType}}` });
            break;
          }
          connect = { client, message };
          break;
        case '/meta/subscribe':
          replies.push(...subscribe(client, message));
          break;
        case '/meta/unsubscribe': {
          const channels = typeof message.subscription === 'string' ? [message.subscription] : (message.subscription ?? []);
          for (const c of channels) client.subscriptions.delete(c);
          replies.push({ channel: '/meta/unsubscribe', clientId: client.id, id: message.id, subscription: message.subscription, successful: true });
          break;
        }
        case '/meta/disconnect':
          forget(client);
          replies.push({ channel: '/meta/disconnect', clientId: client.id, id: message.id, successful: true });
          break;
        default:
          replies.push({ channel: message.channel, clientId: client.id, id: message.id, successful: false, error: '403::Publishing is not supported' });
      }
    }
    if (!connect) {
      res.json(replies);
      return;
    }
    const { client, message } = connect;
    const token = bearerToken(req) ?? '';
    if (client.expiry) clearTimeout(client.expiry);
    client.expiry = null;
    if (client.waiting) {
      // A second connect replaces the held one, which is answered empty.
      const previous = client.waiting;
      clearTimeout(previous.timer);
      client.waiting = null;
      previous.res.json([...previous.replies, { channel: '/meta/connect', clientId: client.id, id: previous.message.id, successful: true, advice: ADVICE }]);
    }
    // The first connect after a handshake is answered at once, and so is one whose client asks
    // for no wait (`advice.timeout: 0`: faye sends it when other messages share the request, as
    // CometD servers honour); later ones wait for events.
    if (!client.connected || client.queue.length > 0 || message.advice?.timeout === 0) {
      client.connected = true;
      answerConnect(client, res, replies, message);
      return;
    }
    const timer = setTimeout(() => {
      client.waiting = null;
      if (!auth.authenticate(token)) {
        forget(client);
        res.json([...replies, authRefused(client, message)]);
        return;
      }
      answerConnect(client, res, replies, message);
    }, holdMs);
    timer.unref();
    client.waiting = { res, replies, message, timer, token };
    res.on('close', () => {
      if (client.waiting?.res === res) {
        clearTimeout(client.waiting.timer);
        client.waiting = null;
        armExpiry(client);
      }
    });
  });

  return {
    router,
    clients: () => clients.size,
    dropClients: () => {
      for (const client of [...clients.values()]) {
        const held = client.waiting;
        forget(client);
        held?.res.json([...held.replies, { channel: '/meta/connect', clientId: client.id, id: held.message.id, successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } }]);
      }
    },
    restart: () => {
      for (const client of [...clients.values()]) {
        const held = client.waiting;
        forget(client);
        held?.res.socket?.destroy();
      }
    },
    close: () => {
      clearInterval(revalidate);
      unsubscribeBus();
      for (const client of [...clients.values()]) forget(client);
    },
  };
}
