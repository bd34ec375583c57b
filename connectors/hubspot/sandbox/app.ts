/**
 * Assembles one HubSpot sandbox: state, auth, limits, webhooks, and the express app in the order
 * HubSpot's edge applies them: control and OAuth (uncounted), then count + faults, auth, rate
 * limits, body parsing, the API routes, and HubSpot-shaped 404/500 answers.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import {
  SandboxClock,
  SandboxMonitor,
  callKey,
  countCallsAndInjectFaults,
  sandboxControlRouter,
  type FaultSettings,
} from '../../sandbox/common.js';
import { generateWorld, type SeedWorld } from '../../sandbox/seed.js';
import { PortalAccount } from './account.js';
import { AuthRegistry, deriveCredentials } from './auth.js';
import { jsonBody } from './body-parsing.js';
import { integrationSource } from './contact-writes.js';
import type { SandboxContext } from './context.js';
import { apiErrorHandler, errorBody, unknownRoute } from './errors.js';
import { RateLimiter, tenSecondlyBody, type RateLimitSettings } from './rate-limits.js';
import { addHubSpotControlRoutes } from './routes-control.js';
import { batchRouter } from './routes-batch.js';
import { contactObjectTypeGuard, contactsRouter } from './routes-contacts.js';
import { oauthRouter } from './routes-oauth.js';
import { ownersRouter } from './routes-owners.js';
import { propertiesRouter } from './routes-properties.js';
import { accountInfoRouter } from './routes-account.js';
import { searchRouter } from './routes-search.js';
import { associationsRouter } from './routes-associations.js';
import { crmObjectsRouter } from './routes-objects.js';
import { CrmObjectStore } from './crm-objects.js';
import { SearchEngine } from './search.js';
import { loadWorld } from './seed-load.js';
import { HubSpotStore } from './store.js';
import { WebhookDispatcher } from './webhooks.js';

export interface HubSpotSandboxOptions {
  /** 0 = any free port (default 0). */
  port?: number;
  /** Seed data: the `hubspot` part of each person, and the owners. */
  world?: SeedWorld;
  /** Derives deterministic credentials when given. */
  seed?: number;
  faults?: Partial<FaultSettings>;
  /** perTenSeconds default 190, daily default 1,000,000, searchPerSecond default 5; 0 = off. */
  rateLimits?: Partial<RateLimitSettings>;
  /**
   * The portal's time zone (an IANA name, default `US/Eastern` as in HubSpot's spec example): what
   * `/account-info/v3/details` answers, and whose midnight resets the daily limit.
   */
  timeZone?: string;
  /** Where contact events are POSTed (can be changed later). */
  webhookUrl?: string | null;
  /** How long events are gathered before one POST (default 200 ms). */
  webhookBatchMs?: number;
  /** Back-off base for failed deliveries: retry k waits base * 2^(k-1) (default 1000 ms). */
  webhookRetryBaseMs?: number;
  /** Attempts per delivery, the first included (default 10). */
  webhookMaxAttempts?: number;
  /** Writes stay invisible to search for this long (default 0: off). */
  searchIndexLagMs?: number;
  clock?: SandboxClock;
}

export interface HubSpotSandboxApp {
  app: Express;
  context: SandboxContext;
  /** Empties the store and reloads the current seed world. */
  reset(): void;
  /** Generates and loads a new world. */
  seed(people: number, seed: number): { people: number; contacts: number };
  close(): void;
}

const seedBodySchema = z.object({ people: z.number().int().min(0).max(2_000_000), seed: z.number().int().default(1) });

