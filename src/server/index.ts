/**
 * Starts the HTTP service on `port` (PORT, default 3000; 0 = any free port) and hands back its URL
 * and a close that also ends keep-alive connections, so that a test or a SIGTERM does not wait
 * for idle browsers. The SyncContext stays the caller's to close.
 */
import type { Server } from 'node:http';
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

export async function startServer(ctx: SyncContext, options: StartServerOptions = {}): Promise<RunningServer> {
  const app = createApp(ctx, options);
  const port = options.port ?? ctx.config.env.PORT;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = options.host === undefined ? app.listen(port) : app.listen(port, options.host);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
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
