/**
 * HubSpot error bodies (reference H2): `{status:'error', message, correlationId (uuid), category,
 * subCategory?, errors?, context?, links?}`. Route handlers throw `HubSpotApiError`; the app's error
 * handler writes it. Per-input batch failures use the `StandardError` shape instead (H1).
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';

export interface ErrorDetail {
  message: string;
  code?: string;
  in?: string;
  subCategory?: string;
  context?: Record<string, string[]>;
}

export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  errors?: ErrorDetail[];
  context?: Record<string, string[]>;
  links?: Record<string, string>;
}

/** One failed input of a batch call (the SDK's `StandardError`). */
export interface StandardError {
  status: 'error';
  id?: string;
  category: string;
  subCategory?: string;
  message: string;
  errors: ErrorDetail[];
  context: Record<string, string[]>;
  links: Record<string, string>;
}

export interface ErrorExtras {
  subCategory?: string;
  errors?: ErrorDetail[];
  context?: Record<string, string[]>;
}

export class HubSpotApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly category: string,
    message: string,
    readonly extras: ErrorExtras = {},
  ) {
    super(message);
    this.name = 'HubSpotApiError';
  }

  body(): HubSpotErrorBody {
    return errorBody(this.category, this.message, this.extras);
  }
}

export function errorBody(category: string, message: string, extras: ErrorExtras = {}): HubSpotErrorBody {
  const body: HubSpotErrorBody = { status: 'error', message, correlationId: randomUUID(), category };
  if (extras.subCategory) body.subCategory = extras.subCategory;
  if (extras.errors) body.errors = extras.errors;
  if (extras.context) body.context = extras.context;
  return body;
}

export function validationError(message: string, extras: ErrorExtras = {}): HubSpotApiError {
  return new HubSpotApiError(400, 'VALIDATION_ERROR', message, extras);
}

/** The 404 HubSpot gives for an unknown object id. */
export function objectNotFound(id: string): HubSpotApiError {
  return new HubSpotApiError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', {
    context: { id: [id] },
  });
}

export function standardError(category: string, message: string, extras: ErrorExtras & { id?: string } = {}): StandardError {
  const e: StandardError = {
    status: 'error',
    category,
    message,
    errors: extras.errors ?? [],
    context: extras.context ?? {},
    links: {},
  };
  if (extras.id) e.id = extras.id;
  if (extras.subCategory) e.subCategory = extras.subCategory;
  return e;
}

/** Parses with zod or throws HubSpot's 400 for a body or query it cannot build. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: ErrorDetail[] = parsed.error.issues.map((issue) => {
    const detail: ErrorDetail = { message: issue.message, code: 'INVALID_INPUT' };
    if (issue.path.length) detail.in = issue.path.map(String).join('.');
    return detail;
  });
  const where = errors
    .map((e) => (e.in ? `${e.in}: ${e.message}` : e.message))
    .slice(0, 5)
    .join('; ');
  throw validationError(`Invalid input ${what}: ${where}`, { errors });
}

/** Error handler for the API surface: HubSpot bodies, never a stack trace. */
export function apiErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err instanceof HubSpotApiError) {
    res.status(err.httpStatus).json(err.body());
    return;
  }
  const type = typeof err === 'object' && err !== null && 'type' in err ? (err as { type: unknown }).type : undefined;
  if (type === 'entity.parse.failed') {
    const detail = err instanceof Error ? err.message : 'malformed JSON';
    res.status(400).json(errorBody('VALIDATION_ERROR', `Invalid input JSON on line 1: ${detail}`));
    return;
  }
  if (type === 'entity.too.large') {
    res.status(413).json(errorBody('VALIDATION_ERROR', 'Request entity too large'));
    return;
  }
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    res.status(415).json(errorBody('VALIDATION_ERROR', 'Unsupported content encoding'));
    return;
  }
  res.status(500).json(errorBody('INTERNAL_ERROR', 'An internal error occurred.'));
}

export function unknownRoute(req: Request, res: Response): void {
  const path = req.originalUrl.split('?')[0] ?? '/';
  res.status(404).json(errorBody('OBJECT_NOT_FOUND', `Unable to find a resource for ${req.method} ${path}`));
}
