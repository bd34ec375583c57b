/**
 * The Salesforce sandbox's own control routes under `/__sandbox` (beside common.ts's stats, faults,
 * clock, reset and seed): what a rep does in Salesforce (`POST /activity`), revoking a refresh
 * token, the daily API allocation, and uncounted record reads. Never counted as API calls.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { param, renderRecord } from './context.js';
import type { SandboxContext } from './context.js';
import { SfApiError } from './errors.js';
import type { RecordError } from './errors.js';
import { INTEGRATION_USER } from './store.js';
import { resolveTarget, validateFields } from './validation.js';
import type { SfRecord } from './values.js';

const fields = z.record(z.string(), z.unknown());

export const activitySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), id: z.string().min(1), status: z.string().min(1) }),
  z.object({ kind: z.literal('convert'), id: z.string().min(1), createOpportunity: z.boolean().optional() }),
  z.object({ kind: z.literal('call'), whoId: z.string().min(1), subject: z.string().min(1).max(255).default('Call'), description: z.string().optional() }),
  z.object({ kind: z.literal('field'), id: z.string().min(1), fields }),
  z.object({ kind: z.literal('delete'), id: z.string().min(1) }),
  z.object({ kind: z.literal('create'), type: z.string().min(1), fields }),
]);
export type Activity = z.infer<typeof activitySchema>;

/** A control-surface failure: `{error, errorCode, errors?}` with an HTTP status. */
class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode: string,
    readonly errors?: RecordError[],
  ) {
    super(message);
  }
}

function fail(errors: RecordError[], status = 400): ControlError {
  const first = errors[0];
  const notFound = first?.statusCode === 'INVALID_CROSS_REFERENCE_KEY' || first?.statusCode === 'MALFORMED_ID';
  return new ControlError(notFound ? 404 : status, first?.message ?? 'invalid', first?.statusCode ?? 'INVALID', errors);
}

/** Applies one rep action; changes are attributed to the record's owner, like a rep's edit. */
export function applyActivity(ctx: SandboxContext, activity: Activity): Record<string, unknown> {
  const { store } = ctx;
  const owned = (record: SfRecord) => ({ actorId: typeof record.OwnerId === 'string' ? record.OwnerId : INTEGRATION_USER.Id });
  switch (activity.kind) {
    case 'status':
    case 'field': {
      const target = resolveTarget(store, null, activity.id, 'update');
      if ('error' in target) throw fail([target.error]);
      const changes = activity.kind === 'status' ? { Status: activity.status } : activity.fields;
      const result = validateFields(target.schema, changes, 'update', store, target.record);
      if (!result.ok) throw fail(result.errors);
      store.update(target.record, result.values, owned(target.record));
      return { id: target.record.Id };
    }
    case 'convert': {
      const result = store.convertLead(activity.id, { createOpportunity: activity.createOpportunity ?? false });
      return { ...result };
    }
    case 'call': {
      const task = store.logCall(activity.whoId, activity.subject, { description: activity.description });
      return { id: task.Id, whoId: task.WhoId };
    }
    case 'delete': {
      const target = resolveTarget(store, null, activity.id, 'delete');
      if ('error' in target) throw fail([target.error]);
      store.softDelete(target.record, owned(target.record));
      return { id: target.record.Id };
    }
    case 'create': {
      const schema = store.schema(activity.type);
      if (!schema || !schema.flags.createable) throw new ControlError(400, `cannot create records of type ${activity.type}`, 'INVALID_TYPE');
      const result = validateFields(schema, activity.fields, 'create', store);
      if (!result.ok) throw fail(result.errors);
      const owner = typeof result.values.OwnerId === 'string' ? result.values.OwnerId : INTEGRATION_USER.Id;
      const record = store.insert(schema.name, result.values, { actorId: owner });
      return { id: record.Id };
    }
  }
}

function handle(res: Response, run: () => unknown): void {
  try {
    res.json(run());
  } catch (err) {
    if (err instanceof ControlError) {
      res.status(err.status).json({ error: err.message, errorCode: err.errorCode, ...(err.errors ? { errors: err.errors } : {}) });
    } else if (err instanceof SfApiError) {
      res.status(err.status).json({ error: err.message, errorCode: err.errorCode });
    } else if (err instanceof z.ZodError) {
      res.status(400).json({ error: 'invalid request body', issues: err.issues });
    } else {
      throw err;
    }
  }
}

function body<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  return schema.parse(req.body ?? {});
}

export function controlRouter(ctx: SandboxContext): Router {
  const router = express.Router();
  router.use(express.json({ limit: '10mb' }));
  const { store, usage, auth } = ctx;

  router.post('/activity', (req, res) => handle(res, () => ({ ok: true, ...applyActivity(ctx, body(activitySchema, req)) })));

  router.post('/revoke', (req, res) =>
    handle(res, () => ({ revoked: auth.revoke(body(z.object({ refreshToken: z.string().min(1) }), req).refreshToken) })),
  );

  router.post('/expire-sessions', (_req, res) =>
    handle(res, () => {
      auth.expireAllSessions();
      return { expired: true };
    }),
  );

  router.get('/oauth', (_req, res) => handle(res, () => ({ tokenRequests: auth.tokenRequests })));

  const limits = () => ({ dailyApiLimit: usage.dailyLimit, used: usage.used(), remaining: usage.remaining(), max: usage.max() });
  router.get('/limits', (_req, res) => handle(res, limits));
  router.put('/limits', (req, res) =>
    handle(res, () => {
      const { dailyApiLimit, resetUsage } = body(z.object({ dailyApiLimit: z.number().int().min(0), resetUsage: z.boolean().optional() }), req);
      usage.setLimit(dailyApiLimit);
      if (resetUsage) usage.reset();
      return limits();
    }),
  );

  router.get('/records/:id', (req, res) =>
    handle(res, () => {
      const found = store.find(param(req, 'id'));
      if (!found) throw new ControlError(404, `no record with id ${param(req, 'id')}`, 'NOT_FOUND');
      return renderRecord(res, found.table.schema, found.record, found.table.schema.fields);
    }),
  );

  router.get('/custom-fields', (_req, res) =>
    handle(res, () => ({ fields: [...store.customFields.values()].map((r) => ({ id: r.id, fullName: r.fullName, metadata: r.metadata })) })),
  );
  return router;
}
