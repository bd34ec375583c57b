/**
 * The express app of the service, without listening (startServer in index.ts listens). Public:
 * probes, metrics, the signed HubSpot webhook, the login form and the dashboard's assets.
 * Behind the admin token: `/api`, the OAuth install starts, the dashboard data and Bull Board.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { QuotaReport } from '../../connectors/types.js';
import type { SyncContext } from '../../jobs/context.js';
import type { CrmName } from '../model/lead.js';
import { apiRouter } from './api.js';
import { createAdminAuth } from './auth.js';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board.js';
import { dashboardRouter, renderLogin } from './dashboard/index.js';
import { healthRouter } from './health.js';
import { errorHandler, notFound, requestIdOf, requestIds } from './http-errors.js';
import { LeadSummaryKeeper } from './lead-summary.js';
import type { LeadSummaryOptions } from './lead-summary.js';
import { createAppMetrics } from './metrics.js';
import { oauthRouter } from './oauth.js';
import { ServerData } from './snapshot.js';
import { webhooksRouter } from './webhooks.js';

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
  /** How the per-lead figures of /metrics are recounted (lead-summary.ts; tests shorten it). */
  leadSummary?: Omit<LeadSummaryOptions, 'logger' | 'now'>;
}

export function createApp(ctx: SyncContext, options: AppOptions = {}): express.Express {
  const logger = (options.logger ?? ctx.logger).child({ component: 'server' });
  const env = ctx.config.env;
  const https = env.SMK_PUBLIC_URL?.startsWith('https:') ?? false;
  const app = express();
  app.set('trust proxy', options.trustProxy ?? false);
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
  const auth = createAdminAuth({ adminToken: env.SMK_ADMIN_TOKEN, secureCookies: https, logger, now: options.wallClock });

  app.use(healthRouter(ctx));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  });
  app.use(webhooksRouter(ctx, { wallClock: options.wallClock }));
  app.use(auth.router(renderLogin));
  app.use(dashboardRouter(auth));
  app.use(oauthRouter(ctx, { requireAdmin: auth.requireAdmin }));
  app.use('/api', auth.requireAdminApi, apiRouter(ctx, data));

  if (options.bullBoard !== false) {
    app.use(
      BULL_BOARD_PATH,
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
