/**
 * The service's HTTP process for the benchmark: `startServer` (signed HubSpot webhooks in,
 * ingest jobs out) without workers or schedulers, so that its memory is measured on its own and
 * no schedule runs that the benchmark did not ask for. Configured from the environment like
 * `smk start`; prints `{"url": ...}` as its first stdout line.
 */
import { bootstrap } from '../jobs/bootstrap.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server/index.js';

async function main(): Promise<void> {
  const runtime = await bootstrap({ logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }) });
  const server = await startServer(runtime.ctx, {
    port: 0,
    host: '127.0.0.1',
    bullBoard: false,
    quotaFallback: (crm) => runtime.gate.report(crm),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = () => {
    void server
      .close()
      .then(() => runtime.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench server: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
