/**
 * `POST /webhooks/hubspot`: HubSpot contact events become ONE ingest job per delivery. The raw body
 * is kept for the v3 signature; a bad, missing, stale or replayed signature is a 401 and nothing is
 * read. Events are deduplicated by eventId (HubSpot retries a delivery up to 10 times over a day,
 * with new signatures), so a retry after we already took the events enqueues nothing.
 *
 * Verification and parsing are the HubSpot connector's (`connectors/hubspot/webhooks.ts`); this file
 * adds what needs Redis and HTTP: the replay and duplicate memory, and the ingest job.
 */
import express from 'express';
import type { Router } from 'express';
import { isCrmError } from '../../connectors/errors.js';
import { parseWebhookEvents, propertyChangesOnly, SIGNATURE_HEADER, verifyWebhookSignature } from '../../connectors/hubspot/webhooks.js';
import { SMK_FIELDS } from '../model/fields.js';

/** The HubSpot properties the connector writes: their values tell our echo from a user's change. */
const ECHO_PROPERTIES = new Set<string>(['lifecyclestage', 'hubspot_owner_id', ...SMK_FIELDS.flatMap((f) => (f.hubspot ? [f.hubspot] : []))]);
import type { ParsedWebhook, WebhookRejection } from '../../connectors/hubspot/webhooks.js';
import type { RecordProblem, RecordRef, RemovedRecord } from '../../connectors/types.js';
import type { SyncContext } from '../../jobs/context.js';
import type { IngestJob } from '../../jobs/queues.js';
import { HttpError, requestIdOf } from './http-errors.js';

export const WEBHOOK_BODY_LIMIT = '5mb';
/** HubSpot gives up on a delivery after about a day of retries: remember eventIds a bit longer. */
export const EVENT_MEMORY_MS = 3 * 86_400_000;
/** A signature is only valid for 5 minutes; remembering it for 10 covers clock skew both ways. */
export const SIGNATURE_MEMORY_MS = 10 * 60_000;

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

// KEYS[1]: the seen set (a sorted set scored by expiry). ARGV[1]: now; ARGV[2]: expiry; ARGV[3..]:
// members. Drops expired members, adds the new ones, and returns 1/0 per member: 1 = first time.
// One script, so two deliveries of the same event racing each other cannot both win it.
const CLAIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for i = 3, #ARGV do
  out[#out + 1] = redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ${EVENT_MEMORY_MS + 60_000})
return out
`;

async function claim(ctx: SyncContext, members: string[], now: number, ttlMs: number): Promise<boolean[]> {
  if (members.length === 0) return [];
  const result = (await ctx.redis.eval(CLAIM, 1, ctx.keys.webhookSeen(), now, now + ttlMs, ...members)) as number[];
  return members.map((_, i) => Number(result[i]) === 1);
}

export interface WebhookRouterOptions {
  /** Wall clock for the signature window (HubSpot stamps with real time, not our test clock). */
  wallClock?: () => number;
}

export function webhooksRouter(ctx: SyncContext, options: WebhookRouterOptions = {}): Router {
  const router = express.Router();
  const wallClock = options.wallClock ?? Date.now;
  const publicUrl = ctx.config.env.SMK_PUBLIC_URL?.replace(/\/+$/, '');

  router.post('/webhooks/hubspot', express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
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
    const [firstUse] = await claim(ctx, [`sig:${req.get(SIGNATURE_HEADER) ?? ''}`], wallClock(), SIGNATURE_MEMORY_MS);
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
    const fresh = await claim(ctx, eventIds.map((id) => `evt:${id}`), wallClock(), EVENT_MEMORY_MS);
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
      const named = Object.fromEntries(work.refs.flatMap((r) => (changes.has(r.id) ? [[r.id, (changes.get(r.id) ?? []).map((c) => (ECHO_PROPERTIES.has(c.property) ? c : { property: c.property, value: null }))]] : [])));
      const job: IngestJob = {
        crm: 'hubspot', readAt: ctx.clock.now(), refs: work.refs, removed: work.removed,
        ...(Object.keys(named).length > 0 ? { changes: named } : {}),
        ...(work.problems.length > 0 ? { problems: work.problems } : {}),
      };
      try {
        jobId = (await ctx.queues.ingest.add('webhook', job)).id ?? null;
      } catch (err) {
        // Not enqueued: forget the events so that HubSpot's retry of this delivery is taken.
        if (freshIds.size > 0) await ctx.redis.zrem(ctx.keys.webhookSeen(), ...[...freshIds].map((id) => `evt:${id}`)).catch(() => undefined);
        throw err;
      }
    }
    ctx.logger.info({ requestId, events: parsed.events.length, duplicates, refs: work.refs.length, removed: work.removed.length, problems: work.problems.length, jobId }, 'HubSpot webhook accepted');
    res.status(200).json({ accepted: freshIds.size, duplicates, ignored, jobId });
  });

  return router;
}