export function createHubSpotSandboxApp(options: HubSpotSandboxOptions = {}): HubSpotSandboxApp {
  const clock = options.clock ?? new SandboxClock();
  const monitor = new SandboxMonitor();
  if (options.faults) monitor.setFaults(options.faults);
  const credentials = deriveCredentials(options.seed);
  const store = new HubSpotStore(clock);
  store.searchIndexLagMs = options.searchIndexLagMs ?? 0;
  const groupName = `privateapp:${credentials.appId}`;
  const account = new PortalAccount(credentials.portalId, options.timeZone);
  const limiter = new RateLimiter(options.rateLimits ?? {}, clock, groupName, () => account.timeZone);
  account.onTimeZoneChange(() => limiter.timeZoneChanged());
  const webhooks = new WebhookDispatcher(
    {
      url: options.webhookUrl ?? null,
      ...(options.webhookBatchMs !== undefined ? { batchMs: options.webhookBatchMs } : {}),
      ...(options.webhookRetryBaseMs !== undefined ? { retryBaseMs: options.webhookRetryBaseMs } : {}),
      ...(options.webhookMaxAttempts !== undefined ? { maxAttempts: options.webhookMaxAttempts } : {}),
    },
    { portalId: credentials.portalId, appId: credentials.appId, clientSecret: credentials.clientSecret },
    clock,
  );
  store.onEvent((event) => webhooks.enqueue(event));
  const objects = new CrmObjectStore(clock);
  const context: SandboxContext = {
    store,
    objects,
    search: new SearchEngine(store),
    auth: new AuthRegistry(credentials, clock),
    limiter,
    account,
    webhooks,
    monitor,
    clock,
    credentials,
    apiSource: integrationSource(credentials.appId),
  };

  let world: SeedWorld | null = options.world ?? null;
  const reload = (): number => {
    store.clear();
    objects.clear();
    return world ? loadWorld(store, world, objects).contacts : 0;
  };
  reload();
  const seed = (people: number, seedValue: number) => {
    world = generateWorld({ people, seed: seedValue, now: Math.floor(clock.now() / 60_000) * 60_000 });
    const result = { people: world.people.length, contacts: reload() };
    return result;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const control = sandboxControlRouter(monitor, clock, {
    reset: () => {
      reload();
    },
    seed: (body) => {
      const parsed = seedBodySchema.parse(body);
      return seed(parsed.people, parsed.seed);
    },
  });
  addHubSpotControlRoutes(control, context);
  app.use('/__sandbox', control);
  app.use(oauthRouter(context));

  let serverErrors = 0;
  app.use(
    countCallsAndInjectFaults(monitor, {
      rateLimited: (res) => {
        res.status(429).json(tenSecondlyBody(groupName));
      },
      serverError: (res) => {
        serverErrors += 1;
        if (serverErrors % 2 === 1) res.status(502).json(errorBody('BAD_GATEWAY', 'Bad Gateway: the upstream service did not answer in time.'));
        else res.status(503).json(errorBody('SERVICE_UNAVAILABLE', 'Service Unavailable: the service is temporarily unable to handle the request.'));
      },
    }),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    const auth = context.auth.authenticate(req.get('authorization'));
    if (!auth.ok) {
      res.status(401).json(auth.body);
      return;
    }
    const isSearch = req.method === 'POST' && callKey(req).path.endsWith('/search');
    const decision = limiter.check(auth.principal.rateKey, auth.principal.kind, isSearch);
    res.set(decision.headers);
    if (!decision.ok) {
      res.status(429).json(decision.body);
      return;
    }
    next();
  });
  app.use(jsonBody);
  app.use('/crm/v3/objects/deals', crmObjectsRouter(context, 'deals'));
  app.use('/crm/v3/objects/companies', crmObjectsRouter(context, 'companies'));
  app.use(associationsRouter(context));
  app.use(
    '/crm/v3/objects/:objectType',
    (req: Request, _res: Response, next: NextFunction) => {
      contactObjectTypeGuard(String(req.params.objectType));
      next();
    },
    searchRouter(context),
    batchRouter(context),
    contactsRouter(context),
  );
  app.use('/crm/v3/properties/:objectType', propertiesRouter(context));
  app.use('/crm/v3/owners', ownersRouter(context));
  app.use('/account-info/v3', accountInfoRouter(context));
  app.use(unknownRoute);
  app.use(apiErrorHandler);

  return {
    app,
    context,
    reset: () => {
      reload();
    },
    seed,
    close: () => webhooks.close(),
  };
}
