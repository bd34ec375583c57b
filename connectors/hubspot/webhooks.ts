/**
 * HubSpot webhooks: v3 signature verification and the event array as refs for the ingest path.
 *
 * v3 (reference H7; the SDK's `Signature.isValid`/`getSignature` in src/utils/signature.ts):
 * `X-HubSpot-Signature-v3 = base64(HMAC-SHA256(clientSecret, method + uri + rawBody + timestamp))`
 * with `X-HubSpot-Request-Timestamp` in epoch ms, rejected when older than 5 minutes (SDK
 * MAX_ALLOWED_TIMESTAMP = 300000). Differences from the SDK, on purpose: the digest is compared in
 * constant time; a timestamp more than 5 minutes in the future is refused too (the SDK accepts
 * any future one); a failure is a reason, not a throw; and the URI is also tried with the
 * percent-decoding HubSpot's docs apply before hashing (%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A
 * %2C %3B), since a framework may hand us either form. The body must be the raw bytes as received.
 *
 * Events: a JSON array of up to 100 (H7). Each is parsed on its own, so one odd event is a problem,
 * not a lost delivery. Duplicate deliveries are the pipeline's to drop, by `eventIds`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { MAX_DATE_MS } from '../../src/model/lead.js';
import { CrmError } from '../errors.js';
import type { RecordProblem, RecordRef, RemovedRecord } from '../types.js';

export const SIGNATURE_HEADER = 'x-hubspot-signature-v3';
export const TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';
export const MAX_SIGNATURE_AGE_MS = 300_000;

export interface WebhookRequest {
  method: string;
  /** The full URL HubSpot called, as configured in the app: `https://host/path?query`. */
  url: string;
  /** The body exactly as received (never re-serialised JSON). */
  rawBody: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export type WebhookRejection =
  | 'no-client-secret'
  | 'missing-signature'
  | 'missing-timestamp'
  | 'invalid-timestamp'
  | 'stale-timestamp'
  | 'bad-signature';

export type WebhookVerdict = { ok: true } | { ok: false; reason: WebhookRejection };

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    const value = Array.isArray(v) ? v[0] : v;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  }
  return undefined;
}

const DECODED: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

/** The URI as HubSpot's docs say to hash it: those percent-encodings decoded, nothing else. */
export function hubSpotDecodedUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

/** The v3 signature, computed exactly as the SDK's `Signature.getSignature(method, 'v3', ...)`. */
export function signatureV3(clientSecret: string, method: string, url: string, rawBody: string | Buffer, timestamp: string): string {
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  return createHmac('sha256', clientSecret).update(`${method}${url}${body}${timestamp}`).digest('base64');
}

function sameDigest(expectedBase64: string, givenBase64: string): boolean {
  const expected = Buffer.from(expectedBase64, 'base64');
  const given = Buffer.from(givenBase64, 'base64');
  // Lengths are public (a SHA-256 digest is 32 bytes); only equal-length buffers are compared.
  return given.length === expected.length && timingSafeEqual(expected, given);
}

export function verifyWebhookSignature(request: WebhookRequest, clientSecret: string | undefined, now = Date.now()): WebhookVerdict {
  if (!clientSecret) return { ok: false, reason: 'no-client-secret' };
  const signature = header(request.headers, SIGNATURE_HEADER);
  if (!signature) return { ok: false, reason: 'missing-signature' };
  const timestamp = header(request.headers, TIMESTAMP_HEADER);
  if (!timestamp) return { ok: false, reason: 'missing-timestamp' };
  if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'invalid-timestamp' };
  if (Math.abs(now - Number(timestamp)) > MAX_SIGNATURE_AGE_MS) return { ok: false, reason: 'stale-timestamp' };
  const method = request.method.toUpperCase();
  const uris = [...new Set([request.url, hubSpotDecodedUri(request.url)])];
  const match = uris.some((uri) => sameDigest(signatureV3(clientSecret, method, uri, request.rawBody, timestamp), signature));
  return match ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

