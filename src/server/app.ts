/**
 * The express app of the service, without listening (startServer in index.ts listens). Public:
 * probes, the signed HubSpot webhook, the login form and the dashboard's assets; `/metrics` too,
 * unless SMK_METRICS_TOKEN asks for a bearer token (or SMK_METRICS_PORT moves it to a port of its
 * own on 127.0.0.1, see metricsApp). Behind the admin token: `/api`, the OAuth install starts,
 * the dashboard data and Bull Board.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { QuotaReport } from '../../connectors/types.js';
import type { SyncContext } from '../../jobs/context.js';
import type { CrmName } from '../model/lead.js';
import { apiRouter } from './api.js';
import { createAdminAuth, safeEqual } from './auth.js';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board.js';
import { dashboardRouter, renderLogin } from './dashboard/index.js';
import { healthRouter } from './health.js';
import { errorHandler, HttpError, notFound, requestIdOf, requestIds } from './http-errors.js';
import { LeadSummaryKeeper } from './lead-summary.js';
import type { LeadSummaryOptions } from './lead-summary.js';
import { createAppMetrics } from './metrics.js';
import type { AppMetrics } from './metrics.js';
import { oauthRouter } from './oauth.js';
import { createRateLimits } from './rate-limit.js';
import type { RateLimitOptions } from './rate-limit.js';
import { ServerData } from './snapshot.js';
import { webhooksRouter } from './webhooks.js';
import type { WebhookRouterOptions } from './webhooks.js';

export interface AppOptions {
  /** Defaults to the context's logger. */
  logger?: Logger;
  /** The shared limiter's report, for a connector that cannot report its own quota. */
  quotaFallback?: (crm: CrmName) => Promise<QuotaReport>;
  /** How long status and reports stay cached (default 2 s for status, 5 s for reports). */
  cacheTtlMs?: number;
  /** Wall clock for webhook signature windows and sessions (tests move it). */
  wallClock?: () => number;
  /** express `trust proxy`: set it when a proxy in front sets X-Forwarded-* (default off). */
  trustProxy?: boolean | number | string;
  /** Mount Bull Board at /admin/queues (default true). */
  bullBoard?: boolean;
  /** Serve /metrics here (default true; startServer serves it on SMK_METRICS_PORT instead when set). */
  serveMetrics?: boolean;
  /** How the per-lead figures of /metrics are recounted (lead-summary.ts; tests shorten it). */
  leadSummary?: Omit<LeadSummaryOptions, 'logger' | 'now'>;
  /** Per-client limits of POST /login and the admin API (rate-limit.ts has the defaults). */
  rateLimits?: RateLimitOptions;
  /** How many webhook event ids and signatures are remembered at most (webhooks.ts WEBHOOK_MEMORY). */
  webhookMemory?: WebhookRouterOptions['memory'];
}

/** The metrics of an app made by createApp, for a metrics-only listener (metricsApp). */
export function appMetricsOf(app: express.Express): AppMetrics {
  return app.locals.smkMetrics as AppMetrics;
}

/**
 * `GET /metrics`, behind `Authorization: Bearer $SMK_METRICS_TOKEN` when that is set (compared in
 * constant time; a refusal is logged with the client address, never the token).
 */
export function metricsHandler(metrics: AppMetrics, token: string | undefined, logger: Logger): express.RequestHandler {
  return (req, res, next) => {
    if (token) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
      if (!match || !safeEqual(match[1] as string, token)) {
        logger.warn({ requestId: requestIdOf(res), ip: req.ip, path: req.path }, 'metrics scrape refused: missing or wrong SMK_METRICS_TOKEN');
        res.setHeader('WWW-Authenticate', 'Bearer realm="smk-metrics"');
        next(new HttpError(401, 'unauthorized: send Authorization: Bearer <SMK_METRICS_TOKEN>'));
        return;
      }
    }
    metrics
      .render()
      .then((text) => {
        res.setHeader('Content-Type', metrics.contentType);
        res.send(text);
      })
      .catch(next);
  };
}

/** An app that serves only `/metrics` (for SMK_METRICS_PORT, bound to 127.0.0.1 by startServer). */
export function metricsApp(metrics: AppMetrics, token: string | undefined, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIds());
  app.get('/metrics', metricsHandler(metrics, token, logger));
  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}

/** SMK_TRUST_PROXY as express takes it: a hop count, or the names and subnets of the proxies. */
export function trustProxyFrom(value: string | undefined): boolean | number | string {
  if (value === undefined) return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}

export function createApp(ctx: SyncContext, options: AppOptions = {}): express.Express {
  const logger = (options.logger ?? ctx.logger).child({ component: 'server' });
  const env = ctx.config.env;
  const https = env.SMK_PUBLIC_URL?.startsWith('https:') ?? false;
  const app = express();
  app.set('trust proxy', options.trustProxy ?? trustProxyFrom(ctx.config.env.SMK_TRUST_PROXY));
  app.disable('x-powered-by');

  app.use(requestIds());
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Plain http on a laptop or inside a cluster would otherwise have every asset "upgraded" to https.
          upgradeInsecureRequests: https ? [] : null,
        },
      },
      strictTransportSecurity: https,
    }),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The path only: query strings can carry OAuth codes and states.
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug({ requestId: requestIdOf(res), method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms) }, 'request');
    });
    next();
  });

  const data = new ServerData(ctx, { ttlMs: options.cacheTtlMs, quotaFallback: options.quotaFallback });
  const wallClock = options.wallClock ?? Date.now;
  const leadSummary = new LeadSummaryKeeper(ctx, { ...options.leadSummary, logger, now: wallClock });
  const metrics = createAppMetrics(data, leadSummary, wallClock);
  app.locals.smkMetrics = metrics;
  const auth = createAdminAuth({ adminToken: env.SMK_ADMIN_TOKEN, secureCookies: https, logger, now: options.wallClock });

  app.use(healthRouter(ctx));
  if (options.serveMetrics !== false) app.get('/metrics', metricsHandler(metrics, env.SMK_METRICS_TOKEN, logger));
  app.use(webhooksRouter(ctx, { wallClock: options.wallClock, memory: options.webhookMemory }));
  // Per client address, shared by every process through Redis; before any token is looked at.
  const limits = createRateLimits(ctx, logger, { ...options.rateLimits, tooManyLoginPage: (error) => renderLogin({ error }) });
  app.post('/login', ...limits.login);
  app.use(auth.router(renderLogin));
  app.use(dashboardRouter(auth));
  app.use(['/oauth/hubspot/start', '/oauth/salesforce/start'], ...limits.admin);
  app.use(oauthRouter(ctx, { requireAdmin: auth.requireAdmin }));
  app.use('/api', ...limits.admin, auth.requireAdminApi, apiRouter(ctx, data));

  if (options.bullBoard !== false) {
    app.use(
      BULL_BOARD_PATH,
      ...limits.admin,
      (req: Request, res: Response, next: NextFunction) => {
        // A browser without a session gets the login form, which brings it back here afterwards.
        if (env.SMK_ADMIN_TOKEN && !auth.check(req) && req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
          res.status(401).type('html').send(renderLogin({ next: BULL_BOARD_PATH }));
          return;
        }
        next();
      },
      auth.requireAdmin,
      bullBoardRouter(ctx.queues),
    );
  }

  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}
