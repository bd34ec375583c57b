import { describe, expect, it } from 'vitest';
import type { Lead } from '../../../src/model/lead.js';
import type { RulesConfigInput } from '../../../src/rules/config.js';
import { FREEMAIL_DOMAINS, isFreemail } from '../../../src/rules/freemail.js';
import { gradeFor, joinReasons, scoreLead, utcDay } from '../../../src/rules/scoring.js';
import { event, makeConfig, makeLead } from './helpers.js';
import type { LeadInput } from './helpers.js';

const NOW = new Date('2026-03-10T12:00:00Z');

function scoring(input: NonNullable<RulesConfigInput['scoring']>) {
  return makeConfig({ scoring: { fit: [], engagement: { events: [] }, ...input } }).scoring;
}

describe('fit rules: one table row per operator', () => {
  type Rule = NonNullable<NonNullable<RulesConfigInput['scoring']>['fit']>[number];
  const cases: Array<[string, Omit<Rule, 'points' | 'reason'>, LeadInput, number]> = [
    ['equals ignores case', { field: 'person.country', equals: 'US' }, { person: { country: 'us' } }, 10],
    ['equals trims', { field: 'person.country', equals: 'US' }, { person: { country: ' US ' } }, 10],
    ['equals is not contains', { field: 'person.country', equals: 'US' }, { person: { country: 'USA' } }, 0],
    ['equals a number', { field: 'company.employees', equals: 50 }, { company: { employees: 50 } }, 10],
    ['equals a boolean', { field: 'marketing.unsubscribed', equals: true }, { marketing: { engagement: [], unsubscribed: true } }, 10],
    ['equals on a null value', { field: 'person.country', equals: 'US' }, { person: { country: null } }, 0],
    ['in matches a member', { field: 'person.country', in: ['US', 'CA'] }, { person: { country: 'ca' } }, 10],
    ['in misses a non-member', { field: 'person.country', in: ['US', 'CA'] }, { person: { country: 'MX' } }, 0],
    ['in with numbers', { field: 'company.employees', in: [10, 20] }, { company: { employees: 20 } }, 10],
    ['matches a word', { field: 'person.title', matches: '\\bvp\\b' }, { person: { title: 'VP Sales' } }, 10],
    ['matches respects word boundaries', { field: 'person.title', matches: '\\bvp\\b' }, { person: { title: 'SVP' } }, 0],
    ['matches is case-insensitive', { field: 'person.title', matches: 'director' }, { person: { title: 'DIRECTOR of IT' } }, 10],
    ['matches a number as text', { field: 'company.employees', matches: '^5' }, { company: { employees: 500 } }, 10],
    ['matches on a missing value', { field: 'person.title', matches: '.*' }, { person: {} }, 0],
    ['gte at the bound', { field: 'company.employees', gte: 200 }, { company: { employees: 200 } }, 10],
    ['gte below the bound', { field: 'company.employees', gte: 200 }, { company: { employees: 199 } }, 0],
    ['gte on null', { field: 'company.employees', gte: 0 }, { company: { employees: null } }, 0],
    ['lte at the bound', { field: 'company.employees', lte: 50 }, { company: { employees: 50 } }, 10],
    ['range inside', { field: 'company.employees', gte: 20, lte: 199 }, { company: { employees: 199 } }, 10],
    ['range outside', { field: 'company.employees', gte: 20, lte: 199 }, { company: { employees: 200 } }, 0],
    ['gte on a record entry', { field: 'marketing.counters.page_views', gte: 5 }, { marketing: { engagement: [], counters: { page_views: 7 } } }, 10],
    ['freemail on a gmail address', { field: 'email', freemail: true }, { email: 'ada@gmail.com' }, 10],
    ['freemail ignores case', { field: 'email', freemail: true }, { email: 'ADA@GMAIL.COM' }, 10],
    ['freemail on a company address', { field: 'email', freemail: true }, { email: 'ada@acme.com' }, 0],
    ['freemail on no email', { field: 'email', freemail: true }, { email: null }, 0],
    ['freemail false on a company address', { field: 'email', freemail: false }, { email: 'ada@acme.com' }, 10],
    ['freemail false on a gmail address', { field: 'email', freemail: false }, { email: 'ada@gmail.com' }, 0],
    ['freemail false on no email', { field: 'email', freemail: false }, { email: null }, 0],
    ['freemail on a domain field', { field: 'company.domain', freemail: true }, { company: { domain: 'www.hotmail.com' } }, 10],
    ['missing on null', { field: 'company.name', missing: true }, { company: { name: null } }, 10],
    ['missing on absent', { field: 'company.name', missing: true }, { company: {} }, 10],
    ['missing on blanks', { field: 'company.name', missing: true }, { company: { name: '   ' } }, 10],
    ['missing on a value', { field: 'company.name', missing: true }, { company: { name: 'Acme' } }, 0],
    ['missing false on a value', { field: 'company.name', missing: false }, { company: { name: 'Acme' } }, 10],
    ['missing on an empty list', { field: 'marketing.engagement', missing: true }, { marketing: { engagement: [] } }, 10],
  ];

  it.each(cases)('%s', (_name, condition, leadInput, expected) => {
    const config = scoring({ fit: [{ ...condition, points: 10, reason: 'Rule' } as Rule] });
    const result = scoreLead(makeLead(leadInput), config, NOW);
    expect(result.fit).toBe(expected);
    expect(result.reasons).toEqual(expected === 0 ? [] : ['+10 Rule']);
  });

  it('all operators of one rule must hold', () => {
    const config = scoring({
      fit: [{ field: 'person.title', matches: 'vp', missing: false, points: 10, reason: 'Rule' }],
    });
    expect(scoreLead(makeLead({ person: { title: 'VP' } }), config, NOW).fit).toBe(10);
    expect(scoreLead(makeLead({ person: { title: 'CEO' } }), config, NOW).fit).toBe(0);
  });

  it('negative points read as a minus reason', () => {
    const config = scoring({ fit: [{ field: 'email', freemail: true, points: -15, reason: 'Personal email' }] });
    const result = scoreLead(makeLead({ email: 'ada@yahoo.co.uk' }), config, NOW);
    expect(result).toMatchObject({ fit: -15, total: 0, reasons: ['-15 Personal email'], reasonsText: '-15 Personal email' });
  });

  it('config adds free-mail domains', () => {
    const config = scoring({
      fit: [{ field: 'email', freemail: true, points: -15, reason: 'Personal email' }],
      freemailDomains: ['Example-Mail.com'],
    });
    expect(scoreLead(makeLead({ email: 'ada@example-mail.com' }), config, NOW).fit).toBe(-15);
  });
});

