import { describe, expect, it } from 'vitest';
import { SMK_FIELD_KEYS } from '../../../src/model/fields.js';
import type { Lead } from '../../../src/model/lead.js';
import { evaluateLead } from '../../../src/rules/evaluate.js';
import type { EvaluateContext, EvaluateResult } from '../../../src/rules/evaluate.js';
import { makeConfig, makeLead } from './helpers.js';

const config = makeConfig({
  scoring: {
    fit: [
      { field: 'person.title', matches: '\\b(vp|director)\\b', points: 30, reason: 'Senior title' },
      { field: 'email', freemail: true, points: -15, reason: 'Personal email' },
    ],
    engagement: {
      halfLifeDays: 30,
      events: [
        { kind: 'demo_request', points: 40, cap: 40, reason: 'Demo request' },
        { kind: 'page_view', points: 1, cap: 20 },
      ],
    },
  },
  routing: { defaultPool: 'na', pools: { na: { members: [{ owner: '005A', weight: 2 }, { owner: '005B' }] } } },
  sla: {
    firstTouch: { within: '4h', calendar: { tz: 'America/New_York', days: 'Mon-Fri', hours: '09:00-17:00' } },
    reminders: ['1h'],
    escalate: { after: '8h', action: 'reassign' },
  },
});

// Tuesday 2026-03-10 14:00 in New York: the SLA is due Wednesday 10:00 (14:00Z).
const NOW = new Date('2026-03-10T18:00:00Z');
const NOW_ISO = NOW.toISOString();
const DUE = '2026-03-11T14:00:00.000Z';

const fresh = makeLead({
  id: 'lead-1',
  email: 'ada@acme.com',
  updatedAt: '2026-03-10T17:55:00Z',
  links: { hubspot: { id: '101' }, salesforce: { object: 'Lead', id: '00Q000000000001AAA' } },
  person: { firstName: 'Ada', lastName: 'Lovelace', title: 'VP Engineering' },
  company: { name: 'Acme' },
  marketing: { engagement: [{ kind: 'demo_request', at: '2026-03-10T17:50:00Z' }], lifecycleStage: 'lead' },
});

function handoff(ctx: EvaluateContext = {}): EvaluateResult {
  return evaluateLead(fresh, config, NOW, ctx);
}

/** The lead as stored after a result, with later changes from the CRMs applied on top. */
function later(result: EvaluateResult, updatedAt: string, change: Partial<Lead> = {}): Lead {
  return { ...result.lead, ...change, updatedAt };
}

function expectIdempotent(result: EvaluateResult, now: Date, ctx: EvaluateContext = {}): void {
  const again = evaluateLead(result.lead, config, now, { ...ctx, poolState: result.nextPoolState });
  expect(again.desired).toEqual(result.desired);
  expect(again.events).toEqual([]);
  expect(again.task).toBeUndefined();
  expect(again.ownerChange).toBeUndefined();
  expect(again.lead).toEqual(result.lead);
  expect(again.nextPoolState).toEqual(result.nextPoolState);
}

