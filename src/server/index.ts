/**
 * Starts the HTTP service on `port` (PORT, default 3000; 0 = any free port) and hands back its URL
 * and a close that also ends keep-alive connections, so that a test or a SIGTERM does not wait
 * for idle browsers. The SyncContext stays the caller's to close.
 */
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { SyncContext } from '../../jobs/context.js';
import { createApp } from './app.js';
import type { AppOptions } from './app.js';

export { createApp } from './app.js';
export type { AppOptions } from './app.js';
export { jobObserver, recordApiCall } from './metrics.js';

export interface StartServerOptions extends AppOptions {
  port?: number;
  /** Default: every interface. */
  host?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
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

export async function startServer(ctx: SyncContext, options: StartServerOptions = {}): Promise<RunningServer> {
  const app = createApp(ctx, options);
  const port = options.port ?? ctx.config.env.PORT;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = options.host === undefined ? app.listen(port) : app.listen(port, options.host);
    s.once('listening', () => resolve(s));
    s.once('error', (err) => reject(listenError(err, port, 'set PORT (or --port) to a free one')));
  });
  const address = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  ctx.logger.info({ port: address.port }, 'HTTP service listening');
  return {
    url,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
