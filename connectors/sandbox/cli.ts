/**
 * `npm run sandbox -- --people N --seed S --hubspot-port P --salesforce-port Q [--faults RATE]`:
 * prints the connection JSON as its first stdout line, then serves both sandboxes until stopped.
 */
import { Command, InvalidArgumentError } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { sandboxEnv, startSandboxes } from './start.js';

/** Secrets an earlier file chose are kept (tokens stored with the old key stay readable). */
const KEPT = ['SMK_ADMIN_TOKEN', 'SMK_ENCRYPTION_KEY', 'REDIS_URL', 'SMK_CONFIG', 'PORT'];

/**
 * Writes the sandboxes' connection as environment variables, with an admin token and an encryption
 * key (kept from the file when it has them), replacing the file's other values.
 */
export function writeSandboxEnvFile(path: string, connection: Record<string, string>): void {
  const before = existsSync(path) ? (parseEnv(readFileSync(path, 'utf8')) as Record<string, string>) : {};
  const values: Record<string, string> = {
    ...connection,
    SMK_ADMIN_TOKEN: before.SMK_ADMIN_TOKEN || randomBytes(18).toString('base64url'),
    SMK_ENCRYPTION_KEY: before.SMK_ENCRYPTION_KEY || randomBytes(32).toString('hex'),
  };
  for (const name of KEPT) if (before[name] && !(name in values)) values[name] = before[name];
  const lines = ['# Written by `smk sandbox --write-env`: the sandboxes it serves, while it runs. Not for real CRMs.', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function rate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('the fault rate must be a number from 0 to 1, e.g. 0.05');
  return n;
}

export function sandboxCommand(): Command {
  return new Command('sandbox')
    .description('serve local HubSpot and Salesforce sandboxes seeded with realistic people')
    .option('--people <n>', 'people in the seeded world', integer('--people', 0, 2_000_000), 1000)
    .option('--seed <s>', 'seed of the deterministic generator', integer('--seed', 0, 2 ** 31), 1)
    .option('--hubspot-port <p>', 'HubSpot sandbox port (0 = any free port)', integer('--hubspot-port', 0, 65535), 0)
    .option('--salesforce-port <q>', 'Salesforce sandbox port (0 = any free port)', integer('--salesforce-port', 0, 65535), 0)
    .option('--faults <rate>', 'fraction of API calls answered with a 429, 5xx, slow or dropped response', rate, 0)
    .option('--hubspot-rate <n>', 'HubSpot calls per 10 s per token (0 = unlimited)', integer('--hubspot-rate', 0, 1_000_000))
    .option('--deals', 'the HubSpot portal uses deals: people only HubSpot knows get deals too (their contacts associated)')
    .option('--change-data-capture <objects>', 'objects selected for Change Data Capture in the Salesforce sandbox, e.g. Lead,Contact (none by default, as in a new org)', '')
    // Not `--env-file`: Node 20 takes that flag for itself wherever it appears on the command line
    // (and exits when the file does not exist yet), before any of our code runs.
    .option('--write-env <path>', 'also write the environment that attaches `smk` and the service to these sandboxes (e.g. .env, which smk reads from the current folder)')
    .action(async (opts: { people: number; seed: number; hubspotPort: number; salesforcePort: number; faults: number; hubspotRate?: number; writeEnv?: string; changeDataCapture: string; deals?: boolean }) => {
      const changeDataCapture = opts.changeDataCapture.split(',').map((o) => o.trim()).filter(Boolean);
      const sandboxes = await startSandboxes({
        people: opts.people,
        seed: opts.seed,
        hubspotPort: opts.hubspotPort,
        salesforcePort: opts.salesforcePort,
        faults: opts.faults,
        ...(opts.hubspotRate !== undefined ? { hubspotPerTenSeconds: opts.hubspotRate } : {}),
        ...(changeDataCapture.length > 0 ? { changeDataCapture } : {}),
        ...(opts.deals ? { deals: true } : {}),
      });
      process.stdout.write(`${JSON.stringify(sandboxes.connection)}\n`);
      if (opts.writeEnv) {
        writeSandboxEnvFile(opts.writeEnv, sandboxEnv(sandboxes.connection));
        process.stderr.write(`Wrote ${opts.writeEnv}: in another terminal, from this folder, \`npx smk install\`, \`npx smk doctor\`, \`npx smk sync --once\` and \`npx smk start\` use these sandboxes while they run.\n`);
      }
      process.stderr.write(
        `HubSpot sandbox at ${sandboxes.hubspot.baseUrl}, Salesforce sandbox at ${sandboxes.salesforce.instanceUrl} ` +
          `(${opts.people} people, seed ${opts.seed}). Ctrl-C stops them.\n`,
      );
      const stop = async () => {
        await sandboxes.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  sandboxCommand()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
