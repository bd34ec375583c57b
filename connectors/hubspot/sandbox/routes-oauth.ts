/**
 * OAuth v1 (reference H6): an authorize page that redirects straight back with a code (so an
 * install flow can run unattended), the form-encoded token endpoint, and token introspection.
 * Not API calls: they are mounted before the call counter.
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { DEFAULT_SCOPES } from './auth.js';
import type { SandboxContext } from './context.js';
import { errorBody } from './errors.js';

const formSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const authorizeQuerySchema = z.object({
  client_id: z.string().min(1),
  redirect_uri: z.url(),
  scope: z.string().optional(),
  optional_scope: z.string().optional(),
  state: z.string().optional(),
});

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function oauthRouter(ctx: SandboxContext): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '100kb' });

  router.get('/oauth/authorize', (req, res) => {
    const parsed = authorizeQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      res.status(400).json(errorBody('VALIDATION_ERROR', 'client_id and a valid redirect_uri are required'));
      return;
    }
    const q = parsed.data;
    if (q.client_id !== ctx.credentials.clientId) {
      res.status(400).json(errorBody('VALIDATION_ERROR', `Unknown client_id: ${q.client_id}`));
      return;
    }
    const scopes = [q.scope, q.optional_scope].filter((s): s is string => Boolean(s)).flatMap((s) => s.split(/[\s+]+/)).filter(Boolean);
    const code = ctx.auth.issueCode(q.redirect_uri, scopes.length > 0 ? scopes : DEFAULT_SCOPES);
    const target = new URL(q.redirect_uri);
    target.searchParams.set('code', code);
    if (q.state !== undefined) target.searchParams.set('state', q.state);
    res.redirect(302, target.toString());
  });

  router.post('/oauth/v1/token', form, (req, res) => {
    const parsed = formSchema.safeParse(req.body ?? {});
    const fields = parsed.success ? parsed.data : {};
    const reply = ctx.auth.token({
      grant_type: first(fields.grant_type),
      client_id: first(fields.client_id),
      client_secret: first(fields.client_secret),
      redirect_uri: first(fields.redirect_uri),
      code: first(fields.code),
      refresh_token: first(fields.refresh_token),
    });
    res.status(reply.status).json(reply.body);
  });

  router.get('/oauth/v1/access-tokens/:token', (req, res) => {
    const reply = ctx.auth.accessTokenInfo(String(req.params.token));
    res.status(reply.status).json(reply.body);
  });

  router.get('/oauth/v1/refresh-tokens/:token', (req, res) => {
    const reply = ctx.auth.refreshTokenInfo(String(req.params.token));
    res.status(reply.status).json(reply.body);
  });

  router.delete('/oauth/v1/refresh-tokens/:token', (req, res) => {
    ctx.auth.revokeRefreshToken(String(req.params.token));
    res.status(204).end();
  });

  return router;
}
