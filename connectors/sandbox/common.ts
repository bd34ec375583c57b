/**
 * What both CRM sandboxes share: call statistics (DESIGN.md `/__sandbox/stats`), a request log,
 * fault injection, a controllable clock, and starting an express app on a port.
 * Each sandbox mounts `sandboxControlRouter` under `/__sandbox` and `countCalls` before its API routes.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import type { Request, Response, NextFunction, Express, Router } from 'express';
import { z } from 'zod';

/** Deterministic PRNG (mulberry32) so that fault injection and seeds repeat for a given seed. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sandbox's notion of now. Tests move it forward to expire tokens or pass SLA due times. */
export class SandboxClock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
  reset(): void {
    this.offsetMs = 0;
  }
}

const faultFields = {
  /** Fraction of API calls answered with a rate-limit error (each CRM's own 429/403 body). */
  rateLimit: z.number().min(0).max(1),
  /**
   * Which of Salesforce's rate-limit answers (403 REQUEST_LIMIT_EXCEEDED) a rate-limit fault is:
   * `allocation` (the default), "TotalRequests Limit exceeded.", the org's rolling 24-hour
   * allocation spent; or `concurrent`, the limit on long-running requests at once, which clears in
   * seconds ("ConcurrentRequests (Concurrent API Requests) Limit exceeded." and "ConcurrentPerOrgLongTxn
   * Limit exceeded." in turn). An org answers at random moments only with the second: the first
   * comes once the allocation is spent (the sandbox's `dailyApiLimit` does that for real). HubSpot ignores it.
   */
  salesforceRateLimit: z.enum(['allocation', 'concurrent']),
  /** Fraction of API calls answered with a 500/503. */
  serverError: z.number().min(0).max(1),
  /** Fraction of API calls delayed by `slowMs` before being served. */
  slow: z.number().min(0).max(1),
  slowMs: z.number().int().min(0).max(60_000),
  /** Fraction of API calls whose connection is destroyed without an answer. */
  drop: z.number().min(0).max(1),
  seed: z.number().int(),
};
const FAULT_DEFAULTS = { rateLimit: 0, salesforceRateLimit: 'allocation' as const, serverError: 0, slow: 0, slowMs: 1500, drop: 0, seed: 1 };
/** A change to the fault settings: only the named ones move (no defaults fill the others). */
export const faultChangeSchema = z.strictObject(faultFields).partial();
export const faultSettingsSchema = z.strictObject(faultFields).partial().transform((v) => ({ ...FAULT_DEFAULTS, ...v }));
export type FaultSettings = z.output<typeof faultSettingsSchema>;

/** `--faults RATE` spreads one rate over the four kinds of fault. */
export function faultsFromRate(rate: number, seed = 1): FaultSettings {
  const each = rate / 4;
  return faultSettingsSchema.parse({ rateLimit: each, serverError: each, slow: each, drop: each, seed });
}

export interface LoggedRequest {
  at: string;
  method: string;
  path: string;
  status: number;
  ms: number;
}

export type FaultKind = 'rateLimit' | 'serverError' | 'slow' | 'drop';

/** Counters, log and fault state of one sandbox. Control and OAuth calls are not API calls. */
export class SandboxMonitor {
  private calls = new Map<string, number>();
  private total = 0;
  private log: LoggedRequest[] = [];
  private faults: FaultSettings = faultSettingsSchema.parse({});
  private random = createRandom(1);
  readonly injected: Record<FaultKind, number> = { rateLimit: 0, serverError: 0, slow: 0, drop: 0 };
  static readonly LOG_LIMIT = 5000;

