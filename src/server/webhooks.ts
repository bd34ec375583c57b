/**
 * `POST /webhooks/hubspot`: HubSpot contact events become ONE ingest job per delivery. A request
 * without the v3 signature headers, or with a timestamp outside the 5-minute window, is a 401
 * before its body is read (and its connection is closed, so that the rest is not read either).
 * Otherwise the raw body (up to WEBHOOK_BODY_LIMIT) is kept for the v3 signature; a bad or
 * replayed signature is a 401 and nothing is enqueued. Events are deduplicated by eventId (HubSpot
 * retries a delivery up to 10 times over a day, with new signatures), so a retry after we already
 * took the events enqueues nothing. The memory of seen events and signatures is bounded by age and
 * by count (WEBHOOK_MEMORY).
 *
 * Verification and parsing are the HubSpot connector's (`connectors/hubspot/webhooks.ts`); this file
 * adds what needs Redis and HTTP: the replay and duplicate memory, and the ingest job.
 */
import express from 'express';
import type { RequestHandler, Router } from 'express';
import { isCrmError } from '../../connectors/errors.js';
import { MAX_SIGNATURE_AGE_MS, parseWebhookEvents, propertyChangesOnly, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../../connectors/hubspot/webhooks.js';
import { SMK_FIELDS } from '../model/fields.js';
import { canonicalFieldValue, fieldValueDigest } from '../model/field-sync.js';

/** The HubSpot properties the connector writes: their values tell our echo from a user's change. */
const ECHO_PROPERTIES = new Set<string>(['lifecyclestage', 'hubspot_owner_id', ...SMK_FIELDS.flatMap((f) => (f.hubspot ? [f.hubspot] : []))]);

/**
 * One property change as an ingest job keeps it: the connector's own properties with their value,
 * a synced field's with a digest of its canonical value (src/model/field-sync.ts fieldValueDigest),
 * any other without its value. Before, a synced field's value was dropped to null, and a blank
 * field filled in by a user matched the blank the contact held: taken for an echo, never read.
 */
function namedChange(ctx: SyncContext, change: { property: string; value: string | null }): { property: string; value: string | null; digest?: string } {
  if (ECHO_PROPERTIES.has(change.property)) return change;
  const synced = ctx.syncFields.find((f) => f.hubspot === change.property);
  if (synced) return { property: change.property, value: null, digest: fieldValueDigest(synced, canonicalFieldValue(synced, change.value)) };
  return { property: change.property, value: null };
}
import type { ParsedWebhook, WebhookRejection } from '../../connectors/hubspot/webhooks.js';
import type { RecordProblem, RecordRef, RemovedRecord } from '../../connectors/types.js';
import type { SyncContext } from '../../jobs/context.js';
import { enqueueWebhookIngest } from '../../jobs/enqueue.js';
import type { IngestJob } from '../../jobs/queues.js';
import { HttpError, requestIdOf } from './http-errors.js';
import { LuaScript } from '../store/lua.js';

/**
 * HubSpot's largest delivery. "You should expect to receive an array of objects in a single
 * request. The batch size can vary, but will be under 100 notifications."
 * (https://developers.hubspot.com/docs/api/webhooks, "Webhook payloads"). The largest event is a
 * `propertyChange` whose `propertyValue` is a text property at its limit: "When the value is added
 * through the CRM, the character limit is 65,536 characters"
 * (https://knowledge.hubspot.com/properties/property-field-types-in-hubspot, single-line and
 * multi-line text); the rest of an event (ids, names, timestamps, source) is a few hundred bytes,
 * 1 KB with room to spare. So 100 x (65,536 + 1,024) bytes, 6.3 MiB: more than the 5 MB this used to
 * be, which a real import of long notes could exceed. A batch over it (only 100 long values of
 * multi-byte text could make one) gets 413; HubSpot retries it, and the change is read by the next
 * poll of the change feed either way.
 */
export const HUBSPOT_MAX_EVENTS_PER_DELIVERY = 100;
export const HUBSPOT_MAX_PROPERTY_VALUE_CHARS = 65_536;
const EVENT_ENVELOPE_BYTES = 1024;
export const WEBHOOK_BODY_LIMIT = HUBSPOT_MAX_EVENTS_PER_DELIVERY * (HUBSPOT_MAX_PROPERTY_VALUE_CHARS + EVENT_ENVELOPE_BYTES);
/** HubSpot gives up on a delivery after about a day of retries: remember eventIds a bit longer. */
export const EVENT_MEMORY_MS = 3 * 86_400_000;
/** A signature is only valid for 5 minutes; remembering it for 10 covers clock skew both ways. */
export const SIGNATURE_MEMORY_MS = 10 * 60_000;

/**
 * How many entries each memory keeps at most, newest first (on top of its age limit). Forgetting
 * an event id early only costs a re-read of its contact should HubSpot send it again (ingest is
 * idempotent); forgetting a signature early lets a captured request be replayed, to the same
 * effect. 200,000 event ids (2,000 full deliveries, about 20 MB of Redis at most) and 100,000
 * signatures (10 minutes at 166 deliveries a second).
 */
export interface WebhookMemoryLimits {
  events: number;
  signatures: number;
}
export const WEBHOOK_MEMORY: WebhookMemoryLimits = { events: 200_000, signatures: 100_000 };

const DELETIONS = new Set(['contact.deletion', 'contact.privacyDeletion']);

export interface WebhookWork {
  refs: RecordRef[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
}

/**
 * The connector's parse lists a contact both to read and as removed when one delivery holds, say,
 * a deletion and a restore. Ingest applies removals after reads, so the latest event must decide:
 * deleted last, it is gone; changed or restored last, it is read. Merges always stand.
 */
export function settleLatest(parsed: Pick<ParsedWebhook, 'events' | 'refs' | 'removed' | 'problems'>): WebhookWork {
  const lastGone = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  for (const e of parsed.events) {
    if (!e.subscriptionType.startsWith('contact.') || e.subscriptionType === 'contact.merge') continue;
    const map = DELETIONS.has(e.subscriptionType) ? lastGone : lastSeen;
    map.set(e.objectId, Math.max(map.get(e.objectId) ?? -Infinity, e.occurredAt));
  }
  const goneLast = (id: string) => (lastGone.get(id) ?? -Infinity) >= (lastSeen.get(id) ?? -Infinity);
  return {
    refs: parsed.refs.filter((r) => !lastGone.has(r.id) || !goneLast(r.id)),
    removed: parsed.removed.filter((r) => r.reason === 'merged' || !lastSeen.has(r.ref.id) || goneLast(r.ref.id)),
    problems: parsed.problems,
  };
}

function rejectionMessage(reason: WebhookRejection): string {
  switch (reason) {
    case 'missing-signature':
    case 'missing-timestamp':
      return 'missing signature';
    case 'stale-timestamp':
      return 'signature timestamp outside the 5-minute window';
    default:
      return 'invalid signature';
  }
}

/** The raw events of a JSON array body whose eventId is in `keep` (events without an id stay, as problems). */
function keepEvents(rawBody: string, keep: Set<string>): string {
  const items = JSON.parse(rawBody) as unknown[];
  return JSON.stringify(
    items.filter((item) => {
      const id = typeof item === 'object' && item !== null ? (item as { eventId?: unknown }).eventId : undefined;
      return (typeof id !== 'number' && typeof id !== 'string') || keep.has(String(id));
    }),
  );
}

// KEYS[1]: a seen set (a sorted set scored by expiry). ARGV[1]: now; ARGV[2]: expiry; ARGV[3]: the
// most members it keeps; ARGV[4]: the key's own expiry (ms); ARGV[5..]: members. Drops expired
// members, adds the new ones, then the oldest beyond the count, and returns 1/0 per member:
// 1 = first time. One script, so two deliveries of the same event racing each other cannot both win it.
const CLAIM = new LuaScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for i = 5, #ARGV do
  out[#out + 1] = redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[i])
end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return out
`, 1);

/**
 * The two memories live apart, so that a flood of events never pushes out a signature still inside
 * its 5 minutes: event ids in `webhookSeen()` (3 days), signatures beside it (10 minutes).
 */
function memoryKeys(ctx: SyncContext): { events: string; signatures: string } {
  const events = ctx.keys.webhookSeen();
  return { events, signatures: `${events}:signatures` };
}

async function claim(ctx: SyncContext, key: string, members: string[], now: number, ttlMs: number, max: number): Promise<boolean[]> {
  if (members.length === 0) return [];
  const result = (await CLAIM.run(ctx.redis, key, now, now + ttlMs, Math.max(1, max), ttlMs + 60_000, ...members)) as number[];
  return members.map((_, i) => Number(result[i]) === 1);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

/**
 * What the headers alone say is wrong with a delivery (null: nothing yet; the signature itself
 * needs the body). The same reasons, in the same order, as the connector's verifyWebhookSignature.
 */
export function signatureHeadersProblem(headers: Record<string, string | string[] | undefined>, now: number): WebhookRejection | null {
  if (!headerValue(headers[SIGNATURE_HEADER])) return 'missing-signature';
  const timestamp = headerValue(headers[TIMESTAMP_HEADER]);
  if (!timestamp) return 'missing-timestamp';
  if (!/^\d{1,16}$/.test(timestamp)) return 'invalid-timestamp';
  if (Math.abs(now - Number(timestamp)) > MAX_SIGNATURE_AGE_MS) return 'stale-timestamp';
  return null;
}

export interface WebhookRouterOptions {
  /** Wall clock for the signature window (HubSpot stamps with real time, not our test clock). */
  wallClock?: () => number;
  /** How many event ids and signatures are remembered at most (default WEBHOOK_MEMORY). */
  memory?: Partial<WebhookMemoryLimits>;
}

export function webhooksRouter(ctx: SyncContext, options: WebhookRouterOptions = {}): Router {
  const router = express.Router();
  const wallClock = options.wallClock ?? Date.now;
  const publicUrl = ctx.config.env.SMK_PUBLIC_URL?.replace(/\/+$/, '');
  const limits: WebhookMemoryLimits = { ...WEBHOOK_MEMORY, ...options.memory };
  const keys = memoryKeys(ctx);

  // Everything the headers can tell is checked before a byte of the body is read.
  const beforeBody: RequestHandler = (req, res, next) => {
    if (!ctx.config.env.HUBSPOT_CLIENT_SECRET) {
      res.setHeader('Connection', 'close');
      next(new HttpError(503, 'webhooks are disabled: set HUBSPOT_CLIENT_SECRET'));
      return;
    }
    const problem = signatureHeadersProblem(req.headers, wallClock());
    if (problem) {
      ctx.logger.warn({ requestId: requestIdOf(res), ip: req.ip, reason: problem }, 'HubSpot webhook refused before its body');
      // Closed after the answer: what the client still sends is not read.
      res.setHeader('Connection', 'close');
      next(new HttpError(401, rejectionMessage(problem)));
      return;
    }
    next();
  };

  router.post('/webhooks/hubspot', beforeBody, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
    const requestId = requestIdOf(res);
    const clientSecret = ctx.config.env.HUBSPOT_CLIENT_SECRET;
    if (!clientSecret) throw new HttpError(503, 'webhooks are disabled: set HUBSPOT_CLIENT_SECRET');
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    // HubSpot signs the URL it called: behind a proxy that is SMK_PUBLIC_URL, else what reached us.
    const url = publicUrl ? `${publicUrl}${req.originalUrl}` : `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl}`;
    const verdict = verifyWebhookSignature({ method: req.method, url, rawBody, headers: req.headers }, clientSecret, wallClock());
    if (!verdict.ok) {
      ctx.logger.warn({ requestId, reason: verdict.reason }, 'HubSpot webhook refused');
      throw new HttpError(401, rejectionMessage(verdict.reason));
    }
    // The same signed request sent again inside its 5 minutes is a replay, not a HubSpot retry
    // (a retry is signed afresh).
    const [firstUse] = await claim(ctx, keys.signatures, [`sig:${req.get(SIGNATURE_HEADER) ?? ''}`], wallClock(), SIGNATURE_MEMORY_MS, limits.signatures);
    if (!firstUse) {
      ctx.logger.warn({ requestId }, 'HubSpot webhook replayed');
      throw new HttpError(401, 'replayed signature');
    }

    let parsed: ParsedWebhook;
    try {
      parsed = parseWebhookEvents(rawBody);
    } catch (err) {
      if (!isCrmError(err)) throw err;
      throw new HttpError(400, err.message.includes('not JSON') ? 'malformed JSON' : err.message);
    }
    const eventIds = [...new Set(parsed.eventIds)];
    const fresh = await claim(ctx, keys.events, eventIds.map((id) => `evt:${id}`), wallClock(), EVENT_MEMORY_MS, limits.events);
    const freshIds = new Set(eventIds.filter((_, i) => fresh[i]));
    const duplicates = eventIds.length - freshIds.size;
    // Only the events not taken before: a partly repeated delivery adds just its new ones.
    const work = settleLatest(duplicates === 0 ? parsed : parseWebhookEvents(keepEvents(rawBody, freshIds)));
    const ignored = parsed.events.filter((e) => !e.subscriptionType.startsWith('contact.')).length;

    let jobId: string | null = null;
    if (work.refs.length > 0 || work.removed.length > 0 || work.problems.length > 0) {
      const changes = propertyChangesOnly(parsed.events.filter((e) => freshIds.has(e.eventId)));
      // Only the values of properties the connector writes are kept (echo recognition needs them);
      // any other property is named without its value: job data names records, never people.
      // A synced field's value (a name, a phone) travels as a digest of its canonical form, which
      // echo recognition compares with what the record holds.
      const named = Object.fromEntries(work.refs.flatMap((r) => (changes.has(r.id) ? [[r.id, (changes.get(r.id) ?? []).map((c) => namedChange(ctx, c))]] : [])));
      const job: IngestJob = {
        crm: 'hubspot', readAt: ctx.clock.now(), refs: work.refs, removed: work.removed,
        ...(Object.keys(named).length > 0 ? { changes: named } : {}),
        ...(work.problems.length > 0 ? { problems: work.problems } : {}),
      };
      try {
        jobId = await enqueueWebhookIngest(ctx, job);
      } catch (err) {
        // Not enqueued: forget the events so that HubSpot's retry of this delivery is taken.
        if (freshIds.size > 0) await ctx.redis.zrem(keys.events, ...[...freshIds].map((id) => `evt:${id}`)).catch(() => undefined);
        throw err;
      }
    }
    ctx.logger.info({ requestId, events: parsed.events.length, duplicates, refs: work.refs.length, removed: work.removed.length, problems: work.problems.length, jobId }, 'HubSpot webhook accepted');
    res.status(200).json({ accepted: freshIds.size, duplicates, ignored, jobId });
  });

  return router;
}
