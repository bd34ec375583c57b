/**
 * The Salesforce change stream (Change Data Capture): pushed changes become ingest jobs naming
 * their records, like HubSpot's webhook deliveries, so the engine's ordering and recency rules
 * apply unchanged. Our own write-back, known by its changeOrigin, causes no read.
 *
 * Durability: a stream's replay id is stored only after the changes it covers are in the queue;
 * a restart resumes after it (Salesforce keeps events 72 hours). The change feed's cursor follows
 * the stream, so the safety-net poll reads only what the stream did not deliver. When the stored
 * replay id is no longer kept, when a gap or overflow event arrives, or when the stream is lost,
 * a cursor poll reads what the stream could not say, and polling runs at `sync.pollEvery` until
 * the stream is back (then every `sync.stream.safetyPollEvery`).
 *
 * One process streams at a time (a Redis lock), the one running the schedulers (`smk start`).
 */
import type { StreamState, StreamedChange } from '../connectors/types.js';
import { cursorAfterStream, planStreamBatch } from '../src/sync/change-stream.js';
import type { StreamPlan } from '../src/sync/change-stream.js';
import type { SyncContext } from './context.js';
import { LuaScript } from '../src/store/lua.js';

/** The objects whose change events the connector follows. */
export const STREAMED_OBJECTS = ['Lead', 'Contact'] as const;

export interface StreamStatus {
  /** `connected`; `down` (polling instead, retrying); `off` (not enabled: see `message`). */
  state: 'connected' | 'down' | 'off' | 'unknown';
  since?: number;
  reason?: string;
  message?: string;
  /** Our clock when the last change event arrived. */
  lastEventAt?: number;
  /** When that change was committed in Salesforce. */
  lastCommitAt?: number;
  /** lastEventAt - lastCommitAt: how far behind the org the stream ran. */
  lagMs?: number;
  /** Change events received, and how many of them were our own writes. */
  events?: number;
  own?: number;
}

const replayKey = (ctx: SyncContext) => ctx.keys.meta('stream:salesforce:replay');
const cursorHoldKey = (ctx: SyncContext) => ctx.keys.meta('stream:salesforce:cursor-hold');

/**
 * A cursor poll is owed for what the stream could not deliver (an expired replay id, an overflow,
 * a lost stream, a delivery not handed on): until a poll that began after this has read from the
 * feed's cursor, the stream's deliveries must not move that cursor, or the poll would start after
 * the very changes it is for (found by the chaos run: a change made while the service was stopped
 * past the retention was skipped by both).
 */
async function owePoll(ctx: SyncContext): Promise<void> {
  await ctx.redis.set(cursorHoldKey(ctx), String(Date.now()));
  await ctx.queues.poll.add('poll', { crm: 'salesforce' });
}

/** The hold a Salesforce poll starting now will release if it succeeds (null: none). */
export async function cursorHold(ctx: SyncContext): Promise<string | null> {
  return ctx.redis.get(cursorHoldKey(ctx));
}

// Deletes the hold only if it is still the one the poll saw when it began.
const RELEASE = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1);

/** A Salesforce poll that began under `hold` has read from the cursor: the stream may move it again. */
export async function releaseCursorHold(ctx: SyncContext, hold: string | null): Promise<void> {
  if (hold !== null) await RELEASE.run(ctx.redis, cursorHoldKey(ctx), hold);
}
const statusKey = (ctx: SyncContext) => ctx.keys.meta('stream:salesforce:status');

export async function streamStatus(ctx: SyncContext): Promise<StreamStatus> {
  const raw = await ctx.redis.hgetall(statusKey(ctx));
  const num = (k: string) => (raw[k] !== undefined && raw[k] !== '' && Number.isFinite(Number(raw[k])) ? Number(raw[k]) : undefined);
  const state = raw.state === 'connected' || raw.state === 'down' || raw.state === 'off' ? raw.state : 'unknown';
  return {
    state,
    since: num('since'),
    ...(raw.reason ? { reason: raw.reason } : {}),
    ...(raw.message ? { message: raw.message } : {}),
    lastEventAt: num('lastEventAt'),
    lastCommitAt: num('lastCommitAt'),
    lagMs: num('lagMs'),
    events: num('events'),
    own: num('own'),
  };
}

async function setState(ctx: SyncContext, state: StreamStatus['state'], detail: { reason?: string; message?: string } = {}): Promise<void> {
  const current = await ctx.redis.hget(statusKey(ctx), 'state');
  const fields: Record<string, string> = { state, reason: detail.reason ?? '', message: detail.message ?? '' };
  if (current !== state) fields.since = String(ctx.clock.now());
  await ctx.redis.hset(statusKey(ctx), fields);
}

/**
 * Hands one delivery on: an ingest job naming the records (none for our own writes), a poll for
 * an overflow, then the replay ids and the feed cursors move. Returns the plan it followed.
 */
