/**
 * The hostile-input corpus of fixtures/hostile/: JSON or YAML files of `{ cases: [...] }`, each case
 * with a `name` and an `expect`. Values too big or too odd to write by hand are spelt as small
 * generators that `expand` turns into the real thing:
 *
 * - `{ "$repeat": "ab", "times": 3 }` → `"ababab"`
 * - `{ "$concat": ["a", { "$repeat": "b", "times": 2 }] }` → `"abb"`
 * - `{ "$char": 0 }` → the character with that code (control characters in JSON stay readable)
 * - `{ "$json": value }` → the value serialised as JSON text
 * - `{ "$nested": 5000, "open": "[", "close": "]" }` → `[[[...]]]`
 * - `{ "$events": 3, "start": 10 }` → three HubSpot `contact.propertyChange` events, ids 10, 11, 12
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const HOSTILE_DIR = fileURLToPath(new URL('../../../fixtures/hostile/', import.meta.url));

export interface CorpusCase {
  name: string;
  /** The file it came from, for messages. */
  file: string;
  [key: string]: unknown;
}

function isGenerator(value: Record<string, unknown>): boolean {
  return Object.keys(value).some((k) => k.startsWith('$'));
}

/** Replaces the generators described in the header by the values they stand for. */
export function expand(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expand);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if (isGenerator(object)) {
    if (typeof object.$repeat === 'string') return object.$repeat.repeat(Number(object.times));
    if (Array.isArray(object.$concat)) return object.$concat.map((part) => String(expand(part))).join('');
    if (typeof object.$char === 'number') return String.fromCodePoint(object.$char);
    if ('$json' in object) return JSON.stringify(expand(object.$json));
    if (typeof object.$events === 'number') {
      const start = Number(object.start ?? 1);
      return Array.from({ length: object.$events as number }, (_, i) => ({
        eventId: start + i, subscriptionType: 'contact.propertyChange', objectId: start + i, occurredAt: 1767225600000, propertyName: 'jobtitle', propertyValue: 'CTO',
      }));
    }
    if (typeof object.$nested === 'number') return `${String(object.open).repeat(object.$nested)}${String(object.close).repeat(object.$nested)}`;
    throw new Error(`unknown generator ${JSON.stringify(Object.keys(object))}`);
  }
  // Keys such as `__proto__` must stay own keys, never become a prototype.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(object)) Object.defineProperty(out, k, { value: expand(v), enumerable: true, writable: true, configurable: true });
  return Object.setPrototypeOf(out, Object.prototype) as Record<string, unknown>;
}

/** Every case of every file in fixtures/hostile/<folder>, expanded. */
export function loadCases(folder: string): CorpusCase[] {
  const dir = join(HOSTILE_DIR, folder);
  const cases: CorpusCase[] = [];
  for (const file of readdirSync(dir).sort()) {
    const text = readFileSync(join(dir, file), 'utf8');
    let data: unknown;
    if (file.endsWith('.json')) data = JSON.parse(text);
    else if (file.endsWith('.yaml') || file.endsWith('.yml')) data = parseYaml(text, { maxAliasCount: -1 });
    else continue;
    const list = (data as { cases?: unknown }).cases;
    if (!Array.isArray(list)) throw new Error(`${folder}/${file}: expected { cases: [...] }`);
    for (const raw of list) {
      const expanded = expand(raw) as Record<string, unknown>;
      if (typeof expanded.name !== 'string' || expanded.expect === undefined) throw new Error(`${folder}/${file}: every case needs a name and an expect`);
      cases.push({ ...expanded, name: expanded.name, file: `${folder}/${file}` });
    }
  }
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`${folder}: two cases are named "${c.name}"`);
    names.add(c.name);
  }
  return cases;
}