/** One webhook event (reference H7), including the merge fields HubSpot adds to `contact.merge`. */
export const webhookEventSchema = z.looseObject({
  eventId: id,
  subscriptionType: z.string().min(1),
  objectId: id,
  /** Epoch ms; beyond a JavaScript Date's range the event is a problem, not a 500 from toISOString. */
  occurredAt: z
    .number()
    .int()
    .min(-MAX_DATE_MS, 'expected epoch milliseconds within the JavaScript date range')
    .max(MAX_DATE_MS, 'expected epoch milliseconds within the JavaScript date range'),
  portalId: z.number().int().optional(),
  appId: z.number().int().optional(),
  subscriptionId: z.number().int().optional(),
  attemptNumber: z.number().int().optional(),
  propertyName: z.string().optional(),
  propertyValue: z.string().optional(),
  changeSource: z.string().optional(),
  changeFlag: z.string().optional(),
  sourceId: z.string().optional(),
  primaryObjectId: id.optional(),
  mergedObjectIds: z.array(id).optional(),
  newObjectId: id.optional(),
});
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

export interface ParsedWebhook {
  events: WebhookEvent[];
  /** Contacts to read (deduplicated): they feed the same ingest path as the poll. */
  refs: RecordRef[];
  /** Every event's id, for the pipeline's duplicate-delivery check. */
  eventIds: string[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
}

/**
 * Pure: the event array as refs, eventIds and removals. `contact.deletion` is an archive (HubSpot
 * can restore it); `contact.privacyDeletion` is a GDPR delete; `contact.merge` keeps the surviving id
 * (`newObjectId` when HubSpot made a new record, else `primaryObjectId`) and removes the others as
 * merged into it. Events of other objects are acknowledged (their ids listed) and ignored.
 */
export function parseWebhookEvents(rawBody: string | Buffer): ParsedWebhook {
  let json: unknown;
  try {
    json = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
  } catch {
    throw new CrmError({ crm: 'hubspot', code: 'VALIDATION', message: 'the HubSpot webhook body is not JSON' });
  }
  if (!Array.isArray(json)) throw new CrmError({ crm: 'hubspot', code: 'VALIDATION', message: 'the HubSpot webhook body is not an array of events' });
  const out: ParsedWebhook = { events: [], refs: [], eventIds: [], removed: [], problems: [] };
  const refIds = new Set<string>();
  const addRef = (contactId: string): void => {
    if (!refIds.has(contactId)) {
      refIds.add(contactId);
      out.refs.push({ object: 'contact', id: contactId });
    }
  };
  for (const [index, item] of json.entries()) {
    const parsed = webhookEventSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.problems.push({ ref: null, code: 'VALIDATION', message: `webhook event #${index} does not have the expected shape: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}` });
      continue;
    }
    const event = parsed.data;
    out.events.push(event);
    out.eventIds.push(event.eventId);
    const [object, action] = event.subscriptionType.split('.');
    if (object !== 'contact') continue;
    const at = new Date(event.occurredAt).toISOString();
    switch (action) {
      case 'deletion':
        out.removed.push({ ref: { object: 'contact', id: event.objectId }, reason: 'archived', at });
        break;
      case 'privacyDeletion':
        out.removed.push({ ref: { object: 'contact', id: event.objectId }, reason: 'deleted', at });
        break;
      case 'merge': {
        const survivor = event.newObjectId ?? event.primaryObjectId ?? event.objectId;
        const losers = new Set([...(event.mergedObjectIds ?? []), ...(event.primaryObjectId ? [event.primaryObjectId] : []), event.objectId]);
        losers.delete(survivor);
        for (const loser of losers) out.removed.push({ ref: { object: 'contact', id: loser }, reason: 'merged', survivorId: survivor, at });
        addRef(survivor);
        break;
      }
      default:
        // creation, propertyChange, restore, associationChange: read the record, whatever changed.
        addRef(event.objectId);
    }
  }
  return out;
}

export interface PropertyChange {
  property: string;
  value: string | null;
}

/**
 * The property changes of each contact whose events in this delivery are all `propertyChange`
 * (with a property name): ingest may find them to be the echo of its own write and skip the read.
 * A contact with any other event (creation, restore, merge...) is not listed: it is read.
 */
export function propertyChangesOnly(events: readonly WebhookEvent[]): Map<string, PropertyChange[]> {
  const out = new Map<string, PropertyChange[]>();
  const mustRead = new Set<string>();
  for (const event of events) {
    if (!event.subscriptionType.startsWith('contact.')) continue;
    if (event.subscriptionType !== 'contact.propertyChange' || !event.propertyName) {
      mustRead.add(event.objectId);
      continue;
    }
    const list = out.get(event.objectId) ?? [];
    list.push({ property: event.propertyName, value: event.propertyValue ?? null });
    out.set(event.objectId, list);
  }
  for (const id of mustRead) out.delete(id);
  return out;
}
