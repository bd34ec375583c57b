/**
 * The Docker image ships the service and not the sandboxes (DESIGN.md "Layout"), checked without a
 * Docker engine and without building: the build context that .dockerignore leaves, the files the
 * Dockerfile's stages take from it, and the import graph of the sources (from bin/smk.js and
 * src/cli.ts, read with the TypeScript parser), whose static imports never reach sandbox code.
 * tests/integration/build.test.ts builds the image's files (the compiled JavaScript) and runs them.
 */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SANDBOX, buildContext, filesFromContext, isIgnored, readDockerfile, readDockerignore, runtimeGraph } from '../helpers/docker-image.js';

describe('the Docker build', () => {
  const rules = readDockerignore();
  const context = buildContext(rules);
  const stages = readDockerfile();
  const runtime = stages[stages.length - 1]!;
  const { reached, edges } = runtimeGraph(ROOT, ['bin/smk.js', 'src/cli.ts']);

  it('the repository has sandbox code, and .dockerignore keeps all of it out of the build context', () => {
    expect(existsSync(join(ROOT, 'connectors/sandbox/start.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'connectors/hubspot/sandbox/index.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'connectors/salesforce/sandbox/index.ts'))).toBe(true);
    for (const path of ['connectors/sandbox/start.ts', 'connectors/hubspot/sandbox/index.ts', 'connectors/salesforce/sandbox/soql/parser.ts', 'connectors/hubspot/sandbox/README.md']) {
      expect(isIgnored(rules, path), path).toBe(true);
    }
    expect([...context].filter((f) => SANDBOX.test(f))).toEqual([]);
    // and the connectors themselves stay in, with what the build needs
    for (const path of ['connectors/hubspot/index.ts', 'connectors/salesforce/index.ts', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'package-lock.json']) {
      expect(context.has(path), path).toBe(true);
    }
    // and a local build's output does not leak in
    expect(isIgnored(rules, 'dist/src/cli.js')).toBe(true);
  });

  it('every COPY source is in the build context (or the build would fail)', () => {
    const missing = stages
      .flatMap((s) => s.instructions)
      .flatMap((i) => (i.kind === 'copy' && i.from === null ? i.sources : []))
      .filter((s) => {
        const src = posix.normalize(s).replace(/\/$/, '');
        return !context.has(src) && ![...context].some((f) => f.startsWith(`${src}/`));
      });
    expect(missing).toEqual([]);
  });

  it('a build stage compiles every module the service loads, and the image runs the compiled JavaScript', () => {
    const build = stages.find((s) => s.instructions.some((i) => i.kind === 'run' && /\bnpm run build\b/.test(i.command)));
    expect(build, 'a stage that runs npm run build').toBeDefined();
    const compiled = filesFromContext(build!, context);
    expect([...reached].filter((f) => f.endsWith('.ts') && !compiled.has(f))).toEqual([]);
    expect(runtime.entrypoint).toEqual(['node', '--enable-source-maps', 'dist/src/cli.js']);
    expect(runtime.instructions).toContainEqual({ kind: 'copy', from: build!.name, sources: ['/app/dist'], dest: './dist' });
  });

  it('the image takes no source, test, bench or fixture from the context', () => {
    const taken = [...filesFromContext(runtime, context)];
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.filter((f) => SANDBOX.test(f) || /^(src|connectors|jobs|tests|bench|fixtures|bin)\//.test(f) || /(^|\/)node_modules\//.test(f))).toEqual([]);
  });

  it('no static import from the entry points (bin/smk.js, src/cli.ts) reaches sandbox code', () => {
    expect([...reached].filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
    expect([...reached].filter((f) => SANDBOX.test(f))).toEqual([]);
    const intoSandbox = edges.filter((e) => !SANDBOX.test(e.from) && SANDBOX.test(e.to));
    expect(intoSandbox.filter((e) => !e.dynamic)).toEqual([]);
    // smk sandbox and smk demo do load it, on demand
    expect(intoSandbox.map((e) => `${e.from} -> ${e.to}`)).toEqual(expect.arrayContaining(['src/cli/sandbox.ts -> connectors/sandbox/start.ts', 'src/cli/sandbox.ts -> connectors/sandbox/cli.ts']));
  });
});
