/**
 * One way to fail a request: throw an HttpError (or let zod parsing throw one through `parseInput`),
 * and the single error handler turns it into `{ error }` JSON. Clients never see a stack trace:
 * a 500 says "internal error" with the request id, and the detail goes to the log under that id.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { formatIssues } from '../config.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra fields for the JSON body (e.g. the list of config problems). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Validates a body, query or params with zod; a failure is a 400 naming each bad path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new HttpError(400, `invalid ${what}`, { problems: formatIssues(result.error.issues) });
  }
  return result.data;
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/** The id every log line of a request carries; an upstream proxy's id is kept when it looks sane. */
export function requestIds(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

export function requestIdOf(res: Response): string {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : 'unknown';
}

export function notFound(): RequestHandler {
  return (_req, res) => {
    res.status(404).json({ error: 'not found' });
  };
}

/**
 * Errors from express's own middleware (body-parser, serve-static) carry `status`, `expose` and,
 * for body-parser, `type`: they are the client's fault, so they say why.
 */
interface MiddlewareError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  message: string;
}

function asMiddlewareError(err: unknown): MiddlewareError | null {
  if (err instanceof Error && (typeof (err as MiddlewareError).type === 'string' || typeof (err as MiddlewareError).status === 'number')) {
    return err as MiddlewareError;
  }
  return null;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = requestIdOf(res);
    if (res.headersSent) {
      logger.error({ requestId, path: req.path, err: err instanceof Error ? err.message : String(err) }, 'error after the response started');
      res.end();
      return;
    }
    if (err instanceof HttpError) {
      if (err.status >= 500) logger.error({ requestId, path: req.path, status: err.status, err: err.message }, 'request failed');
      res.status(err.status).json({ error: err.message, ...err.details });
      return;
    }
    const parserError = asMiddlewareError(err);
    if (parserError) {
      if (parserError.type === 'entity.too.large') {
        res.status(413).json({ error: 'request body too large' });
        return;
      }
      if (parserError.type === 'entity.parse.failed') {
        res.status(400).json({ error: 'malformed JSON' });
        return;
      }
      const status = typeof parserError.status === 'number' ? parserError.status : 400;
      if (status < 500 && parserError.expose === true) {
        res.status(status).json({ error: parserError.message });
        return;
      }
    }
    // Anything else is our bug or an outage: the detail is for the log, never the client.
    logger.error(
      { requestId, method: req.method, path: req.path, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
      'unhandled error',
    );
    res.status(500).json({ error: 'internal error', requestId });
  };
}
