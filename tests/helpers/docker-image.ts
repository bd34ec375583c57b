/**
 * The Docker image, read without a Docker engine: the build context that .dockerignore leaves, the
 * Dockerfile's stages, and `buildImage`, which carries the stages out in temporary folders (each
 * stage's /app is a folder) so that a test can look at, and run, exactly the image's files.
 *
 * `buildImage` runs every RUN command as written, except `npm ci` (the stage's node_modules is a
 * link to this clone's, which also holds the development dependencies: tests that care check the
 * packages the image's code imports against package.json instead) and `npm cache clean`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SANDBOX = /^(?:dist\/)?connectors\/(sandbox|[^/]+\/sandbox)\//;

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

export function readDockerignore(): IgnoreRule[] {
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
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (candidates.some((c) => rule.regex.test(c))) ignored = !rule.negate;
  return ignored;
}

/** Every file of the build context (a folder the rules drop is not entered unless a `!` rule could reopen it). */
export function buildContext(rules: IgnoreRule[] = readDockerignore()): Set<string> {
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

export interface Copy {
  kind: 'copy';
  /** The stage it copies from (`--from=`), else the build context. */
  from: string | null;
  sources: string[];
  dest: string;
}

export type Instruction = Copy | { kind: 'run'; command: string };

export interface Stage {
  name: string;
  workdir: string;
  instructions: Instruction[];
  /** ENTRYPOINT and CMD in their exec (JSON) form. */
  entrypoint: string[];
  cmd: string[];
}

export function readDockerfile(): Stage[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const instruction = keyword.toUpperCase();
    if (instruction === 'FROM') {
      const name = /\sAS\s+(\S+)$/i.exec(rest)?.[1] ?? String(stages.length);
      stages.push({ name, workdir: '/', instructions: [], entrypoint: [], cmd: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) throw new Error(`Dockerfile: ${instruction} before FROM`);
    if (instruction === 'WORKDIR') stage.workdir = rest;
    else if (instruction === 'RUN') stage.instructions.push({ kind: 'run', command: rest });
    else if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(rest) as string[];
    else if (instruction === 'CMD' && rest.startsWith('[')) stage.cmd = JSON.parse(rest) as string[];
    else if (instruction === 'COPY' || instruction === 'ADD') {
      const words = rest.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
      const args = words.filter((w) => !w.startsWith('--'));
      stage.instructions.push({ kind: 'copy', from, sources: args.slice(0, -1), dest: args[args.length - 1]! });
    }
  }
  return stages;
}

/** A COPY's source, relative to the stage's WORKDIR when it copies from another stage. */
function sourceIn(stage: Stage, copy: Copy, source: string): string {
  if (copy.from === null) return posix.normalize(source).replace(/\/$/, '');
  const workdir = `${stage.workdir.replace(/\/$/, '')}/`;
  if (!source.startsWith(workdir)) throw new Error(`COPY --from=${copy.from} ${source}: outside ${workdir}`);
  return source.slice(workdir.length).replace(/\/$/, '');
}

/** The files one stage's COPY lines take from the build context (relative to WORKDIR). */
export function filesFromContext(stage: Stage, context: Set<string>): Set<string> {
  const files = new Set<string>();
  for (const copy of stage.instructions) {
    if (copy.kind !== 'copy' || copy.from !== null) continue;
    const dest = posix.normalize(copy.dest).replace(/^\.\/?/, '').replace(/\/$/, '');
    for (const source of copy.sources) {
      const src = sourceIn(stage, copy, source);
      for (const file of context) {
        if (file === src) files.add(copy.sources.length > 1 || copy.dest.endsWith('/') ? posix.join(dest, posix.basename(file)) : dest || posix.basename(file));
        else if (file.startsWith(`${src}/`)) files.add(posix.join(dest, file.slice(src.length + 1)));
      }
    }
  }
  return files;
}

export interface BuiltImage {
  /** The final stage's /app. */
  app: string;
  stage: Stage;
  /** Every file of the final stage's /app, node_modules aside. */
  files: Set<string>;
  /** What each RUN printed, in order. */
  log: string;
  remove(): void;
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name === 'node_modules' && !prefix) return [];
    return entry.isDirectory() ? listFiles(join(dir, entry.name), path) : [path];
  });
}

