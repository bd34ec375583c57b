/**
 * Hostile smarketing.yaml files (fixtures/hostile/configs): each mistake is a ConfigError whose
 * problem list names the path and says what was expected, as one line an admin can act on. No
 * stack trace, no "[object Object]", and nothing a file says can pollute a prototype.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config.js';
import { loadCases } from './helpers/corpus.js';

interface ConfigCase {
  name: string;
  yaml: string;
  expect: { path: string; says: string[]; alsoPath?: string };
  /** A product bug this case shows: the case runs as `it.fails` until it is fixed. */
  bug?: string;
}

/** SMK_HOSTILE_SHOW_BUGS=1 runs the cases of known bugs as plain tests, to see how they fail. */
const SHOW_BUGS = Boolean(process.env.SMK_HOSTILE_SHOW_BUGS);
const cases = loadCases('configs') as unknown as ConfigCase[];

function problemsOf(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'hostile.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the file was accepted');
}

describe('hostile config files', () => {
  it('holds enough cases to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  const check = (c: ConfigCase) => {
    const started = Date.now();
    const problems = problemsOf(c.yaml);
    // A hostile file is refused quickly (an alias bomb must not be expanded).
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems.length).toBeGreaterThan(0);
    const line = problems.find((p) => p.startsWith(c.expect.path));
    expect(line, `no problem starts with "${c.expect.path}" in:\n${problems.join('\n')}`).toBeDefined();
    for (const text of c.expect.says) expect(line).toContain(text);
    if (c.expect.alsoPath) expect(problems.some((p) => p.startsWith(c.expect.alsoPath as string))).toBe(true);
    for (const p of problems) {
      expect(p).not.toMatch(/\[object Object\]|undefined|\n\s+at /);
      // One readable line each, even for a 100 KB value.
      expect(p.length).toBeLessThan(400);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  };

  for (const c of cases) {
    if (c.bug && !SHOW_BUGS) {
      // BUG (see the case's `bug` in fixtures/hostile/configs): fails until the product is fixed.
      it.fails(`${c.name} → a ConfigError naming the path and what was expected [bug: ${c.bug}]`, () => check(c));
    } else {
      it(`${c.name} → a ConfigError naming the path and what was expected`, () => check(c));
    }
  }
});
