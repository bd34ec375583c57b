/**
 * The dependency rules of DESIGN.md "Layout", checked by dependency-cruiser 17 in `npm run lint`
 * (`npm run lint:deps` alone). Paths are relative to the repository root; the cruise covers the
 * production trees `src`, `connectors`, `jobs` and `bin` (tests and the bench may import anything).
 *
 *   src/model <- src/rules <- src/sync <- src/store <- jobs <- src/server, src/cli
 *
 * A module may import its own layer and any layer to its left, never one to its right.
 *
 * Where the modules outside that chain sit:
 *
 * - `src/config.ts` reads smarketing.yaml (node:fs) and the environment, and builds its zod schema
 *   from `src/rules/config.ts`. So it is a shell module on the level of `src/store`: above the
 *   rules (it imports them; a rule importing it would be a cycle), below `jobs`. The pure layers
 *   never load it at run time: `src/model` and `src/rules` do not import it at all, and `src/sync`
 *   may import its *types* only (`import type { OwnedPath, OwnershipPolicy }`: erased by tsc and
 *   tsx, so nothing of node:fs or yaml reaches the pure code). A value import from `src/sync`
 *   (for example `OWNED_PATHS`) is a violation: such a constant belongs in `src/model` (or
 *   `src/sync`), with `src/config.ts` importing it from there.
 * - `src/logger.ts` (pino) is a shell utility on the `src/store` level: not for the pure layers,
 *   not for connectors (they log through the `ConnectorLogger` of `connectors/types.ts`).
 * - `connectors/types.ts` and `connectors/errors.ts` are the contract between the core and the
 *   adapters; they depend on `src/model` only. `src/store` and up may import them. `src/sync` and
 *   `src/rules` may import `connectors/types.ts` by type only, and nothing else under connectors/.
 * - `connectors/<crm>` (hubspot, salesforce) depend only on `src/model`, the contract and their own
 *   folder; their sandbox code also on the shared sandbox helpers in `connectors/sandbox`. The
 *   wiring that builds both connectors from configuration lives above them, in `jobs/connectors.ts`.
 *   Connector implementations are imported by `jobs`, `src/server` and `src/cli` only.
 * - Sandboxes (`connectors/sandbox`, `connectors/<crm>/sandbox`) are not part of the product and
 *   not in the Docker image (.dockerignore). Production code reaches them only through a dynamic
 *   `import()` on demand (`smk sandbox`, `smk demo`, see src/cli/sandbox.ts) or an `import type`
 *   (erased). An inline `import { type X }` is not erased under verbatimModuleSyntax, so it counts
 *   as a static import (and eslint's no-import-type-side-effects forbids it).
 * - Entry scripts `src/cli.ts` and `src/config-json-schema.ts` sit at the top with `src/cli`.
 *
 * Type-only imports count like any other import for the layer rules (a lower layer does not even
 * name a higher layer's types) and for cycles; the exceptions are the two stated above.
 */

const PURE = '^src/(model|rules|sync)/';
const CONTRACT = '^connectors/(types|errors)\\.ts$';
const SANDBOX = '^connectors/(sandbox|[^/]+/sandbox)/';
const CONFIG = '^src/config\\.ts$';
const LOGGER = '^src/logger\\.ts$';
const ENTRY = '^src/(cli|config-json-schema)\\.ts$';
const CONNECTOR_IMPL = '^connectors/(hubspot|salesforce)/';

