/**
 * The Docker image ships the service and not the sandboxes (DESIGN.md "Layout"), checked without a
 * Docker engine: the build context that .dockerignore leaves, the files the Dockerfile's COPY lines
 * take from it, and the import graph the image runs (from bin/smk.js, read with the TypeScript
 * parser): static imports never reach sandbox code, and every module the image can load is in it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SANDBOX = /^connectors\/(sandbox|[^/]+\/sandbox)\//;
const ENTRY_POINTS = ['bin/smk.js', 'src/cli.ts'];

// ---- .dockerignore -------------------------------------------------------------------------------

interface IgnoreRule {
  negate: boolean;
  regex: RegExp;
}

/** Docker's pattern syntax (Go filepath.Match plus `**`), matched against slash-separated paths. */
function patternToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function readDockerignore(): IgnoreRule[] {
  return readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const cleaned = posix.normalize((negate ? line.slice(1) : line).trim().replace(/^\/+/, '')).replace(/\/+$/, '');
      return { negate, regex: patternToRegex(cleaned) };
    });
}

/** As the builder decides: the last rule matching the path or one of its parent folders wins. */
function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (candidates.some((c) => rule.regex.test(c))) ignored = !rule.negate;
  return ignored;
}

/** Every file of the build context (a folder the rules drop is not entered unless a `!` rule could reopen it). */
function buildContext(rules: IgnoreRule[]): Set<string> {
  const canReopen = rules.some((r) => r.negate);
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!canReopen && isIgnored(rules, path)) continue;
        walk(path);
      } else if (!isIgnored(rules, path)) files.add(path);
    }
  };
  walk('');
  return files;
}

// ---- Dockerfile ----------------------------------------------------------------------------------

interface Copy {
  stage: number;
  sources: string[];
  dest: string;
}

function readCopies(): { copies: Copy[]; stages: number } {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  const copies: Copy[] = [];
  let stage = -1;
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stage++;
    const m = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    const words = m[2]!.split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    const args = words.filter((w) => !w.startsWith('--'));
    copies.push({ stage, sources: args.slice(0, -1), dest: args[args.length - 1]! });
  }
  return { copies, stages: stage + 1 };
}

/** The image's files under WORKDIR (/app) from one stage's COPY lines, as paths relative to it. */
function imageFiles(copies: Copy[], context: Set<string>): Set<string> {
  const files = new Set<string>();
  for (const copy of copies) {
    const dest = posix.normalize(copy.dest).replace(/^\.\/?/, '').replace(/\/$/, '');
    for (const source of copy.sources) {
      const src = posix.normalize(source).replace(/\/$/, '');
      for (const file of context) {
        if (file === src) files.add(copy.sources.length > 1 || copy.dest.endsWith('/') ? posix.join(dest, posix.basename(file)) : dest || posix.basename(file));
        else if (file.startsWith(`${src}/`)) files.add(posix.join(dest, file.slice(src.length + 1)));
      }
    }
  }
  return files;
}

// ---- the import graph ----------------------------------------------------------------------------

interface Edge {
  from: string;
  to: string;
  specifier: string;
  dynamic: boolean;
}

