/**
 * A local, stateful Salesforce REST server that jsforce cannot tell from Salesforce on the paths
 * the connector uses: OAuth, SOQL query/queryAll with cursors (child-to-parent relationship paths
 * such as `Account.Name` included), sObjects, sObject Collections, Bulk API 2.0 query and ingest
 * jobs (routes-bulk2.ts),
 * describe, Tooling CustomField, limits; field-level security (security.ts) on every session; the
 * Metadata API's page layouts over SOAP (routes-metadata.ts). Instance URL and login URL are the
 * same local server.
 *
 * Control routes (never counted): common.ts's `/__sandbox/stats`, `reset-stats`, `requests`,
 * `faults`, `clock`, `reset`, `seed`; and here `POST /__sandbox/activity` (a rep's status change,
 * conversion, logged call, field edit, delete, create), `POST /__sandbox/revoke {refreshToken}`,
 * `POST /__sandbox/expire-sessions`, `GET|PUT /__sandbox/limits`, `GET /__sandbox/records/{id}`,
 * `GET /__sandbox/oauth` (token-endpoint calls), `GET /__sandbox/custom-fields` and
 * `GET|PUT /__sandbox/bulk` (Bulk API 2.0 result set size and job faults).
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { SandboxClock, SandboxMonitor, countCallsAndInjectFaults, listen, sandboxControlRouter } from '../../sandbox/common.js';
import type { FaultSettings } from '../../sandbox/common.js';
import { generateWorld } from '../../sandbox/seed.js';
import type { SeedWorld } from '../../sandbox/seed.js';
import { AuthState, deriveCredentials, oauthRouter, requireSession } from './auth.js';
import { ChangeEventBus, GAP_TYPES, restOrigin, withWriteOrigin } from './change-events.js';
import { MAX_VERSION, MIN_VERSION } from './context.js';
import type { SandboxContext } from './context.js';
import { NOT_FOUND_MESSAGE, SfApiError, concurrentLimitExceeded, jsonParserError, notFound, requestLimitExceeded, sendSfError, serverUnavailable, unknownException } from './errors.js';
import { ApiUsage, enforceApiLimit } from './limits.js';
import { QueryCursors } from './query-cursors.js';
import { compositeRouter } from './routes-composite.js';
import { controlRouter } from './routes-control.js';
import { metadataRouter } from './routes-metadata.js';
import { cometdServer } from './routes-cometd.js';
import { queryRouter } from './routes-query.js';
import { bulk2Router, bulkSettingsBody } from './routes-bulk2.js';
import { Bulk2Jobs } from './bulk2-jobs.js';
import { sobjectsRouter } from './routes-sobjects.js';
import { toolingRouter } from './routes-tooling.js';
import { loadWorld } from './seed-load.js';
import { FieldSecurity } from './security.js';
import { SoqlError } from './soql/lexer.js';
import { INTEGRATION_USER, SalesforceStore } from './store.js';
import { formatDateTime } from './values.js';

export { SalesforceStore, INTEGRATION_USER } from './store.js';
export type { ConversionResult, CustomFieldRow } from './store.js';
export type { SfRecord, SfValue } from './values.js';
export type { LoadSummary } from './seed-load.js';
export type { Activity } from './routes-control.js';
export { AuthState } from './auth.js';
export { ApiUsage } from './limits.js';
export { ChangeEventBus } from './change-events.js';
export type { ChangeEvent, ChangeEventHeader } from './change-events.js';

export interface SalesforceSandboxOptions {
  /** 0 = any free port. */
  port?: number;
  /** Seed data: owners -> User, companies with hasAccount -> Account, people with salesforce -> Lead/Contact. */
  world?: SeedWorld;
  /** Derives deterministic credentials (default: the world's seed, else 1). */
  seed?: number;
  faults?: Partial<FaultSettings>;
  /** Daily API requests (rolling 24 h); default 100000; 0 = unlimited. */
  dailyApiLimit?: number;
  /** Session inactivity timeout by the SandboxClock; default 2 h. */
  sessionTtlMs?: number;
  clock?: SandboxClock;
  /** PEM public key JWT bearer assertions must be signed with (signatures unchecked when absent). */
  jwtPublicKey?: string;
  /** The connected app rotates refresh tokens (off by default, as in a new connected app). */
  rotateRefreshTokens?: boolean;
  /** Objects selected for Change Data Capture (Setup > Integrations > Change Data Capture); none by default, as in a new org. */
  changeDataCapture?: string[];
  /** The org's daily (rolling 24 h) event delivery allocation for CometD clients; default 50,000. */
  dailyEventDeliveries?: number;
}

