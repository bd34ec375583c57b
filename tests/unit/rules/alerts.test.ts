import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from '../../../src/config.js';
import type { Lead } from '../../../src/model/lead.js';
import { alertEventsOf, alertsSchema, formatLocal, planAlerts, reminderEvent } from '../../../src/rules/alerts.js';
import { defaultRulesConfig, routingSchema } from '../../../src/rules/config.js';

const lead: Lead = {
  id: 'L1',
  email: 'ana@acme.com',
  updatedAt: '2026-11-23T15:00:00.000Z',
  links: { salesforce: { object: 'Lead', id: '00Q1' } },
  person: { firstName: 'Ana', lastName: 'Ruiz', country: 'US' },
  company: { name: 'Acme' },
  marketing: { engagement: [] },
  sales: { ownerId: '005A' },
  sla: { startedAt: '2026-11-23T15:00:00.000Z', handoffAt: '2026-11-23T15:00:00.000Z', dueAt: '2026-11-23T19:00:00.000Z', status: 'running', metAt: null, breachedAt: null, escalations: 0 },
} as Lead;

const routing = routingSchema.parse({
  rules: [{ when: { field: 'person.country', in: ['US'] }, pool: 'na' }],
  pools: { na: { members: [{ owner: '005A' }, { owner: '005B' }] }, emea: { members: [{ owner: '005C' }] } },
});

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'smarketing.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('alerts config', () => {
  it('names what is wrong: an unknown channel, a Slack channel without a secret, an email route without recipients', () => {
    const found = problems(`
alerts:
  channels:
    team: { type: slack, webhookUrlEnv: TEAM_HOOK }
    bot: { type: slack, tokenEnv: SLACK_BOT_TOKEN, channel: C01 }
    mail: { type: email, host: smtp.example.com, from: "alerts@example.com" }
  routes:
    - { events: [handoff], channel: nowhere }
    - { events: [handoff], channel: mail }
    - { events: [breach], channel: team, to: owner }
`).join('\n');
    const channels = problems(`
alerts:
  channels:
    team: { type: slack }
    bot: { type: slack, tokenEnv: SLACK_BOT_TOKEN }
`).join('\n');
    expect(channels).toMatch(/alerts\.channels\.team.*exactly one of webhookUrlEnv .* or tokenEnv/);
    expect(channels).toMatch(/alerts\.channels\.bot\.channel.*a bot token posts to a channel/);
    expect(found).toMatch(/alerts\.routes\[0\]\.channel.*unknown channel "nowhere" \(known channels: team, bot, mail\)/);
    expect(found).toMatch(/alerts\.routes\[1\]\.to.*an email route needs to: owner, manager or a list of addresses/);
    expect(found).toMatch(/alerts\.routes\[2\]\.to.*a Slack route posts to its channel/);
    expect(problems('alerts:\n  channels: { team: { type: slack, webhookUrlEnv: X } }\n  routes: [{ events: [lunch], channel: team }]\n').join('\n')).toMatch(/alerts\.routes\[0\]\.events\[0\]: expected one of "handoff", "reminder", "breach", "escalation", "rejection", "target_behind", got "lunch"/);
  });

  it('refuses a secret in the file instead of the name of its variable', () => {
    const found = problems(`
alerts:
  channels:
    team: { type: slack, webhookUrlEnv: "https://hooks.slack.com/services/T/B/x" }
`).join('\n');
    expect(found).toMatch(/alerts\.channels\.team\.webhookUrlEnv: .*name of an environment variable/);
    expect(found).not.toContain('hooks.slack.com');
  });

  it('refuses to start when a variable it names is not set, naming the variable and never a value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smk-alerts-'));
    const path = join(dir, 'smarketing.yaml');
    writeFileSync(path, 'alerts:\n  channels:\n    team: { type: slack, webhookUrlEnv: TEAM_WEBHOOK }\n    mail: { type: email, host: smtp.example.com, from: a@example.com, userEnv: SMTP_USER, passwordEnv: SMTP_PASSWORD }\n');
    expect(() => loadConfig({ path, env: { SMTP_USER: 'u', SMTP_PASSWORD: 'p' } })).toThrow(/alerts\.channels\.team\.webhookUrlEnv: the environment variable TEAM_WEBHOOK is not set/);
    const config = loadConfig({ path, env: { TEAM_WEBHOOK: 'https://hooks.example/x', SMTP_USER: 'u', SMTP_PASSWORD: 'p' } });
    expect(config.secrets).toEqual({ TEAM_WEBHOOK: 'https://hooks.example/x', SMTP_USER: 'u', SMTP_PASSWORD: 'p' });
  });
});

