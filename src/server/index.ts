/**
 * Starts the HTTP service on `port` (PORT, default 3000; 0 = any free port) of `host` (HOST, default
 * every interface) and hands back its URL and a close that also ends keep-alive connections, so
 * that a test or a SIGTERM does not wait for idle browsers. With `metricsPort` (SMK_METRICS_PORT),
 * `/metrics` is served there, on 127.0.0.1 only, and not on the main port. The SyncContext stays
 * the caller's to close.
 */
import type { Server } from 'node:http';
import type express from 'express';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { SyncContext } from '../../jobs/context.js';
import { appMetricsOf, createApp, metricsApp } from './app.js';
import type { AppOptions } from './app.js';

export { createApp } from './app.js';
export type { AppOptions } from './app.js';
export { jobObserver, recordApiCall } from './metrics.js';

export interface StartServerOptions extends AppOptions {
  /** Default: PORT. */
  port?: number;
  /** Default: HOST, else every interface. */
  host?: string;
  /** Serve /metrics on this port of 127.0.0.1 instead of `port` (default SMK_METRICS_PORT; 0 = any free port). */
  metricsPort?: number;
}

/** Only this process's own machine reaches the metrics listener. */
export const METRICS_HOST = '127.0.0.1';

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  /** The metrics listener's URL when /metrics has a port of its own. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** A port another process holds: said with the port and how to choose another, before anything starts. */
export class PortInUseError extends Error {
  constructor(port: number, how: string) {
    super(`port ${port} is already in use (another smk start or demo, or another program); ${how}`);
    this.name = 'PortInUseError';
  }
}

function listenError(err: unknown, port: number, how: string): unknown {
  return (err as { code?: unknown }).code === 'EADDRINUSE' ? new PortInUseError(port, how) : err;
}

/**
 * Fails at once, with PortInUseError, when `port` cannot be listened on: checked before Redis,
 * sandboxes or fields are touched, so a taken port costs nothing. Port 0 (any free port) always passes.
 */
export async function checkPortFree(port: number, how: string, host?: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (err) => reject(listenError(err, port, how)));
    probe.listen({ port, ...(host ? { host } : {}), exclusive: true }, () => probe.close(() => resolve()));
  });
}

function listen(app: express.Express, port: number, host: string | undefined, how: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = host === undefined ? app.listen(port) : app.listen(port, host);
    s.once('listening', () => resolve(s));
    s.once('error', (err) => reject(listenError(err, port, how)));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

function urlOf(host: string | undefined, port: number): string {
  const shown = host && host !== '0.0.0.0' && host !== '::' ? host : '127.0.0.1';
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

export async function startServer(ctx: SyncContext, options: StartServerOptions = {}): Promise<RunningServer> {
  const env = ctx.config.env;
  const metricsPort = options.metricsPort ?? env.SMK_METRICS_PORT;
  const app = createApp(ctx, { ...options, serveMetrics: metricsPort === undefined && options.serveMetrics !== false });
  const port = options.port ?? env.PORT;
  const host = options.host ?? env.HOST;
  const server = await listen(app, port, host, 'set PORT (or --port) to a free one');
  const address = server.address() as AddressInfo;
  let metricsServer: Server | undefined;
  if (metricsPort !== undefined) {
    const logger = (options.logger ?? ctx.logger).child({ component: 'server' });
    try {
      metricsServer = await listen(metricsApp(appMetricsOf(app), env.SMK_METRICS_TOKEN, logger), metricsPort, METRICS_HOST, 'set SMK_METRICS_PORT to a free one');
    } catch (err) {
      await closeServer(server);
      throw err;
    }
  }
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;
  ctx.logger.info({ host: host ?? 'every interface', port: address.port, ...(metricsAddress ? { metricsPort: metricsAddress.port } : {}) }, 'HTTP service listening');
  return {
    url: urlOf(host, address.port),
    port: address.port,
    server,
    ...(metricsAddress ? { metricsUrl: urlOf(METRICS_HOST, metricsAddress.port) } : {}),
    close: async () => {
      await Promise.all([closeServer(server), ...(metricsServer ? [closeServer(metricsServer)] : [])]);
    },
  };
}
