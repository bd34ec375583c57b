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
 *   timed by the sandbox that applied both, so there is no polling granularity in it).
 *
 * Prints one JSON line first: the connection line of DESIGN.md "Interfaces" plus `bench.url`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { createRandom } from '../connectors/sandbox/common.js';
import { opportunityTruth } from '../connectors/sandbox/ground-truth.js';
import { opportunityHome } from '../connectors/sandbox/seed.js';
import { startSandboxes } from '../connectors/sandbox/start.js';
import type { Sandboxes } from '../connectors/sandbox/start.js';
import { textOf } from '../connectors/hubspot/sandbox/contact-model.js';
import type { StoreEvent } from '../connectors/hubspot/sandbox/store.js';

/** HubSpot properties a bench "user" changes; every other API write of a contact is the connector's. */
export const USER_HUBSPOT_PROPERTIES = new Set(['jobtitle']);
/** Salesforce fields a bench "user" changes; a connector write is one that sets an `Smk_*` field or the owner. */
const CONNECTOR_SF_FIELD = /^(Smk_|OwnerId$)/;

type Who = 'user' | 'connector';
interface Mark {
  t: number;
  who: Who;
}

interface PhaseCounters {
  startedAt: number;
  hubspot: { written: Set<string>; created: Set<string>; createdAt: Map<string, number>; callTimes: number[]; statuses: Map<number, number> };
  salesforce: { written: Map<string, Set<string>>; created: Map<string, number>; statuses: Map<number, number> };
}

function newCounters(): PhaseCounters {
  return {
    startedAt: Date.now(),
    hubspot: { written: new Set(), created: new Set(), createdAt: new Map(), callTimes: [], statuses: new Map() },
    salesforce: { written: new Map(), created: new Map(), statuses: new Map() },
  };
}

export interface Candidate {
  email: string;
  hubspotId: string;
  salesforceId: string;
  title: string | null;
  employees: number | null;
  hubspotScore: number | null;
  salesforceScore: number | null;
}

class Recorder {
  counters = newCounters();
  readonly watched = { hubspot: new Map<string, Mark[]>(), salesforce: new Map<string, Mark[]>() };

