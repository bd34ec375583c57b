/** `POST /crm/v3/objects/contacts/search` (reference H3); the engine lives in search.ts. */
import express from 'express';
import type { Router } from 'express';
import { rawBodyChars } from './body-parsing.js';
import { renderContact } from './contact-model.js';
import type { SandboxContext } from './context.js';
import { parseOr400, validationError } from './errors.js';
import { SEARCH_LIMITS, searchBodySchema } from './search.js';

export function searchRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  router.post('/search', (req, res) => {
    const chars = rawBodyChars(req);
    if (chars > SEARCH_LIMITS.maxBodyChars) {
      throw validationError(`Search request body is ${chars} characters long; the maximum is ${SEARCH_LIMITS.maxBodyChars}.`);
    }
    const body = parseOr400(searchBodySchema, req.body, 'JSON');
    const page = ctx.search.search(body, ctx.clock.now());
    const properties = body.properties && body.properties.length > 0 ? body.properties : null;
    const out: Record<string, unknown> = {
      total: page.total,
      results: page.results.map((doc) => renderContact(ctx.store.registry, doc, { properties })),
    };
    if (page.nextAfter !== null) out.paging = { next: { after: page.nextAfter } };
    res.json(out);
  });
  return router;
}
