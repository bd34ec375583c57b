import { describe, expect, it } from 'vitest';
import type { Lead, Sla } from '../../../src/model/lead.js';
import {
  advanceSla,
  checkSla,
  detectTouch,
  escalationAt,
  escalationDecision,
  reminderTimes,
  slaTimers,
  slaTouched,
  startSla,
} from '../../../src/rules/sla.js';
import type { SlaTouch } from '../../../src/rules/sla.js';
import { makeConfig, makeLead } from './helpers.js';

const config = makeConfig({
  sla: {
    firstTouch: { within: '4h', calendar: { tz: 'America/New_York', days: 'Mon-Fri', hours: '09:00-17:00' } },
    reminders: ['1h', '30m'],
    escalate: { after: '8h', action: 'reassign', maxTimes: 2 },
  },
});
const slaConfig = config.sla;
const stages = config.stages;

// Tuesday 2026-03-10, 14:00 in New York (EDT, UTC-4).
const START = new Date('2026-03-10T18:00:00Z');
const DUE = '2026-03-11T14:00:00.000Z';
const running: Sla = {
  startedAt: START.toISOString(),
  handoffAt: START.toISOString(),
  dueAt: DUE,
  status: 'running',
  metAt: null,
  breachedAt: null,
  escalations: 0,
};

describe('startSla and its timers', () => {
  it('is due after 4 working hours: 3 on Tuesday, 1 on Wednesday', () => {
    expect(startSla(makeLead(), START, slaConfig)).toEqual(running);
  });

  it('only stamps the handoff when the SLA is disabled', () => {
    const disabled = makeConfig({ sla: { enabled: false } }).sla;
    expect(startSla(makeLead(), START, disabled)).toEqual({ status: 'none', escalations: 0, handoffAt: START.toISOString() });
    expect(slaTimers(startSla(makeLead(), START, disabled), disabled)).toBeNull();
  });

  it('places reminders in working time before the due time', () => {
    // 1h before due = 3 working hours after start (Tue 17:00); 30m before = Wed 09:30.
    expect(reminderTimes(running, slaConfig)).toEqual(['2026-03-10T21:00:00.000Z', '2026-03-11T13:30:00.000Z']);
  });

  it('escalates after 8 and then 16 working hours', () => {
    expect(escalationAt(running, slaConfig, 1)).toBe('2026-03-11T18:00:00.000Z');
    expect(escalationAt(running, slaConfig, 2)).toBe('2026-03-12T18:00:00.000Z');
  });

  it('escalates at the due time when no delay is configured', () => {
    const atDue = makeConfig({ sla: { ...config.sla, escalate: { action: 'notify' } } }).sla;
    expect(escalationAt(running, atDue, 1)).toBe(DUE);
  });

  it('lists the timers the scheduler holds', () => {
    expect(slaTimers(running, slaConfig)).toEqual({
      dueAt: DUE,
      reminders: ['2026-03-10T21:00:00.000Z', '2026-03-11T13:30:00.000Z'],
      escalateAt: '2026-03-11T18:00:00.000Z',
    });
    const breached: Sla = { ...running, status: 'breached', breachedAt: DUE, escalations: 1 };
    expect(slaTimers(breached, slaConfig)).toEqual({ dueAt: DUE, reminders: [], escalateAt: '2026-03-12T18:00:00.000Z' });
    expect(slaTimers({ ...breached, escalations: 2 }, slaConfig)).toBeNull();
    expect(slaTimers({ ...running, status: 'met', metAt: DUE }, slaConfig)).toBeNull();
    expect(slaTimers(undefined, slaConfig)).toBeNull();
  });
});

describe('checkSla', () => {
  const cases: Array<[string, Sla | undefined, string, string]> = [
    ['no SLA', undefined, '2026-03-11T12:00:00Z', 'none'],
    ['running before due', running, '2026-03-11T13:59:59Z', 'running'],
    ['breached at the due time', running, DUE, 'breached'],
    ['met stays met', { ...running, status: 'met', metAt: '2026-03-11T12:00:00Z' }, '2026-03-20T00:00:00Z', 'met'],
    ['breached stays breached', { ...running, status: 'breached', breachedAt: DUE }, '2026-03-20T00:00:00Z', 'breached'],
  ];
  it.each(cases)('%s', (_name, sla, now, expected) => {
    const lead = sla === undefined ? makeLead() : makeLead({ sla });
    expect(checkSla(lead, new Date(now))).toBe(expected);
  });
});

