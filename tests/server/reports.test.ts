import { describe, expect, it } from 'vitest';
import type { Lead, Stage } from '../../src/model/lead.js';
import { countEvents, feedbackReport, funnelReport, furthestRank, median, NO_REASON, NO_SOURCE, ReportBuilder, slaReport, UNASSIGNED } from '../../src/server/reports.js';
import { makeLead } from './helpers.js';

const at = (h: number) => new Date(Date.UTC(2025, 2, 3, h)).toISOString();

function staged(id: string, current: Stage, history: Stage[] = [], marketing: Partial<Lead['marketing']> = {}): Lead {
  return makeLead(id, {
    stage: { current, history: history.map((stage, i) => ({ stage, at: at(i), cause: 'test' })) },
    marketing: { engagement: [], ...marketing },
  });
}

describe('furthestRank', () => {
  it.each<[string, Lead, number]>([
    ['not evaluated', makeLead('L1'), 0],
    ['lead', staged('L1', 'lead'), 0],
    ['subscriber', staged('L1', 'subscriber'), 0],
    ['mql now', staged('L1', 'mql', ['mql']), 1],
    ['sql after mql, sal skipped', staged('L1', 'sql', ['mql', 'sql']), 3],
    ['customer', staged('L1', 'customer'), 5],
    ['recycled after sal', staged('L1', 'recycled', ['mql', 'sal', 'recycled']), 2],
    ['disqualified straight from lead', staged('L1', 'disqualified', ['disqualified']), 0],
  ])('%s', (_name, lead, rank) => {
    expect(furthestRank(lead)).toBe(rank);
  });
});