export interface SalesforceSandbox {
  instanceUrl: string;
  loginUrl: string;
  accessToken: string;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
  monitor: SandboxMonitor;
  clock: SandboxClock;
  /** The org's data, with uncounted helpers for tests and the demo. */
  store: SalesforceStore;
  auth: AuthState;
  usage: ApiUsage;
  /** Change Data Capture: the selected objects, retained events, the delivery allocation. */
  changeEvents: ChangeEventBus;
  /** Forgets every Streaming API client (a lost stream, from the server's side). */
  dropStreamingClients(): void;
  /**
   * A restart of the Streaming API's server: every client forgotten and every held long poll cut
   * without an answer (the client sees its connection fail, then `403::Unknown client`).
   */
  restartStreaming(): void;
  close(): Promise<void>;
}

const DEFAULT_SESSION_TTL_MS = 2 * 60 * 60_000;
const cdcBody = z.object({ entities: z.array(z.string().min(1)).optional(), dailyEventDeliveries: z.number().int().min(0).optional() });
const gapBody = z.object({ entity: z.string().min(1), changeType: z.enum(GAP_TYPES), recordIds: z.array(z.string().min(1)).default([]) });
const seedBody = z.object({ people: z.number().int().min(0).max(2_000_000), seed: z.number().int().optional(), owners: z.number().int().min(1).max(1000).optional() });

/** Salesforce's release name for an API version: v63.0 = Spring '25, three releases a year. */
function releaseLabel(version: number): string {
  const k = version - 63;
  const season = ['Spring', 'Summer', 'Winter'][((k % 3) + 3) % 3] as string;
  const year = 25 + Math.floor(k / 3) + (season === 'Winter' ? 1 : 0);
  return `${season} '${String(year).padStart(2, '0')}`;
}

function versionCheck(req: Request, res: Response, next: NextFunction): void {
  const m = /^\/services\/data\/v(\d+)\.(\d+)(?:[/?]|$)/.exec(req.originalUrl);
  const major = Number(m?.[1]);
  if (!m || m[2] !== '0' || major < MIN_VERSION || major > MAX_VERSION) {
    sendSfError(res, notFound());
    return;
  }
  res.locals.apiVersion = `${major}.0`;
  next();
}

function hasType(err: unknown): err is { type: string; message: string } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string';
}

