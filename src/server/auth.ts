/**
 * Admin authentication: `Authorization: Bearer $SMK_ADMIN_TOKEN`, or the `smk_admin` cookie that
 * `POST /login` sets so that a browser can use the dashboard and Bull Board. The cookie holds an
 * expiry and an HMAC keyed by the admin token, never the token itself: rotating the token signs
 * every browser out. Comparisons are timing-safe.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { HttpError, parseInput, requestIdOf } from './http-errors.js';

export const SESSION_COOKIE = 'smk_admin';
/** A dashboard session lasts a working day; the admin logs in again after. */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/**
 * Cookie-authenticated API writes must carry this header. SameSite=Strict already keeps other
 * sites from sending the cookie; a custom header cannot be sent cross-site without a CORS
 * preflight we never grant, so this is a second, independent guard.
 */
export const CSRF_HEADER = 'x-smk-requested-with';

/** Equal-length digests, so that neither the content nor the length of the token leaks through timing. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(raw));
    } catch {
      out.set(name, raw);
    }
  }
  return out;
}

function sessionMac(adminToken: string, expiresAt: number): string {
  return createHmac('sha256', adminToken).update(`smk-admin-session:${expiresAt}`).digest('base64url');
}

export function createSessionValue(adminToken: string, now: number): string {
  const expiresAt = now + SESSION_TTL_MS;
  return `${expiresAt}.${sessionMac(adminToken, expiresAt)}`;
}

export function verifySessionValue(adminToken: string, value: string, now: number): boolean {
  const match = /^(\d{10,16})\.([\w-]{20,100})$/.exec(value);
  if (!match) return false;
  const expiresAt = Number(match[1]);
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now || expiresAt > now + SESSION_TTL_MS) return false;
  return safeEqual(sessionMac(adminToken, expiresAt), match[2] as string);
}

export type AuthMethod = 'bearer' | 'cookie';

export interface AdminAuth {
  /** How the request authenticated, or null. */
  check(req: Request): AuthMethod | null;
  /** 401 JSON (or a 503 when no admin token is configured). */
  requireAdmin: RequestHandler;
  /** Like requireAdmin, but writes that came with the cookie must also carry CSRF_HEADER. */
  requireAdminApi: RequestHandler;
  /** POST /login and POST /logout. */
  router(renderLogin: (options: { error?: string; next?: string }) => string): Router;
}

export interface AdminAuthOptions {
  adminToken: string | undefined;
  /** Set the cookie's Secure flag (the service is reached over https). */
  secureCookies: boolean;
  logger: Logger;
  now?: () => number;
}

const loginBodySchema = z.object({
  token: z.string().min(1).max(1000),
  next: z.string().max(500).optional(),
});

/** Only a local path: `//evil.example` or `https://...` would make /login an open redirect. */
export function safeNextPath(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

export function createAdminAuth(options: AdminAuthOptions): AdminAuth {
  const now = options.now ?? Date.now;
  const token = options.adminToken;

  const check = (req: Request): AuthMethod | null => {
    if (!token) return null;
    const header = req.get('authorization');
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return match && safeEqual(match[1] as string, token) ? 'bearer' : null;
    }
    const cookie = parseCookies(req.get('cookie')).get(SESSION_COOKIE);
    return cookie && verifySessionValue(token, cookie, now()) ? 'cookie' : null;
  };

  const guard = (needCsrf: boolean): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
    if (!token) {
      next(new HttpError(503, 'the admin API is disabled: set SMK_ADMIN_TOKEN'));
      return;
    }
    const method = check(req);
    if (!method) {
      // With the client address (rate limits count these per address), never the token.
      const presented = req.get('authorization') ? 'bearer' : parseCookies(req.get('cookie')).has(SESSION_COOKIE) ? 'cookie' : 'none';
      options.logger[presented === 'bearer' ? 'warn' : 'info']({ requestId: requestIdOf(res), ip: req.ip, path: req.originalUrl.split('?')[0], presented }, 'admin authentication failed');
      res.setHeader('WWW-Authenticate', 'Bearer realm="smk"');
      next(new HttpError(401, 'unauthorized: send Authorization: Bearer <SMK_ADMIN_TOKEN>'));
      return;
    }
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if (needCsrf && method === 'cookie' && unsafe && !req.get(CSRF_HEADER)) {
      next(new HttpError(403, `cookie-authenticated writes need the ${CSRF_HEADER} header`));
      return;
    }
    next();
  };

  const cookieAttributes = (maxAgeSeconds: number): string =>
    [`Path=/`, `HttpOnly`, `SameSite=Strict`, `Max-Age=${maxAgeSeconds}`, ...(options.secureCookies ? ['Secure'] : [])].join('; ');

  const router = (renderLogin: (o: { error?: string; next?: string }) => string): Router => {
    const r = express.Router();
    const forms = express.urlencoded({ extended: false, limit: '10kb' });
    const json = express.json({ limit: '10kb' });

    r.post('/login', forms, json, (req, res) => {
      if (!token) throw new HttpError(503, 'the admin API is disabled: set SMK_ADMIN_TOKEN');
      const wantsJson = typeof req.is('application/json') === 'string';
      const body = parseInput(loginBodySchema, req.body ?? {}, 'login');
      const next = safeNextPath(body.next);
      if (!safeEqual(body.token, token)) {
        options.logger.warn({ requestId: requestIdOf(res), ip: req.ip }, 'dashboard login refused');
        if (wantsJson) throw new HttpError(401, 'wrong admin token');
        res.status(401).type('html').send(renderLogin({ error: 'That token is not right. Check SMK_ADMIN_TOKEN and try again.', next }));
        return;
      }
      res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${createSessionValue(token, now())}; ${cookieAttributes(Math.floor(SESSION_TTL_MS / 1000))}`);
      if (wantsJson) res.status(204).end();
      else res.redirect(303, next);
    });

    r.post('/logout', (_req, res) => {
      res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; ${cookieAttributes(0)}`);
      res.redirect(303, '/');
    });
    return r;
  };

  return { check, requireAdmin: guard(false), requireAdminApi: guard(true), router };
}
