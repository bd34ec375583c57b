import { describe, expect, it } from 'vitest';
import { diffSmk, planWrites, coalesceUpdates } from '../../../src/sync/plan.js';
import { decideIdentity } from '../../../src/sync/identity.js';
import { eventsFromCounters, appendEngagement, MAX_ENGAGEMENT_EVENTS } from '../../../src/sync/engagement.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import { normaliseSmkValue, SMK_FIELD_BY_KEY } from '../../../src/model/fields.js';

describe('normaliseSmkValue makes CRM echoes compare equal', () => {
  const field = (k: Parameters<typeof SMK_FIELD_BY_KEY.get>[0]) => SMK_FIELD_BY_KEY.get(k)!;
  it.each([
    ['score', '17.0', '17'],
    ['score', 17, '17'],
    ['score', '', null],
    ['grade', 'HOT', 'hot'],
    ['slaDueAt', '2026-01-01T10:00:00.000+0000', '2026-01-01T10:00:00.000Z'],
    ['slaDueAt', '1767261600000', '2026-01-01T10:00:00.000Z'],
    ['slaDueAt', '2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['scoreReasons', 'x'.repeat(300), 'x'.repeat(255)],
  ] as const)('%s %s -> %s', (key, raw, expected) => {
    expect(normaliseSmkValue(field(key), raw)).toBe(expected);
  });
});

describe('write planning', () => {
  const ref = { object: 'contact' as const, id: '1' };
  it('plans nothing when the record already holds the desired values', () => {
    expect(diffSmk('hubspot', { score: '42', grade: 'warm' }, { score: '42.0', grade: 'WARM' })).toEqual({});
    expect(planWrites({ desired: { score: '42' }, targets: { hubspot: { ref, held: { score: '42' }, writable: true } } })).toEqual([]);
  });

  it('plans only the differing fields, per linked record', () => {
    const plans = planWrites({
      desired: { score: '50', grade: 'warm', salesDecision: 'rejected' },
      targets: {
        hubspot: { ref, held: { score: '42', grade: 'warm' }, writable: true },
        salesforce: { ref: { object: 'Lead', id: '00Q000000000001AAA' }, held: { score: '50', grade: 'WARM' }, writable: true },
      },
    });
    expect(plans).toEqual([{ crm: 'hubspot', update: { ref, smk: { score: '50', salesDecision: 'rejected' } } }]);
  });

  it("never writes sales' own inputs back to Salesforce", () => {
    expect(diffSmk('salesforce', { salesDecision: 'accepted', rejectReason: 'x', score: '1' }, {})).toEqual({ score: '1' });
  });

  it('writes an owner only where it differs', () => {
    const plans = planWrites({ desired: {}, targets: { salesforce: { ref: { object: 'Lead', id: '00Q000000000001AAA' }, held: {}, ownerId: '005A', writable: true } }, owner: { salesforce: '005B' } });
    expect(plans[0]?.update.ownerId).toBe('005B');
    expect(planWrites({ desired: {}, targets: { salesforce: { ref: { object: 'Lead', id: '00Q000000000001AAA' }, held: {}, ownerId: '005B', writable: true } }, owner: { salesforce: '005B' } })).toEqual([]);
  });

  it('coalesces a newer plan into a pending one', () => {
    expect(coalesceUpdates({ ref, smk: { score: '1', grade: 'cold' } }, { ref, smk: { score: '2' }, ownerId: 'o' })).toEqual({ ref, smk: { score: '2', grade: 'cold' }, ownerId: 'o' });
  });
});

describe('a newer plan supersedes pending writes', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>]> = [
    // name, desired, held, pending, planned
    ['back to what the record holds while B waits: A goes (never B)', { score: '10' }, { score: '10' }, { score: '20' }, { score: '10' }],
    ['nothing pending, nothing differs: nothing', { score: '10' }, { score: '10' }, {}, {}],
    ['pending already has the desired value: nothing new', { score: '20' }, { score: '10' }, { score: '20' }, { score: '20' }],
    ['pending for another field only: that field is left alone', { score: '10', grade: 'warm' }, { score: '10', grade: 'warm' }, { stage: 'mql' }, {}],
    ['pending equal after normalising: nothing', { grade: 'warm' }, { grade: 'warm' }, { grade: 'WARM' }, {}],
  ];
  it.each(cases)('%s', (_name, desired, held, pending, planned) => {
    expect(diffSmk('hubspot', desired, held, pending)).toEqual(planned);
  });
});