describe('free-mail list', () => {
  it('holds the common providers', () => {
    expect(FREEMAIL_DOMAINS.length).toBeGreaterThanOrEqual(40);
    const cases: Array<[string, boolean]> = [
      ['x@gmail.com', true],
      ['x@yahoo.fr', true],
      ['x@hotmail.co.uk', true],
      ['x@outlook.com', true],
      ['x@icloud.com', true],
      ['x@aol.com', true],
      ['x@gmx.de', true],
      ['x@mail.ru', true],
      ['x@yandex.ru', true],
      ['x@proton.me', true],
      ['x@protonmail.com', true],
      ['x@acme.com', false],
      ['x@gmail.com.evil.io', false],
      ['', false],
    ];
    expect(cases.map(([address]) => isFreemail(address))).toEqual(cases.map(([, expected]) => expected));
  });
});

describe('engagement decay and quantisation', () => {
  const config = scoring({
    engagement: {
      halfLifeDays: 10,
      events: [
        { kind: 'form_submission', points: 20, cap: 30 },
        { kind: 'page_view', points: 2, cap: 10 },
        { kind: 'email_open', points: -5, cap: 8, reason: 'Bounce' },
      ],
    },
  });
  const withEvents = (...engagement: Lead['marketing']['engagement']) => makeLead({ marketing: { engagement } });

  const cases: Array<[string, Lead['marketing']['engagement'], number, string[]]> = [
    ['today: full points', [event('form_submission', NOW, 0)], 20, ['+20 Form submission (today)']],
    ['1 day: 20 x 0.5^0.1 = 18.66', [event('form_submission', NOW, 1)], 19, ['+19 Form submission (1 day ago)']],
    ['5 days: 20 x 0.5^0.5 = 14.14', [event('form_submission', NOW, 5)], 14, ['+14 Form submission (5 days ago)']],
    ['one half-life: half', [event('form_submission', NOW, 10)], 10, ['+10 Form submission (10 days ago)']],
    ['two half-lives: a quarter', [event('form_submission', NOW, 20)], 5, ['+5 Form submission (20 days ago)']],
    ['decayed to nothing: no reason', [event('form_submission', NOW, 100)], 0, []],
    [
      'cap per kind after decay',
      [event('form_submission', NOW, 0), event('form_submission', NOW, 0), event('form_submission', NOW, 1)],
      30,
      ['+30 Form submission ×3 (latest today, capped)'],
    ],
    [
      'aggregate per kind',
      [event('page_view', NOW, 10), event('page_view', NOW, 0)],
      3,
      ['+3 Page view ×2 (latest today)'],
    ],
    ['weight multiplies points', [event('page_view', NOW, 0, 3)], 6, ['+6 Page view ×3 (latest today)']],
    ['negative points are capped in magnitude', [event('email_open', NOW, 0), event('email_open', NOW, 0)], -8, ['-8 Bounce ×2 (latest today, capped)']],
    ['a future day does not count', [event('form_submission', NOW, -1)], 0, []],
    ['a kind without a rule does not count', [event('demo_request', NOW, 0)], 0, []],
  ];

  it.each(cases)('%s', (_name, engagement, expected, reasons) => {
    const result = scoreLead(withEvents(...engagement), config, NOW);
    expect(result.engagement).toBe(expected);
    expect(result.reasons).toEqual(reasons);
  });

  it('ages count in whole UTC days: same day, same score; next day, new score', () => {
    const lead = withEvents({ kind: 'form_submission', at: '2026-03-09T23:59:00Z' });
    const sameDay = scoreLead(lead, config, new Date('2026-03-09T23:59:30Z'));
    const nextDayEarly = scoreLead(lead, config, new Date('2026-03-10T00:00:01Z'));
    const nextDayLate = scoreLead(lead, config, new Date('2026-03-10T23:59:59Z'));
    expect(sameDay.engagement).toBe(20);
    expect(nextDayEarly.engagement).toBe(19);
    expect(nextDayLate).toEqual(nextDayEarly);
    expect(nextDayEarly.scoredAt).toBe('2026-03-10T00:00:00.000Z');
  });

  it('reads instants with an offset by their UTC day', () => {
    const lead = withEvents({ kind: 'form_submission', at: '2026-03-10T01:00:00+02:00' });
    expect(scoreLead(lead, config, NOW).engagement).toBe(19);
    expect(utcDay('2026-03-10T01:00:00+02:00')).toBe(utcDay('2026-03-09T12:00:00Z'));
    expect(utcDay('2026-03-10T00:00:00.000Z')).toBe(20522);
  });

  it('quantiseDays steps the age', () => {
    const weekly = scoring({
      engagement: { halfLifeDays: 10, quantiseDays: 7, events: [{ kind: 'form_submission', points: 20 }] },
    });
    const at = (days: number) => scoreLead(withEvents(event('form_submission', NOW, days)), weekly, NOW).engagement;
    // 20 x 0.5^(7/10) = 12.31 for ages 7 to 13.
    expect([at(0), at(6), at(7), at(13), at(14)]).toEqual([20, 20, 12, 12, 8]);
  });

  it('maxAgeDays drops old events', () => {
    const capped = scoring({
      engagement: { halfLifeDays: 1000, maxAgeDays: 30, events: [{ kind: 'form_submission', points: 20 }] },
    });
    expect(scoreLead(withEvents(event('form_submission', NOW, 30)), capped, NOW).engagement).toBe(20);
    expect(scoreLead(withEvents(event('form_submission', NOW, 31)), capped, NOW).engagement).toBe(0);
  });
});

