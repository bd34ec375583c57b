import { describe, expect, it } from 'vitest';
import { awayOwners, isAway, slaConfigFor } from '../../../src/rules/availability.js';
import { evaluateLead } from '../../../src/rules/evaluate.js';
import type { EvaluateContext } from '../../../src/rules/evaluate.js';
import { makeConfig, makeLead } from './helpers.js';

const base = {
  scoring: {
    fit: [{ field: 'person.title', matches: '\\bvp\\b', points: 30, reason: 'Senior title' }],
    engagement: { halfLifeDays: 30, events: [{ kind: 'demo_request' as const, points: 40, cap: 40 }] },
  },
  routing: { defaultPool: 'na', pools: { na: { members: [{ owner: '005A', weight: 2 }, { owner: '005B' }] } } },
  sla: { firstTouch: { within: '4h', calendar: { tz: 'America/New_York', days: 'Mon-Fri', hours: '09:00-17:00' } } },
};

// Tuesday 2026-03-10 14:00 in New York (18:00Z).
const NOW = new Date('2026-03-10T18:00:00Z');

const lead = makeLead({
  id: 'lead-1',
  email: 'ada@acme.com',
  updatedAt: '2026-03-10T17:55:00Z',
  links: { salesforce: { object: 'Lead', id: '00Q000000000001AAA' } },
  person: { firstName: 'Ada', lastName: 'Lovelace', title: 'VP Engineering' },
  marketing: { engagement: [{ kind: 'demo_request', at: '2026-03-10T17:50:00Z' }], lifecycleStage: 'lead' },
});

describe('reps away on a date', () => {
  const config = makeConfig({ ...base, reps: { '005A': { tz: 'America/Los_Angeles', timeOff: [{ from: '2026-03-10', to: '2026-03-12', reason: 'Conference' }] } } });

  it('counts the day in the rep\'s own zone, both ends included', () => {
    // Los Angeles is on daylight time (UTC-7) from 8 March: 06:30Z on the 10th is still the 9th there.
    expect(isAway(config, '005A', {}, new Date('2026-03-10T06:30:00Z'))).toBe(false);
    expect(isAway(config, '005A', {}, new Date('2026-03-10T07:30:00Z'))).toBe(true);
    expect(isAway(config, '005A', {}, new Date('2026-03-13T06:59:00Z'))).toBe(true);
    expect(isAway(config, '005A', {}, new Date('2026-03-13T07:00:00Z'))).toBe(false);
    expect(awayOwners(config, { '005B': [{ from: '2026-03-10', to: '2026-03-10' }] }, NOW)).toEqual(['005A', '005B']);
  });

  it('routes past a rep away today (config or store), and to them again once back', () => {
    const plain = makeConfig(base);
    expect(evaluateLead(lead, plain, NOW).ownerChange?.ownerId).toBe('005A');
    expect(evaluateLead(lead, config, NOW).ownerChange?.ownerId).toBe('005B');
    const stored: EvaluateContext = { timeOff: { '005A': [{ from: '2026-03-10', to: '2026-03-10' }] } };
    expect(evaluateLead(lead, plain, NOW, stored).ownerChange?.ownerId).toBe('005B');
    expect(evaluateLead(lead, plain, new Date('2026-03-11T18:00:00Z'), stored).ownerChange?.ownerId).toBe('005A');
    // The away list is a decision input, never stored state.
    expect(evaluateLead(lead, config, NOW).nextPoolState).not.toHaveProperty('away');
  });

  it('keeps the existing owner only when they are not away', () => {
    const owned = { ...lead, sales: { ...lead.sales, ownerId: '005A' } };
    expect(evaluateLead(owned, makeConfig(base), NOW).ownerChange).toBeUndefined();
    expect(evaluateLead(owned, config, NOW).ownerChange?.ownerId).toBe('005B');
  });
});

describe('the SLA clock', () => {
  it('runs on the team calendar by default', () => {
    const result = evaluateLead(lead, makeConfig({ ...base, reps: { '005A': { tz: 'Europe/Berlin' } } }), NOW);
    // 14:00 in New York + 4 working hours: 09:00+1h next day... 14:00-17:00 is 3 h, then 1 h Wednesday: 10:00 New York.
    expect(result.lead.sla?.dueAt).toBe('2026-03-11T14:00:00.000Z');
  });

  it('follows the rep\'s zone, hours and time off with clock: rep', () => {
    const config = makeConfig({
      ...base,
      sla: { firstTouch: { ...base.sla.firstTouch, clock: 'rep' } },
      reps: { '005A': { tz: 'Europe/Berlin', hours: '08:00-16:00', timeOff: [{ from: '2026-03-11', to: '2026-03-11' }] } },
    });
    const calendar = slaConfigFor(config, '005A').firstTouch.calendar;
    expect(calendar).toMatchObject({ tz: 'Europe/Berlin', hours: '08:00-16:00', days: 'Mon-Fri' });
    expect(calendar.holidays).toContain('2026-03-11');
    // Routed to 005A at 19:00 in Berlin (after hours); the 11th is off: 4 working hours end Thursday 12:00 Berlin.
    const atRep = evaluateLead(lead, config, NOW);
    expect(atRep.ownerChange?.ownerId).toBe('005A');
    expect(atRep.lead.sla?.dueAt).toBe('2026-03-12T11:00:00.000Z');
    // Another rep without their own settings runs on the team calendar.
    expect(slaConfigFor(config, '005B').firstTouch.calendar).toMatchObject({ tz: 'America/New_York', hours: '09:00-17:00' });
  });

  it('refuses a range that ends before it starts, naming it', () => {
    expect(() => makeConfig({ ...base, reps: { '005A': { timeOff: [{ from: '2026-03-12', to: '2026-03-10' }] } } })).toThrow(/ends \(2026-03-10\) before it starts \(2026-03-12\)/);
  });
});
