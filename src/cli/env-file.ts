/**
 * `./.env`, as docker compose reads it: the CLI takes the variables it finds there that the
 * environment does not already set (the environment wins), so that `smk doctor`, `smk sync --once`
 * and `smk start` run against what `smk sandbox --env-file .env` (or an admin) wrote.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** Loads `.env` from `dir` into `env` without overriding what is set; returns the names it took. */
export function loadDotEnv(dir = process.cwd(), env: NodeJS.ProcessEnv = process.env): string[] {
  const path = resolve(dir, '.env');
  if (!existsSync(path)) return [];
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new Error(`${path} could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const taken: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (env[name] !== undefined || value === '') continue;
    env[name] = value;
    taken.push(name);
  }
  return taken;
}