describe('evaluateLead: handoff of a new MQL', () => {
  const result = handoff();

  it('writes every smk value as a string', () => {
    expect(Object.keys(result.desired).sort()).toEqual([...SMK_FIELD_KEYS].sort());
    expect(result.desired).toEqual({
      score: '70',
      fitScore: '30',
      engagementScore: '40',
      grade: 'warm',
      scoreReasons: '+40 Demo request (today); +30 Senior title',
      stage: 'mql',
      handoffAt: NOW_ISO,
      slaDueAt: DUE,
      slaStatus: 'running',
      slaBreachedAt: null,
      salesDecision: null,
      rejectReason: null,
      leadQuality: null,
      disqualifyReason: null,
      salesNotes: null,
      leadId: 'lead-1',
      likelihood: null,
      likelihoodReasons: null,
    });
  });

  it('routes, creates the task, starts the SLA and records the events', () => {
    expect(result.ownerChange).toEqual({ ownerId: '005A', reason: 'default pool: round-robin in pool "na"' });
    expect(result.task).toEqual({
      key: `lead-1:handoff:${NOW_ISO}`,
      ownerId: '005A',
      subject: 'Follow up on MQL: Ada Lovelace (Acme) (Warm, 70)',
      description: [
        'Handed off as an MQL (default pool: round-robin in pool "na").',
        'Score 70 (Warm): fit 30, engagement 40.',
        'Why:',
        '- +40 Demo request (today)',
        '- +30 Senior title',
        `First touch due by ${DUE}.`,
      ].join('\n'),
      dueDate: '2026-03-11',
    });
    expect(result.slaTimers).toEqual({ dueAt: DUE, reminders: ['2026-03-10T21:00:00.000Z'], escalateAt: '2026-03-11T18:00:00.000Z' });
    expect(result.lifecycle).toEqual({ value: 'marketingqualifiedlead', clearFirst: false });
    expect(result.events).toEqual([
      { type: 'mql', at: NOW_ISO, detail: { from: null, cause: 'score 70 ≥ 60, fit 30 ≥ 20' } },
      {
        type: 'handoff',
        at: NOW_ISO,
        detail: { ownerId: '005A', via: 'pool', pool: 'na', reason: 'default pool: round-robin in pool "na"', dueAt: DUE },
      },
    ]);
    expect(result.nextPoolState).toEqual({ wrr: { na: { '005A': -1, '005B': 1 } }, open: { '005A': 1 } });
    expect(result.lead.sales.ownerId).toBe('005A');
    expect(result.lead.stage).toEqual({ current: 'mql', history: [{ stage: 'mql', at: NOW_ISO, cause: 'score 70 ≥ 60, fit 30 ≥ 20' }] });
    expect(result.lead.sla).toEqual({
      startedAt: NOW_ISO,
      handoffAt: NOW_ISO,
      dueAt: DUE,
      status: 'running',
      metAt: null,
      breachedAt: null,
      escalations: 0,
    });
    expect(result.warnings).toEqual([]);
  });

  it('is idempotent: the same now, later the same day, and with the previous snapshot', () => {
    expectIdempotent(result, NOW);
    expectIdempotent(result, new Date('2026-03-10T20:00:00Z'));
    expectIdempotent(result, NOW, { previous: fresh });
  });

  it('is deterministic', () => {
    expect(handoff()).toEqual(result);
  });

  it('gives the lead to the account owner first', () => {
    const viaAccount = handoff({ accountOwnerId: '005ACC' });
    expect(viaAccount.ownerChange).toEqual({ ownerId: '005ACC', reason: 'owner of the matching account' });
    expect(viaAccount.nextPoolState).toEqual({ wrr: {}, open: { '005ACC': 1 } });
  });

  it('keeps the existing owner of the Salesforce record on a first handoff', () => {
    const owned = evaluateLead({ ...fresh, sales: { ownerId: '005OLD' } }, config, NOW);
    expect(owned.ownerChange).toBeUndefined();
    expect(owned.task?.ownerId).toBe('005OLD');
  });

  it('hands off without an owner, and says so, when routing finds none', () => {
    const bare = makeConfig({ ...config, routing: {} });
    const result = evaluateLead(fresh, bare, NOW);
    expect(result.ownerChange).toBeUndefined();
    expect(result.task).toBeUndefined();
    expect(result.events.map((event) => event.type)).toEqual(['mql', 'no_owner', 'handoff']);
    expect(result.events[1]?.detail).toEqual({ reason: 'no routing rule matched and no default pool is set' });
    expect(result.desired.slaStatus).toBe('running');
  });

  it('stamps the handoff without an SLA clock when the SLA is disabled', () => {
    const noSla = makeConfig({ ...config, sla: { enabled: false } });
    const result = evaluateLead(fresh, noSla, NOW);
    expect(result.desired).toMatchObject({ stage: 'mql', handoffAt: NOW_ISO, slaDueAt: null, slaStatus: 'none' });
    expect(result.slaTimers).toBeUndefined();
    expect(result.task?.dueDate).toBeUndefined();
    expectIdempotent(result, new Date('2026-03-10T23:00:00Z'));
  });

  it('does not hand off a lead below the thresholds', () => {
    const cold = evaluateLead({ ...fresh, person: { title: 'Engineer' } }, config, NOW);
    expect(cold.desired).toMatchObject({ score: '40', fitScore: '0', grade: 'cold', stage: 'lead', slaStatus: 'none', handoffAt: null });
    expect(cold.events).toEqual([{ type: 'lead', at: NOW_ISO, detail: { from: null, cause: 'first seen' } }]);
    expect(cold.lead.stage).toEqual({ current: 'lead', history: [{ stage: 'lead', at: NOW_ISO, cause: 'first seen' }] });
    expect(cold.slaTimers).toBeUndefined();
    expect(cold.lifecycle).toBeNull();
  });
});