/** Imports that load a module at run time: `import type` / `export type` are erased, nothing else is. */
function importsOf(file: string): Array<{ specifier: string; dynamic: boolean }> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const found: Array<{ specifier: string; dynamic: boolean }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) found.push({ specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) found.push({ specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      if (!node.isTypeOnly) found.push({ specifier: node.moduleReference.expression.text, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push({ specifier: arg.text, dynamic: true });
      else throw new Error(`${file}: import() of a computed specifier cannot be checked`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A relative specifier as NodeNext and tsx resolve it: `./x.js` names `./x.ts` when that exists. */
function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = target.endsWith('.js') ? [target.replace(/\.js$/, '.ts'), target] : [target];
  for (const c of candidates) if (existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) return c;
  throw new Error(`${from}: cannot resolve ${specifier}`);
}

/** What a process started from the entry points can load, and every local edge on the way. */
function runtimeGraph(): { reached: Set<string>; edges: Edge[] } {
  const reached = new Set<string>();
  const edges: Edge[] = [];
  const queue = [...ENTRY_POINTS];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (reached.has(file)) continue;
    reached.add(file);
    if (!/\.(ts|js|mjs|cjs)$/.test(file)) continue;
    for (const { specifier, dynamic } of importsOf(file)) {
      const to = resolveLocal(file, specifier);
      if (!to) continue;
      edges.push({ from: file, to, specifier, dynamic });
      // A dynamic import of sandbox code is the on-demand load that may be missing in the image.
      if (dynamic && SANDBOX.test(to) && !SANDBOX.test(file)) continue;
      queue.push(to);
    }
  }
  return { reached, edges };
}

// ---- the checks ----------------------------------------------------------------------------------

describe('the Docker image', () => {
  const rules = readDockerignore();
  const context = buildContext(rules);
  const { copies, stages } = readCopies();
  const image = imageFiles(
    copies.filter((c) => c.stage === stages - 1),
    context,
  );
  const { reached, edges } = runtimeGraph();

  it('the repository has sandbox code, and .dockerignore keeps all of it out of the build context', () => {
    expect(existsSync(join(ROOT, 'connectors/sandbox/start.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'connectors/hubspot/sandbox/index.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'connectors/salesforce/sandbox/index.ts'))).toBe(true);
    for (const path of ['connectors/sandbox/start.ts', 'connectors/hubspot/sandbox/index.ts', 'connectors/salesforce/sandbox/soql/parser.ts', 'connectors/hubspot/sandbox/README.md']) {
      expect(isIgnored(rules, path), path).toBe(true);
    }
    expect([...context].filter((f) => SANDBOX.test(f))).toEqual([]);
    // and the connectors themselves stay in
    expect(context.has('connectors/hubspot/index.ts')).toBe(true);
    expect(context.has('connectors/salesforce/index.ts')).toBe(true);
  });

  it('every COPY source is in the build context (or the build would fail)', () => {
    const missing = copies.flatMap((c) => c.sources).filter((s) => {
      const src = posix.normalize(s).replace(/\/$/, '');
      return !context.has(src) && ![...context].some((f) => f.startsWith(`${src}/`));
    });
    expect(missing).toEqual([]);
  });

  it('the image holds no sandbox file, no test, bench or fixture', () => {
    expect(image.size).toBeGreaterThan(50);
    expect([...image].filter((f) => SANDBOX.test(f) || /^(tests|bench|fixtures)\//.test(f) || /(^|\/)node_modules\//.test(f))).toEqual([]);
  });

  it('no static import from the entry points (bin/smk.js, src/cli.ts) reaches sandbox code', () => {
    expect([...reached].filter((f) => SANDBOX.test(f))).toEqual([]);
    const intoSandbox = edges.filter((e) => !SANDBOX.test(e.from) && SANDBOX.test(e.to));
    expect(intoSandbox.filter((e) => !e.dynamic)).toEqual([]);
    // smk sandbox and smk demo do load it, on demand
    expect(intoSandbox.map((e) => `${e.from} -> ${e.to}`)).toEqual(expect.arrayContaining(['src/cli/sandbox.ts -> connectors/sandbox/start.ts', 'src/cli/sandbox.ts -> connectors/sandbox/cli.ts']));
  });

  it('every module the image can load is in it', () => {
    expect(reached.size).toBeGreaterThan(50);
    expect([...reached].filter((f) => !image.has(f))).toEqual([]);
    // the files the service reads at run time beside its modules
    for (const f of ['package.json', 'src/server/dashboard/dashboard.html', 'smarketing.example.yaml']) expect(image.has(f), f).toBe(true);
  });

  it('run from exactly the image\'s files, the CLI loads, and smk sandbox / smk demo say the sandboxes are not part of it', () => {
    const app = mkdtempSync(join(tmpdir(), 'smk-image-'));
    try {
      for (const file of image) {
        mkdirSync(dirname(join(app, file)), { recursive: true });
        copyFileSync(join(ROOT, file), join(app, file));
      }
      symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
      const smk = (...args: string[]) => spawnSync(process.execPath, ['bin/smk.js', ...args], { cwd: app, encoding: 'utf8', timeout: 30_000, env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' } });
      const help = smk('--help');
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/sandbox[\s\S]*demo/);
      for (const args of [['sandbox', '--people', '5'], ['sandbox', '--help'], ['demo', '--rounds', '1']]) {
        const run = smk(...args);
        expect(run.status, args.join(' ')).toBe(1);
        expect(run.stderr).toMatch(/^smk: (sandbox|demo): the HubSpot and Salesforce sandboxes are not part of this installation \(the Docker image ships the service only\)/);
        expect(run.stdout).toBe('');
      }
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 90_000);
});