/** Every failure as a Salesforce error body; never a stack trace. */
function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  if (err instanceof SfApiError) return sendSfError(res, err);
  if (err instanceof SoqlError) {
    res.status(400).json([{ message: err.message, errorCode: err.code }]);
    return;
  }
  if (hasType(err)) {
    if (err.type === 'entity.parse.failed') return sendSfError(res, jsonParserError(err.message));
    if (err.type === 'entity.too.large') return sendSfError(res, new SfApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body is too large'));
    return sendSfError(res, jsonParserError(err.message));
  }
  console.error(`[salesforce-sandbox] unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  sendSfError(res, unknownException());
}

export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const clock = options.clock ?? new SandboxClock();
  const seed = options.seed ?? options.world?.seed ?? 1;
  const emptyWorld: SeedWorld = { seed, now: clock.now(), owners: [], companies: [], people: [], opportunities: [], deals: false };
  const initialWorld = options.world ?? emptyWorld;
  const store = new SalesforceStore(clock);
  loadWorld(store, initialWorld);
  const changeEvents = new ChangeEventBus(clock, { entities: options.changeDataCapture ?? [], dailyEventDeliveries: options.dailyEventDeliveries });
  store.onChange = (change) => changeEvents.recordChange(change);

  const credentials = deriveCredentials(seed);
  const auth = new AuthState({
    clock,
    credentials,
    seed,
    sessionTtlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    defaultUserId: INTEGRATION_USER.Id,
    jwtPublicKey: options.jwtPublicKey,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    userByUsername: (username) => store.list('User').find((u) => String(u.Username).toLowerCase() === username.toLowerCase())?.Id as string | undefined,
  });
  const usage = new ApiUsage(clock, options.dailyApiLimit ?? 100_000);
  const cursors = new QueryCursors(clock);
  const bulkJobs = new Bulk2Jobs();
  const monitor = new SandboxMonitor();
  if (options.faults) monitor.setFaults(options.faults);
  /** Concurrent-limit faults answered so far: the two real messages take turns. */
  let concurrentAnswers = 0;

  const cometd = cometdServer(changeEvents, auth);
  let baseUrl = '';
  const ctx: SandboxContext = { store, cursors, usage, auth, security: new FieldSecurity(store), changeEvents, baseUrl: () => baseUrl };

  const identity = (userId: string) => {
    const user = store.get(userId);
    if (!user) return undefined;
    const id = `${baseUrl}/id/${credentials.orgId}/${userId}`;
    const rest = `${baseUrl}/services/data/v{version}/`;
    return {
      id,
      asserted_user: true,
      user_id: userId,
      organization_id: credentials.orgId,
      username: user.Username,
      nick_name: user.Alias,
      display_name: [user.FirstName, user.LastName].filter(Boolean).join(' '),
      email: user.Email,
      first_name: user.FirstName,
      last_name: user.LastName,
      active: user.IsActive,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: formatDateTime(user.LastModifiedDate as number),
      urls: { rest, sobjects: `${rest}sobjects/`, query: `${rest}query/`, tooling_rest: `${rest}tooling/`, recent: `${rest}recent/` },
    };
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(
    '/__sandbox',
    sandboxControlRouter(monitor, clock, {
      reset: () => {
        store.clear({ schema: true });
        loadWorld(store, options.world ?? { ...emptyWorld, now: clock.now() });
        usage.reset();
        cursors.clear();
        bulkJobs.clear();
        changeEvents.clear();
      },
      seed: (body) => {
        const parsed = seedBody.parse(body);
        const world = generateWorld({ people: parsed.people, seed: parsed.seed ?? seed, ...(parsed.owners ? { owners: parsed.owners } : {}) });
        loadWorld(store, world);
        cursors.clear();
        return { people: world.people.length };
      },
    }),
  );
  app.use('/__sandbox', controlRouter(ctx));
  // Change Data Capture's control surface: the selected objects and the delivery allocation
  // (GET/PUT), a gap or overflow event on demand, and a lost stream (every client forgotten).
  const cdcState = () => ({ entities: changeEvents.entities(), delivered: changeEvents.delivered(), dailyEventDeliveries: changeEvents.dailyEventDeliveries, clients: cometd.clients() });
  app.get('/__sandbox/cdc', (_req, res) => {
    res.json(cdcState());
  });
  app.put('/__sandbox/cdc', express.json(), (req, res) => {
    const parsed = cdcBody.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    if (parsed.data.entities) changeEvents.select(parsed.data.entities);
    if (parsed.data.dailyEventDeliveries !== undefined) changeEvents.dailyEventDeliveries = parsed.data.dailyEventDeliveries;
    res.json(cdcState());
  });
  app.post('/__sandbox/cdc/gap', express.json(), (req, res) => {
    const parsed = gapBody.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    const event = changeEvents.publishGap(parsed.data.entity, parsed.data.changeType, parsed.data.recordIds);
    if (!event) return void res.status(409).json({ error: `${parsed.data.entity} is not selected for Change Data Capture` });
    res.json({ replayId: event.replayId, channel: event.channel });
  });
  app.post('/__sandbox/cdc/drop-clients', (_req, res) => {
    cometd.dropClients();
    res.json({ dropped: true });
  });
  app.post('/__sandbox/cdc/restart', (_req, res) => {
    cometd.restart();
    res.json({ restarted: true });
  });
  // The 72-hour retention passes for every event published so far (a service stopped that long):
  // a stored replay id is refused from now on; new events are kept as usual.
  app.post('/__sandbox/cdc/expire-retained', (_req, res) => {
    res.json({ expired: changeEvents.expireRetained() });
  });
  // Bulk API 2.0's pacing and faults: rows per result set, the next query jobs failing or
  // stalling, the next ingest job failing part-way.
  app.get('/__sandbox/bulk', (_req, res) => {
    res.json({ ...bulkJobs.settings, queryJobsRun: bulkJobs.queryJobsRun, batchesUsed: bulkJobs.batchesUsed });
  });
  app.put('/__sandbox/bulk', express.json(), (req, res) => {
    const parsed = bulkSettingsBody.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.message });
    const { resultPageSize, queryJobs, failIngestAfter, ingestJobs } = parsed.data;
    if (resultPageSize !== undefined) bulkJobs.settings.resultPageSize = resultPageSize;
    if (queryJobs !== undefined) bulkJobs.settings.queryJobs = queryJobs;
    if (failIngestAfter !== undefined) bulkJobs.settings.failIngestAfter = failIngestAfter;
    if (ingestJobs !== undefined) bulkJobs.settings.ingestJobs = ingestJobs;
    res.json(bulkJobs.settings);
  });
  app.use(cometd.router);
  app.use(oauthRouter(auth, () => baseUrl, identity));
  app.use('/services/Soap/m/:version', metadataRouter(ctx, monitor));

  // The Versions resource needs no session and sends no Sforce-Limit-Info.
  app.get('/services/data', (_req, res) => {
    const versions = [];
    for (let v = MIN_VERSION; v <= MAX_VERSION; v++) versions.push({ label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
    res.json(versions);
  });

  const api = express.Router({ mergeParams: true });
  api.get('/', (_req, res) => {
    const base = `/services/data/v${String(res.locals.apiVersion)}`;
    res.json({
      tooling: `${base}/tooling`,
      query: `${base}/query`,
      jobs: `${base}/jobs`,
      queryAll: `${base}/queryAll`,
      sobjects: `${base}/sobjects`,
      composite: `${base}/composite`,
      limits: `${base}/limits`,
      identity: `${baseUrl}/id/${credentials.orgId}/${String(res.locals.userId)}`,
    });
  });
  api.get('/limits', (_req, res) => {
    const records = ['Lead', 'Contact', 'Account', 'Task', 'Opportunity', 'OpportunityContactRole'].reduce((n, t) => n + store.count(t, { includeDeleted: true }), 0);
    const storageMax = 10_240;
    res.json({
      DailyApiRequests: { Max: usage.max(), Remaining: usage.remaining() },
      // Bulk API 2.0: one batch per 10,000 ingested records, one query job per job (routes-bulk2.ts).
      DailyBulkApiBatches: { Max: 15_000, Remaining: Math.max(0, 15_000 - bulkJobs.batchesUsed) },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: Math.max(0, 10_000 - bulkJobs.queryJobsRun) },
      DataStorageMB: { Max: storageMax, Remaining: Math.max(0, storageMax - Math.ceil((records * 2) / 1024)) },
      FileStorageMB: { Max: 10_240, Remaining: 10_240 },
    });
  });
  api.use(queryRouter(ctx));
  api.use(bulk2Router(ctx, bulkJobs));
  api.use(sobjectsRouter(ctx));
  api.use(compositeRouter(ctx));
  api.use(toolingRouter(ctx));
  api.use((_req, res) => sendSfError(res, notFound()));

  app.use(
    '/services/data/:version',
    versionCheck,
    // Salesforce counts only authenticated calls: the session check comes before counting.
    requireSession(auth),
    countCallsAndInjectFaults(monitor, {
      rateLimited: (res) => {
        res.setHeader('Sforce-Limit-Info', usage.header());
        if (monitor.getFaults().salesforceRateLimit === 'concurrent') {
          concurrentAnswers += 1;
          sendSfError(res, concurrentLimitExceeded(concurrentAnswers % 2 === 1 ? 'requests' : 'long-transactions'));
        } else {
          sendSfError(res, requestLimitExceeded());
        }
      },
      serverError: (res) => {
        res.setHeader('Sforce-Limit-Info', usage.header());
        sendSfError(res, serverUnavailable());
      },
    }),
    enforceApiLimit(usage),
    express.json({ limit: '50mb' }),
    // Writes from here on carry the caller's changeOrigin into their change events (after the
    // body is parsed, so that the rest of the request runs inside the attribution).
    (req: Request, res: Response, next: NextFunction) => withWriteOrigin(restOrigin(String(res.locals.apiVersion), req.header('sforce-call-options')), next),
    api,
  );
  app.use((_req, res) => {
    res.status(404).json([{ errorCode: 'NOT_FOUND', message: NOT_FOUND_MESSAGE }]);
  });
  app.use(errorHandler);

  const server = await listen(app, options.port ?? 0);
  baseUrl = server.url;
  return {
    instanceUrl: baseUrl,
    loginUrl: baseUrl,
    accessToken: credentials.accessToken,
    refreshToken: credentials.refreshToken,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    monitor,
    clock,
    store,
    auth,
    usage,
    changeEvents,
    dropStreamingClients: () => cometd.dropClients(),
    restartStreaming: () => cometd.restart(),
    close: () => {
      cometd.close();
      return server.close();
    },
  };
}