describe('sales activities as engagement', () => {
  it('scores the calls and emails reps logged (lead.activity.events) beside marketing\'s events', () => {
    const config = scoring({ engagement: { events: [{ kind: 'call', points: 10, cap: 20 }, { kind: 'sales_email', points: 3, cap: 9 }, { kind: 'page_view', points: 1, cap: 5 }] } });
    const lead = {
      ...makeLead({ marketing: { engagement: [event('page_view', NOW, 0)] } }),
      activity: { lastTouchAt: NOW.toISOString(), lastTouchKind: 'call' as const, lastTouchBy: '005R', events: [event('call', NOW, 0), event('sales_email', NOW, 1)] },
    };
    const result = scoreLead(lead, config, NOW);
    expect(result.engagement).toBe(1 + 10 + 3);
    expect(result.reasons).toEqual(expect.arrayContaining(['+10 Call (today)', '+3 Email from sales (1 day ago)']));
  });
});

describe('total, bounds and grades', () => {
  it('bounds the total, not its parts', () => {
    const high = scoring({
      fit: [
        { field: 'person.title', missing: false, points: 90, reason: 'Title' },
        { field: 'company.name', missing: false, points: 60, reason: 'Company' },
      ],
    });
    const result = scoreLead(makeLead({ person: { title: 'CEO' }, company: { name: 'Acme' } }), high, NOW);
    expect([result.fit, result.total, result.grade]).toEqual([150, 100, 'hot']);

    const low = scoring({ fit: [{ field: 'email', freemail: true, points: -30, reason: 'Personal email' }] });
    const negative = scoreLead(makeLead({ email: 'x@gmail.com' }), low, NOW);
    expect([negative.fit, negative.total, negative.grade]).toEqual([-30, 0, 'cold']);
  });

  it('honours custom bounds', () => {
    const config = scoring({
      fit: [{ field: 'email', freemail: true, points: -30, reason: 'Personal email' }],
      bounds: { min: -20, max: 50 },
      grades: { hot: 40, warm: 20 },
    });
    expect(scoreLead(makeLead({ email: 'x@gmail.com' }), config, NOW).total).toBe(-20);
  });

  const grades = { hot: 80, warm: 50 };
  const cases: Array<[number, string]> = [
    [100, 'hot'],
    [80, 'hot'],
    [79, 'warm'],
    [50, 'warm'],
    [49, 'cold'],
    [0, 'cold'],
  ];
  it.each(cases)('total %i is %s', (total, grade) => {
    expect(gradeFor(total, grades)).toBe(grade);
  });
});

