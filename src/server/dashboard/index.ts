/**
 * The dashboard, served by the service: `GET /` is the page for an authenticated admin and a small
 * login form otherwise; `/assets/*` are the page's own script and styles (no CDN: the service may
 * run without internet). The assets hold no data, so they are public; the data comes from `/api`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Router } from 'express';
import type { AdminAuth } from '../auth.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
export const PUBLIC_DIR = here('./public/');
const DASHBOARD_HTML = readFileSync(here('./dashboard.html'), 'utf8');

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function renderLogin(options: { error?: string; next?: string } = {}): string {
  const error = options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  const next = escapeHtml(options.next ?? '/');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in: Smarketing Connector</title>
  <link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body class="login-page">
  <main>
    <form class="login" method="post" action="/login">
      <h1>Smarketing Connector</h1>
      <p>Sign in with the admin token (SMK_ADMIN_TOKEN) to see the dashboard.</p>
      ${error}
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
      <input type="hidden" name="next" value="${next}">
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
`;
}

export function dashboardRouter(auth: AdminAuth): Router {
  const router = express.Router();
  router.use('/assets', express.static(PUBLIC_DIR, { index: false, fallthrough: false, maxAge: '5m' }));
  router.get('/', (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!auth.check(req)) {
      // 401 so that scripts see the truth; browsers render the form all the same.
      res.status(401).type('html').send(renderLogin({ next: '/' }));
      return;
    }
    res.type('html').send(DASHBOARD_HTML);
  });
  return router;
}