describe('evaluateLead: the SLA after handoff', () => {
  const handedOff = handoff();
  const state = { poolState: handedOff.nextPoolState };

  it('is met by an activity logged before the due time', () => {
    const lead = later(handedOff, '2026-03-11T13:00:00Z', { sales: { ...handedOff.lead.sales, lastActivityAt: '2026-03-11T12:30:00Z' } });
    const now = new Date('2026-03-11T13:05:00Z');
    const result = evaluateLead(lead, config, now, state);
    expect(result.events).toEqual([{ type: 'sla_met', at: '2026-03-11T12:30:00.000Z', detail: { cause: 'activity logged' } }]);
    expect(result.desired).toMatchObject({ slaStatus: 'met', slaBreachedAt: null, stage: 'mql' });
    expect(result.slaTimers).toBeUndefined();
    expectIdempotent(result, now);
  });

  it('is met by a status change seen against the previous snapshot', () => {
    const lead = later(handedOff, '2026-03-11T13:00:00Z', { sales: { ...handedOff.lead.sales, status: 'Working - Contacted' } });
    const result = evaluateLead(lead, config, new Date('2026-03-11T13:01:00Z'), { ...state, previous: handedOff.lead });
    expect(result.events).toEqual([
      { type: 'sla_met', at: '2026-03-11T13:01:00.000Z', detail: { cause: 'status changed to "Working - Contacted"' } },
    ]);
    expect(result.desired.stage).toBe('mql');
  });

  it('is met by a touch status without a snapshot (the pipeline\'s reconcile path)', () => {
    const lead = later(handedOff, '2026-03-11T13:00:00Z', { sales: { ...handedOff.lead.sales, status: 'Working - Contacted' } });
    const now = new Date('2026-03-11T13:01:00Z');
    const result = evaluateLead(lead, config, now, state);
    expect(result.events).toEqual([{ type: 'sla_met', at: now.toISOString(), detail: { cause: 'status "Working - Contacted"' } }]);
    expectIdempotent(result, now);
  });

  it('is breached at the due time without a touch', () => {
    const now = new Date('2026-03-11T15:00:00Z');
    const result = evaluateLead(handedOff.lead, config, now, state);
    expect(result.events).toEqual([{ type: 'sla_breached', at: DUE, detail: { cause: 'no touch by the due time' } }]);
    expect(result.desired).toMatchObject({ slaStatus: 'breached', slaBreachedAt: DUE });
    expect(result.slaTimers).toEqual({ dueAt: DUE, reminders: [], escalateAt: '2026-03-11T18:00:00.000Z' });
    expect(result.ownerChange).toBeUndefined();
    expectIdempotent(result, now);
  });

  it('escalates by reassigning to the next owner of the pool', () => {
    const breached = evaluateLead(handedOff.lead, config, new Date('2026-03-11T15:00:00Z'), state);
    const now = new Date('2026-03-11T18:00:00Z');
    const result = evaluateLead(breached.lead, config, now, { poolState: breached.nextPoolState });
    expect(result.ownerChange).toEqual({ ownerId: '005B', reason: 'SLA escalation: round-robin in pool "na"' });
    expect(result.task).toMatchObject({
      key: `lead-1:escalation:1:${NOW_ISO}`,
      ownerId: '005B',
      subject: 'SLA escalation: Ada Lovelace (Acme)',
    });
    expect(result.events).toEqual([
      {
        type: 'sla_escalated',
        at: '2026-03-11T18:00:00.000Z',
        detail: { index: 1, action: 'reassign', fromOwnerId: '005A', ownerId: '005B', reason: 'SLA escalation: round-robin in pool "na"' },
      },
    ]);
    expect(result.nextPoolState.open).toEqual({ '005A': 0, '005B': 1 });
    expect(result.lead.sla?.escalations).toBe(1);
    expect(result.lead.sales.ownerId).toBe('005B');
    expect(result.slaTimers).toBeUndefined();
    expectIdempotent(result, now);
  });

  it('breaches and escalates in one late evaluation', () => {
    const now = new Date('2026-03-12T15:00:00Z');
    const result = evaluateLead(handedOff.lead, config, now, state);
    expect(result.events.map((event) => [event.type, event.at])).toEqual([
      ['sla_breached', DUE],
      ['sla_escalated', '2026-03-11T18:00:00.000Z'],
    ]);
    expectIdempotent(result, now);
  });

  it('notifies instead when configured so', () => {
    const notify = makeConfig({ ...config, sla: { ...config.sla, escalate: { after: '8h', action: 'notify' } } });
    const result = evaluateLead(handedOff.lead, notify, new Date('2026-03-12T15:00:00Z'), state);
    expect(result.ownerChange).toBeUndefined();
    expect(result.events[1]).toEqual({
      type: 'sla_escalated',
      at: '2026-03-11T18:00:00.000Z',
      detail: { index: 1, action: 'notify', fromOwnerId: '005A', ownerId: null, reason: null },
    });
  });
});

