/**
 * Alerts people notice: which rule events become messages, to whom, through which channel, and
 * what the message says. Pure: the shell (jobs/alerts.ts) queues one job per message and sends it
 * through Slack or SMTP. A message is identified by its event (lead, kind, instant), its channel and
 * its recipient, so a rerun of the evaluation that produced the event names the same message and
 * the shell sends it once.
 *
 * Secrets never appear here: the config names the environment variables that hold them.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { Lead } from '../model/lead.js';
import { isValidTimeZone } from './business-time.js';
import type { RoutingConfig } from './config.js';
import type { MqlProgress } from './targets.js';
import { selectPool } from './routing.js';
import { parseInstant } from './time.js';

export const ALERT_EVENTS = ['handoff', 'reminder', 'breach', 'escalation', 'rejection', 'target_behind'] as const;
export type AlertEventKind = (typeof ALERT_EVENTS)[number];

/** The name of the variable holding a secret. A value that is not a name may be the secret itself: never echoed. */
const envName = z.string().superRefine((name, ctx) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    ctx.addIssue({ code: 'custom', message: 'expected the name of an environment variable such as SMK_SLACK_WEBHOOK_URL (the secret itself never goes in the file)', input: undefined });
  }
});

const channelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a channel name of letters, digits, -, _ or .');
const poolName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a pool name of letters, digits, -, _ or .');
const emailAddress = z.email({ error: (issue) => `expected an email address, got ${JSON.stringify(issue.input)}` });

const slackChannelSchema = z
  .strictObject({
    type: z.literal('slack'),
    /** An incoming webhook: the variable holds the https://hooks.slack.com/... URL. */
    webhookUrlEnv: envName.optional(),
    /** A bot token (xoxb-...) used through @slack/web-api chat.postMessage, with `channel`. */
    tokenEnv: envName.optional(),
    /** The Slack channel id or name the bot posts to. */
    channel: z.string().trim().min(1).max(80).optional(),
    /** The Web API base for a bot token (GovSlack: https://slack-gov.com/api/). */
    apiUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .superRefine((value, ctx) => {
    if ((value.webhookUrlEnv === undefined) === (value.tokenEnv === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a Slack channel needs exactly one of webhookUrlEnv (an incoming webhook) or tokenEnv (a bot token)' });
    }
    if (value.tokenEnv !== undefined && value.channel === undefined) {
      ctx.addIssue({ code: 'custom', path: ['channel'], message: 'a bot token posts to a channel: give channel (such as C0123456789 or #sales)' });
    }
  });

const emailChannelSchema = z.strictObject({
  type: z.literal('email'),
  host: z.string().trim().min(1),
  port: z.number().int().min(1).max(65_535).default(587),
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  userEnv: envName.optional(),
  passwordEnv: envName.optional(),
  /** The sender, such as `Smarketing <alerts@example.com>`. */
  from: z.string().trim().min(3),
});

export const alertChannelSchema = z.discriminatedUnion('type', [slackChannelSchema, emailChannelSchema]);
export type AlertChannel = z.infer<typeof alertChannelSchema>;

const recipientsSchema = z.union([z.literal('owner'), z.literal('manager'), z.array(emailAddress).min(1)]);

const alertRouteSchema = z.strictObject({
  events: z.array(z.enum(ALERT_EVENTS)).min(1),
  channel: channelName,
  /** Email: the lead's owner, the pool's manager, or fixed addresses. Slack posts to its channel. */
  to: recipientsSchema.optional(),
  /** Only leads of these routing pools (all leads when absent). */
  pools: z.array(poolName).min(1).optional(),
});
export type AlertRoute = z.infer<typeof alertRouteSchema>;

export const alertsSchema = z
  .strictObject({
    channels: z.record(channelName, alertChannelSchema).default({}),
    routes: z.array(alertRouteSchema).default([]),
    /** The manager of each routing pool (escalations go there with `to: manager`). */
    managers: z.record(poolName, emailAddress).default({}),
    links: z
      .strictObject({
        /** The HubSpot account id, for links to the contact (the number in app.hubspot.com/contacts/<id>). */
        hubspotPortalId: z.number().int().positive().optional(),
        hubspotAppUrl: z.url({ protocol: /^https$/ }).default('https://app.hubspot.com'),
        /** The Salesforce Lightning base URL; defaults to SALESFORCE_INSTANCE_URL. */
        salesforceUrl: z.url({ protocol: /^https?$/ }).optional(),
      })
      .prefault({}),
    /** Messages sent per minute at most, over all channels (Slack takes about one a second per webhook). */
    maxPerMinute: z.number().int().min(1).max(6000).default(60),
    /** How many of the score's reasons a message lists. */
    reasons: z.number().int().min(0).max(10).default(3),
  })
  .superRefine((value, ctx) => {
    value.routes.forEach((route, index) => {
      const channel = Object.hasOwn(value.channels, route.channel) ? value.channels[route.channel] : undefined;
      if (channel === undefined) {
        const known = Object.keys(value.channels);
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'channel'],
          message: `unknown channel "${route.channel}" (${known.length === 0 ? 'no channels are defined' : `known channels: ${known.join(', ')}`})`,
        });
        return;
      }
      if (channel.type === 'email' && route.to === undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'to'], message: 'an email route needs to: owner, manager or a list of addresses' });
      }
      if (channel.type === 'slack' && route.to !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'to'], message: 'a Slack route posts to its channel: leave out to' });
      }
    });
  });