describe('advanceSla', () => {
  const touch = (at: string): SlaTouch => ({ at, cause: 'activity logged' });
  const cases: Array<[string, Sla, string, SlaTouch | null, Partial<Sla>, string[]]> = [
    ['a touch before due meets it', running, '2026-03-11T13:00:00Z', touch('2026-03-11T12:30:00Z'), { status: 'met', metAt: '2026-03-11T12:30:00.000Z' }, ['sla_met']],
    ['a touch at the due time meets it', running, DUE, touch(DUE), { status: 'met', metAt: DUE }, ['sla_met']],
    ['no touch by the due time breaches it at the due time', running, '2026-03-11T16:00:00Z', null, { status: 'breached', breachedAt: DUE }, ['sla_breached']],
    ['no touch before due changes nothing', running, '2026-03-11T13:00:00Z', null, {}, []],
    [
      'a touch seen late, made after due, is a breach with a late touch',
      running,
      '2026-03-11T16:00:00Z',
      touch('2026-03-11T15:00:00Z'),
      { status: 'breached', breachedAt: DUE, metAt: '2026-03-11T15:00:00.000Z' },
      ['sla_breached', 'sla_late_touch'],
    ],
    [
      'a touch seen late, made before due, still meets it',
      running,
      '2026-03-11T16:00:00Z',
      touch('2026-03-11T13:00:00Z'),
      { status: 'met', metAt: '2026-03-11T13:00:00.000Z' },
      ['sla_met'],
    ],
    ['an activity dated before the handoff counts from the handoff', running, '2026-03-10T19:00:00Z', touch('2026-03-10T00:00:00Z'), { status: 'met', metAt: START.toISOString() }, ['sla_met']],
    [
      'a touch after a breach is recorded once',
      { ...running, status: 'breached', breachedAt: DUE },
      '2026-03-12T10:00:00Z',
      touch('2026-03-12T09:00:00Z'),
      { status: 'breached', metAt: '2026-03-12T09:00:00.000Z' },
      ['sla_late_touch'],
    ],
    ['nothing more after met', { ...running, status: 'met', metAt: '2026-03-11T12:00:00Z' }, '2026-03-20T00:00:00Z', touch('2026-03-19T00:00:00Z'), {}, []],
  ];

  it.each(cases)('%s', (_name, sla, now, touchValue, changes, events) => {
    const result = advanceSla(sla, new Date(now), touchValue);
    expect(result.sla).toEqual({ ...sla, ...changes });
    expect(result.events.map((event) => event.type)).toEqual(events);
    // Idempotent: applying the same inputs to the result changes nothing more.
    const again = advanceSla(result.sla, new Date(now), touchValue);
    expect(again.sla).toEqual(result.sla);
    expect(again.events).toEqual([]);
  });
});