describe('reasons', () => {
  it('sorts by absolute points, ties in config order, and keeps the top N', () => {
    const config = scoring({
      fit: [
        { field: 'person.title', missing: false, points: 10, reason: 'Title' },
        { field: 'email', freemail: true, points: -15, reason: 'Personal email' },
        { field: 'company.name', missing: true, points: 10, reason: 'No company' },
        { field: 'person.country', equals: 'US', points: 5, reason: 'US' },
      ],
      engagement: { halfLifeDays: 30, events: [{ kind: 'demo_request', points: 15, reason: 'Demo request' }] },
      topReasons: 4,
    });
    const lead = makeLead({
      email: 'x@gmail.com',
      person: { title: 'CTO', country: 'US' },
      marketing: { engagement: [event('demo_request', NOW, 3)] },
    });
    const result = scoreLead(lead, config, NOW);
    // Demo request: 15 x 0.5^(3/30) = 14.0 -> 14.
    expect(result.reasons).toEqual(['-15 Personal email', '+14 Demo request (3 days ago)', '+10 Title', '+10 No company']);
    expect(result.reasonsText).toBe('-15 Personal email; +14 Demo request (3 days ago); +10 Title; +10 No company');
    expect([result.fit, result.engagement, result.total]).toEqual([10, 14, 24]);
  });

  it('cuts the text at 255 characters on a reason boundary', () => {
    const long = (letter: string) => letter.repeat(60);
    const config = scoring({
      fit: ['a', 'b', 'c', 'd'].map((letter, index) => ({
        field: 'person.title',
        missing: false,
        points: 40 - index,
        reason: long(letter),
      })),
    });
    const result = scoreLead(makeLead({ person: { title: 'CTO' } }), config, NOW);
    expect(result.reasons).toHaveLength(4);
    // Each reason is 64 characters: three fit in 64 + 66 + 66 = 196; a fourth would make 262.
    expect(result.reasonsText).toBe(`+40 ${long('a')}; +39 ${long('b')}; +38 ${long('c')}`);
    expect(result.reasonsText.length).toBe(196);
  });

  it('joinReasons never cuts inside a reason', () => {
    expect(joinReasons(['abc', 'defg', 'h'], 8)).toBe('abc');
    expect(joinReasons(['abc', 'defg', 'h'], 9)).toBe('abc; defg');
    expect(joinReasons(['abcdefghij'], 5)).toBe('');
  });

  it('is a pure function of the day: any time on the day gives the same result', () => {
    const config = makeConfig().scoring;
    const lead = makeLead({
      person: { title: 'VP Marketing' },
      company: { employees: 500 },
      marketing: { engagement: [event('demo_request', NOW, 2), event('page_view', NOW, 1, 8)] },
    });
    const morning = scoreLead(lead, config, new Date('2026-03-10T00:00:00Z'));
    const evening = scoreLead(lead, config, new Date('2026-03-10T23:59:59.999Z'));
    expect(evening).toEqual(morning);
    expect(morning).toEqual({
      fit: 35,
      // Demo request 30 x 0.5^(2/30) = 28.6 -> 29; page views 8 x 1 x 0.5^(1/30) = 7.8 -> 8.
      engagement: 37,
      total: 72,
      grade: 'warm',
      reasons: ['+29 Demo request (2 days ago)', '+20 Senior title', '+15 200+ employees', '+8 Page view ×8 (latest 1 day ago)'],
      reasonsText: '+29 Demo request (2 days ago); +20 Senior title; +15 200+ employees; +8 Page view ×8 (latest 1 day ago)',
      scoredAt: '2026-03-10T00:00:00.000Z',
    });
  });
});