describe('median', () => {
  it.each<[number[], number | null]>([
    [[], null],
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median(%j) = %j', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('funnelReport', () => {
  const leads = [
    staged('L1', 'lead', [], { source: 'Webinar', campaign: 'Q1 launch' }),
    staged('L2', 'mql', ['mql'], { source: 'Webinar', campaign: 'Q1 launch' }),
    staged('L3', 'sal', ['mql', 'sal'], { source: 'Paid search' }),
    staged('L4', 'sql', ['mql', 'sql'], { source: 'Paid search' }),
    staged('L5', 'customer', ['mql', 'sal', 'sql', 'opportunity', 'customer'], { source: 'Webinar' }),
    staged('L6', 'recycled', ['mql', 'recycled'], { source: '  ' }),
    makeLead('L7'),
  ];

  it('counts each step as leads that reached it, with conversion from the step before', () => {
    const report = funnelReport(leads);
    expect(report.steps.map((s) => [s.step, s.count, s.conversion])).toEqual([
      ['leads', 7, null],
      ['mql', 5, 0.7143],
      ['sal', 3, 0.6],
      ['sql', 2, 0.6667],
      ['opportunity', 1, 0.5],
      ['customer', 1, 1],
    ]);
    expect(report.overallConversion).toBe(0.1429);
  });

  it.each<[string, string, Partial<Record<'leads' | 'mql' | 'sal' | 'sql' | 'customer', number>>]>([
    ['bySource', 'Webinar', { leads: 3, mql: 2, sal: 1, customer: 1 }],
    ['bySource', 'Paid search', { leads: 2, mql: 2, sal: 2, sql: 1 }],
    ['bySource', NO_SOURCE, { leads: 2, mql: 1 }],
    ['byCampaign', 'Q1 launch', { leads: 2, mql: 1 }],
    ['byCampaign', NO_SOURCE, { leads: 5, mql: 4, sal: 3 }],
  ])('%s %s', (dimension, key, expected) => {
    const report = funnelReport(leads);
    const rows = dimension === 'bySource' ? report.bySource : report.byCampaign;
    expect(rows.find((r) => r.key === key)).toMatchObject(expected);
  });

  it('has no conversion to divide by on an empty store', () => {
    const report = funnelReport([]);
    expect(report.steps.every((s) => s.count === 0 && s.conversion === null)).toBe(true);
    expect(report.overallConversion).toBeNull();
  });
});

function withSla(id: string, sla: Lead['sla'], ownerId: string | null = 'U1', sales: Partial<Lead['sales']> = {}, source = 'Webinar'): Lead {
  return makeLead(id, { sla, sales: { ownerId, ...sales }, marketing: { engagement: [], source } });
}

const handoff = '2025-03-03T09:00:00.000Z';
const met = (id: string, minutes: number, owner: string | null = 'U1') =>
  withSla(id, { status: 'met', handoffAt: handoff, startedAt: handoff, metAt: new Date(Date.parse(handoff) + minutes * 60_000).toISOString(), escalations: 0 }, owner);

describe('slaReport', () => {
  const leads = [
    met('L1', 30),
    met('L2', 90),
    met('L3', 60, 'U2'),
    withSla('L4', { status: 'breached', handoffAt: handoff, breachedAt: at(14), escalations: 1 }, 'U2'),
    withSla('L5', { status: 'running', handoffAt: handoff, escalations: 0 }, null),
    withSla('L6', { status: 'none', escalations: 0 }),
    makeLead('L7'),
  ];

  it('counts outcomes, compliance and the median time to first touch over met SLAs', () => {
    const report = slaReport(leads);
    expect(report).toMatchObject({ met: 3, breached: 1, running: 1, compliance: 0.75, medianFirstTouchMs: 60 * 60_000, escalations: 1 });
  });

  it.each<[string, { met: number; breached: number; running: number; compliance: number | null; medianFirstTouchMs: number | null }]>([
    ['U1', { met: 2, breached: 0, running: 0, compliance: 1, medianFirstTouchMs: 60 * 60_000 }],
    ['U2', { met: 1, breached: 1, running: 0, compliance: 0.5, medianFirstTouchMs: 60 * 60_000 }],
    [UNASSIGNED, { met: 0, breached: 0, running: 1, compliance: null, medianFirstTouchMs: null }],
  ])('by owner %s', (ownerId, expected) => {
    expect(slaReport(leads).byOwner.find((r) => r.ownerId === ownerId)).toMatchObject(expected);
  });

  it('falls back to startedAt and ignores impossible touch times', () => {
    const noHandoff = withSla('L1', { status: 'met', startedAt: handoff, metAt: '2025-03-03T09:10:00.000Z', escalations: 0 });
    const beforeStart = withSla('L2', { status: 'met', handoffAt: handoff, metAt: '2025-03-03T08:00:00.000Z', escalations: 0 });
    expect(slaReport([noHandoff, beforeStart]).medianFirstTouchMs).toBe(10 * 60_000);
  });

  it('adds the audit trail counts', () => {
    const events = [{ type: 'handoff' }, { type: 'sla_breached' }, { type: 'sla_breached' }, { type: 'scored' }];
    expect(slaReport([], events).events).toMatchObject({ handoff: 1, sla_breached: 2, sla_met: 0 });
  });
});

describe('countEvents', () => {
  it('adds a newer slice to earlier counts', () => {
    const first = countEvents([{ type: 'mql' }, { type: 'handoff' }]);
    expect(countEvents([{ type: 'mql' }, { type: 'removed' }], first)).toMatchObject({ mql: 2, handoff: 1 });
  });
});

describe('feedbackReport', () => {
  const decided = (id: string, source: string, decision: 'accepted' | 'rejected' | null, extra: Partial<Lead['sales']> = {}) =>
    withSla(id, { status: 'met', handoffAt: handoff, escalations: 0 }, 'U1', { decision, ...extra }, source);
  const leads = [
    decided('L1', 'Webinar', 'accepted', { qualityRating: 4 }),
    decided('L2', 'Webinar', 'rejected', { rejectReason: 'No budget', qualityRating: 2 }),
    decided('L3', 'Webinar', 'rejected', { rejectReason: 'No budget' }),
    decided('L4', 'Paid search', 'rejected', { rejectReason: 'Student' }),
    decided('L5', 'Paid search', 'rejected'),
    decided('L6', 'Paid search', null),
    makeLead('L7', { sales: { decision: 'accepted' }, marketing: { engagement: [], source: 'Event' } }),
    makeLead('L8'),
  ];

  it('rates decisions over decided leads and lists reasons by count', () => {
    const report = feedbackReport(leads);
    expect(report).toMatchObject({ handedOff: 7, accepted: 2, rejected: 4, pending: 1, acceptRate: 0.3333, rejectRate: 0.6667, averageQuality: 3, rated: 2 });
    expect(report.reasons).toEqual([
      { reason: 'No budget', count: 2 },
      { reason: NO_REASON, count: 1 },
      { reason: 'Student', count: 1 },
    ]);
  });

  it.each<[string, { handedOff: number; accepted: number; rejected: number; acceptRate: number | null; pending: number }]>([
    ['Webinar', { handedOff: 3, accepted: 1, rejected: 2, acceptRate: 0.3333, pending: 0 }],
    ['Paid search', { handedOff: 3, accepted: 0, rejected: 2, acceptRate: 0, pending: 1 }],
    ['Event', { handedOff: 1, accepted: 1, rejected: 0, acceptRate: 1, pending: 0 }],
  ])('by source %s', (source, expected) => {
    expect(feedbackReport(leads).bySource.find((r) => r.source === source)).toMatchObject(expected);
  });
});

describe('ReportBuilder', () => {
  it('takes leads in pages and counts stages for metrics', () => {
    const builder = new ReportBuilder();
    builder.addLeads([staged('L1', 'mql', ['mql'])]);
    builder.addLeads([staged('L2', 'mql', ['mql']), makeLead('L3')]);
    const reports = builder.build();
    expect(reports.leads).toBe(3);
    expect(reports.stages).toMatchObject({ mql: 2, none: 1, lead: 0 });
  });
});

describe('how each CRM is connected, for the dashboard card', () => {
  it.each([
    ['HubSpot by a private app token; no OAuth install without its app and SMK_PUBLIC_URL', 'hubspot', { HUBSPOT_ACCESS_TOKEN: 'pat-na1-1234567890' }, /private app token/, false],
    ['HubSpot OAuth app with SMK_PUBLIC_URL: installable', 'hubspot', { HUBSPOT_CLIENT_ID: 'id', HUBSPOT_CLIENT_SECRET: 'secret-secret', SMK_PUBLIC_URL: 'https://smk.example.com' }, /OAuth app installed from this dashboard/, true],
    ['HubSpot OAuth app without SMK_PUBLIC_URL: not installable, and says what to set', 'hubspot', { HUBSPOT_CLIENT_ID: 'id', HUBSPOT_CLIENT_SECRET: 'secret-secret' }, /SMK_PUBLIC_URL/, false],
    ['Salesforce by environment tokens', 'salesforce', { SALESFORCE_REFRESH_TOKEN: 'refresh-token-1234', SALESFORCE_INSTANCE_URL: 'https://x.my.salesforce.com' }, /tokens from the environment/, false],
    ['Salesforce connected app with SMK_PUBLIC_URL: installable', 'salesforce', { SALESFORCE_CLIENT_ID: 'cid', SMK_PUBLIC_URL: 'https://smk.example.com' }, /connected app authorised from this dashboard/, true],
  ] as const)('%s', async (_name, crm, env, connectedBy, oauthInstall) => {
    const { parseEnv } = await import('../../src/config.js');
    const { connectionOf } = await import('../../src/server/snapshot.js');
    const result = connectionOf(parseEnv(env), crm);
    expect(result.connectedBy).toMatch(connectedBy);
    expect(result.oauthInstall).toBe(oauthInstall);
  });
});

describe("the MQL target: marketing's side of the agreement, with its pace", () => {
  const targets = { mqlPerMonth: 40, months: { '2025-03': 30 }, tz: 'America/New_York' };
  // 2025-03-16 12:00 New York: 15.5 of 31 days gone, half the month.
  const now = new Date('2025-03-16T16:00:00.000Z');
  const mqlAt = (id: string, iso: string): Lead =>
    makeLead(id, { stage: { current: 'mql', history: [{ stage: 'mql', at: iso, cause: 'test' }] }, marketing: { engagement: [] } });

  it('counts the MQLs of the month in the targets zone and says how far behind the pace it is', () => {
    const leads = [
      ...Array.from({ length: 9 }, (_, i) => mqlAt(`L${i}`, `2025-03-${String(2 + i).padStart(2, '0')}T15:00:00.000Z`)),
      // 23:30 on 28 February in New York is February there, though March in UTC.
      mqlAt('Lfeb', '2025-03-01T04:30:00.000Z'),
      mqlAt('Lapr', '2025-04-01T04:30:00.000Z'),
    ];
    const report = new ReportBuilder({ targets, now }).addLeads(leads).build().mqlTarget;
    expect(report).toEqual({ month: '2025-03', target: 30, actual: 9, expectedByNow: 15, remaining: 21, projected: 18, pace: 'behind', behindBy: 6 });
  });

  it('is on track at or above the pro-rata target, and says there is no target when none is set', () => {
    const leads = Array.from({ length: 15 }, (_, i) => mqlAt(`L${i}`, `2025-03-0${1 + (i % 9)}T15:00:00.000Z`));
    expect(new ReportBuilder({ targets, now }).addLeads(leads).build().mqlTarget).toMatchObject({ actual: 15, pace: 'on-track', behindBy: 0 });
    expect(new ReportBuilder({ targets: { months: {}, tz: 'UTC' }, now }).addLeads(leads).build().mqlTarget).toMatchObject({ target: null, actual: 15, pace: 'no-target', behindBy: null });
  });
});