export type AlertsConfig = z.infer<typeof alertsSchema>;

/** The environment variables the alerts config names, with where each is named (for clear errors). */
export function alertSecretNames(config: AlertsConfig): Array<{ name: string; path: string; optional: boolean }> {
  const out: Array<{ name: string; path: string; optional: boolean }> = [];
  for (const [key, channel] of Object.entries(config.channels)) {
    if (channel.type === 'slack') {
      if (channel.webhookUrlEnv) out.push({ name: channel.webhookUrlEnv, path: `alerts.channels.${key}.webhookUrlEnv`, optional: false });
      if (channel.tokenEnv) out.push({ name: channel.tokenEnv, path: `alerts.channels.${key}.tokenEnv`, optional: false });
    } else {
      if (channel.userEnv) out.push({ name: channel.userEnv, path: `alerts.channels.${key}.userEnv`, optional: false });
      if (channel.passwordEnv) out.push({ name: channel.passwordEnv, path: `alerts.channels.${key}.passwordEnv`, optional: false });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// events

/** One thing that happened to a lead that people may be told about. Ids only: no personal values. */
export const alertEventSchema = z.object({
  kind: z.enum(ALERT_EVENTS),
  leadId: z.string(),
  /** When it happened (the rule's own date, so a rerun names the same event). */
  at: z.string(),
  /** The rep the message is about: the new owner on a handoff or reassignment. */
  ownerId: z.string().nullable(),
  /** The previous owner, on a reassignment. */
  fromOwnerId: z.string().nullable().optional(),
  pool: z.string().nullable().optional(),
  /** escalation: notify or reassign; rejection: where the lead went. */
  action: z.string().nullable().optional(),
  /** escalation: how the next owner was chosen; rejection: the rep's reason code. */
  reason: z.string().nullable().optional(),
});
export type AlertEvent = z.infer<typeof alertEventSchema>;

/** The rule events the evaluation emitted (src/rules/evaluate.ts RuleEvent), as alert events. */
export function alertEventsOf(
  lead: Lead,
  events: ReadonlyArray<{ type: string; at: string; detail: Record<string, string | number | null> }>,
): AlertEvent[] {
  const out: AlertEvent[] = [];
  const owner = lead.sales?.ownerId ?? null;
  const text = (value: string | number | null | undefined): string | null => (value === null || value === undefined ? null : String(value));
  for (const event of events) {
    if (event.type === 'handoff' && event.detail.ownerId) {
      out.push({ kind: 'handoff', leadId: lead.id, at: event.at, ownerId: text(event.detail.ownerId), pool: text(event.detail.pool) });
    } else if (event.type === 'sla_breached') {
      out.push({ kind: 'breach', leadId: lead.id, at: event.at, ownerId: owner });
    } else if (event.type === 'sla_escalated') {
      const reassigned = event.detail.action === 'reassign';
      out.push({
        kind: 'escalation',
        leadId: lead.id,
        at: event.at,
        ownerId: reassigned ? text(event.detail.ownerId) : text(event.detail.fromOwnerId),
        fromOwnerId: text(event.detail.fromOwnerId),
        action: reassigned ? 'reassign' : 'notify',
        reason: text(event.detail.reason),
      });
    } else if ((event.type === 'recycled' || event.type === 'disqualified') && String(event.detail.cause ?? '').includes('rejected by sales')) {
      out.push({ kind: 'rejection', leadId: lead.id, at: event.at, ownerId: owner, action: event.type, reason: lead.sales?.rejectReason ?? null });
    }
  }
  return out;
}

/** A reminder is due while the SLA still runs and the reminder falls before its due time. */
export function reminderEvent(lead: Lead, reminderAt: string): AlertEvent | null {
  const sla = lead.sla;
  if (sla?.status !== 'running' || !sla.dueAt || !sla.startedAt) return null;
  const at = parseInstant(reminderAt);
  if (!(at >= parseInstant(sla.startedAt) && at < parseInstant(sla.dueAt))) return null;
  return { kind: 'reminder', leadId: lead.id, at: new Date(at).toISOString(), ownerId: lead.sales?.ownerId ?? null };
}

/** The lead id a target alert carries: it is about the month, not a lead. */
export const TARGET_LEAD_ID = '-';

/**
 * Marketing behind its MQL pace (src/rules/targets.ts mqlProgress): one event per local day while
 * behind, so a channel hears of it daily at most.
 */
export function targetBehindEvent(progress: MqlProgress, now: Date, tz: string): AlertEvent | null {
  if (progress.onTrack !== false || progress.target === null || progress.expectedByNow === null) return null;
  const day = DateTime.fromMillis(now.getTime(), { zone: isValidTimeZone(tz) ? tz : 'UTC' }).startOf('day').toUTC().toISO();
  if (day === null) return null;
  const behindBy = progress.expectedByNow - progress.count;
  return {
    kind: 'target_behind',
    leadId: TARGET_LEAD_ID,
    at: day,
    ownerId: null,
    reason: `${progress.count} of ${progress.target} MQLs in ${progress.month}: behind the pace by ${behindBy} (${progress.expectedByNow} expected by now, ${progress.projected} projected)`,
  };
}

/** The message of a target alert (no lead, no owner). */
export function renderTargetAlert(event: AlertEvent): AlertMessage {
  const title = 'MQL target behind pace';
  const detail = event.reason ?? '';
  return { subject: `${title}: ${detail}`.slice(0, 200), text: `${title}\n\n${detail}`, markdown: `*${title}*\n${slackEscape(detail)}` };
}

// ---------------------------------------------------------------------------------------------
// who hears about it

export type AlertRecipient = { kind: 'channel' } | { kind: 'owner'; ownerId: string } | { kind: 'address'; address: string };

export interface PlannedAlert {
  /** Identifies the message: one send per key, whatever reruns and retries happen. */
  key: string;
  channel: string;
  recipient: AlertRecipient;
  event: AlertEvent;
}

function recipientKey(recipient: AlertRecipient): string {
  if (recipient.kind === 'channel') return 'channel';
  if (recipient.kind === 'owner') return `owner:${recipient.ownerId}`;
  return `to:${recipient.address.toLowerCase()}`;
}

/** The pool a lead belongs to for alert routes: the handoff's own, else the routing rules'. */
export function alertPool(event: AlertEvent, lead: Lead | null, routing: RoutingConfig): string | null {
  if (event.pool != null || lead === null) return event.pool ?? null;
  return selectPool(lead, routing).pool;
}

/** The messages an event calls for under the config's routes, one per channel and recipient. */
export function planAlerts(event: AlertEvent, lead: Lead | null, config: AlertsConfig, routing: RoutingConfig): PlannedAlert[] {
  const pool = alertPool(event, lead, routing);
  const out = new Map<string, PlannedAlert>();
  for (const route of config.routes) {
    if (!route.events.includes(event.kind)) continue;
    if (route.pools !== undefined && (pool === null || !route.pools.includes(pool))) continue;
    const recipients: AlertRecipient[] = [];
    if (route.to === undefined) recipients.push({ kind: 'channel' });
    else if (route.to === 'owner') {
      if (event.ownerId) recipients.push({ kind: 'owner', ownerId: event.ownerId });
    } else if (route.to === 'manager') {
      const manager = pool !== null && Object.hasOwn(config.managers, pool) ? config.managers[pool] : undefined;
      if (manager !== undefined) recipients.push({ kind: 'address', address: manager });
    } else {
      for (const address of route.to) recipients.push({ kind: 'address', address });
    }
    for (const recipient of recipients) {
      const key = [event.leadId, event.kind, event.at, route.channel, recipientKey(recipient)].join('|');
      if (!out.has(key)) out.set(key, { key, channel: route.channel, recipient, event: { ...event, pool } });
    }
  }
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------------
// what it says

export interface AlertPerson {
  id: string;
  name: string | null;
  email: string | null;
}

export interface AlertFacts {
  lead: Lead;
  event: AlertEvent;
  owner: AlertPerson | null;
  fromOwner?: AlertPerson | null;
  /** The zone the due time is shown in: the rep's own, else the SLA calendar's. */
  tz: string;
  links: { hubspot: string | null; salesforce: string | null };
  reasons: number;
}

export interface AlertMessage {
  subject: string;
  /** Plain text: the email body, and the Slack fallback text. */
  text: string;
  /** Slack mrkdwn. */
  markdown: string;
}

/** The lead's name as messages show it. */
export function alertLeadName(lead: Lead): string {
  return leadName(lead);
}

function leadName(lead: Lead): string {
  const name = [lead.person?.firstName, lead.person?.lastName].filter((p) => p != null && p.trim() !== '').join(' ');
  return name !== '' ? name : (lead.email ?? lead.id);
}

function personName(person: AlertPerson | null | undefined): string {
  if (!person) return 'no owner';
  return person.name?.trim() || person.email || person.id;
}

/** `Mon 23 Nov 2026, 14:00 EST`: a due time as the rep reads it. */
export function formatLocal(iso: string, tz: string): string {
  const zone = isValidTimeZone(tz) ? tz : 'UTC';
  return DateTime.fromMillis(parseInstant(iso), { zone }).toFormat('ccc d LLL yyyy, HH:mm ZZZZ');
}

/** Slack mrkdwn treats &, < and > as control characters (api.slack.com/reference/surfaces/formatting#escaping). */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function headline(facts: AlertFacts): string {
  const { event, lead } = facts;
  const who = leadName(lead);
  switch (event.kind) {
    case 'handoff':
      return `New MQL for ${personName(facts.owner)}: ${who}`;
    case 'reminder':
      return `Reminder: first touch due for ${who}`;
    case 'breach':
      return `SLA breached: ${who} was not touched in time`;
    case 'escalation':
      return event.action === 'reassign'
        ? `SLA escalation: ${who} reassigned from ${personName(facts.fromOwner)} to ${personName(facts.owner)}`
        : `SLA escalation: ${who} is still untouched by ${personName(facts.owner)}`;
    case 'rejection':
      return `Rejected by sales: ${who}${event.reason ? ` (${event.reason})` : ''}`;
    case 'target_behind':
      return 'MQL target behind pace';
  }
}

/** The message for one planned alert: the lead's name, company, score, grade, reasons, due time and links. */
export function renderAlert(facts: AlertFacts): AlertMessage {
  const { lead, event } = facts;
  const title = headline(facts);
  const score = lead.score;
  const grade = score ? score.grade.charAt(0).toUpperCase() + score.grade.slice(1) : null;
  const lines: Array<[string, string]> = [];
  lines.push(['Lead', leadName(lead)]);
  if (lead.company?.name) lines.push(['Company', lead.company.name]);
  if (score) lines.push(['Score', `${score.total} (${grade})`]);
  lines.push(['Owner', personName(facts.owner)]);
  if (lead.sla?.dueAt && event.kind !== 'rejection') lines.push([event.kind === 'breach' || event.kind === 'escalation' ? 'Was due' : 'Due', formatLocal(lead.sla.dueAt, facts.tz)]);
  if (event.kind === 'rejection' && event.reason) lines.push(['Reason', event.reason]);
  if (event.kind === 'rejection' && event.action) lines.push(['Now', event.action]);
  const reasons = (score?.reasons ?? []).slice(0, facts.reasons);
  const links: Array<[string, string]> = [];
  if (facts.links.salesforce) links.push(['Salesforce', facts.links.salesforce]);
  if (facts.links.hubspot) links.push(['HubSpot', facts.links.hubspot]);

  const text = [
    title,
    '',
    ...lines.map(([k, v]) => `${k}: ${v}`),
    ...(reasons.length > 0 ? ['', 'Why:', ...reasons.map((r) => `- ${r}`)] : []),
    ...(links.length > 0 ? ['', ...links.map(([k, v]) => `${k}: ${v}`)] : []),
  ].join('\n');
  const markdown = [
    `*${slackEscape(title)}*`,
    ...lines.map(([k, v]) => `*${k}:* ${slackEscape(v)}`),
    ...(reasons.length > 0 ? [`*Why:* ${reasons.map(slackEscape).join('; ')}`] : []),
    ...(links.length > 0 ? [links.map(([k, v]) => `<${v}|${k}>`).join(' · ')] : []),
  ].join('\n');
  return { subject: title.slice(0, 200), text, markdown };
}

/** Links to the lead's records: Salesforce Lightning and the HubSpot contact. */
export function recordLinks(lead: Lead, links: AlertsConfig['links'], salesforceBase: string | null): AlertFacts['links'] {
  const sf = lead.links.salesforce;
  const hs = lead.links.hubspot;
  const base = (links.salesforceUrl ?? salesforceBase ?? '').replace(/\/+$/, '');
  return {
    salesforce: sf && base ? `${base}/lightning/r/${sf.object}/${encodeURIComponent(sf.id)}/view` : null,
    hubspot: hs && links.hubspotPortalId ? `${links.hubspotAppUrl.replace(/\/+$/, '')}/contacts/${links.hubspotPortalId}/record/0-1/${encodeURIComponent(hs.id)}` : null,
  };
}