/** Carries the Dockerfile's stages out, each in a folder of its own, and returns the last one. */
export function buildImage(): BuiltImage {
  const base = mkdtempSync(join(tmpdir(), 'smk-image-'));
  const context = buildContext();
  const stages = readDockerfile();
  const dirs = new Map<string, string>();
  let log = '';
  try {
    for (const stage of stages) {
      if (stage.workdir !== '/app') throw new Error(`stage ${stage.name}: WORKDIR ${stage.workdir}, expected /app`);
      const dir = join(base, stage.name);
      mkdirSync(dir);
      dirs.set(stage.name, dir);
      for (const step of stage.instructions) {
        if (step.kind === 'copy') {
          if (step.from === null) {
            for (const file of filesFromContext({ ...stage, instructions: [step] }, context)) {
              mkdirSync(dirname(join(dir, file)), { recursive: true });
              cpSync(join(ROOT, file), join(dir, file));
            }
            continue;
          }
          const fromDir = dirs.get(step.from);
          if (!fromDir) throw new Error(`COPY --from=${step.from}: no such earlier stage`);
          for (const source of step.sources) {
            const src = sourceIn(stage, step, source);
            const target = join(dir, posix.normalize(step.dest));
            if (src === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), target, 'dir');
            else cpSync(join(fromDir, src), target, { recursive: true });
          }
          continue;
        }
        for (const command of step.command.split('&&').map((c) => c.trim())) {
          if (/^npm ci\b/.test(command)) {
            if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
            continue;
          }
          if (/^npm cache clean\b/.test(command)) continue;
          const run = spawnSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
          log += `$ ${command}\n${run.stdout}${run.stderr}`;
          if (run.status !== 0) throw new Error(`RUN ${command} (stage ${stage.name}) failed with ${String(run.status)}:\n${run.stdout}${run.stderr}`);
        }
      }
    }
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  const last = stages[stages.length - 1]!;
  const app = dirs.get(last.name)!;
  return { app, stage: last, files: new Set(listFiles(app)), log, remove: () => rmSync(base, { recursive: true, force: true }) };
}

// ---- the import graph ----------------------------------------------------------------------------

export interface Import {
  specifier: string;
  dynamic: boolean;
}

/** Imports that load a module at run time: `import type` / `export type` are erased, nothing else is. */
export function importsOf(root: string, file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const found: Import[] = [];
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

export interface Edge {
  from: string;
  to: string;
  specifier: string;
  dynamic: boolean;
}

export interface Graph {
  /** Local files a process started from the entry points loads. */
  reached: Set<string>;
  /** Every local import on the way (`to` may be absent: a sandbox loaded on demand). */
  edges: Edge[];
  /** Bare specifiers (packages and node: built-ins) those files import. */
  packages: Set<string>;
}

/**
 * What a process started from the entry points can load. A relative specifier resolves as NodeNext
 * and tsx resolve it (`./x.js` names `./x.ts` when that exists); a dynamic import of sandbox code
 * is the on-demand load that may be absent, and is not followed.
 */
export function runtimeGraph(root: string, entryPoints: string[]): Graph {
  const reached = new Set<string>();
  const edges: Edge[] = [];
  const packages = new Set<string>();
  const queue = [...entryPoints];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (reached.has(file)) continue;
    reached.add(file);
    if (!/\.(ts|js|mjs|cjs)$/.test(file) || !existsSync(join(root, file))) continue;
    for (const { specifier, dynamic } of importsOf(root, file)) {
      if (!specifier.startsWith('.')) {
        packages.add(specifier);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const candidates = target.endsWith('.js') ? [target.replace(/\.js$/, '.ts'), target] : [target];
      const to = candidates.find((c) => existsSync(join(root, c)) && statSync(join(root, c)).isFile()) ?? target;
      edges.push({ from: file, to, specifier, dynamic });
      if (dynamic && SANDBOX.test(to) && !SANDBOX.test(file)) continue;
      queue.push(to);
    }
  }
  return { reached, edges, packages };
}

/** `@scope/name/deep/path` -> `@scope/name`, `name/deep` -> `name`; null for a Node built-in. */
export function packageName(specifier: string): string | null {
  if (isBuiltin(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}