/** Node built-ins and packages that talk to disks, sockets, processes or other services. */
const IO_CORE = '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|dns/promises|child_process|cluster|worker_threads|readline|os|inspector|repl|v8|vm)$';
const IO_NPM =
  '(^|/)node_modules/(@types/)?(ioredis|bullmq|express|jsforce|@hubspot/|@bull-board/|pino|prom-client|helmet|undici|node-fetch|axios|cli-progress|commander|yaml)(/|$)';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    // ---- the layer chain -------------------------------------------------------------------
    {
      name: 'model-is-the-bottom',
      comment: 'src/model is the vocabulary everyone uses: it imports no other part of the project.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { dependencyTypes: ['local'], pathNot: '^src/model/' },
    },
    {
      name: 'rules-only-on-model',
      comment: 'src/rules are pure: they import src/model and their own folder only (type-only connectors/types.ts allowed).',
      severity: 'error',
      from: { path: '^src/rules/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/(model|rules)/', CONTRACT] },
    },
    {
      name: 'sync-only-on-rules-and-model',
      comment: 'src/sync is pure: it imports src/model, src/rules and its own folder (and types of src/config.ts and connectors/types.ts).',
      severity: 'error',
      from: { path: '^src/sync/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/(model|rules|sync)/', CONFIG, CONTRACT] },
    },
    {
      name: 'pure-imports-config-types-only',
      comment:
        'src/config.ts reads files and the environment; the pure layers may name its types (import type) but never load it. ' +
        'Move a constant they need into src/model or src/sync.',
      severity: 'error',
      from: { path: PURE },
      to: { path: CONFIG, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'model-and-rules-do-not-import-config',
      comment: 'src/model and src/rules do not depend on src/config.ts at all (src/config.ts builds on src/rules/config.ts).',
      severity: 'error',
      from: { path: '^src/(model|rules)/' },
      to: { path: CONFIG },
    },
    {
      name: 'pure-imports-connector-types-only',
      comment: 'src/rules and src/sync import no connector code: only `import type` from connectors/types.ts.',
      severity: 'error',
      from: { path: PURE },
      to: { path: '^connectors/', pathNot: '^connectors/types\\.ts$' },
    },
    {
      name: 'pure-imports-connector-types-by-type-only',
      comment: 'src/rules and src/sync may name the CrmConnector contract types, never load connectors/types.ts.',
      severity: 'error',
      from: { path: PURE },
      to: { path: '^connectors/types\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-does-no-io',
      comment: 'src/model, src/rules and src/sync do no I/O: no file system, network, process, Redis, queue, HTTP server, CRM client or logger.',
      severity: 'error',
      from: { path: PURE },
      to: { path: [IO_CORE, IO_NPM, LOGGER] },
    },
    {
      name: 'store-not-above',
      comment: 'src/store sits below jobs, src/server and src/cli, and does not know connector implementations.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: ['^jobs/', '^src/(server|cli)/', ENTRY, CONNECTOR_IMPL, SANDBOX] },
    },
    {
      name: 'config-not-above',
      comment: 'src/config.ts builds on src/model and src/rules only.',
      severity: 'error',
      from: { path: CONFIG },
      to: { dependencyTypes: ['local'], pathNot: ['^src/(model|rules)/', CONFIG] },
    },
    {
      name: 'logger-is-a-leaf',
      comment: 'src/logger.ts imports no other part of the project.',
      severity: 'error',
      from: { path: LOGGER },
      to: { dependencyTypes: ['local'] },
    },
    {
      name: 'jobs-not-above',
      comment: 'jobs sits below src/server and src/cli.',
      severity: 'error',
      from: { path: '^jobs/' },
      to: { path: ['^src/(server|cli)/', ENTRY] },
    },
    {
      name: 'server-not-on-cli',
      comment: 'src/server is started by src/cli, never the other way round.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: ['^src/cli/', ENTRY] },
    },
    {
      name: 'no-entry-imports',
      comment: 'The entry scripts (src/cli.ts, src/config-json-schema.ts, bin/) are run, not imported.',
      severity: 'error',
      from: { pathNot: '^bin/' },
      to: { path: [ENTRY, '^bin/'] },
    },

    // ---- connectors ------------------------------------------------------------------------
    {
      name: 'connectors-below-the-core',
      comment:
        'Nothing under connectors/ depends on src/config, a rule, the sync core, the store, the logger, jobs, the server or the CLI: ' +
        'only on src/model and connectors/. Building connectors from configuration is wiring: jobs/connectors.ts.',
      severity: 'error',
      from: { path: '^connectors/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/model/', '^connectors/'] },
    },
    {
      name: 'contract-only-on-model',
      comment: 'connectors/types.ts and connectors/errors.ts depend on src/model (and each other) only.',
      severity: 'error',
      from: { path: CONTRACT },
      to: { dependencyTypes: ['local'], pathNot: ['^src/model/', CONTRACT] },
    },
    {
      name: 'connector-only-on-model-and-contract',
      comment:
        'connectors/<crm> depend only on src/model, connectors/types.ts, connectors/errors.ts and their own folder: ' +
        'never on src/config, a rule, the sync core, the store, jobs or the other CRM.',
      severity: 'error',
      from: { path: CONNECTOR_IMPL, pathNot: SANDBOX },
      to: { dependencyTypes: ['local'], pathNot: ['^src/model/', CONTRACT, '^connectors/$1/'] },
    },
    {
      name: 'connector-sandbox-only-on-sandbox-helpers',
      comment: 'A CRM sandbox depends on src/model, the contract, its own CRM folder and the shared helpers in connectors/sandbox.',
      severity: 'error',
      from: { path: '^connectors/(hubspot|salesforce)/sandbox/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/model/', CONTRACT, '^connectors/$1/', '^connectors/sandbox/'] },
    },
    {
      name: 'shared-sandbox-only-on-sandboxes',
      comment: 'connectors/sandbox (shared helpers, start, cli) depends on sandbox code, src/model and the contract only.',
      severity: 'error',
      from: { path: '^connectors/sandbox/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/model/', CONTRACT, SANDBOX] },
    },
    {
      name: 'connectors-not-in-the-core',
      comment: 'Only jobs, src/server and src/cli may use a connector implementation.',
      severity: 'error',
      from: { path: '^src/(model|rules|sync|store)/' },
      to: { path: CONNECTOR_IMPL },
    },

    // ---- sandboxes stay out of production --------------------------------------------------
    {
      name: 'no-static-sandbox-import',
      comment:
        'Production code never loads sandbox code statically (the Docker image does not contain it). ' +
        'Load it on demand with a dynamic import() (src/cli/sandbox.ts); `import type` is fine.',
      severity: 'error',
      from: { pathNot: SANDBOX },
      to: { path: SANDBOX, dependencyTypesNot: ['type-only', 'dynamic-import'] },
    },
    {
      name: 'no-test-code-in-production',
      comment: 'Production code does not import tests, the bench or fixtures (none of them is in the image).',
      severity: 'error',
      from: {},
      to: { path: '^(tests|bench|fixtures)/' },
    },
    {
      name: 'no-dev-dependencies-in-production',
      comment:
        'The image installs dependencies only (npm ci --omit=dev): production code loads no devDependency at run time. ' +
        'bin/smk.js is the launcher of a clone (tsx runs the sources); the image runs the compiled dist/src/cli.js.',
      severity: 'error',
      from: { pathNot: [SANDBOX, '^bin/smk\\.js$'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },

    // ---- hygiene ---------------------------------------------------------------------------
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere, type-only ones included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment: 'Every package imported is declared in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (`import type` is how src/sync names connectors/types.ts).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // NodeNext ESM: `./x.js` names `./x.ts`; packages resolve through their "exports" for import.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
    skipAnalysisNotInRules: false,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