export async function handleStreamedChanges(ctx: SyncContext, changes: readonly StreamedChange[]): Promise<StreamPlan> {
  const plan = planStreamBatch(changes);
  const now = ctx.clock.now();
  if (plan.refs.length > 0) {
    // No BullMQ priority: ahead of webhook floods and bulk work, like a feed page.
    await ctx.queues.ingest.add('stream', { crm: 'salesforce', readAt: now, refs: plan.refs.map((r) => ({ object: r.object, id: r.id })) });
  }
  if (plan.poll) await owePoll(ctx);
  // Only now, with everything they cover in the queue, do the positions move.
  const replay = Object.entries(plan.replay);
  if (replay.length > 0) await ctx.redis.hset(replayKey(ctx), Object.fromEntries(replay.map(([k, v]) => [k, String(v)])));
  if ((await ctx.cursors.lastSyncAt('salesforce')) !== null && (await cursorHold(ctx)) === null) {
    const position = await ctx.cursors.get('salesforce');
    for (const [stream, at] of Object.entries(plan.committedAt)) {
      const next = cursorAfterStream(position[stream] ?? null, at);
      if (next) await ctx.cursors.set('salesforce', stream, next);
    }
  }
  const lastCommit = Math.max(...Object.values(plan.committedAt));
  await ctx.redis
    .multi()
    .hset(statusKey(ctx), { lastEventAt: String(now), lastCommitAt: String(lastCommit), lagMs: String(Math.max(0, now - lastCommit)) })
    .hincrby(statusKey(ctx), 'events', changes.length)
    .hincrby(statusKey(ctx), 'own', plan.own)
    .exec();
  return plan;
}

async function storedReplayIds(ctx: SyncContext): Promise<Record<string, number | null>> {
  const raw = await ctx.redis.hgetall(replayKey(ctx));
  const out: Record<string, number | null> = {};
  for (const stream of STREAMED_OBJECTS) {
    const v = Number(raw[stream]);
    out[stream] = raw[stream] !== undefined && Number.isInteger(v) ? v : null;
  }
  return out;
}

/**
 * The Salesforce poll's schedule: the safety net (`sync.stream.safetyPollEvery`, 5 minutes by
 * default) while the stream is healthy, `sync.pollEvery` otherwise. One scheduler shared by every
 * process (BullMQ's upsert replaces it).
 */
export async function scheduleSalesforcePoll(ctx: SyncContext, streamHealthy: boolean): Promise<number> {
  const { pollEvery, stream } = ctx.config.file.sync;
  const every = streamHealthy ? Math.max(pollEvery, stream.safetyPollEvery) : pollEvery;
  await ctx.queues.poll.upsertJobScheduler('poll-salesforce', { every }, { name: 'poll', data: { crm: 'salesforce' } });
  ctx.logger.info({ crm: 'salesforce', every, streamHealthy }, 'Salesforce poll interval set');
  return every;
}

export interface ChangeStreamOptions {
  /** Wait before subscribing again after a failure (default 30 s). */
  retryMs?: number;
  /** Wait after the org's event delivery allocation is spent (default 1 h). */
  allocationRetryMs?: number;
  /** How often an org without Change Data Capture on is checked again (default 10 min). */
  recheckMs?: number;
  /** Told when the stream becomes healthy or stops being so: the Salesforce poll interval follows. */
  onHealth?(healthy: boolean): Promise<void>;
}

export interface ChangeStreamRunner {
  stop(): Promise<void>;
}

const LOCK_TTL_MS = 30_000;

