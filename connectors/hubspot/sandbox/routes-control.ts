/**
 * HubSpot-specific control routes under `/__sandbox` (not API calls, never counted): webhook
 * target, visitor activity, merges, OAuth codes, rate limits, search-index lag, and uncounted
 * reads and "HubSpot UI" edits of contacts for tests and the demo.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { renderContact, type ChangeSource, type ContactRecord } from './contact-model.js';
import { propertyMapSchema, toStringMap, propertyValuesMessage } from './contact-writes.js';
import type { SandboxContext } from './context.js';
import { HubSpotApiError } from './errors.js';
import { timeZoneSchema } from './account.js';
import { rateLimitUpdateSchema } from './rate-limits.js';

export const ACTIVITY_KINDS = ['page_view', 'visit', 'form_submission', 'email_open', 'email_click'] as const;

const activitySchema = z
  .object({
    contactId: z.string().regex(/^\d+$/).optional(),
    email: z.string().min(3).optional(),
    kind: z.enum(ACTIVITY_KINDS),
    count: z.number().int().min(1).max(10_000).default(1),
    name: z.string().min(1).max(200).optional(),
    at: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((b) => b.contactId !== undefined || b.email !== undefined, { message: 'give contactId or email' });

const webhookSchema = z.object({
  url: z.url().nullable().optional(),
  batchMs: z.number().int().min(0).max(60_000).optional(),
  retryBaseMs: z.number().int().min(1).max(3_600_000).optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});

const mergeSchema = z.object({ primaryId: z.string().regex(/^\d+$/), mergedId: z.string().regex(/^\d+$/) });
const codeSchema = z.object({ redirectUri: z.url().optional(), scopes: z.array(z.string().min(1)).optional() });
const rateLimitsSchema = rateLimitUpdateSchema.extend({ resetUsage: z.boolean().optional() });
const searchIndexSchema = z.object({ lagMs: z.number().int().min(0).max(600_000) });
const accountSchema = z.object({ timeZone: timeZoneSchema });
const uiWriteSchema = z.object({ properties: propertyMapSchema });

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new ControlError(400, 'invalid request body', parsed.error.issues);
  return parsed.data;
}

export function addHubSpotControlRoutes(router: Router, ctx: SandboxContext): void {
  const { store, clock } = ctx;
  const uiSource: ChangeSource = { changeSource: 'CRM_UI', sourceId: `userId:${ctx.credentials.userId}` };

  const contactOr404 = (idOrEmail: string): ContactRecord => {
    const c = idOrEmail.includes('@') ? store.findByEmail(idOrEmail, false) : store.resolve(idOrEmail);
    if (!c) throw new ControlError(404, `no contact ${idOrEmail}`);
    return c;
  };
  const full = (c: ContactRecord) => renderContact(store.registry, c, { properties: null, all: true });

  router.get('/info', (_req, res) => {
    const c = ctx.credentials;
    res.json({
      accessToken: c.accessToken,
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      appId: c.appId,
      portalId: c.portalId,
      contacts: store.contactCount(),
      owners: store.listOwners().length,
      searchIndexLagMs: store.searchIndexLagMs,
      rateLimits: ctx.limiter.settings,
      timeZone: ctx.account.timeZone,
      webhook: ctx.webhooks.settings,
    });
  });

  // The portal's settings; an admin changing the time zone moves the daily limit's midnight.
  router.get('/account', (_req, res) => {
    res.json(ctx.account.details(clock.now()));
  });

  router.put('/account', (req, res) => {
    ctx.account.setTimeZone(parse(accountSchema, req.body).timeZone);
    res.json(ctx.account.details(clock.now()));
  });

  router.get('/webhook', (_req, res) => {
    res.json({ settings: ctx.webhooks.settings, counts: ctx.webhooks.counts, pending: ctx.webhooks.pending(), deliveries: ctx.webhooks.deliveries() });
  });

  router.put('/webhook', (req, res) => {
    const body = parse(webhookSchema, req.body);
    res.json({ settings: ctx.webhooks.update(Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined))) });
  });

  router.post('/webhook/flush', (_req, res) => {
    ctx.webhooks.flush();
    res.json({ pending: ctx.webhooks.pending() });
  });

  // A visitor views pages, submits a form or engages with an email: counters and timestamps move.
  router.post('/activity', (req, res) => {
    const body = parse(activitySchema, req.body);
    const c = contactOr404(body.contactId ?? body.email ?? '');
    const at = body.at ? Date.parse(body.at) : clock.now();
    const values = new Map<string, string>();
    const add = (name: string, by: number) => values.set(name, String(Number(c.props[name] ?? 0) + by));
    const stamp = (name: string) => values.set(name, String(at));
    let source: ChangeSource = { changeSource: 'ANALYTICS', sourceId: null };
    switch (body.kind) {
      case 'visit':
        add('hs_analytics_num_visits', body.count);
        add('hs_analytics_num_page_views', body.count);
        break;
      case 'page_view':
        add('hs_analytics_num_page_views', body.count);
        break;
      case 'form_submission':
        source = { changeSource: 'FORM', sourceId: null };
        add('num_conversion_events', body.count);
        add('num_unique_conversion_events', 1);
        stamp('recent_conversion_date');
        values.set('recent_conversion_event_name', body.name ?? 'Form submission');
        if (!c.props.first_conversion_date) {
          stamp('first_conversion_date');
          values.set('first_conversion_event_name', body.name ?? 'Form submission');
        }
        break;
      case 'email_open':
        source = { changeSource: 'EMAIL', sourceId: null };
        add('hs_email_open', body.count);
        stamp('hs_email_last_open_date');
        break;
      case 'email_click':
        source = { changeSource: 'EMAIL', sourceId: null };
        add('hs_email_click', body.count);
        stamp('hs_email_last_click_date');
        break;
    }
    if (body.kind === 'visit' || body.kind === 'page_view') {
      stamp('hs_analytics_last_visit_timestamp');
      if (!c.props.hs_analytics_first_visit_timestamp) stamp('hs_analytics_first_visit_timestamp');
    }
    store.update(c, values, source, at);
    res.json(full(c));
  });

  router.post('/merge', (req, res) => {
    const body = parse(mergeSchema, req.body);
    const primary = contactOr404(body.primaryId);
    const merged = contactOr404(body.mergedId);
    if (primary === merged) throw new ControlError(400, 'cannot merge a contact with itself');
    if (primary.archived || merged.archived) throw new ControlError(400, 'cannot merge archived contacts');
    store.merge(primary, merged, uiSource);
    res.json(full(primary));
  });

  router.post('/oauth/code', (req, res) => {
    const body = parse(codeSchema, req.body);
    res.json({ code: ctx.auth.issueCode(body.redirectUri ?? null, body.scopes), redirectUri: body.redirectUri ?? null });
  });

  router.get('/rate-limits', (_req, res) => {
    res.json({ settings: ctx.limiter.settings });
  });

  router.put('/rate-limits', (req, res) => {
    const { resetUsage, ...settings } = parse(rateLimitsSchema, req.body);
    const next = ctx.limiter.update(Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)));
    if (resetUsage) ctx.limiter.resetUsage();
    res.json({ settings: next });
  });

  router.put('/search-index', (req, res) => {
    store.searchIndexLagMs = parse(searchIndexSchema, req.body).lagMs;
    res.json({ lagMs: store.searchIndexLagMs });
  });

  router.get('/contacts/:id', (req, res) => {
    res.json(full(contactOr404(String(req.params.id))));
  });

  // Edits "in the HubSpot UI": read-only values allowed, lifecycle stage may move backward.
  router.post('/contacts', (req, res) => {
    const input = toStringMap(parse(uiWriteSchema, req.body).properties);
    const check = store.checkWrite(input, { ui: true });
    if (check.errors.length > 0) throw new ControlError(400, propertyValuesMessage(check.errors, ctx.credentials.portalId));
    const holder = store.emailOwner(check.values);
    if (holder) throw new ControlError(409, `Contact already exists. Existing ID: ${holder.id}`);
    res.status(201).json(full(store.create(check.values, uiSource)));
  });

  router.patch('/contacts/:id', (req, res) => {
    const c = contactOr404(String(req.params.id));
    const input = toStringMap(parse(uiWriteSchema, req.body).properties);
    const check = store.checkWrite(input, { existing: c, ui: true });
    if (check.errors.length > 0) throw new ControlError(400, propertyValuesMessage(check.errors, ctx.credentials.portalId));
    const holder = store.emailOwner(check.values, c);
    if (holder) throw new ControlError(409, `Contact already exists. Existing ID: ${holder.id}`);
    store.update(c, check.values, uiSource);
    res.json(full(c));
  });

  router.delete('/contacts/:id', (req, res) => {
    store.archive(contactOr404(String(req.params.id)), uiSource);
    res.status(204).end();
  });

  // Unknown control paths end here: they must not fall through to the (counted) API surface.
  router.use((req: Request, res: Response) => {
    res.status(404).json({ error: `no control route ${req.method} /__sandbox${req.path}` });
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof ControlError) {
      res.status(err.status).json(err.issues === undefined ? { error: err.message } : { error: err.message, issues: err.issues });
      return;
    }
    if (err instanceof HubSpotApiError) {
      res.status(err.httpStatus).json({ error: err.message });
      return;
    }
    const type = typeof err === 'object' && err !== null && 'type' in err ? (err as { type: unknown }).type : undefined;
    res.status(type === 'entity.parse.failed' ? 400 : 500).json({ error: type === 'entity.parse.failed' ? 'malformed JSON' : 'internal error' });
  });
}
