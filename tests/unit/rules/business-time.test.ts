import { describe, expect, it } from 'vitest';
import {
  addBusinessDuration,
  businessDurationMs,
  businessMsBetween,
  localDate,
  parseHours,
  parseWeekdays,
} from '../../../src/rules/business-time.js';
import type { CalendarInput } from '../../../src/rules/business-time.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

const newYork: CalendarInput = { tz: 'America/New_York', days: 'Mon-Fri', hours: '09:00-17:00', holidays: ['2026-12-25'] };
const berlin: CalendarInput = { tz: 'Europe/Berlin', days: 'Mon-Fri', hours: '09:00-17:00', holidays: [] };
const newYorkEveryDay: CalendarInput = { tz: 'America/New_York', days: 'Mon-Sun', hours: '09:00-17:00', holidays: [] };
const newYorkAlways: CalendarInput = { tz: 'America/New_York', days: 'Mon-Sun', hours: '00:00-24:00', holidays: [] };
const berlinAlways: CalendarInput = { tz: 'Europe/Berlin', days: 'Mon-Sun', hours: '00:00-24:00', holidays: [] };
const splitDay: CalendarInput = { tz: 'UTC', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], hours: '09:00-12:00, 13:00-17:00', holidays: [] };
const dubai: CalendarInput = { tz: 'Asia/Dubai', days: 'Sun-Thu', hours: '09:00-17:00', holidays: [] };
const tokyo: CalendarInput = { tz: 'Asia/Tokyo', days: 'Mon-Fri', hours: '09:00-18:00', holidays: [] };

describe('addBusinessDuration', () => {
  const cases: Array<[string, string, number, CalendarInput, string]> = [
    // 2026-03-06 is a Friday; New York leaves EST (-5) for EDT (-4) on Sunday 2026-03-08.
    ['within one day', '2026-03-10T14:00:00Z', 2 * HOUR, newYork, '2026-03-10T16:00:00.000Z'],
    ['ending exactly at closing time', '2026-03-10T17:00:00Z', 4 * HOUR, newYork, '2026-03-10T21:00:00.000Z'],
    ['across a weekend and the US DST switch', '2026-03-06T20:00:00Z', 4 * HOUR, newYork, '2026-03-09T15:00:00.000Z'],
    ['on the US spring DST day itself (Sunday open)', '2026-03-07T21:00:00Z', 2 * HOUR, newYorkEveryDay, '2026-03-08T14:00:00.000Z'],
    ['24/7 over the 23-hour US spring day', '2026-03-08T05:00:00Z', 24 * HOUR, newYorkAlways, '2026-03-09T05:00:00.000Z'],
    ['across the US autumn DST switch (2026-11-01)', '2026-10-30T20:00:00Z', 2 * HOUR, newYork, '2026-11-02T15:00:00.000Z'],
    ['on the US autumn DST day itself (Sunday open)', '2026-10-31T20:00:00Z', 2 * HOUR, newYorkEveryDay, '2026-11-01T15:00:00.000Z'],
    ['across the EU spring DST switch (2026-03-29)', '2026-03-27T15:00:00Z', 2 * HOUR, berlin, '2026-03-30T08:00:00.000Z'],
    ['across the EU autumn DST switch (2026-10-25)', '2026-10-23T14:00:00Z', 2 * HOUR, berlin, '2026-10-26T09:00:00.000Z'],
    ['24/7 over the 25-hour EU autumn day', '2026-10-24T22:00:00Z', 25 * HOUR, berlinAlways, '2026-10-25T23:00:00.000Z'],
    ['over a holiday and a weekend', '2026-12-24T21:00:00Z', 2 * HOUR, newYork, '2026-12-28T15:00:00.000Z'],
    ['start before opening: the clock starts at 09:00', '2026-03-10T10:00:00Z', 1 * HOUR, newYork, '2026-03-10T14:00:00.000Z'],
    ['start after closing: the clock starts next morning', '2026-03-10T22:00:00Z', 30 * MINUTE, newYork, '2026-03-11T13:30:00.000Z'],
    ['start on a Saturday', '2026-03-14T15:00:00Z', 1 * HOUR, newYork, '2026-03-16T14:00:00.000Z'],
    ['zero duration outside hours is the next opening', '2026-03-14T15:00:00Z', 0, newYork, '2026-03-16T13:00:00.000Z'],
    ['multi-day: 20 working hours from Monday 09:00', '2026-03-09T13:00:00Z', 20 * HOUR, newYork, '2026-03-11T17:00:00.000Z'],
    ['multi-week: 80 working hours', '2026-03-09T13:00:00Z', 80 * HOUR, newYork, '2026-03-20T21:00:00.000Z'],
    ['a lunch break between spans', '2026-03-10T11:00:00Z', 2 * HOUR, splitDay, '2026-03-10T14:00:00.000Z'],
    ['a Sunday-Thursday week', '2026-03-12T12:00:00Z', 2 * HOUR, dubai, '2026-03-15T06:00:00.000Z'],
    ['a zone without DST (Tokyo)', '2026-03-08T23:00:00Z', 1 * HOUR, tokyo, '2026-03-09T01:00:00.000Z'],
    ['a start with an offset', '2026-03-10T10:00:00-04:00', 1 * HOUR, newYork, '2026-03-10T15:00:00.000Z'],
  ];

  it.each(cases)('%s', (_name, start, duration, calendar, expected) => {
    expect(addBusinessDuration(start, duration, calendar)).toBe(expected);
  });

  it('rejects an invalid start', () => {
    expect(() => addBusinessDuration('yesterday', HOUR, newYork)).toThrow('invalid time "yesterday"');
  });

  it('counts "2d" as two working days of the calendar', () => {
    expect(businessDurationMs({ days: 2, ms: 0 }, newYork)).toBe(16 * HOUR);
    expect(businessDurationMs({ days: 1, ms: 30 * MINUTE }, splitDay)).toBe(7.5 * HOUR);
  });
});