describe('evaluateLead: sales feedback', () => {
  const handedOff = handoff();
  const rejectedLead = later(handedOff, '2026-03-11T12:00:00Z', {
    sales: { ...handedOff.lead.sales, decision: 'rejected', rejectReason: 'bad-timing' },
    marketing: { ...handedOff.lead.marketing, lifecycleStage: 'marketingqualifiedlead' },
  });
  const now = new Date('2026-03-11T12:05:00Z');

  it('a rejection recycles the lead, meets the SLA, and reaches HubSpot', () => {
    const result = evaluateLead(rejectedLead, config, now, { poolState: handedOff.nextPoolState, previous: handedOff.lead });
    expect(result.events).toEqual([
      { type: 'recycled', at: now.toISOString(), detail: { from: 'mql', cause: 'rejected by sales: bad-timing' } },
      { type: 'sla_met', at: now.toISOString(), detail: { cause: 'decision rejected' } },
    ]);
    expect(result.desired).toMatchObject({
      stage: 'recycled',
      salesDecision: 'rejected',
      rejectReason: 'bad-timing',
      slaStatus: 'met',
      handoffAt: NOW_ISO,
    });
    // HubSpot shows MQL; a move back to lead needs the property cleared first.
    expect(result.lifecycle).toEqual({ value: 'lead', clearFirst: true });
    expectIdempotent(result, now, { previous: handedOff.lead });
  });

  it('a rejection is recognised without a snapshot too (reconcile)', () => {
    const result = evaluateLead(rejectedLead, config, now, { poolState: handedOff.nextPoolState });
    expect(result.events.map((event) => [event.type, event.detail])).toEqual([
      ['recycled', { from: 'mql', cause: 'rejected by sales: bad-timing' }],
      ['sla_met', { cause: 'sales decision' }],
    ]);
    expectIdempotent(result, now);
  });

  it('flags an unknown reject reason but keeps it', () => {
    const odd = { ...rejectedLead, sales: { ...rejectedLead.sales, rejectReason: 'on the moon' } };
    const result = evaluateLead(odd, config, now, { poolState: handedOff.nextPoolState });
    expect(result.desired.rejectReason).toBe('on the moon');
    expect(result.warnings).toEqual([
      'reject reason "on the moon" is not one of the configured codes (no-budget, bad-timing, no-response, not-a-fit, duplicate, competitor)',
    ]);
  });

  it('acceptance moves the lead to SAL', () => {
    const accepted = later(handedOff, '2026-03-11T12:00:00Z', { sales: { ...handedOff.lead.sales, decision: 'accepted', qualityRating: 4 } });
    const result = evaluateLead(accepted, config, now, { poolState: handedOff.nextPoolState });
    expect(result.desired).toMatchObject({ stage: 'sal', salesDecision: 'accepted', leadQuality: '4', slaStatus: 'met' });
    expect(result.lifecycle).toEqual({ value: 'salesqualifiedlead', clearFirst: false });
  });
});
