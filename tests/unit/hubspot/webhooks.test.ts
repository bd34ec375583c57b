import { describe, expect, it } from 'vitest';
import { Signature } from '@hubspot/api-client';
import { CrmError } from '../../../connectors/errors.js';
import { hubSpotDecodedUri, parseWebhookEvents, signatureV3, verifyWebhookSignature } from '../../../connectors/hubspot/webhooks.js';
import type { WebhookRequest } from '../../../connectors/hubspot/webhooks.js';
import { fixtureText } from './helpers.js';

const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const URL_ = 'https://smk.example.com/webhooks/hubspot?portal=62515';
const BODY = fixtureText('webhook-events.json');
const NOW = 1_762_161_400_000;

function signed(overrides: Partial<WebhookRequest> & { timestamp?: number; secret?: string } = {}): WebhookRequest {
  const timestamp = overrides.timestamp ?? NOW - 2000;
  const body = overrides.rawBody ?? BODY;
  const signature = Signature.getSignature('POST', 'v3', {
    signature: '',
    clientSecret: overrides.secret ?? SECRET,
    requestBody: typeof body === 'string' ? body : body.toString('utf8'),
    url: URL_,
    timestamp,
  });
  return {
    method: 'POST',
    url: URL_,
    rawBody: body,
    headers: { 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(timestamp), 'content-type': 'application/json' },
    ...overrides,
  };
}

describe('v3 webhook signature', () => {
  it('accepts a request signed the way the SDK signs it, and agrees with Signature.isValid', () => {
    const timestamp = Date.now() - 1000;
    const request = signed({ timestamp });
    expect(verifyWebhookSignature(request, SECRET)).toEqual({ ok: true });
    const header = request.headers['X-HubSpot-Signature-v3'] as string;
    expect(
      Signature.isValid({ signatureVersion: 'v3', signature: header, clientSecret: SECRET, requestBody: BODY, url: URL_, method: 'POST', timestamp }),
    ).toBe(true);
    expect(signatureV3(SECRET, 'POST', URL_, BODY, String(timestamp))).toBe(header);
  });

  it('matches a fixed vector', () => {
    // Computed independently: printf 'POSThttps://example.com/hook[]1700000000000' | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    const vector = Signature.getSignature('POST', 'v3', { signature: '', clientSecret: SECRET, requestBody: '[]', url: 'https://example.com/hook', timestamp: 1_700_000_000_000 });
    expect(vector).toBe('iDJfZfwNamvrc7FOsyC5Tr524QiZiGX8r6NHqZN/ZHE=');
    expect(signatureV3(SECRET, 'POST', 'https://example.com/hook', Buffer.from('[]'), '1700000000000')).toBe(vector);
  });

  it('accepts a Buffer body and any header case', () => {
    const request = signed({ rawBody: Buffer.from(BODY, 'utf8') });
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyWebhookSignature({ ...request, headers }, SECRET, NOW)).toEqual({ ok: true });
  });

  it.each([
    ['a wrong secret', () => signed({ secret: 'wrong-secret' }), 'bad-signature'],
    ['a tampered body', () => ({ ...signed(), rawBody: BODY.replace('51873', '51874') }), 'bad-signature'],
    ['a re-serialised body', () => ({ ...signed(), rawBody: JSON.stringify(JSON.parse(BODY)) }), 'bad-signature'],
    ['another URL', () => ({ ...signed(), url: 'https://smk.example.com/webhooks/hubspot' }), 'bad-signature'],
    ['another method', () => ({ ...signed(), method: 'PUT' }), 'bad-signature'],
    ['a timestamp older than 5 minutes', () => signed({ timestamp: NOW - 300_001 }), 'stale-timestamp'],
    ['a timestamp more than 5 minutes ahead', () => signed({ timestamp: NOW + 300_001 }), 'stale-timestamp'],
    ['no signature header', () => ({ ...signed(), headers: { 'X-HubSpot-Request-Timestamp': String(NOW) } }), 'missing-signature'],
    ['no timestamp header', () => ({ ...signed(), headers: { 'X-HubSpot-Signature-v3': (signed().headers['X-HubSpot-Signature-v3'] as string) } }), 'missing-timestamp'],
    ['a non-numeric timestamp', () => ({ ...signed(), headers: { ...signed().headers, 'X-HubSpot-Request-Timestamp': 'yesterday' } }), 'invalid-timestamp'],
    ['a truncated signature', () => ({ ...signed(), headers: { ...signed().headers, 'X-HubSpot-Signature-v3': 'abc=' } }), 'bad-signature'],
  ] as const)('rejects %s', (_what, build, reason) => {
    expect(verifyWebhookSignature(build(), SECRET, NOW)).toEqual({ ok: false, reason });
  });

  it('needs the client secret', () => {
    expect(verifyWebhookSignature(signed(), undefined, NOW)).toEqual({ ok: false, reason: 'no-client-secret' });
  });

  it('also accepts the URI with the percent-decoding HubSpot documents', () => {
    const encoded = 'https://smk.example.com/webhooks/hubspot?next=%2Fhome%3Fa%3Ab';
    expect(hubSpotDecodedUri(encoded)).toBe('https://smk.example.com/webhooks/hubspot?next=/home?a:b');
    const timestamp = String(NOW);
    const signature = signatureV3(SECRET, 'POST', hubSpotDecodedUri(encoded), BODY, timestamp);
    const request: WebhookRequest = { method: 'POST', url: encoded, rawBody: BODY, headers: { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp } };
    expect(verifyWebhookSignature(request, SECRET, NOW)).toEqual({ ok: true });
  });
});

