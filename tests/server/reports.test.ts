import { describe, expect, it } from 'vitest';
import type { Lead, Stage } from '../../src/model/lead.js';
import { countEvents, feedbackReport, NO_REASON, ReportBuilder, slaReport, UNASSIGNED } from '../../src/server/reports.js';
import { makeLead } from './helpers.js';

const at = (h: number) => new Date(Date.UTC(2025, 2, 3, h)).toISOString();

function staged(id: string, current: Stage, history: Stage[] = [], marketing: Partial<Lead['marketing']> = {}): Lead {
  return makeLead(id, {
    stage: { current, history: history.map((stage, i) => ({ stage, at: at(i), cause: 'test' })) },
    marketing: { engagement: [], ...marketing },
  });
}

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
