/**
 * The sandboxes on demand. The local HubSpot and Salesforce servers (connectors/sandbox and
 * connectors/<crm>/sandbox) are development tools, not part of the product: production code never
 * imports them statically (.dependency-cruiser.mjs, rule no-static-sandbox-import) and the Docker
 * image leaves them out (.dockerignore). `smk sandbox` and `smk demo` load them here, with a dynamic
 * import(), and say plainly when they are not installed.
 */
import { Command } from 'commander';

export const SANDBOX_MISSING =
  'the HubSpot and Salesforce sandboxes are not part of this installation (the Docker image ships the service only); ' +
  'run `npx smk sandbox` or `npx smk demo` from a clone of the repository after `npm ci`';

/** The sandboxes' code is absent (the Docker image): `smk sandbox` and `smk demo` cannot run here. */
export class SandboxUnavailableError extends Error {
  constructor(command: string, options?: { cause?: unknown }) {
    super(`${command}: ${SANDBOX_MISSING}.`, options);
    this.name = 'SandboxUnavailableError';
  }
}

const SANDBOX_PATH = /connectors[\\/](?:sandbox|[^\\/]+[\\/]sandbox)[\\/]/;

/**
 * True when `err` says that a sandbox module itself is missing (not a package that a present
 * sandbox module failed to find: that is a broken install and keeps its own message).
 */
export function isMissingSandbox(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(err.message)?.[1] ?? '';
  return SANDBOX_PATH.test(missing);
}

async function load<T>(command: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    if (isMissingSandbox(err)) throw new SandboxUnavailableError(command, { cause: err });
    throw err;
  }
}

/** What `smk demo` needs of the sandboxes. */
export async function loadSandboxes(command = 'demo') {
  const [start, common, truth] = await load(command, () => Promise.all([import('../../connectors/sandbox/start.js'), import('../../connectors/sandbox/common.js'), import('../../connectors/sandbox/ground-truth.js')]));
  return { startSandboxes: start.startSandboxes, sandboxEnv: start.sandboxEnv, createRandom: common.createRandom, opportunityTruth: truth.opportunityTruth };
}

/**
 * `smk sandbox [flags]`: the flags and help are the sandbox's own (connectors/sandbox/cli.ts, also
 * `npm run sandbox`); this command only hands them over once the sandbox code is loaded.
 */
export function sandboxCommand(): Command {
  return new Command('sandbox')
    .description('serve local HubSpot and Salesforce sandboxes seeded with realistic people (`smk sandbox --help` for flags; not in the Docker image)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]', 'the sandbox flags: --people, --seed, --hubspot-port, --salesforce-port, --faults, --hubspot-rate, --write-env')
    .action(async (flags: string[]) => {
      const sandbox = await load('sandbox', () => import('../../connectors/sandbox/cli.js'));
      await sandbox.sandboxCommand().name('smk sandbox').parseAsync(flags, { from: 'user' });
    });
}