describe('webhook events', () => {
  it('become refs to read, every eventId, and removals (archive, GDPR delete, merge)', () => {
    const parsed = parseWebhookEvents(BODY);
    expect(parsed.refs).toEqual([
      { object: 'contact', id: '51950' },
      { object: 'contact', id: '51873' },
      { object: 'contact', id: '51901' },
    ]);
    expect(parsed.eventIds).toEqual(['3816279340', '3816279341', '3816279342', '3816279343', '3816279344', '3816279345', '3816279346']);
    expect(parsed.removed).toEqual([
      { ref: { object: 'contact', id: '51880' }, reason: 'archived', at: new Date(1_762_161_302_000).toISOString() },
      { ref: { object: 'contact', id: '51899' }, reason: 'merged', survivorId: '51901', at: new Date(1_762_161_303_000).toISOString() },
      { ref: { object: 'contact', id: '51777' }, reason: 'deleted', at: new Date(1_762_161_304_000).toISOString() },
    ]);
    // The last event has no objectId: a problem, not a lost delivery.
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]?.message).toContain('#7');
  });

  it('makes an occurredAt beyond the JavaScript date range a problem, not a throw', () => {
    const body = JSON.stringify([
      { eventId: 1, subscriptionType: 'contact.deletion', objectId: 11, occurredAt: 9_000_000_000_000_000 },
      { eventId: 2, subscriptionType: 'contact.privacyDeletion', objectId: 12, occurredAt: -9_000_000_000_000_000 },
      { eventId: 3, subscriptionType: 'contact.deletion', objectId: 13, occurredAt: 8.64e15 },
    ]);
    const parsed = parseWebhookEvents(body);
    expect(parsed.problems.map((p) => p.message)).toEqual([
      'webhook event #0 does not have the expected shape: occurredAt: expected epoch milliseconds within the JavaScript date range',
      'webhook event #1 does not have the expected shape: occurredAt: expected epoch milliseconds within the JavaScript date range',
    ]);
    expect(parsed.removed).toEqual([{ ref: { object: 'contact', id: '13' }, reason: 'archived', at: '+275760-09-13T00:00:00.000Z' }]);
  });

  it('refuses a body that is not a JSON array', () => {
    expect(() => parseWebhookEvents('{"eventId":1}')).toThrow(CrmError);
    expect(() => parseWebhookEvents('not json')).toThrow(/not JSON/);
  });
});