describe('businessMsBetween', () => {
  const cases: Array<[string, string, string, CalendarInput, number]> = [
    ['within one day', '2026-03-10T14:00:00Z', '2026-03-10T16:30:00Z', newYork, 2.5 * HOUR],
    ['across a weekend and the DST switch', '2026-03-06T20:00:00Z', '2026-03-09T15:00:00Z', newYork, 4 * HOUR],
    ['outside hours only', '2026-03-10T22:00:00Z', '2026-03-11T12:00:00Z', newYork, 0],
    ['the 23-hour US spring day', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', newYorkAlways, 23 * HOUR],
    ['the 25-hour EU autumn day', '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', berlinAlways, 25 * HOUR],
    ['over a holiday', '2026-12-24T21:00:00Z', '2026-12-28T15:00:00Z', newYork, 2 * HOUR],
    ['backwards is negative', '2026-03-10T16:00:00Z', '2026-03-10T14:00:00Z', newYork, -2 * HOUR],
    ['a full week', '2026-03-09T04:00:00Z', '2026-03-16T04:00:00Z', newYork, 40 * HOUR],
  ];

  it.each(cases)('%s', (_name, a, b, calendar, expected) => {
    expect(businessMsBetween(a, b, calendar)).toBe(expected);
  });

  it('inverts addBusinessDuration', () => {
    for (const [start, hours] of [['2026-03-06T20:00:00Z', 4], ['2026-10-23T14:00:00Z', 13], ['2026-12-23T15:00:00Z', 30]] as const) {
      const due = addBusinessDuration(start, hours * HOUR, newYork);
      expect(businessMsBetween(start, due, newYork)).toBe(hours * HOUR);
    }
  });
});

describe('calendar parsing', () => {
  it('reads day ranges, lists and wrapping ranges', () => {
    const days = (spec: string | string[]) => {
      const parsed = parseWeekdays(spec);
      return parsed.ok ? parsed.value.flatMap((on, day) => (on ? [day] : [])) : parsed.message;
    };
    expect(days('Mon-Fri')).toEqual([1, 2, 3, 4, 5]);
    expect(days('sun-thu')).toEqual([1, 2, 3, 4, 7]);
    expect(days('Fri-Mon')).toEqual([1, 5, 6, 7]);
    expect(days(['Monday', 'Wed', 'FRIDAY'])).toEqual([1, 3, 5]);
    expect(days('Mon,Wed')).toEqual([1, 3]);
    expect(days('Mo-Fr')).toBe('invalid day range "Mo-Fr" (use a range such as Mon-Fri)');
    expect(days([])).toBe('no working days: name at least one day, such as Mon-Fri');
  });

  it('reads opening hours', () => {
    expect(parseHours('09:00-17:00')).toEqual({ ok: true, value: [{ start: 540, end: 1020 }] });
    expect(parseHours('00:00-24:00')).toEqual({ ok: true, value: [{ start: 0, end: 1440 }] });
    expect(parseHours('9:00-12:00, 13:00-17:30')).toEqual({
      ok: true,
      value: [{ start: 540, end: 720 }, { start: 780, end: 1050 }],
    });
    expect(parseHours('13:00-17:00, 09:00-12:00')).toEqual({
      ok: false,
      message: 'invalid hours "13:00-17:00, 09:00-12:00": spans must be in order and must not overlap',
    });
    expect(parseHours('9-17')).toEqual({ ok: false, message: 'invalid hours "9-17": use HH:MM-HH:MM, such as 09:00-17:00' });
  });

  it('gives the local date of an instant', () => {
    expect(localDate('2026-03-10T03:00:00Z', newYork)).toBe('2026-03-09');
    expect(localDate('2026-03-10T05:00:00Z', newYork)).toBe('2026-03-10');
    expect(localDate('2026-10-24T22:30:00Z', berlin)).toBe('2026-10-25');
  });
});
