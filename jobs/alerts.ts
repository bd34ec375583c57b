/**
 * alerts: the shell around src/rules/alerts.ts. The evaluation queues one job per message on a
 * queue of its own (a slow or failing channel never holds up the sync); the worker reads the lead,
 * renders the message and sends it through Slack (incoming webhook, or a bot token through
 * @slack/web-api) or SMTP (nodemailer).
 *
 * One message per event whatever retries happen: the job id is the message's key, so a rerun of
 * the evaluation adds nothing while the job exists; and a delivery mark in Redis (SET NX before
 * sending, "sent" after) keeps a later re-add, a retry or a second worker from sending it again. A
 * worker killed while it sends leaves the mark to lapse after a lease, and the job's retry sends.
 * Failures are retried with back-off (jobs/queues.ts); the last one lands in sync errors.
 */
import { createHash } from 'node:crypto';
import { ErrorCode as SlackErrorCode, WebClient } from '@slack/web-api';
import { UnrecoverableError } from 'bullmq';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { z } from 'zod';
import type { Lead } from '../src/model/lead.js';
import { alertLeadName, planAlerts, recordLinks, renderAlert, renderTargetAlert, targetBehindEvent } from '../src/rules/alerts.js';
import { mqlDates, mqlProgress } from '../src/rules/targets.js';
import type { AlertChannel, AlertEvent, AlertMessage, AlertPerson, AlertRecipient } from '../src/rules/alerts.js';
import type { SyncContext } from './context.js';
import { STORE_PASS_PAGE } from './store-pass.js';
import type { AlertJob } from './queues.js';

/** How long a send may take before another attempt may take the message over. */
export const SEND_LEASE_MS = 60_000;
/** How long a sent message is remembered (longer than any retry or re-evaluation of its event). */
const SENT_TTL_S = 30 * 86_400;
/** Slack and SMTP calls give up after this long; the job's retry tries again. */
const SEND_TIMEOUT_MS = 15_000;

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/** The job id of a message: BullMQ drops an add whose id is already queued. */
export function alertJobId(key: string): string {
  return `alert-${digest(key)}`;
}

/** Queues the messages these events call for. Never throws into the evaluation: a failure is logged. */
export async function queueAlerts(ctx: SyncContext, lead: Lead | null, events: readonly AlertEvent[]): Promise<number> {
  const config = ctx.config.file.alerts;
  if (config.routes.length === 0 || events.length === 0) return 0;
  const planned = events.flatMap((event) => planAlerts(event, lead, config, ctx.config.file.routing));
  if (planned.length === 0) return 0;
  await ctx.queues.alerts.addBulk(planned.map((alert) => ({ name: alert.event.kind, data: alert, opts: { jobId: alertJobId(alert.key) } })));
  return planned.length;
}

/**
 * Marketing's MQL pace (checked with each reconcile, daily by default): behind it, the routes that
 * listen to `target_behind` hear of it, once a day at most.
 */
export async function checkMqlTarget(ctx: SyncContext): Promise<number> {
  const { alerts, targets } = ctx.config.file;
  if (!alerts.routes.some((route) => route.events.includes('target_behind'))) return 0;
  const dates: string[] = [];
  for await (const page of ctx.leads.all(STORE_PASS_PAGE)) dates.push(...mqlDates(page.map((stored) => stored.lead)));
  const now = new Date(ctx.clock.now());
  const event = targetBehindEvent(mqlProgress(dates, targets, now), now, targets.tz);
  return event === null ? 0 : queueAlerts(ctx, null, [event]);
}

/** A failure no retry can fix (a webhook that no longer exists, an owner without an email). */
export class AlertConfigError extends UnrecoverableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** The channel asks us to wait (Slack's 429 with Retry-After): the queue pauses, the message keeps its attempts. */
export class AlertRateLimitedError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'AlertRateLimitedError';
  }
}

export interface RenderedAlert {
  channel: string;
  /** Email addresses, for an email channel. */
  to: string[];
  message: AlertMessage;
  /** Stable per message: a mail server or reader can recognise a repeat. */
  messageId: string;
  /** The lead's name as the message shows it (the demo hides it when it prints messages). */
  leadName?: string;
  /** The lead the message is about. */
  leadId?: string;
}

export interface AlertSender {
  send(channel: AlertChannel, alert: RenderedAlert): Promise<void>;
  close(): Promise<void>;
}

const slackWebhookAnswer = z.string();

/** Retry-After in seconds (RFC 9110 10.2.3; Slack sends seconds), bounded to 1 s .. 5 min. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header);
  return Math.min(300_000, Math.max(1000, Number.isFinite(seconds) ? seconds * 1000 : 30_000));
}

/**
 * Sends through the channels of the config with the secrets the config loader resolved. Transports
 * and clients are made once per channel.
 */
