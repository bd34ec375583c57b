#!/usr/bin/env node
/**
 * `npm run build [-- --out-dir DIR]`: the JavaScript that production runs (the Docker image runs
 * `node dist/src/cli.js`). tsc compiles the folders tsconfig.build.json includes (src, connectors,
 * jobs) to ES modules with source maps under dist/ (or DIR), in the same layout as the sources, and
 * the files the service reads beside its modules at run time (the dashboard's page, script and
 * styles: every file there that is not TypeScript or Markdown) are copied next to their compiled
 * neighbours. The output folder is emptied first, so nothing of an earlier build survives.
 *
 * It does not type-check (`noCheck`): `npm run typecheck` does, and CI runs both. The tsconfig's
 * isolatedModules and verbatimModuleSyntax make each file's JavaScript independent of the types of
 * the others, so the output is the same either way. That lets the Docker build compile its context,
 * which leaves the sandboxes out: src/cli/sandbox.ts imports them on demand, and says they are not
 * part of the installation when they are absent.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(ROOT, 'tsconfig.build.json');

const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const outDir = resolve(values['out-dir'] ?? join(ROOT, 'dist'));
if (outDir === ROOT || ROOT.startsWith(outDir + sep) || outDir === resolve(sep)) {
  console.error(`build: refusing to empty ${outDir}: it holds the sources`);
  process.exit(2);
}

rmSync(outDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', CONFIG, '--outDir', outDir], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

/** Files under the compiled folders that tsc does not emit, yet the code reads beside itself. */
function assets(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assets(path);
    return /\.(ts|md)$/.test(entry.name) ? [] : [path];
  });
}

const { include } = JSON.parse(readFileSync(CONFIG, 'utf8'));
const copied = include.flatMap(assets);
for (const file of copied) cpSync(join(ROOT, file), join(outDir, file));
console.log(`build: compiled ${include.join(', ')} into ${relative(process.cwd(), outDir) || '.'} (and copied ${copied.length} file(s) the code reads at run time)`);
