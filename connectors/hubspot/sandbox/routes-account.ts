/** `GET /account-info/v3/details`: the portal's settings, its time zone among them (account.ts). */
import express from 'express';
import type { Router } from 'express';
import type { SandboxContext } from './context.js';

export function accountInfoRouter(ctx: SandboxContext): Router {
  const router = express.Router();
  router.get('/details', (_req, res) => {
    res.json(ctx.account.details(ctx.clock.now()));
  });
  return router;
}
