/** JSON body parsing for the API surface, keeping the raw body for limits measured on it. */
import type { IncomingMessage } from 'node:http';
import express from 'express';

const rawBodies = new WeakMap<IncomingMessage, Buffer>();

export const jsonBody = express.json({
  limit: '10mb',
  verify: (req, _res, buf) => {
    rawBodies.set(req, buf);
  },
});

/** Characters in the request body as sent (0 when there was none). */
export function rawBodyChars(req: IncomingMessage): number {
  return rawBodies.get(req)?.toString('utf8').length ?? 0;
}
