/**
 * The one logger. Logs carry ids, never tokens or personal field values: the redaction list
 * covers secrets and the personal fields of both CRMs and the common Lead, at the top level and
 * one or two levels down (pino's redaction is path based).
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

const SECRET_KEYS = [
  'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'clientSecret', 'client_secret', 'password',
  'token', 'authorization', 'Authorization', 'cookie', 'apiKey', 'assertion', 'code', 'code_verifier', 'encryptionKey', 'adminToken',
];
const PERSONAL_KEYS = [
  'email', 'Email', 'phone', 'Phone', 'mobilephone', 'MobilePhone', 'firstName', 'lastName', 'firstname', 'lastname',
  'FirstName', 'LastName', 'Name', 'name', 'notes', 'Description', 'properties',
];

/** Top-level keys that are pino's own (`name`) or carry error codes (`code`), never personal or secret. */
const TOP_LEVEL_SAFE = new Set(['name', 'code']);

function redactionPaths(): string[] {
  const keys = [...SECRET_KEYS, ...PERSONAL_KEYS];
  const paths: string[] = [];
  for (const key of keys) {
    if (!TOP_LEVEL_SAFE.has(key)) paths.push(key);
    paths.push(`*.${key}`, `*.*.${key}`);
  }
  paths.push('req.headers.authorization', 'req.headers.cookie', 'headers.authorization');
  return paths;
}

export const REDACTED = '[redacted]';

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' || process.env.VITEST ? 'silent' : 'info');
  return pino(
    {
      name: options.name ?? 'smk',
      level,
      redact: { paths: redactionPaths(), censor: REDACTED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

export const logger: Logger = createLogger();
export type { Logger };
