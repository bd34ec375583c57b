/**
 * OAuth installs. `GET /oauth/{hubspot,salesforce}/start` (admin only) stores a random `state`
 * (single use, 10 minutes) and sends the admin to the vendor's consent page; the vendor sends the
 * browser back to `/oauth/{crm}/callback` with a code, which is exchanged for tokens that are
 * stored sealed (AES-256-GCM) through RedisTokenStore. Salesforce gets PKCE (S256); HubSpot's
 * OAuth v1 has none, so there the state is the only binding.
 *
 * The callback cannot require the admin cookie: it is SameSite=Strict and a redirect from the
 * vendor's site is a cross-site navigation. The unguessable, single-use state created by an
 * authenticated admin is what authorises it.
 *
 * The redirect URI is `$SMK_PUBLIC_URL/oauth/{crm}/callback`, never built from the request: a Host
 * (or X-Forwarded-Host) header is the client's to choose, and a redirect URI taken from it would
 * send the vendor's authorization code to whatever host the request named. Without SMK_PUBLIC_URL
 * an install is refused, with a message that names it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@hubspot/api-client';
import express from 'express';
import type { Request, RequestHandler, Router } from 'express';
import { OAuth2 } from 'jsforce';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import type { StoredTokens } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import { SecretBox } from '../store/crypto.js';
import { RedisTokenStore } from '../store/tokens.js';
import { HttpError, parseInput, requestIdOf } from './http-errors.js';

export const STATE_TTL_SECONDS = 600;
export const REAL_HUBSPOT_API = 'https://api.hubapi.com';
export const HUBSPOT_SCOPES = ['oauth', 'crm.objects.contacts.read', 'crm.objects.contacts.write', 'crm.schemas.contacts.read', 'crm.schemas.contacts.write', 'crm.objects.owners.read'];
/**
 * Scopes the installing user may leave out (HubSpot's `optional_scope` parameter of the authorize
 * URL): without them the people still sync, and the sync-errors report says what is missing.
 * Companies feed account matching (sync.accounts), deals the funnel when sync.deals is on.
 * [HubSpot "Working with OAuth", authorization URL query parameters: `optional_scope`; the official
 * Ruby client's OAuthHelper.authorize_url takes `optional_scope` beside `scope`]
 */
export const HUBSPOT_OPTIONAL_SCOPES = ['crm.objects.companies.read', 'crm.objects.deals.read'];
export const SALESFORCE_SCOPES = ['api', 'refresh_token'];

const stateRecordSchema = z.object({
  crm: z.enum(['hubspot', 'salesforce']),
  redirectUri: z.string(),
  codeVerifier: z.string().optional(),
});
type StateRecord = z.infer<typeof stateRecordSchema>;

const callbackQuerySchema = z.object({
  code: z.string().min(1).max(2000).optional(),
  state: z.string().min(1).max(200).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

const hubspotTokenSchema = z.object({ accessToken: z.string().min(1), refreshToken: z.string().min(1), expiresIn: z.number().positive() });
const salesforceTokenSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  instance_url: z.url(),
  scope: z.string().optional(),
});

/** The consent page: the real HubSpot app's, or the sandbox's own `/oauth/authorize`. */
export function hubspotAuthorizeUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base === REAL_HUBSPOT_API ? 'https://app.hubspot.com/oauth/authorize' : `${base}/oauth/authorize`;
}