export function startChangeStream(ctx: SyncContext, options: ChangeStreamOptions = {}): ChangeStreamRunner {
  const retryMs = options.retryMs ?? 30_000;
  let stopped = false;
  let wake: () => void = () => undefined;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  // Not healthy to begin with: the schedulers start at `sync.pollEvery` (src/cli/run.ts), so only
  // a healthy stream changes the schedule.
  let healthy = false;
  const health = async (value: boolean) => {
    if (healthy === value) return;
    healthy = value;
    await options.onHealth?.(value).catch((err: unknown) => ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not change the Salesforce poll interval'));
  };
  const poll = () => owePoll(ctx);
  let states: Promise<void> = Promise.resolve();
  // After a replay id the org no longer keeps: the cursor poll goes once the new subscription is
  // up, so that what it does not read, the stream delivers.
  let pollOnConnect = false;
  let lastAuthEnd = 0;

  /** One subscription, from subscribing to its end; returns the wait before the next. */
  const runOnce = async (): Promise<number> => {
    const connector = ctx.connectors.salesforce;
    if (!connector.subscribe || !ctx.connectors.salesforceChangeCapture) {
      await setState(ctx, 'off', { reason: 'unsupported', message: 'this connector has no change stream' });
      return options.recheckMs ?? 600_000;
    }
    const selected = await ctx.connectors.salesforceChangeCapture();
    const missing = STREAMED_OBJECTS.filter((o) => !selected.includes(o));
    if (missing.length > 0) {
      await setState(ctx, 'off', { reason: 'not-enabled', message: `Change Data Capture is off for ${missing.join(' and ')}: select them in Salesforce Setup > Integrations > Change Data Capture` });
      await health(false);
      return options.recheckMs ?? 600_000;
    }
    let end: (state: StreamState & { state: 'down' }) => void = () => undefined;
    const ended = new Promise<StreamState & { state: 'down' }>((resolve) => (end = resolve));
    let last: StreamState | null = null;
    const onState = (state: StreamState) => {
      last = state;
      // States are recorded in the order they came.
      states = states.then(async () => {
        if (state.state === 'connected') {
          await setState(ctx, 'connected');
          if (pollOnConnect) {
            pollOnConnect = false;
            await poll();
          }
          await health(true);
          return;
        }
        // A delivery not handed on (Redis refused it) ends the subscription whatever else fails
        // now: the next one replays it from the stored replay ids.
        if (state.reason === 'handoff') end(state);
        await setState(ctx, 'down', { reason: state.reason, message: state.message });
        // What the stream cannot deliver now, the cursor poll reads.
        if (state.reason !== 'replay-invalid' && state.reason !== 'handoff') await poll();
        await health(false);
        if (state.reason !== 'transport' && state.reason !== 'malformed') end(state);
      }).catch((err: unknown) => ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'change stream state not recorded'));
    };
    const from = await storedReplayIds(ctx);
    let subscription;
    try {
      subscription = await connector.subscribe(from, { onChanges: async (changes) => void (await handleStreamedChanges(ctx, changes)), onState });
    } catch (err) {
      await states;
      const state = last as StreamState | null;
      if (state?.state === 'down' && state.reason === 'replay-invalid') {
        // Salesforce no longer keeps that position (72 hours): subscribe for new changes, and a
        // cursor poll (the feed's cursor follows the last change handed on) reads what came between.
        ctx.logger.warn({ crm: 'salesforce', stream: state.stream }, 'stored replay id no longer retained: polling from the cursor and subscribing for new changes');
        await ctx.redis.hdel(replayKey(ctx), ...(state.stream ? [state.stream] : STREAMED_OBJECTS));
        pollOnConnect = true;
        return 0;
      }
      await setState(ctx, 'down', { reason: state?.state === 'down' ? state.reason : 'subscribe', message: err instanceof Error ? err.message : String(err) });
      await poll();
      await health(false);
      return retryMs;
    }
    const stopWaiting = new Promise<null>((resolve) => {
      const check = setInterval(() => {
        if (stopped) {
          clearInterval(check);
          resolve(null);
        }
      }, 50);
      check.unref();
    });
    const reason = await Promise.race([ended, stopWaiting]);
    await subscription.close();
    if (!reason) return 0;
    if (reason.reason === 'replay-invalid') {
      await ctx.redis.hdel(replayKey(ctx), ...(reason.stream ? [reason.stream] : STREAMED_OBJECTS));
      pollOnConnect = true;
      return 0;
    }
    if (reason.reason === 'auth' && Date.now() - lastAuthEnd > retryMs) {
      // The session died under a running stream: subscribe again at once (the connector refreshes
      // a refused session and resumes from the stored replay ids). Twice within the retry wait, wait.
      lastAuthEnd = Date.now();
      ctx.logger.warn({ crm: 'salesforce' }, 'the streaming session was refused: subscribing again at once with a refreshed session');
      return 0;
    }
    // A hand-off that failed: subscribe again soon (while Redis is still down, reading the stored
    // replay ids fails and the loop waits retryMs).
    if (reason.reason === 'handoff') return Math.min(retryMs, 1_000);
    return reason.reason === 'allocation' ? (options.allocationRetryMs ?? 3_600_000) : retryMs;
  };

  const loop = async () => {
    while (!stopped) {
      let wait = retryMs;
      const ran = await ctx.locks
        .tryWith('stream:salesforce', false, async () => {
          while (!stopped) {
            try {
              wait = await runOnce();
            } catch (err) {
              ctx.logger.warn({ crm: 'salesforce', err: err instanceof Error ? err.message : String(err) }, 'change stream failed: polling meanwhile');
              await setState(ctx, 'down', { reason: 'error', message: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
              await health(false);
              wait = retryMs;
            }
            if (!stopped && wait > 0) await nap(wait);
          }
          return true;
        }, { ttlMs: LOCK_TTL_MS, renew: true })
        .catch((err: unknown) => {
          ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'change stream lock failed');
          return false;
        });
      // Another process streams (or Redis failed): look again later.
      if (!ran && !stopped) await nap(retryMs);
    }
  };
  const running = loop();
  return {
    stop: async () => {
      stopped = true;
      wake();
      await running;
      await states;
      await setState(ctx, 'off', { reason: 'stopped', message: 'the service is not streaming (stopped)' });
      // Nobody streams now: the poll goes back to its own pace.
      await health(false);
    },
  };
}