describe('which messages an event calls for', () => {
  const config = alertsSchema.parse({
    channels: {
      na: { type: 'slack', webhookUrlEnv: 'NA_HOOK' },
      emea: { type: 'slack', webhookUrlEnv: 'EMEA_HOOK' },
      mail: { type: 'email', host: 'smtp.example.com', from: 'a@example.com' },
    },
    routes: [
      { events: ['handoff', 'breach'], channel: 'na', pools: ['na'] },
      { events: ['handoff'], channel: 'emea', pools: ['emea'] },
      { events: ['handoff', 'reminder'], channel: 'mail', to: 'owner' },
      { events: ['escalation'], channel: 'mail', to: 'manager' },
      { events: ['rejection'], channel: 'mail', to: ['marketing@example.com'] },
    ],
    managers: { na: 'boss@example.com' },
  });

  it('goes to the lead\'s pool channel and to the owner, each message with its own key', () => {
    const planned = planAlerts({ kind: 'handoff', leadId: 'L1', at: '2026-11-23T15:00:00.000Z', ownerId: '005A', pool: 'na' }, lead, config, routing);
    expect(planned.map((p) => [p.channel, p.recipient])).toEqual([
      ['na', { kind: 'channel' }],
      ['mail', { kind: 'owner', ownerId: '005A' }],
    ]);
    expect(new Set(planned.map((p) => p.key)).size).toBe(2);
  });

  it('finds the pool from the routing rules when the event does not carry it, and the manager of that pool', () => {
    const planned = planAlerts({ kind: 'escalation', leadId: 'L1', at: '2026-11-24T15:00:00.000Z', ownerId: '005A', action: 'notify' }, lead, config, routing);
    expect(planned).toEqual([expect.objectContaining({ channel: 'mail', recipient: { kind: 'address', address: 'boss@example.com' } })]);
  });

  it('turns rule events into alert events: handoff, breach, escalation and a rejection with its reason', () => {
    const events = alertEventsOf({ ...lead, sales: { ownerId: '005A', rejectReason: 'no-budget' } } as Lead, [
      { type: 'handoff', at: 't1', detail: { ownerId: '005A', pool: 'na', via: 'pool' } },
      { type: 'handoff', at: 't1', detail: { ownerId: null, pool: null, via: 'none' } },
      { type: 'sla_breached', at: 't2', detail: { cause: 'no touch by the due time' } },
      { type: 'sla_escalated', at: 't3', detail: { index: 1, action: 'reassign', fromOwnerId: '005A', ownerId: '005B', reason: 'SLA escalation' } },
      { type: 'recycled', at: 't4', detail: { from: 'mql', cause: 'rejected by sales: no-budget' } },
      { type: 'recycled', at: 't5', detail: { from: 'mql', cause: 'no progress for 90 days in MQL' } },
    ]);
    expect(events.map((e) => [e.kind, e.ownerId, e.fromOwnerId ?? null, e.reason ?? null])).toEqual([
      ['handoff', '005A', null, null],
      ['breach', '005A', null, null],
      ['escalation', '005B', '005A', 'SLA escalation'],
      ['rejection', '005A', null, 'no-budget'],
    ]);
  });

  it('reminds only while the SLA runs and before it is due', () => {
    expect(reminderEvent(lead, '2026-11-23T18:00:00.000Z')).toMatchObject({ kind: 'reminder', ownerId: '005A' });
    expect(reminderEvent(lead, '2026-11-23T19:00:00.000Z')).toBeNull();
    expect(reminderEvent({ ...lead, sla: { ...lead.sla!, status: 'met' } } as Lead, '2026-11-23T18:00:00.000Z')).toBeNull();
  });

  it('shows times in the rep\'s zone', () => {
    expect(formatLocal('2026-11-23T19:00:00.000Z', 'America/Los_Angeles')).toBe('Mon 23 Nov 2026, 11:00 PST');
    expect(defaultRulesConfig().reps).toEqual({});
  });
});