/** PKCE (RFC 7636): a 43-character verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface OAuthRouterOptions {
  requireAdmin: RequestHandler;
}

export function oauthRouter(ctx: SyncContext, options: OAuthRouterOptions): Router {
  const router = express.Router();
  const env = ctx.config.env;

  const redirectUriFor = (crm: CrmName): string => {
    const base = env.SMK_PUBLIC_URL?.replace(/\/+$/, '');
    if (!base) {
      throw new HttpError(
        503,
        `OAuth installs need SMK_PUBLIC_URL: set it to the address this service is reached at (e.g. https://smk.example.com), ` +
          `register <SMK_PUBLIC_URL>/oauth/${crm}/callback as the app's redirect URL, and start the install again`,
      );
    }
    return `${base}/oauth/${crm}/callback`;
  };

  const tokenStore = (): RedisTokenStore => {
    if (!env.SMK_ENCRYPTION_KEY) throw new HttpError(503, 'OAuth installs need SMK_ENCRYPTION_KEY: tokens are only stored encrypted');
    return new RedisTokenStore(ctx.redis, ctx.keys, new SecretBox(env.SMK_ENCRYPTION_KEY));
  };

  const saveState = async (record: StateRecord): Promise<string> => {
    const state = randomBytes(32).toString('base64url');
    await ctx.redis.set(ctx.keys.oauthState(state), JSON.stringify(record), 'EX', STATE_TTL_SECONDS);
    return state;
  };

  /** Single use: GETDEL, so a replayed callback finds nothing. */
  const takeState = async (crm: CrmName, state: string | undefined): Promise<StateRecord> => {
    if (!state) throw new HttpError(400, 'missing OAuth state: start the install again');
    const raw = await ctx.redis.getdel(ctx.keys.oauthState(state));
    const parsed = raw ? stateRecordSchema.safeParse(JSON.parse(raw)) : null;
    if (!parsed?.success || parsed.data.crm !== crm) throw new HttpError(400, 'unknown or expired OAuth state: start the install again');
    return parsed.data;
  };

  const callbackInput = (req: Request) => parseInput(callbackQuerySchema, req.query, 'OAuth callback');

  router.get('/oauth/hubspot/start', options.requireAdmin, async (_req, res) => {
    if (!env.HUBSPOT_CLIENT_ID || !env.HUBSPOT_CLIENT_SECRET) throw new HttpError(503, 'set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET to install the HubSpot app');
    // Fail before the vendor round trip when the tokens could not be stored encrypted.
    tokenStore();
    const redirectUri = redirectUriFor('hubspot');
    const state = await saveState({ crm: 'hubspot', redirectUri });
    const url = new URL(hubspotAuthorizeUrl(env.HUBSPOT_BASE_URL));
    url.searchParams.set('client_id', env.HUBSPOT_CLIENT_ID);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', HUBSPOT_SCOPES.join(' '));
    url.searchParams.set('optional_scope', HUBSPOT_OPTIONAL_SCOPES.join(' '));
    url.searchParams.set('state', state);
    res.redirect(302, url.toString());
  });

  router.get('/oauth/hubspot/callback', async (req, res) => {
    const query = callbackInput(req);
    const record = await takeState('hubspot', query.state);
    if (query.error || !query.code) throw new HttpError(400, `HubSpot did not authorise the install: ${query.error_description ?? query.error ?? 'no code'}`);
    const { HUBSPOT_CLIENT_ID: clientId, HUBSPOT_CLIENT_SECRET: clientSecret } = env;
    if (!clientId || !clientSecret) throw new HttpError(503, 'set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET to install the HubSpot app');
    const store = tokenStore();
    // HubSpot OAuth v1: form-POST /oauth/v1/token with grant_type=authorization_code. A fresh client
    // with no retry or limiter options, like the connector's, so the SDK's shared decorators stay empty.
    const sdk = new Client({ basePath: env.HUBSPOT_BASE_URL.replace(/\/+$/, '') });
    let answer: z.infer<typeof hubspotTokenSchema>;
    try {
      answer = hubspotTokenSchema.parse(await sdk.oauth.tokensApi.create('authorization_code', query.code, record.redirectUri, clientId, clientSecret));
    } catch (err) {
      ctx.logger.warn({ requestId: requestIdOf(res), crm: 'hubspot', err: err instanceof Error ? err.name : 'error' }, 'OAuth code exchange failed');
      throw new HttpError(502, 'HubSpot refused the authorization code: start the install again');
    }
    const tokens: StoredTokens = { accessToken: answer.accessToken, refreshToken: answer.refreshToken, expiresAt: ctx.clock.now() + answer.expiresIn * 1000 };
    await store.set('hubspot', tokens);
    ctx.logger.info({ requestId: requestIdOf(res), crm: 'hubspot' }, 'OAuth install stored');
    res.redirect(303, '/?installed=hubspot');
  });

  router.get('/oauth/salesforce/start', options.requireAdmin, async (_req, res) => {
    if (!env.SALESFORCE_CLIENT_ID) throw new HttpError(503, 'set SALESFORCE_CLIENT_ID (and SALESFORCE_CLIENT_SECRET) to connect Salesforce');
    // Fail before the vendor round trip when the tokens could not be stored encrypted.
    tokenStore();
    const redirectUri = redirectUriFor('salesforce');
    const pkce = pkcePair();
    const state = await saveState({ crm: 'salesforce', redirectUri, codeVerifier: pkce.verifier });
    const url = new URL(`${env.SALESFORCE_LOGIN_URL.replace(/\/+$/, '')}/services/oauth2/authorize`);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', env.SALESFORCE_CLIENT_ID);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', SALESFORCE_SCOPES.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', pkce.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    res.redirect(302, url.toString());
  });

  router.get('/oauth/salesforce/callback', async (req, res) => {
    const query = callbackInput(req);
    const record = await takeState('salesforce', query.state);
    if (query.error || !query.code) throw new HttpError(400, `Salesforce did not authorise the connection: ${query.error_description ?? query.error ?? 'no code'}`);
    if (!env.SALESFORCE_CLIENT_ID || !record.codeVerifier) throw new HttpError(503, 'set SALESFORCE_CLIENT_ID to connect Salesforce');
    const store = tokenStore();
    // jsforce OAuth2.requestToken(code, params) posts grant_type=authorization_code with the client
    // id, secret and redirect_uri it was built with, plus the extra params: our PKCE verifier.
    const oauth2 = new OAuth2({ loginUrl: env.SALESFORCE_LOGIN_URL, clientId: env.SALESFORCE_CLIENT_ID, clientSecret: env.SALESFORCE_CLIENT_SECRET, redirectUri: record.redirectUri });
    let answer: z.infer<typeof salesforceTokenSchema>;
    try {
      answer = salesforceTokenSchema.parse(await oauth2.requestToken(query.code, { code_verifier: record.codeVerifier }));
    } catch (err) {
      ctx.logger.warn({ requestId: requestIdOf(res), crm: 'salesforce', err: err instanceof Error ? err.name : 'error' }, 'OAuth code exchange failed');
      throw new HttpError(502, 'Salesforce refused the authorization code: start the connection again');
    }
    const tokens: StoredTokens = {
      accessToken: answer.access_token,
      ...(answer.refresh_token ? { refreshToken: answer.refresh_token } : {}),
      instanceUrl: answer.instance_url,
      ...(answer.scope ? { scopes: answer.scope.split(' ').filter(Boolean) } : {}),
    };
    await store.set('salesforce', tokens);
    ctx.logger.info({ requestId: requestIdOf(res), crm: 'salesforce' }, 'OAuth install stored');
    res.redirect(303, '/?installed=salesforce');
  });

  return router;
}
