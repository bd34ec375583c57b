/**
 * The benchmark's sandbox process: both CRM sandboxes over one seeded world (exactly what
 * `npm run sandbox` serves), plus a small uncounted "bench" HTTP surface on its own port that
 * watches the sandboxes' in-memory stores. Nothing here changes how the sandboxes answer the API.
 *
 * What the bench surface records, per phase (reset with POST /phase):
 * - which records the connector wrote or created (for the batching floor),
 * - the time of every HubSpot API call (for calls per 10 s against the 190 ceiling),
 * - response statuses per CRM (429s),
 * - for watched records, a timeline of user changes and connector writes (change-to-write-back latency,
 *   timed by the sandbox that applied both, so there is no polling granularity in it),
 * - since the sandbox started, every API write of a record and whether it changed anything, and
 *   people by email against the seeded world (GET /duplicates, the scale-out's duplicate checks).
 *
 * Prints one JSON line first: the connection line of DESIGN.md "Interfaces" plus `bench.url`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { opportunityTruth } from '../connectors/sandbox/ground-truth.js';
import { opportunityHome } from '../connectors/sandbox/seed.js';
import { startSandboxes } from '../connectors/sandbox/start.js';
import type { Sandboxes } from '../connectors/sandbox/start.js';
import { Recorder, newCounters } from './lib/recorder.js';

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

/**
 * The seeded world's ground truth for the people it could give an opportunity (DESIGN.md: the AUC
 * of the truth itself): each one's email, chance of an opportunity, and whether the draw gave one.
 */
function truthOf(sb: Sandboxes): Array<{ email: string; open: number; opportunity: boolean }> {
  const { world } = sb;
  const drawn = new Set(world.opportunities.map((o) => o.person));
  return world.people
    .filter((p) => opportunityHome(p, world.deals) !== null)
    .map((p) => ({ email: p.email, open: opportunityTruth(p, world.companies[p.company], world.now).open, opportunity: drawn.has(p.index) }));
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function main(): Promise<void> {
  const opts = new Command('bench-sandbox')
    .option('--people <n>', 'people', (v) => Number(v), 1000)
    .option('--seed <s>', 'seed', (v) => Number(v), 1)
    .option('--hubspot-rate <n>', 'HubSpot calls per 10 s (0 = off)', (v) => Number(v), 190)
    .option('--salesforce-daily <n>', 'Salesforce daily API allocation (0 = unlimited)', (v) => Number(v), 0)
    .option('--deals', 'the world gives people only HubSpot knows deals too')
    .option('--change-data-capture <objects>', 'objects selected for Change Data Capture in Salesforce (e.g. Lead,Contact)', '')
    .parse(process.argv)
    .opts<{ people: number; seed: number; hubspotRate: number; salesforceDaily: number; changeDataCapture: string; deals?: boolean }>();
  const sb = await startSandboxes({
    people: opts.people,
    seed: opts.seed,
    hubspotPerTenSeconds: opts.hubspotRate,
    salesforceDailyLimit: opts.salesforceDaily,
    changeDataCapture: opts.changeDataCapture.split(',').map((o) => o.trim()).filter(Boolean),
    ...(opts.deals ? { deals: true } : {}),
  });
  const recorder = new Recorder(sb);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://bench');
        const route = `${req.method} ${url.pathname}`;
        switch (route) {
          case 'GET /counts':
            return send(res, 200, recorder.counts());
          case 'POST /phase': {
            const report = recorder.phaseReport();
            recorder.counters = newCounters();
            return send(res, 200, report);
          }
          case 'GET /phase':
            return send(res, 200, recorder.phaseReport());
          case 'GET /candidates':
            return send(res, 200, recorder.candidates(Number(url.searchParams.get('seed') ?? '1')));
          case 'POST /watch':
            recorder.watch((await body(req)) as { hubspot?: string[]; salesforce?: string[] });
            return send(res, 200, { ok: true });
          case 'GET /timelines':
            return send(res, 200, recorder.timelines());
          case 'GET /webhooks':
            return send(res, 200, { pending: sb.hubspot.webhooks.pending(), counts: sb.hubspot.webhooks.counts });
          case 'GET /duplicates':
            return send(res, 200, recorder.duplicates());
          case 'GET /truth':
            return send(res, 200, truthOf(sb));
          case 'GET /memory':
            return send(res, 200, process.memoryUsage());
          default:
            return send(res, 404, { error: `no route ${route}` });
        }
      } catch (err) {
        send(res, 500, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ ...sb.connection, bench: { url: `http://127.0.0.1:${port}` } })}\n`);
  const stop = () => {
    server.close();
    void sb.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench sandbox: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