describe('what counts as a touch', () => {
  const base = makeLead({ sla: running, sales: { status: 'Open - Not Contacted', lastActivityAt: '2026-03-01T00:00:00Z' } });
  const withSales = (sales: Lead['sales']): Lead => ({ ...base, sales: { ...base.sales, ...sales } });

  const cases: Array<[string, Lead, string | null]> = [
    ['a decision', withSales({ decision: 'accepted' }), 'decision accepted'],
    ['a status change to a mapped status', withSales({ status: 'Working - Contacted' }), 'status changed to "Working - Contacted"'],
    ['a status change to an unmapped status', withSales({ status: 'Waiting' }), null],
    ['a newer activity', withSales({ lastActivityAt: '2026-03-11T00:00:00Z' }), 'activity logged'],
    ['a disqualification', withSales({ disqualifyReason: 'spam' }), 'disqualified'],
    ['nothing new', withSales({}), null],
    ['a note alone', withSales({ notes: 'called, no answer' }), null],
  ];
  it.each(cases)('%s', (_name, lead, expected) => {
    expect(slaTouched(base, lead, stages)).toBe(expected);
  });

  it('without the stages config any status change counts', () => {
    expect(slaTouched(base, withSales({ status: 'Waiting' }))).toBe('status changed to "Waiting"');
  });

  it('detectTouch sees an activity since the handoff without a snapshot', () => {
    const lead = withSales({ lastActivityAt: '2026-03-11T13:15:00Z' });
    expect(detectTouch(lead, null, false, new Date('2026-03-11T14:30:00Z'), stages)).toEqual({
      at: '2026-03-11T13:15:00.000Z',
      cause: 'activity logged',
    });
  });

  it('detectTouch dates a call or email the rep logged at the minute it was completed, not the day', () => {
    // LastActivityDate has only the day (midnight): the call the morning after the handoff is
    // dated by the Task's completion time.
    const lead = { ...base, activity: { lastTouchAt: '2026-03-11T10:30:00Z', lastTouchKind: 'call' as const, lastTouchBy: '005R', events: [] } };
    expect(detectTouch(lead, null, false, new Date('2026-03-11T14:30:00Z'), stages)).toEqual({ at: '2026-03-11T10:30:00.000Z', cause: 'call logged' });
    // A call logged before the handoff is no touch of this SLA.
    const earlier = { ...base, activity: { lastTouchAt: '2026-03-01T10:30:00Z', lastTouchKind: 'call' as const, lastTouchBy: '005R', events: [] } };
    expect(detectTouch(earlier, null, false, new Date('2026-03-11T14:30:00Z'), stages)).toBeNull();
    expect(slaTouched(base, { ...lead, activity: { ...lead.activity, lastTouchKind: 'email' as const } }, stages)).toBe('email logged');
  });

  it('detectTouch takes a touch status on a first handoff without a snapshot, once the lead changed', () => {
    const now = new Date('2026-03-11T12:00:00Z');
    const handedOff = { stage: { current: 'mql' as const, history: [{ stage: 'mql' as const, at: START.toISOString(), cause: 'score' }] } };
    const working = { ...withSales({ status: 'Working - Contacted' }), ...handedOff };
    expect(detectTouch({ ...working, updatedAt: '2026-03-11T11:00:00Z' }, null, false, now, stages)).toEqual({
      at: now.toISOString(),
      cause: 'status "Working - Contacted"',
    });
    // Unchanged since the handoff: the status predates it.
    expect(detectTouch({ ...working, updatedAt: '2026-03-10T17:00:00Z' }, null, false, now, stages)).toBeNull();
    // A second handoff: the status may be left over from the first round.
    const rehanded = {
      ...working,
      updatedAt: '2026-03-11T11:00:00Z',
      stage: { current: 'mql' as const, history: [...handedOff.stage.history, { stage: 'mql' as const, at: START.toISOString(), cause: 're-engaged' }] },
    };
    expect(detectTouch(rehanded, null, false, now, stages)).toBeNull();
  });

  it('detectTouch uses the snapshot, then a sales move, else finds none', () => {
    const now = new Date('2026-03-11T12:00:00Z');
    expect(detectTouch(withSales({ decision: 'rejected' }), base, false, now, stages)).toEqual({
      at: now.toISOString(),
      cause: 'decision rejected',
    });
    expect(detectTouch(base, null, true, now, stages)).toEqual({ at: now.toISOString(), cause: 'sales decision' });
    expect(detectTouch(base, base, false, now, stages)).toBeNull();
    expect(detectTouch(makeLead(), null, true, now, stages)).toBeNull();
  });
});

describe('escalationDecision', () => {
  const breached: Sla = { ...running, status: 'breached', breachedAt: DUE };
  const cases: Array<[string, Sla, string, ReturnType<typeof escalationDecision>]> = [
    ['not before the escalation time', breached, '2026-03-11T17:59:59Z', { escalate: false }],
    ['at the escalation time', breached, '2026-03-11T18:00:00Z', { escalate: true, index: 1, action: 'reassign', at: '2026-03-11T18:00:00.000Z' }],
    ['the second escalation', { ...breached, escalations: 1 }, '2026-03-12T18:00:00Z', { escalate: true, index: 2, action: 'reassign', at: '2026-03-12T18:00:00.000Z' }],
    ['no more than maxTimes', { ...breached, escalations: 2 }, '2026-03-20T00:00:00Z', { escalate: false }],
    ['not when touched late', { ...breached, metAt: '2026-03-11T15:00:00Z' }, '2026-03-20T00:00:00Z', { escalate: false }],
    ['not while running', running, '2026-03-20T00:00:00Z', { escalate: false }],
  ];
  it.each(cases)('%s', (_name, sla, now, expected) => {
    expect(escalationDecision(sla, slaConfig, new Date(now))).toEqual(expected);
  });

  it('never without an escalate section', () => {
    const none = makeConfig().sla;
    expect(escalationDecision(breached, none, new Date('2026-04-01T00:00:00Z'))).toEqual({ escalate: false });
  });
});
