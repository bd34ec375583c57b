/** The demo's simulated reps keep the business hours of their own time zone (issue 15 item 15). */
import { describe, expect, it } from 'vitest';
import { nextBusinessMorning, repAtWork, repZone } from '../../src/cli/demo.js';

const owners = [{ salesforceId: '005A' }, { salesforceId: '005B' }, { salesforceId: '005C' }, { salesforceId: '005D' }];

describe('demo reps at work', () => {
  it.each([
    ['New York rep, Tuesday 02:05 New York', '005A', '2026-12-08T07:05:00Z', false],
    ['New York rep, Tuesday 10:00 New York', '005A', '2026-12-08T15:00:00Z', true],
    ['New York rep, Tuesday 17:00 New York (closed)', '005B', '2026-12-08T22:00:00Z', false],
    ['London rep, Tuesday 10:00 London', '005C', '2026-12-08T10:00:00Z', true],
    ['London rep, Tuesday 10:00 New York (15:00 London)', '005D', '2026-12-08T15:00:00Z', true],
    ['London rep, Saturday noon', '005C', '2026-12-12T12:00:00Z', false],
    ['an owner the demo does not know works New York hours', null, '2026-12-08T15:00:00Z', true],
  ])('%s', (_name, owner, at, working) => {
    expect(repAtWork(owners, owner, Date.parse(at))).toBe(working);
  });

  it('splits the reps between New York and London like the routing pools', () => {
    expect(owners.map((o) => repZone(owners, o.salesforceId))).toEqual(['America/New_York', 'America/New_York', 'Europe/London', 'Europe/London']);
  });

  it('starts the demo clock as a New York sales day begins', () => {
    expect(repAtWork(owners, '005A', nextBusinessMorning(Date.parse('2026-12-05T23:00:00Z')))).toBe(true);
  });
});