describe('identity', () => {
  const fragment = (over: Record<string, unknown>) => leadFragmentSchema.parse({ source: 'salesforce', recordId: '00Q000000000002AAA', object: 'Lead', email: 'Ada@Example.com', modifiedAt: '2026-01-01T00:00:00.000Z', ...over });
  it('prefers the stored link', () => {
    expect(decideIdentity(fragment({}), { byRecord: 'L1', byConversion: null, byEmail: { leadId: 'L2', links: {} } }, 'Lnew')).toEqual({ kind: 'linked', leadId: 'L1' });
  });
  it('matches by normalised email when the lead has no record in this CRM', () => {
    expect(decideIdentity(fragment({}), { byRecord: null, byConversion: null, byEmail: { leadId: 'L2', links: { hubspot: { id: '5' } } } }, 'Lnew')).toEqual({ kind: 'matched', leadId: 'L2', by: 'email' });
  });
  it('reports a second record with the same email in the same CRM instead of guessing', () => {
    const d = decideIdentity(fragment({}), { byRecord: null, byConversion: null, byEmail: { leadId: 'L2', links: { salesforce: { object: 'Lead', id: '00Q000000000001AAA' } } } }, 'Lnew');
    expect(d.kind).toBe('ambiguous');
    expect(d.kind === 'ambiguous' && d.message).toMatch(/00Q000000000002AAA.*00Q000000000001AAA/);
  });
  it('makes a new lead otherwise', () => {
    expect(decideIdentity(fragment({ email: null }), { byRecord: null, byConversion: null, byEmail: null }, 'Lnew')).toEqual({ kind: 'new', leadId: 'Lnew' });
  });
});

describe('engagement from HubSpot counters', () => {
  const seen = '2026-03-10T12:00:00.000Z';
  it('turns a first sight into one event per counter, dated by HubSpot timestamps', () => {
    const events = eventsFromCounters(undefined, { pageViews: 8, formSubmissions: 2, recentConversionAt: Date.parse('2026-03-01T00:00:00Z'), lastVisitAt: Date.parse('2026-03-05T00:00:00Z') }, seen, 'Demo request');
    expect(events).toEqual([
      { kind: 'page_view', at: '2026-03-05T00:00:00.000Z', weight: 8 },
      { kind: 'form_submission', at: '2026-03-01T00:00:00.000Z', weight: 2, detail: 'Demo request' },
    ]);
  });
  it('turns an increase into an event of the increase, and a decrease into nothing', () => {
    const prev = { pageViews: 8, lastVisitAt: 1 };
    expect(eventsFromCounters(prev, { pageViews: 11, lastVisitAt: Date.parse('2026-03-10T11:00:00Z') }, seen)).toEqual([{ kind: 'page_view', at: '2026-03-10T11:00:00.000Z', weight: 3 }]);
    expect(eventsFromCounters(prev, { pageViews: 11, lastVisitAt: 1 }, seen)).toEqual([{ kind: 'page_view', at: seen, weight: 3 }]);
    expect(eventsFromCounters(prev, { pageViews: 2, lastVisitAt: 1 }, seen)).toEqual([]);
    expect(eventsFromCounters(prev, prev, seen)).toEqual([]);
  });
  it('bounds the kept events by age and count', () => {
    const old = { kind: 'visit' as const, at: '2024-01-01T00:00:00.000Z' };
    const many = Array.from({ length: MAX_ENGAGEMENT_EVENTS + 10 }, (_, i) => ({ kind: 'page_view' as const, at: new Date(Date.parse(seen) - i * 60_000).toISOString() }));
    const kept = appendEngagement([old], many, seen);
    expect(kept).toHaveLength(MAX_ENGAGEMENT_EVENTS);
    expect(kept.some((e) => e.kind === 'visit')).toBe(false);
    expect(kept[kept.length - 1]?.at).toBe(seen);
  });
});

describe('identity after a conversion', () => {
  it('matches a converted Lead to the lead that already follows its Contact', () => {
    const fragment = leadFragmentSchema.parse({ source: 'salesforce', recordId: '00Q000000000003AAA', object: 'Lead', email: 'a@b.com', modifiedAt: '2026-01-01T00:00:00.000Z', identity: { convertedContactId: '003000000000001AAA' } });
    expect(decideIdentity(fragment, { byRecord: null, byConversion: null, byEmail: { leadId: 'L9', links: { salesforce: { object: 'Contact', id: '003000000000001AAA' } } } }, 'Lnew')).toEqual({ kind: 'matched', leadId: 'L9', by: 'conversion' });
  });
});
