import { describe, expect, it } from 'vitest';
import { ApiException } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { ApiException as OAuthApiException } from '@hubspot/api-client/lib/codegen/oauth/index.js';
import { CrmError } from '../../../connectors/errors.js';
import { crmErrorFromResponse, rateLimitInfo, requiredScopes, toCrmError } from '../../../connectors/hubspot/errors.js';
import { fixture } from './helpers.js';

const NOW = Date.parse('2026-11-03T10:00:00.000Z');

describe('ApiException -> CrmError', () => {
  it.each([
    [429, 'error-429-ten-secondly.json', {}, 'RATE_LIMITED', 'TEN_SECONDLY_ROLLING', 10_000],
    [429, 'error-429-ten-secondly.json', { 'retry-after': '3' }, 'RATE_LIMITED', 'TEN_SECONDLY_ROLLING', 3000],
    [429, 'error-429-secondly.json', {}, 'RATE_LIMITED', 'SECONDLY', 1000],
    // The portal's midnight is the gate's to know (its time zone): alone, the error says "an hour".
    [429, 'error-429-daily.json', {}, 'QUOTA_EXHAUSTED', 'DAILY', 3_600_000],
    [401, 'error-401-expired.json', {}, 'AUTH_EXPIRED', 'EXPIRED_AUTHENTICATION', undefined],
    [401, 'error-401-invalid.json', {}, 'AUTH_INVALID', 'INVALID_AUTHENTICATION', undefined],
    [403, 'error-403-missing-scopes.json', {}, 'PERMISSION', 'MISSING_SCOPES', undefined],
    [404, 'error-404-object.json', {}, 'NOT_FOUND', 'OBJECT_NOT_FOUND', undefined],
    [409, 'error-409-contact-exists.json', {}, 'CONFLICT', 'CONFLICT', undefined],
    [400, 'error-400-property-values.json', {}, 'VALIDATION', 'VALIDATION_ERROR', undefined],
    [502, 'error-502.json', {}, 'TRANSIENT', 'BAD_GATEWAY', undefined],
    [503, 'error-502.json', { 'retry-after': '2' }, 'TRANSIENT', 'BAD_GATEWAY', 2000],
  ] as const)('HTTP %i %s %j -> %s', (status, file, headers, code, vendorCode, retryAfterMs) => {
    const body = fixture(file);
    const err = toCrmError(new ApiException(status, 'An error occurred.', body, { ...headers }), { now: NOW });
    expect(err).toBeInstanceOf(CrmError);
    expect(err.code).toBe(code);
    expect(err.vendorCode).toBe(vendorCode);
    expect(err.httpStatus).toBe(status);
    expect(err.retryAfterMs).toBe(retryAfterMs);
    expect(err.message).toBe((body as { message: string }).message);
    expect(err.crm).toBe('hubspot');
  });

  it('recognises every generated module\'s ApiException by shape, and a body the SDK left as text', () => {
    const err = toCrmError(new OAuthApiException(400, 'An error occurred.', { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token' }, {}));
    expect(err).toMatchObject({ code: 'VALIDATION', vendorCode: 'BAD_REFRESH_TOKEN' });
    const text = crmErrorFromResponse(500, '<html>oops</html>');
    expect(text).toMatchObject({ code: 'TRANSIENT', message: '<html>oops</html>' });
    expect(crmErrorFromResponse(423, {}).code).toBe('TRANSIENT');
    expect(crmErrorFromResponse(414, {}).code).toBe('VALIDATION');
  });

  it('treats a network failure or timeout as TRANSIENT and rethrows a bug unchanged', () => {
    const fetchError = Object.assign(new Error('request to http://x failed, reason: socket hang up'), { name: 'FetchError', code: 'ECONNRESET', type: 'system' });
    expect(toCrmError(fetchError)).toMatchObject({ code: 'TRANSIENT' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(toCrmError(refused).code).toBe('TRANSIENT');
    const bug = new TypeError('cannot read properties of undefined');
    expect(() => toCrmError(bug)).toThrow(bug);
  });

  it('reads the scopes a 403 MISSING_SCOPES names', () => {
    expect(requiredScopes(fixture('error-403-missing-scopes.json'))).toEqual(['crm.schemas.contacts.write']);
  });
});

describe('X-HubSpot-RateLimit-* headers', () => {
  it('become the gate\'s usage figures', () => {
    expect(
      rateLimitInfo({
        'x-hubspot-ratelimit-daily': '650000',
        'x-hubspot-ratelimit-daily-remaining': '649000',
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
        'x-hubspot-ratelimit-max': '190',
        'x-hubspot-ratelimit-remaining': '187',
      }),
    ).toEqual({ dailyLimit: 650_000, dailyUsed: 1000, windowLimit: 190, windowRemaining: 187 });
    // OAuth calls carry no daily pair; search calls carry none at all.
    expect(rateLimitInfo({ 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '99' })).toEqual({ windowLimit: 100, windowRemaining: 99 });
    expect(rateLimitInfo({})).toEqual({});
  });
});