  record(method: string, path: string): void {
    const key = `${method} ${path}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    this.total += 1;
  }

  logServed(entry: LoggedRequest): void {
    this.log.push(entry);
    if (this.log.length > SandboxMonitor.LOG_LIMIT) this.log.splice(0, this.log.length - SandboxMonitor.LOG_LIMIT);
  }

  stats(): { total: number; calls: Record<string, number> } {
    return { total: this.total, calls: Object.fromEntries([...this.calls.entries()].sort()) };
  }

  resetStats(): void {
    this.calls.clear();
    this.total = 0;
  }

  requests(limit = 500): LoggedRequest[] {
    return this.log.slice(-limit);
  }

  setFaults(next: Partial<FaultSettings>): FaultSettings {
    this.faults = faultSettingsSchema.parse({ ...this.faults, ...next });
    this.random = createRandom(this.faults.seed);
    return this.faults;
  }

  getFaults(): FaultSettings {
    return this.faults;
  }

  /** Decides, for one API call, which fault (if any) to inject. */
  drawFault(): FaultKind | null {
    const f = this.faults;
    if (f.rateLimit + f.serverError + f.slow + f.drop === 0) return null;
    const r = this.random();
    let edge = f.drop;
    if (r < edge) return this.count('drop');
    edge += f.rateLimit;
    if (r < edge) return this.count('rateLimit');
    edge += f.serverError;
    if (r < edge) return this.count('serverError');
    edge += f.slow;
    if (r < edge) return this.count('slow');
    return null;
  }

  private count(kind: FaultKind): FaultKind {
    this.injected[kind] += 1;
    return kind;
  }
}

/** Normalises a request path to its route-independent key: method plus path, no query string. */
export function callKey(req: Request): { method: string; path: string } {
  const path = (req.originalUrl.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
  return { method: req.method, path };
}

/**
 * Counts an API call, logs it, and injects faults. `respondRateLimited` and `respondServerError`
 * write each CRM's own error bodies. Mount after control and OAuth routes so they are not counted.
 */
export function countCallsAndInjectFaults(
  monitor: SandboxMonitor,
  respond: {
    rateLimited: (res: Response) => void;
    serverError: (res: Response) => void;
  },
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = Date.now();
    const { method, path } = callKey(req);
    monitor.record(method, path);
    res.on('finish', () => {
      monitor.logServed({ at: new Date(started).toISOString(), method, path, status: res.statusCode, ms: Date.now() - started });
    });
    const fault = monitor.drawFault();
    switch (fault) {
      case 'drop':
        req.socket.destroy();
        return;
      case 'rateLimit':
        respond.rateLimited(res);
        return;
      case 'serverError':
        respond.serverError(res);
        return;
      case 'slow':
        setTimeout(next, monitor.getFaults().slowMs);
        return;
      default:
        next();
    }
  };
}

/** The control surface shared by both sandboxes; each sandbox adds its own routes to the router. */
export function sandboxControlRouter(
  monitor: SandboxMonitor,
  clock: SandboxClock,
  hooks: { reset: () => void; seed: (body: unknown) => { people: number } },
): Router {
  const router = express.Router();
  router.use(express.json({ limit: '10mb' }));
  router.use(controlErrorHandler);
  router.get('/stats', (_req, res) => {
    res.json(monitor.stats());
  });
  router.post('/reset-stats', (_req, res) => {
    monitor.resetStats();
    res.json(monitor.stats());
  });
  router.get('/requests', (req, res) => {
    const limit = z.coerce.number().int().min(1).max(SandboxMonitor.LOG_LIMIT).catch(500).parse(req.query.limit);
    res.json({ requests: monitor.requests(limit) });
  });
  router.get('/faults', (_req, res) => {
    res.json({ settings: monitor.getFaults(), injected: monitor.injected });
  });
  router.put('/faults', (req, res) => {
    const parsed = faultChangeSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid fault settings', issues: parsed.error.issues });
      return;
    }
    res.json({ settings: monitor.setFaults(parsed.data), injected: monitor.injected });
  });
  router.get('/clock', (_req, res) => {
    res.json({ now: new Date(clock.now()).toISOString() });
  });
  router.post('/clock', (req, res) => {
    const parsed = z
      .object({ advanceMs: z.number().int().optional(), set: z.iso.datetime({ offset: true }).optional(), reset: z.boolean().optional() })
      .safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'expected {advanceMs} or {set} or {reset:true}', issues: parsed.error.issues });
      return;
    }
    if (parsed.data.reset) clock.reset();
    if (parsed.data.set) clock.set(Date.parse(parsed.data.set));
    if (parsed.data.advanceMs) clock.advance(parsed.data.advanceMs);
    res.json({ now: new Date(clock.now()).toISOString() });
  });
  router.post('/reset', (_req, res) => {
    hooks.reset();
    monitor.resetStats();
    res.json({ ok: true });
  });
  router.post('/seed', (req, res) => {
    try {
      res.json(hooks.seed(req.body));
    } catch (err) {
      res.status(400).json({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  return router;
}

/** Control-route errors as JSON (malformed bodies included), never a stack trace. Mount last. */
export function controlErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
  res.status(status >= 400 && status < 600 ? status : 500).json({ error: status < 500 && err instanceof Error ? err.message : 'sandbox control error' });
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (port 0 = any free port) and tracks sockets so that close() is prompt. */
export async function listen(app: Express, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.on('error', reject);
  });
  server.keepAliveTimeout = 5000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
