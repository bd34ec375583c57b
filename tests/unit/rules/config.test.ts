import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultRulesConfig, parseRulesConfig, rulesConfigSchema } from '../../../src/rules/config.js';
import type { RulesConfigInput } from '../../../src/rules/config.js';
import { parseDuration } from '../../../src/rules/duration.js';

function issues(input: unknown): string[] {
  const result = rulesConfigSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('rules config defaults', () => {
  it('an empty document gives a working rule set', () => {
    const config = defaultRulesConfig();
    expect(config.scoring.grades).toEqual({ hot: 80, warm: 50 });
    expect(config.scoring.bounds).toEqual({ min: 0, max: 100 });
    expect(config.scoring.engagement.halfLifeDays).toBe(30);
    expect(config.scoring.engagement.quantiseDays).toBe(1);
    expect(config.scoring.engagement.events).toHaveLength(10);
    expect(config.scoring.fit.map((rule) => rule.reason)).toEqual(['Senior title', '200+ employees', 'Personal email']);
    expect(config.stages.mql).toEqual({ minTotal: 60, minFit: 20 });
    expect(config.stages.recycleAfterDays).toBe(90);
    expect(config.stages.salesforceStatus['Working - Contacted']).toBe('touch');
    expect(config.stages.salesforceStatus['Closed - Converted']).toBe('sql');
    expect(config.routing).toEqual({ rules: [], pools: {}, useAccountOwner: true, useExistingOwner: true, ignoreOwners: [], capWindowDays: 30 });
    expect(config.sla.firstTouch).toEqual({
      within: '4h',
      calendar: { tz: 'UTC', days: 'Mon-Fri', hours: '09:00-17:00', holidays: [] },
      clock: 'team',
    });
    expect(config.sla.reminders).toEqual([]);
    expect(config.sla.escalate).toBeUndefined();
    expect(config.targets).toEqual({ months: {}, tz: 'UTC' });
    expect(config.reps).toEqual({});
  });

  it('null (an empty yaml file) parses like {}', () => {
    expect(parseRulesConfig(null)).toEqual(defaultRulesConfig());
  });

  it('a partial section keeps the defaults of its other keys', () => {
    const config = parseRulesConfig({ scoring: { grades: { hot: 90 } }, sla: { firstTouch: { within: '2h' } } });
    expect(config.scoring.grades).toEqual({ hot: 90, warm: 50 });
    expect(config.scoring.fit).toHaveLength(3);
    expect(config.sla.firstTouch.within).toBe('2h');
    expect(config.sla.firstTouch.calendar.hours).toBe('09:00-17:00');
  });

  it('ignores top-level keys that belong to other sections of smarketing.yaml', () => {
    const config = parseRulesConfig({ sync: { pollEvery: '30s' }, mapping: {} });
    expect(Object.keys(config).sort()).toEqual(['likelihood', 'reps', 'routing', 'scoring', 'sla', 'stages', 'targets']);
  });

  it('likelihood: learns to predict an opportunity by default, holding out the newest quarter, the grade following the rules; says what is wrong', () => {
    expect(parseRulesConfig({}).likelihood).toEqual({ target: 'opportunity', holdout: 0.25, grade: 'rules', blend: 0.5, autoPublish: false });
    expect(parseRulesConfig({ likelihood: { target: 'won', holdout: 0.2, grade: 'blend', blend: 0.3, retrainEvery: '1d', autoPublish: true } }).likelihood).toEqual({ target: 'won', holdout: 0.2, grade: 'blend', blend: 0.3, retrainEvery: '1d', autoPublish: true });
    expect(() => parseRulesConfig({ likelihood: { retrainEvery: 'weekly' } })).toThrow(/invalid duration .*weekly/);
    // Each run reads every stored lead: not more often than hourly.
    expect(() => parseRulesConfig({ likelihood: { retrainEvery: '30m' } })).toThrow(/retrain at most once an hour/);
    expect(() => parseRulesConfig({ likelihood: { grade: 'ai' } })).toThrow(/rules|model|blend/);
    expect(() => parseRulesConfig({ likelihood: { target: 'lost' } })).toThrow(/opportunity|won/);
    expect(() => parseRulesConfig({ likelihood: { holdout: 0.9 } })).toThrow(/0\.5/);
  });
});

describe('smarketing.example.yaml', () => {
  it('parses with the rules schema and keeps its values', () => {
    const path = fileURLToPath(new URL('../../../smarketing.example.yaml', import.meta.url));
    const document = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const result = rulesConfigSchema.safeParse(document);
    expect(result.success ? [] : result.error.issues).toEqual([]);
    const config = rulesConfigSchema.parse(document);
    expect(config.scoring.fit).toHaveLength(8);
    expect(config.routing.pools['na-reps']?.members.map((member) => member.weight)).toEqual([2, 1, 1]);
    expect(config.sla.firstTouch.calendar.tz).toBe('America/New_York');
    expect(config.sla.escalate).toEqual({ after: '8h', action: 'reassign', maxTimes: 1, markAway: { breaches: 3, withinDays: 7, awayDays: 1 } });
    expect(config.reps['005000000000021AAA']?.timeOff).toEqual([{ from: '2026-08-03', to: '2026-08-14', reason: 'Summer holiday' }]);
    expect(config.targets.mqlPerMonth).toBe(120);
  });
});

describe('rules config errors are human-readable', () => {
  const cases: Array<[string, RulesConfigInput | Record<string, unknown>, string]> = [
    [
      'a regular expression that does not compile',
      { scoring: { fit: [{ field: 'person.title', matches: '(', points: 1, reason: 'x' }] } },
      'scoring.fit.0.matches: invalid regular expression "(": Unterminated group',
    ],
    [
      'an unknown Lead field',
      { scoring: { fit: [{ field: 'company.country', equals: 'US', points: 1, reason: 'x' }] } },
      'scoring.fit.0.field: unknown Lead field "company.country" (fields of company: name, domain, industry, employees, annualRevenue)',
    ],
    [
      'a path into prototype land',
      { scoring: { fit: [{ field: 'person.__proto__', missing: true, points: 1, reason: 'x' }] } },
      'scoring.fit.0.field: "person.__proto__" uses the reserved name "__proto__"',
    ],
    [
      'a rule without an operator',
      { scoring: { fit: [{ field: 'person.title', points: 1, reason: 'x' }] } },
      'scoring.fit.0: the condition on "person.title" needs one of: equals, in, matches, gte, lte, freemail, missing',
    ],
    [
      'an empty range',
      { scoring: { fit: [{ field: 'company.employees', gte: 10, lte: 5, points: 1, reason: 'x' }] } },
      'scoring.fit.0.gte: gte 10 is greater than lte 5, so the range matches nothing',
    ],
    [
      'a misspelt operator',
      { scoring: { fit: [{ field: 'person.title', match: 'vp', points: 1, reason: 'x' }] } },
      'scoring.fit.0: Unrecognized key: "match"',
    ],
    [
      'grades in the wrong order',
      { scoring: { grades: { hot: 40, warm: 50 } } },
      'scoring.grades: hot (40) must be above warm (50)',
    ],
    [
      'a duplicated engagement kind',
      { scoring: { engagement: { events: [{ kind: 'visit', points: 1 }, { kind: 'visit', points: 2 }] } } },
      'scoring.engagement.events.1.kind: "visit" is listed twice; give each kind one rule (known kinds: page_view, visit, form_submission, email_open, email_click, demo_request, conversion, meeting, call, sales_email)',
    ],
    [
      'an unknown time zone',
      { sla: { firstTouch: { calendar: { tz: 'America/Gotham' } } } },
      'sla.firstTouch.calendar.tz: unknown time zone "America/Gotham": use an IANA zone such as America/New_York or Europe/Berlin',
    ],
    [
      'bad working days',
      { sla: { firstTouch: { calendar: { days: 'Mon-Fry' } } } },
      'sla.firstTouch.calendar.days: invalid day range "Mon-Fry" (use a range such as Mon-Fri)',
    ],
    [
      'bad hours',
      { sla: { firstTouch: { calendar: { hours: '17:00-09:00' } } } },
      'sla.firstTouch.calendar.hours: invalid hours "17:00-09:00": the end must be after the start',
    ],
    [
      'a holiday that is not a date',
      { sla: { firstTouch: { calendar: { holidays: ['2026-02-30'] } } } },
      'sla.firstTouch.calendar.holidays.0: invalid holiday "2026-02-30": use yyyy-MM-dd',
    ],
    [
      'a bad duration',
      { sla: { firstTouch: { within: '4 hours' } } },
      'sla.firstTouch.within: invalid duration "4 hours": use a number with d, h or m, such as 30m, 4h, 2d or 1h30m',
    ],
    [
      'a reminder longer than the SLA',
      { sla: { firstTouch: { within: '2h' }, reminders: ['3h'] } },
      'sla.reminders.0: reminder 3h before due must be shorter than firstTouch.within (2h)',
    ],
    [
      'an escalation before the due time',
      { sla: { firstTouch: { within: '4h' }, escalate: { after: '2h' } } },
      'sla.escalate.after: escalate.after (2h) must not be shorter than firstTouch.within (4h): escalation follows a breach',
    ],
    [
      'a rule naming an unknown pool',
      {
        routing: {
          rules: [{ when: { field: 'person.country', in: ['US'] }, pool: 'na' }],
          pools: { emea: { members: [{ owner: '005A' }] } },
        },
      },
      'routing.rules.0.pool: unknown pool "na" (known pools: emea)',
    ],
    [
      'an owner listed twice in a pool',
      { routing: { pools: { na: { members: [{ owner: '005A' }, { owner: '005A' }] } } } },
      'routing.pools.na.members.1.owner: owner "005A" is listed twice',
    ],
    [
      'a Salesforce status listed twice',
      { stages: { salesforceStatus: { Accepted: 'sal', accepted: 'sql' } } },
      'stages.salesforceStatus.accepted: status "accepted" is listed twice (also as "Accepted"); statuses match case-insensitively',
    ],
    [
      'a reject reason listed twice',
      { stages: { rejectReasons: [{ code: 'no-budget' }, { code: 'No-Budget' }] } },
      'stages.rejectReasons.1.code: reason code "No-Budget" is listed twice',
    ],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    expect(issues(input)).toContain(expected);
  });

  it('type errors come from zod with expected and received types', () => {
    expect(issues({ stages: { mql: { minTotal: 'sixty' } } })).toEqual([
      'stages.mql.minTotal: Invalid input: expected number, received string',
    ]);
  });
});

describe('parseDuration', () => {
  const cases: Array<[string, { days: number; ms: number } | null]> = [
    ['30m', { days: 0, ms: 1_800_000 }],
    ['4h', { days: 0, ms: 14_400_000 }],
    ['2d', { days: 2, ms: 0 }],
    ['1h30m', { days: 0, ms: 5_400_000 }],
    ['1d 4h', { days: 1, ms: 14_400_000 }],
    ['0h', null],
    ['', null],
    ['4 hours', null],
    ['h', null],
    ['-1h', null],
  ];
  it.each(cases)('%j', (text, expected) => {
    expect(parseDuration(text)).toEqual(expected);
  });
});
