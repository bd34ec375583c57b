/**
 * Reps' time off in the admin API: `GET /api/reps/time-off` lists every rep's ranges (from the
 * config and from the store) and who is away today; `POST /api/reps/:owner/time-off` adds a range;
 * `DELETE /api/reps/:owner/time-off?from=&to=` removes one. Ranges in the config are changed in
 * smarketing.yaml, not here. Routing picks a change up within seconds (the store's cache).
 */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SyncContext } from '../../jobs/context.js';
import { isAway, repZone } from '../rules/availability.js';
import { timeOffSchema } from '../rules/config.js';
import { HttpError, parseInput, requestIdOf } from './http-errors.js';

const ownerParams = z.object({ owner: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'expected a Salesforce user id such as 005000000000001') });
const rangeQuery = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected yyyy-MM-dd'),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected yyyy-MM-dd'),
});

export function timeOffRouter(ctx: SyncContext): Router {
  const router = express.Router();
  const json = express.json({ limit: '64kb' });
  const config = ctx.config.file;

  router.get('/reps/time-off', async (_req, res) => {
    const stored = await ctx.timeOff.all({ fresh: true });
    const now = new Date(ctx.clock.now());
    const owners = new Set<string>([...Object.keys(config.reps), ...Object.keys(stored)]);
    for (const pool of Object.values(config.routing.pools)) for (const member of pool.members) owners.add(member.owner);
    const reps = [...owners].sort().map((owner) => ({
      owner,
      tz: repZone(config, owner),
      awayToday: isAway(config, owner, stored, now),
      config: Object.hasOwn(config.reps, owner) ? (config.reps[owner]?.timeOff ?? []) : [],
      stored: stored[owner] ?? [],
    }));
    res.json({ reps });
  });

  router.post('/reps/:owner/time-off', json, async (req, res) => {
    const { owner } = parseInput(ownerParams, req.params, 'path');
    const range = parseInput(timeOffSchema, req.body ?? {}, 'body');
    const list = await ctx.timeOff.add(owner, [{ ...range, source: 'api' }]);
    ctx.logger.info({ requestId: requestIdOf(res), owner, from: range.from, to: range.to }, 'time off added');
    res.status(201).json({ owner, stored: list });
  });

  router.delete('/reps/:owner/time-off', async (req, res) => {
    const { owner } = parseInput(ownerParams, req.params, 'path');
    const { from, to } = parseInput(rangeQuery, req.query, 'query');
    if (!(await ctx.timeOff.remove(owner, from, to))) throw new HttpError(404, `no stored time off from ${from} to ${to} for ${owner}`);
    ctx.logger.info({ requestId: requestIdOf(res), owner, from, to }, 'time off removed');
    res.status(204).end();
  });

  return router;
}
