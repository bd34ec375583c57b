/** `GET /crm/v3/owners` and `/crm/v3/owners/{ownerId}` with the SDK's `PublicOwner` shape. */
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import type { SandboxContext } from './context.js';
import { HubSpotApiError, parseOr400, validationError } from './errors.js';
import { isoOf } from './properties.js';
import type { OwnerRecord } from './store.js';

const listQuerySchema = z.object({
  email: z.string().optional(),
  after: z.string().optional(),
  limit: z.string().regex(/^\d+$/, 'limit must be an integer').optional(),
  archived: z.enum(['true', 'false']).optional(),
});
const getQuerySchema = z.object({
  idProperty: z.enum(['id', 'userId']).optional(),
  archived: z.enum(['true', 'false']).optional(),
});

export function renderOwner(o: OwnerRecord): Record<string, unknown> {
  return {
    id: o.id,
    email: o.email,
    type: 'PERSON',
    firstName: o.firstName,
    lastName: o.lastName,
    userId: o.userId,
    userIdIncludingInactive: o.userId,
    createdAt: isoOf(o.createdAt),
    updatedAt: isoOf(o.updatedAt),
    archived: o.archived,
    teams: o.teams.map((t) => ({ ...t })),
  };
}

export function ownersRouter(ctx: SandboxContext): Router {
  const router = express.Router();

  router.get('/', (req, res) => {
    const q = parseOr400(listQuerySchema, req.query, 'query');
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (limit < 1 || limit > 500) throw validationError(`limit must be between 1 and 500, got ${limit}`);
    const archived = q.archived === 'true';
    let owners = ctx.store.listOwners().filter((o) => o.archived === archived);
    if (q.email) {
      const email = q.email.toLowerCase();
      owners = owners.filter((o) => o.email.toLowerCase() === email);
    }
    const start = q.after ? owners.findIndex((o) => Number(o.id) >= Number(q.after)) : 0;
    const from = start < 0 ? owners.length : start;
    const page = owners.slice(from, from + limit);
    const next = owners[from + limit];
    const body: Record<string, unknown> = { results: page.map(renderOwner) };
    if (next) body.paging = { next: { after: next.id, link: `?after=${next.id}` } };
    res.json(body);
  });

  router.get('/:ownerId', (req, res) => {
    const q = parseOr400(getQuerySchema, req.query, 'query');
    const id = String(req.params.ownerId);
    const archived = q.archived === 'true';
    const owner =
      q.idProperty === 'userId'
        ? ctx.store.listOwners().find((o) => String(o.userId) === id)
        : ctx.store.getOwner(id);
    if (!owner || owner.archived !== archived) {
      throw new HubSpotApiError(404, 'OBJECT_NOT_FOUND', `Owner ${id} not found`, { context: { id: [id] } });
    }
    res.json(renderOwner(owner));
  });

  return router;
}