  constructor(private readonly sb: Sandboxes) {
    const hs = sb.hubspot;
    hs.store.onEvent((e) => this.onHubSpotEvent(e));
    const record = hs.monitor.record.bind(hs.monitor);
    hs.monitor.record = (method: string, path: string) => {
      this.counters.hubspot.callTimes.push(Date.now());
      record(method, path);
    };
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const monitor = sb[crm].monitor;
      const logServed = monitor.logServed.bind(monitor);
      monitor.logServed = (entry) => {
        const statuses = this.counters[crm].statuses;
        statuses.set(entry.status, (statuses.get(entry.status) ?? 0) + 1);
        logServed(entry);
      };
    }
    const store = sb.salesforce.store;
    const update = store.update.bind(store);
    store.update = (record, changes, options = {}) => {
      const out = update(record, changes, options);
      this.onSalesforceUpdate(String(record.Id), changes);
      return out;
    };
    const insert = store.insert.bind(store);
    store.insert = (type, values, options = {}) => {
      const out = insert(type, values, options);
      const created = this.counters.salesforce.created;
      created.set(type, (created.get(type) ?? 0) + 1);
      return out;
    };
  }

  private mark(map: Map<string, Mark[]>, id: string, who: Who): void {
    const marks = map.get(id);
    if (marks) marks.push({ t: Date.now(), who });
  }

  private onHubSpotEvent(e: StoreEvent): void {
    if (e.source.changeSource !== 'INTEGRATION' && e.source.changeSource !== 'CRM_UI') return;
    const c = this.counters.hubspot;
    if (e.kind === 'creation') {
      if (e.source.changeSource === 'INTEGRATION') {
        c.created.add(e.objectId);
        c.createdAt.set(e.objectId, e.at);
      }
      return;
    }
    if (e.kind !== 'propertyChange') return;
    const user = USER_HUBSPOT_PROPERTIES.has(e.propertyName) || e.source.changeSource === 'CRM_UI';
    if (!user) {
      // The properties set by a create arrive as changes at the creation instant: not a write.
      if (c.createdAt.get(e.objectId) === e.at) return;
      c.written.add(e.objectId);
    }
    this.mark(this.watched.hubspot, e.objectId, user ? 'user' : 'connector');
  }

  private onSalesforceUpdate(id: string, changes: Record<string, unknown>): void {
    const keys = Object.keys(changes);
    const connector = keys.some((k) => CONNECTOR_SF_FIELD.test(k));
    if (connector) {
      const object = this.sb.salesforce.store.tableForId(id)?.schema.name ?? 'unknown';
      const written = this.counters.salesforce.written;
      const set = written.get(object) ?? new Set<string>();
      written.set(object, set);
      set.add(id);
    }
    this.mark(this.watched.salesforce, id, connector ? 'connector' : 'user');
  }

  phaseReport() {
    const c = this.counters;
    return {
      startedAt: c.startedAt,
      endedAt: Date.now(),
      hubspot: {
        written: c.hubspot.written.size,
        created: c.hubspot.created.size,
        callTimes: c.hubspot.callTimes,
        statuses: Object.fromEntries(c.hubspot.statuses),
      },
      salesforce: {
        written: Object.fromEntries([...c.salesforce.written].map(([k, v]) => [k, v.size])),
        created: Object.fromEntries(c.salesforce.created),
        statuses: Object.fromEntries(c.salesforce.statuses),
      },
    };
  }

  counts() {
    const sf = this.sb.salesforce.store;
    return {
      hubspotContacts: this.sb.hubspot.store.contactCount(),
      salesforceLeads: sf.count('Lead'),
      salesforceConvertedLeads: sf.list('Lead').filter((r) => r.IsConverted === true).length,
      salesforceContacts: sf.count('Contact'),
      people: this.sb.world.people.length,
    };
  }

  /**
   * People known to both CRMs as one HubSpot contact and one live, unconverted Salesforce Lead with
   * a unique email: the records whose changes the bench times. Shuffled by `seed`.
   */
  candidates(seed: number): Candidate[] {
    const sf = this.sb.salesforce.store;
    const byEmail = new Map<string, string | null>();
    for (const type of ['Lead', 'Contact']) {
      for (const r of sf.list(type)) {
        if (typeof r.Email !== 'string') continue;
        const key = r.Email.toLowerCase();
        byEmail.set(key, byEmail.has(key) || type === 'Contact' || r.IsConverted === true ? null : String(r.Id));
      }
    }
    const out: Candidate[] = [];
    for (const p of this.sb.world.people) {
      if (!p.hubspot || !p.salesforce || p.salesforce.object !== 'Lead' || p.salesforce.converted || p.salesforce.duplicateLead) continue;
      const sfId = byEmail.get(p.email.toLowerCase());
      const contact = this.sb.hubspot.store.findByEmail(p.hubspot.email, false);
      if (!sfId || !contact) continue;
      const lead = sf.get(sfId);
      if (!lead) continue;
      const num = (v: unknown) => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
      out.push({
        email: p.email,
        hubspotId: contact.id,
        salesforceId: sfId,
        title: textOf(contact.props, 'jobtitle') ?? null,
        employees: num(lead.NumberOfEmployees),
        hubspotScore: num(textOf(contact.props, 'smk_score')),
        salesforceScore: num(lead.Smk_Score__c),
      });
    }
    const rand = createRandom(seed);
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j] as Candidate, out[i] as Candidate];
    }
    return out;
  }

  watch(ids: { hubspot?: string[]; salesforce?: string[] }): void {
    this.watched.hubspot.clear();
    this.watched.salesforce.clear();
    for (const id of ids.hubspot ?? []) this.watched.hubspot.set(id, []);
    for (const id of ids.salesforce ?? []) this.watched.salesforce.set(id, []);
  }

  timelines() {
    return { hubspot: Object.fromEntries(this.watched.hubspot), salesforce: Object.fromEntries(this.watched.salesforce) };
  }
}

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