/** The SMTP transport of an email channel (one shape for sending and for `smk doctor`). */
function smtpTransport(channel: Extract<AlertChannel, { type: 'email' }>, user: string | undefined, pass: string | undefined, timeoutMs: number): Transporter {
  return nodemailer.createTransport({
    host: channel.host,
    port: channel.port,
    secure: channel.secure,
    ...(user !== undefined ? { auth: { user, pass: pass ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

export interface ChannelCheck {
  status: 'ok' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * `smk doctor`'s live check of one channel, sending nothing: an SMTP server must answer and take the
 * login (nodemailer's verify), a Slack bot token must be accepted (auth.test). An incoming webhook
 * can only be tried by posting, so it is reported as not checked. No secret reaches the result.
 */
export async function checkAlertChannel(name: string, channel: AlertChannel, secrets: Readonly<Record<string, string>>, timeoutMs = 10_000): Promise<ChannelCheck> {
  const reason = (err: unknown) => (err instanceof Error ? `${(err as { code?: unknown }).code ? `${String((err as { code?: unknown }).code)}: ` : ''}${err.message}` : String(err));
  const scrub = (text: string) => Object.values(secrets).reduce((t, secret) => (secret.length >= 6 ? t.split(secret).join('***') : t), text);
  if (channel.type === 'email') {
    const user = channel.userEnv ? secrets[channel.userEnv] : undefined;
    const pass = channel.passwordEnv ? secrets[channel.passwordEnv] : undefined;
    const transport = smtpTransport(channel, user, pass, timeoutMs);
    try {
      await transport.verify();
      return { status: 'ok', detail: `SMTP server ${channel.host}:${channel.port} answers${user !== undefined ? ' and takes the login' : ''} (nothing sent)` };
    } catch (err) {
      return { status: 'fail', detail: scrub(`SMTP server ${channel.host}:${channel.port}: ${reason(err)}`), fix: `check alerts.channels.${name} (host, port, secure) and the login in ${[channel.userEnv, channel.passwordEnv].filter(Boolean).join(' and ') || 'userEnv and passwordEnv'}` };
    } finally {
      transport.close();
    }
  }
  if (channel.tokenEnv !== undefined) {
    const token = secrets[channel.tokenEnv] ?? '';
    const client = new WebClient(token, { ...(channel.apiUrl ? { slackApiUrl: channel.apiUrl } : {}), retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: timeoutMs });
    try {
      const answer = await client.auth.test();
      return { status: 'ok', detail: `Slack accepts the bot token${answer.team ? ` (workspace ${answer.team})` : ''}; it posts to ${channel.channel ?? 'its channel'} (nothing sent)` };
    } catch (err) {
      return { status: 'fail', detail: scrub(`Slack refused the bot token in ${channel.tokenEnv}: ${reason(err)}`), fix: `set ${channel.tokenEnv} to the app's bot token (xoxb-...) and invite the app to ${channel.channel ?? 'the channel'}` };
    }
  }
  return { status: 'ok', detail: `an incoming webhook (${channel.webhookUrlEnv ?? 'its variable'} is set); it can only be tried by posting: the first alert will tell, and a failure shows in sync errors` };
}

export function channelSender(secrets: Readonly<Record<string, string>>): AlertSender {
  const transports = new Map<string, Transporter>();
  const slackClients = new Map<string, WebClient>();
  const secret = (name: string | undefined, what: string): string => {
    const value = name === undefined ? undefined : secrets[name];
    if (value === undefined) throw new AlertConfigError(`${what}: the environment variable ${name ?? '(none)'} is not set`);
    return value;
  };

  async function sendSlackWebhook(url: string, alert: RenderedAlert): Promise<void> {
    // Incoming webhooks take {text, blocks} and answer 200 "ok"; errors are plain-text codes such
    // as invalid_payload (400), no_service (404), channel_is_archived (410), and a 429 carries
    // Retry-After (api.slack.com/messaging/webhooks#handling_errors, /apis/rate-limits).
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: alert.message.text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: alert.message.markdown.slice(0, 3000) } }] }),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    }).catch((err: unknown) => {
      // The URL is the secret: only the failure's kind is reported.
      throw new Error(`Slack webhook of channel "${alert.channel}" could not be reached (${err instanceof Error ? err.name : 'error'})`);
    });
    const body = slackWebhookAnswer.parse(await response.text()).slice(0, 100);
    if (response.ok) return;
    const what = `Slack webhook of channel "${alert.channel}" answered ${response.status} ${body}`;
    if (response.status === 429) throw new AlertRateLimitedError(what, retryAfterMs(response.headers.get('retry-after')));
    if ([400, 403, 404, 410].includes(response.status)) throw new AlertConfigError(what);
    throw new Error(what);
  }

  async function sendSlackBot(key: string, channel: Extract<AlertChannel, { type: 'slack' }>, alert: RenderedAlert): Promise<void> {
    let client = slackClients.get(key);
    if (!client) {
      // Retries are BullMQ's (one policy): the client itself does not retry or wait out a 429.
      client = new WebClient(secret(channel.tokenEnv, `Slack channel "${alert.channel}"`), {
        ...(channel.apiUrl ? { slackApiUrl: channel.apiUrl } : {}),
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: SEND_TIMEOUT_MS,
      });
      slackClients.set(key, client);
    }
    try {
      await client.chat.postMessage({ channel: channel.channel ?? '', text: alert.message.text, mrkdwn: true, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: alert.message.markdown.slice(0, 3000) } }] });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === SlackErrorCode.RateLimitedError) {
        const seconds = (err as { retryAfter?: unknown }).retryAfter;
        throw new AlertRateLimitedError(`Slack chat.postMessage for channel "${alert.channel}" was rate limited`, retryAfterMs(typeof seconds === 'number' ? String(seconds) : null));
      }
      const apiError = (err as { data?: { error?: unknown } }).data?.error;
      const what = `Slack chat.postMessage for channel "${alert.channel}" failed: ${typeof apiError === 'string' ? apiError : err instanceof Error ? err.message : String(err)}`;
      // Platform errors such as channel_not_found, not_in_channel, invalid_auth do not go away by retrying.
      if (code === SlackErrorCode.PlatformError && typeof apiError === 'string' && /not_found|not_in_channel|invalid_auth|account_inactive|token_revoked|is_archived/.test(apiError)) {
        throw new AlertConfigError(what, { cause: err });
      }
      throw new Error(what, { cause: err });
    }
  }

  async function sendEmail(key: string, channel: Extract<AlertChannel, { type: 'email' }>, alert: RenderedAlert): Promise<void> {
    let transport = transports.get(key);
    if (!transport) {
      const user = channel.userEnv ? secret(channel.userEnv, `email channel "${alert.channel}"`) : undefined;
      const pass = channel.passwordEnv ? secret(channel.passwordEnv, `email channel "${alert.channel}"`) : undefined;
      transport = smtpTransport(channel, user, pass, SEND_TIMEOUT_MS);
      transports.set(key, transport);
    }
    try {
      await transport.sendMail({ from: channel.from, to: alert.to, subject: alert.message.subject, text: alert.message.text, messageId: alert.messageId });
    } catch (err) {
      const responseCode = (err as { responseCode?: unknown }).responseCode;
      const what = `email channel "${alert.channel}": ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
      // A 5xx reply is permanent (RFC 5321 4.2.1); 4xx and connection failures are worth a retry.
      if (typeof responseCode === 'number' && responseCode >= 500) throw new AlertConfigError(what, { cause: err });
      throw new Error(what, { cause: err });
    }
  }

  return {
    async send(channel, alert) {
      if (channel.type === 'email') return sendEmail(alert.channel, channel, alert);
      if (channel.webhookUrlEnv) return sendSlackWebhook(secret(channel.webhookUrlEnv, `Slack channel "${alert.channel}"`), alert);
      return sendSlackBot(alert.channel, channel, alert);
    },
    async close() {
      for (const transport of transports.values()) transport.close();
      transports.clear();
    },
  };
}

function toPerson(owner: { id: string; name: string; email: string | null } | undefined, id: string | null | undefined): AlertPerson | null {
  if (!id) return null;
  return owner ? { id, name: owner.name, email: owner.email } : { id, name: null, email: null };
}

/** What one queued alert says and to whom; null when there is nothing to send any more. */
export async function renderQueuedAlert(ctx: SyncContext, job: AlertJob): Promise<{ channel: AlertChannel; alert: RenderedAlert } | null> {
  const config = ctx.config.file.alerts;
  const channel = Object.hasOwn(config.channels, job.channel) ? config.channels[job.channel] : undefined;
  if (channel === undefined) throw new AlertConfigError(`channel "${job.channel}" is no longer in the config`);
  if (job.event.kind === 'target_behind') {
    const to = channel.type === 'email' && job.recipient.kind === 'address' ? [job.recipient.address] : [];
    if (channel.type === 'email' && to.length === 0) return null;
    return { channel, alert: { channel: job.channel, to, message: renderTargetAlert(job.event), messageId: `<${digest(job.key)}@smarketing.alerts>` } };
  }
  const found = await ctx.leads.get(job.event.leadId);
  if (!found) return null;
  await ctx.owners.refresh();
  const owners = ctx.owners.list('salesforce');
  const ownerOf = (id: string | null | undefined) => toPerson(owners.find((o) => o.id === id), id);
  const owner = ownerOf(job.event.ownerId);
  const to = await recipientAddresses(job.recipient, owner, channel);
  const reps = ctx.config.file.reps;
  const repTz = job.event.ownerId && Object.hasOwn(reps, job.event.ownerId) ? reps[job.event.ownerId]?.tz : undefined;
  const message = renderAlert({
    lead: found.lead,
    event: job.event,
    owner,
    fromOwner: ownerOf(job.event.fromOwnerId),
    tz: repTz ?? ctx.config.file.sla.firstTouch.calendar.tz,
    links: recordLinks(found.lead, config.links, ctx.config.env.SALESFORCE_INSTANCE_URL ?? null),
    reasons: config.reasons,
  });
  return { channel, alert: { channel: job.channel, to, message, messageId: `<${digest(job.key)}@smarketing.alerts>`, leadName: alertLeadName(found.lead), leadId: found.lead.id } };
}

async function recipientAddresses(recipient: AlertRecipient, owner: AlertPerson | null, channel: AlertChannel): Promise<string[]> {
  if (channel.type === 'slack') return [];
  if (recipient.kind === 'address') return [recipient.address];
  if (recipient.kind === 'owner') {
    if (!owner?.email) throw new AlertConfigError(`owner ${recipient.ownerId} has no email address in Salesforce`);
    return [owner.email];
  }
  throw new AlertConfigError('an email route needs recipients');
}

export type AlertOutcome = 'sent' | 'duplicate' | 'gone' | 'unconfirmed';

/**
 * Sends one queued alert once. The delivery mark is taken before sending and names the job; it
 * becomes "sent" after, and is released when the send fails (so the retry sends). Finding the mark
 * of this very job still "sending" means the worker that held the job stopped in the middle of a
 * send (killed, or its lock lapsed): whether Slack or the mail server took the message is unknown,
 * and sending again could tell the rep twice. It is not sent again; sync errors say so, naming the
 * channel, so an admin can look.
 */
export async function processAlert(ctx: SyncContext, job: AlertJob, sender: AlertSender, jobId = alertJobId(job.key)): Promise<AlertOutcome> {
  const mark = ctx.keys.alertSent(digest(job.key));
  const taken = await ctx.redis.set(mark, `sending:${jobId}`, 'EX', SENT_TTL_S, 'NX');
  if (taken !== 'OK') {
    const state = await ctx.redis.get(mark);
    if (state === 'sent' || state === 'unconfirmed') return 'duplicate';
    if (state !== null) {
      await ctx.redis.set(mark, 'unconfirmed', 'EX', SENT_TTL_S);
      await reportAlertProblem(ctx, job, 'ALERT_UNCONFIRMED', `${describeAlert(job)} may not have been sent: the worker stopped while sending it; it is not sent again so that nobody gets it twice`);
      return 'unconfirmed';
    }
    // Released in between by a failed attempt: this attempt sends.
    return processAlert(ctx, job, sender, jobId);
  }
  let rendered;
  try {
    rendered = await renderQueuedAlert(ctx, job);
    if (rendered === null) {
      await ctx.redis.set(mark, 'sent', 'EX', SENT_TTL_S);
      return 'gone';
    }
    await sender.send(rendered.channel, rendered.alert);
  } catch (err) {
    await ctx.redis.del(mark);
    throw err;
  }
  await ctx.redis.set(mark, 'sent', 'EX', SENT_TTL_S);
  ctx.logger.info({ leadId: job.event.leadId, event: job.event.kind, channel: job.channel }, 'alert sent');
  return 'sent';
}

/** An alert that was not (or maybe not) sent, in sync errors on the lead's record; `field` is the channel. */
export async function reportAlertProblem(ctx: SyncContext, job: AlertJob, code: string, message: string): Promise<void> {
  const found = await ctx.leads.get(job.event.leadId);
  const sf = found?.lead.links.salesforce;
  const hs = found?.lead.links.hubspot;
  await ctx.errors.record({
    crm: sf ? 'salesforce' : 'hubspot',
    object: sf ? sf.object : hs ? 'contact' : null,
    recordId: sf ? sf.id : (hs?.id ?? null),
    leadId: job.event.leadId,
    code,
    field: job.channel,
    message,
    stage: 'alert',
  }, ctx.clock.now());
}

/** Who an alert was for, for the sync-errors report (no addresses: those are personal values). */
export function describeAlert(job: AlertJob): string {
  const who = job.recipient.kind === 'owner' ? `owner ${job.recipient.ownerId}` : job.recipient.kind === 'address' ? 'a configured address' : 'its channel';
  return `the ${job.event.kind} alert to ${who} through channel "${job.channel}"`;
}
