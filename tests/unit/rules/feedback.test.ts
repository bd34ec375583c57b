import { describe, expect, it } from 'vitest';
import { feedbackValues } from '../../../src/rules/feedback.js';
import type { FeedbackKey } from '../../../src/rules/feedback.js';
import { checkLeadPath, readLeadPath } from '../../../src/rules/lead-path.js';
import { makeConfig, makeLead } from './helpers.js';
import type { LeadInput } from './helpers.js';

const stages = makeConfig().stages;

const EMPTY: Record<FeedbackKey, string | null> = {
  salesDecision: null,
  rejectReason: null,
  leadQuality: null,
  disqualifyReason: null,
  salesNotes: null,
  handoffAt: null,
  slaDueAt: null,
  slaStatus: 'none',
  slaBreachedAt: null,
};

describe('feedbackValues', () => {
  const cases: Array<[string, LeadInput, Partial<typeof EMPTY>, string[]]> = [
    ['nothing from sales yet', {}, {}, []],
    ['an acceptance', { sales: { decision: 'accepted' } }, { salesDecision: 'accepted' }, []],
    [
      'a rejection with a known code',
      { sales: { decision: 'rejected', rejectReason: 'no-budget' } },
      { salesDecision: 'rejected', rejectReason: 'no-budget' },
      [],
    ],
    [
      'a rejection with a known label keeps the rep\'s text',
      { sales: { decision: 'rejected', rejectReason: ' No budget ' } },
      { salesDecision: 'rejected', rejectReason: 'No budget' },
      [],
    ],
    [
      'a rejection with an unknown reason keeps it and flags it',
      { sales: { decision: 'rejected', rejectReason: 'too far away' } },
      { salesDecision: 'rejected', rejectReason: 'too far away' },
      ['reject reason "too far away" is not one of the configured codes (no-budget, bad-timing, no-response, not-a-fit, duplicate, competitor)'],
    ],
    ['a rejection without a reason is flagged', { sales: { decision: 'rejected' } }, { salesDecision: 'rejected' }, ['rejected without a reason']],
    ['a quality rating', { sales: { qualityRating: 4 } }, { leadQuality: '4' }, []],
    ['a fractional rating is rounded', { sales: { qualityRating: 3.6 } }, { leadQuality: '4' }, []],
    ['an out-of-range rating is flagged', { sales: { qualityRating: 7 } }, { leadQuality: '7' }, ['lead quality 7 is outside 1 to 5']],
    ['a known disqualify reason', { sales: { disqualifyReason: 'Spam or fake' } }, { disqualifyReason: 'Spam or fake' }, []],
    [
      'an unknown disqualify reason',
      { sales: { disqualifyReason: 'martian' } },
      { disqualifyReason: 'martian' },
      ['disqualify reason "martian" is not one of the configured codes (not-a-fit, duplicate, competitor, spam, student)'],
    ],
    ['notes', { sales: { notes: 'Call back in May' } }, { salesNotes: 'Call back in May' }, []],
    ['blank notes are no notes', { sales: { notes: '   ' } }, {}, []],
    [
      'the SLA outcome, as ISO instants in UTC',
      {
        sla: {
          startedAt: '2026-03-10T14:00:00-04:00',
          handoffAt: '2026-03-10T14:00:00-04:00',
          dueAt: '2026-03-11T14:00:00Z',
          status: 'breached',
          breachedAt: '2026-03-11T14:00:00Z',
          escalations: 0,
        },
      },
      {
        handoffAt: '2026-03-10T18:00:00.000Z',
        slaDueAt: '2026-03-11T14:00:00.000Z',
        slaStatus: 'breached',
        slaBreachedAt: '2026-03-11T14:00:00.000Z',
      },
      [],
    ],
  ];

  it.each(cases)('%s', (_name, input, values, flags) => {
    const result = feedbackValues(makeLead(input), stages);
    expect(result.values).toEqual({ ...EMPTY, ...values });
    expect(result.flags).toEqual(flags);
  });

  it('cuts a reject reason to the 255 characters of its field', () => {
    const long = 'x'.repeat(300);
    const result = feedbackValues(makeLead({ sales: { decision: 'rejected', rejectReason: long } }), stages);
    expect(result.values.rejectReason).toBe('x'.repeat(255));
  });
});

describe('lead paths', () => {
  const lead = makeLead({ person: { title: 'CTO' }, marketing: { engagement: [], counters: { page_views: 3 } } });

  it('reads own properties along a dotted path', () => {
    expect(readLeadPath(lead, 'person.title')).toBe('CTO');
    expect(readLeadPath(lead, 'marketing.counters.page_views')).toBe(3);
    expect(readLeadPath(lead, 'person.nothing')).toBeUndefined();
    expect(readLeadPath(lead, 'person.title.length')).toBeUndefined();
  });

  it('never walks into prototypes', () => {
    expect(readLeadPath(lead, '__proto__')).toBeUndefined();
    expect(readLeadPath(lead, 'person.constructor')).toBeUndefined();
    expect(readLeadPath(lead, 'person.__proto__.toString')).toBeUndefined();
    expect(readLeadPath(lead, 'marketing.counters.hasOwnProperty')).toBeUndefined();
    const hostile = JSON.parse('{"person":{"__proto__":{"title":"injected"}}}') as Record<string, unknown>;
    expect(readLeadPath(hostile, 'person.__proto__.title')).toBeUndefined();
  });

  it('checks config paths against the Lead schema', () => {
    expect(checkLeadPath('person.title')).toEqual({ ok: true, kind: 'value' });
    expect(checkLeadPath('marketing.engagement')).toEqual({ ok: true, kind: 'array' });
    expect(checkLeadPath('marketing.counters.page_views')).toEqual({ ok: true, kind: 'record-entry' });
    expect(checkLeadPath('links.salesforce.object')).toEqual({ ok: true, kind: 'value' });
    expect(checkLeadPath('person')).toEqual({
      ok: false,
      message: '"person" is a group of fields; name one of them (firstName, lastName, title, phone, country, state, city)',
    });
    expect(checkLeadPath('persona.title')).toMatchObject({ ok: false, message: expect.stringContaining('unknown Lead field "persona.title"') });
    expect(checkLeadPath('person..title')).toEqual({ ok: false, message: '"person..title" is not a dotted Lead field path such as person.title' });
    expect(checkLeadPath('constructor')).toEqual({ ok: false, message: '"constructor" uses the reserved name "constructor"' });
  });
});
