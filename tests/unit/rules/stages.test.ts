import { describe, expect, it } from 'vitest';
import type { Lead, Stage, StageTransition } from '../../../src/model/lead.js';
import { lifecycleFor, planLifecycleWrite } from '../../../src/rules/lifecycle.js';
import type { LifecycleWrite } from '../../../src/rules/lifecycle.js';
import { nextStage } from '../../../src/rules/stages.js';
import type { StageScore } from '../../../src/rules/stages.js';
import { DAY, makeConfig, makeLead } from './helpers.js';
import type { LeadInput } from './helpers.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const NOW_ISO = NOW.toISOString();
const HANDOFF = '2026-06-01T12:00:00.000Z';
const stages = makeConfig().stages;

const LOW: StageScore = { total: 10, fit: 0 };
const HIGH: StageScore = { total: 75, fit: 30 };

function at(stage: Stage, when = HANDOFF, cause = 'test'): NonNullable<Lead['stage']> {
  return { current: stage, history: [{ stage, at: when, cause }] };
}

function sf(): LeadInput['links'] {
  return { salesforce: { object: 'Lead', id: '00Q000000000001AAA' } };
}

describe('nextStage: every transition', () => {
  const cases: Array<[string, LeadInput, StageScore, Stage, string | null]> = [
    ['a new lead below the bar is a lead', {}, LOW, 'lead', 'first seen'],
    ['a new HubSpot subscriber is a subscriber', { marketing: { engagement: [], lifecycleStage: 'subscriber' } }, LOW, 'subscriber', 'first seen'],
    [
      'a subscriber with a Salesforce record becomes a lead',
      { stage: at('subscriber'), links: sf(), marketing: { engagement: [], lifecycleStage: 'subscriber' } },
      LOW,
      'lead',
      'Salesforce record',
    ],
    [
      'a subscriber whose HubSpot lifecycle moved on becomes a lead',
      { stage: at('subscriber'), marketing: { engagement: [], lifecycleStage: 'lead' } },
      LOW,
      'lead',
      'HubSpot lifecycle stage past subscriber',
    ],
    ['a lead over both thresholds is an MQL', { stage: at('lead') }, HIGH, 'mql', 'score 75 ≥ 60, fit 30 ≥ 20'],
    ['a lead at exactly the thresholds is an MQL', { stage: at('lead') }, { total: 60, fit: 20 }, 'mql', 'score 60 ≥ 60, fit 20 ≥ 20'],
    ['total alone is not enough', { stage: at('lead') }, { total: 90, fit: 19 }, 'lead', null],
    ['fit alone is not enough', { stage: at('lead') }, { total: 59, fit: 50 }, 'lead', null],
    ['a subscriber can be an MQL at once', { stage: at('subscriber') }, HIGH, 'mql', 'score 75 ≥ 60, fit 30 ≥ 20'],
    ['SAL by the decision field', { stage: at('mql'), sales: { decision: 'accepted' } }, HIGH, 'sal', 'accepted by sales'],
    ['SAL by Salesforce status', { stage: at('mql'), sales: { status: 'Accepted' } }, HIGH, 'sal', 'Salesforce status "Accepted"'],
    ['status matches case-insensitively', { stage: at('mql'), sales: { status: 'accepted' } }, HIGH, 'sal', 'Salesforce status "accepted"'],
    ['a touch status does not move the stage', { stage: at('mql'), sales: { status: 'Working - Contacted' } }, HIGH, 'mql', null],
    [
      'a rejection with a recycle reason recycles',
      { stage: at('mql'), sales: { decision: 'rejected', rejectReason: 'bad-timing' } },
      HIGH,
      'recycled',
      'rejected by sales: bad-timing',
    ],
    [
      'a rejection reason may be given by its label',
      { stage: at('sal'), sales: { decision: 'rejected', rejectReason: 'Not a fit' } },
      HIGH,
      'disqualified',
      'rejected by sales: Not a fit',
    ],
    [
      'a rejection with a disqualify reason disqualifies',
      { stage: at('mql'), sales: { decision: 'rejected', rejectReason: 'not-a-fit' } },
      HIGH,
      'disqualified',
      'rejected by sales: not-a-fit',
    ],
    [
      'a rejection with an unknown reason follows unknownRejectReason',
      { stage: at('mql'), sales: { decision: 'rejected', rejectReason: 'too far away' } },
      HIGH,
      'recycled',
      'rejected by sales: too far away',
    ],
    [
      'a rejection without a reason',
      { stage: at('mql'), sales: { decision: 'rejected' } },
      HIGH,
      'recycled',
      'rejected by sales: no reason given',
    ],
    [
      'a disqualify status',
      { stage: at('sal'), sales: { status: 'Closed - Not Converted' } },
      HIGH,
      'disqualified',
      'Salesforce status "Closed - Not Converted"',
    ],
    ['a disqualify reason', { stage: at('mql'), sales: { disqualifyReason: 'spam' } }, HIGH, 'disqualified', 'disqualified: spam'],
    ['a nurture status recycles', { stage: at('mql'), sales: { status: 'Nurture' } }, HIGH, 'recycled', 'Salesforce status "Nurture"'],
    [
      'conversion makes an SQL (and spends the agreeing status)',
      { stage: at('sal'), sales: { converted: true, status: 'Closed - Converted' } },
      HIGH,
      'sql',
      'converted in Salesforce; Salesforce status "Closed - Converted"',
    ],
    ['an SQL status', { stage: at('sal'), sales: { status: 'Qualified' } }, HIGH, 'sql', 'Salesforce status "Qualified"'],
    [
      'an open opportunity',
      { stage: at('sql'), sales: { converted: true, opportunityStage: 'Prospecting' } },
      HIGH,
      'opportunity',
      'opportunity "Prospecting"; converted in Salesforce',
    ],
    [
      'a won opportunity is a customer',
      { stage: at('opportunity'), sales: { converted: true, opportunityStage: 'Closed Won', opportunityWon: true } },
      HIGH,
      'customer',
      'opportunity won; opportunity "Closed Won"; converted in Salesforce',
    ],
    [
      'a lost opportunity recycles',
      { stage: at('opportunity'), sales: { converted: true, opportunityStage: 'Closed Lost', opportunityWon: false } },
      HIGH,
      'recycled',
      'opportunity lost; converted in Salesforce',
    ],
    ['sales facts never move a lead back', { stage: at('sql'), sales: { decision: 'accepted' } }, HIGH, 'sql', null],
    ['a rejection does not touch an SQL', { stage: at('sql'), sales: { decision: 'rejected', rejectReason: 'no-budget' } }, HIGH, 'sql', null],
    ['a customer stays a customer', { stage: at('customer'), sales: { disqualifyReason: 'spam' } }, HIGH, 'customer', null],
    ['a disqualified lead is not re-qualified by score', { stage: at('disqualified') }, HIGH, 'disqualified', null],
    ['an MQL does not fall back when the score drops', { stage: at('mql') }, LOW, 'mql', null],
    ['no progress for 90 days recycles', { stage: at('mql', new Date(NOW.getTime() - 90 * DAY).toISOString()) }, HIGH, 'recycled', 'no progress for 90 days in MQL'],
    ['89 days is not yet 90', { stage: at('sal', new Date(NOW.getTime() - 89 * DAY).toISOString()) }, HIGH, 'sal', null],
    [
      'a recycled lead that re-engaged is an MQL again',
      { stage: at('recycled'), marketing: { engagement: [{ kind: 'form_submission', at: '2026-06-10T00:00:00Z' }] } },
      HIGH,
      'mql',
      're-engaged: score 75 ≥ 60, fit 30 ≥ 20',
    ],
    [
      'rejected for bad timing 90 minutes ago: new engagement does not hand it over again',
      { stage: at('recycled', new Date(NOW.getTime() - 90 * 60_000).toISOString(), 'rejected by sales: bad-timing'), sales: { decision: 'rejected', rejectReason: 'bad-timing' }, marketing: { engagement: [{ kind: 'page_view', at: new Date(NOW.getTime() - 30 * 60_000).toISOString() }] } },
      HIGH,
      'recycled',
      null,
    ],
    [
      'rejected for bad timing 31 days ago and engaged since the 30 days passed: an MQL again',
      { stage: at('recycled', new Date(NOW.getTime() - 31 * DAY).toISOString(), 'rejected by sales: bad-timing'), sales: { decision: 'rejected', rejectReason: 'bad-timing' }, marketing: { engagement: [{ kind: 'form_submission', at: new Date(NOW.getTime() - DAY / 2).toISOString() }] } },
      HIGH,
      'mql',
      're-engaged: score 75 ≥ 60, fit 30 ≥ 20',
    ],
    [
      'rejected for bad timing 31 days ago, engaged only during the 30 days: stays recycled',
      { stage: at('recycled', new Date(NOW.getTime() - 31 * DAY).toISOString(), 'rejected by sales: bad-timing'), sales: { decision: 'rejected', rejectReason: 'bad-timing' }, marketing: { engagement: [{ kind: 'form_submission', at: new Date(NOW.getTime() - 20 * DAY).toISOString() }] } },
      HIGH,
      'recycled',
      null,
    ],
    [
      'rejected for no budget (no cooldown): new engagement hands it over again',
      { stage: at('recycled', new Date(NOW.getTime() - 90 * 60_000).toISOString(), 'rejected by sales: no-budget'), sales: { decision: 'rejected', rejectReason: 'no-budget' }, marketing: { engagement: [{ kind: 'page_view', at: new Date(NOW.getTime() - 30 * 60_000).toISOString() }] } },
      HIGH,
      'mql',
      're-engaged: score 75 ≥ 60, fit 30 ≥ 20',
    ],
    [
      'a recycled lead without new engagement stays recycled',
      { stage: at('recycled'), marketing: { engagement: [{ kind: 'form_submission', at: '2026-05-10T00:00:00Z' }] } },
      HIGH,
      'recycled',
      null,
    ],
  ];

  it.each(cases)('%s', (_name, input, score, expected, cause) => {
    const result = nextStage(makeLead(input), score, stages, NOW);
    expect(result.stage).toBe(expected);
    expect(result.state.current).toBe(expected);
    expect(result.transition?.cause ?? null).toBe(cause);
    if (cause !== null) {
      expect(result.transition?.stage).toBe(expected);
      expect(result.state.history[result.state.history.length - 1]).toEqual(result.transition);
    }
  });

  it('dates a timed recycle when it fell due, not when it was noticed', () => {
    const result = nextStage(makeLead({ stage: at('mql', '2026-03-01T10:00:00.000Z') }), HIGH, stages, NOW);
    expect(result.transition).toEqual({ stage: 'recycled', at: '2026-05-30T10:00:00.000Z', cause: 'no progress for 90 days in MQL' });
  });

  it('recycles by timer and re-qualifies in one evaluation when the lead re-engaged since', () => {
    const lead = makeLead({
      stage: at('mql', '2026-03-01T10:00:00.000Z'),
      marketing: { engagement: [{ kind: 'demo_request', at: '2026-06-10T00:00:00Z' }] },
    });
    const result = nextStage(lead, HIGH, stages, NOW);
    expect(result.transitions.map((transition) => [transition.stage, transition.at])).toEqual([
      ['recycled', '2026-05-30T10:00:00.000Z'],
      ['mql', NOW_ISO],
    ]);
    const again = nextStage({ ...lead, stage: result.state }, HIGH, stages, NOW);
    expect(again.transitions).toEqual([]);
  });

  it('does not recycle without a configured period', () => {
    const noRecycle = makeConfig({ stages: { recycleAfterDays: null } }).stages;
    expect(nextStage(makeLead({ stage: at('mql', '2025-01-01T00:00:00Z') }), HIGH, noRecycle, NOW).stage).toBe('mql');
  });

  it('leaves a lost opportunity at opportunity when configured so', () => {
    const keep = makeConfig({ stages: { opportunityLost: 'opportunity' } }).stages;
    const lead = makeLead({
      stage: at('opportunity', HANDOFF, 'opportunity "Negotiation"'),
      sales: { opportunityStage: 'Closed Lost', opportunityWon: false },
    });
    const result = nextStage(lead, HIGH, keep, NOW);
    expect(result.stage).toBe('opportunity');
    // The new opportunity stage is kept in the history without a change of stage.
    expect(result.transitions).toEqual([{ stage: 'opportunity', at: NOW_ISO, cause: 'opportunity "Closed Lost"' }]);
  });

  it('a lost deal recycles a contact seen for the first time, and its conversion does not lift it back', () => {
    const lead = makeLead({ links: sf(), sales: { converted: true, opportunityStage: 'Closed Lost', opportunityWon: false } });
    const result = nextStage(lead, HIGH, stages, NOW);
    expect(result.transitions).toEqual([{ stage: 'recycled', at: NOW_ISO, cause: 'opportunity lost; converted in Salesforce' }]);
    expect(nextStage({ ...lead, stage: result.state }, HIGH, stages, NOW).transitions).toEqual([]);
  });
});

describe('nextStage: sales facts act once', () => {
  const recycledByRejection: StageTransition[] = [
    { stage: 'mql', at: '2026-05-01T12:00:00.000Z', cause: 'score 75 ≥ 60, fit 30 ≥ 20' },
    { stage: 'recycled', at: '2026-05-02T12:00:00.000Z', cause: 'rejected by sales: bad-timing' },
  ];
  const rejected = { decision: 'rejected' as const, rejectReason: 'bad-timing' };
  const reengaged = { engagement: [{ kind: 'form_submission' as const, at: '2026-06-10T00:00:00Z' }] };

  it('a stale rejection does not recycle a re-qualified lead again', () => {
    const lead = makeLead({ stage: { current: 'recycled', history: recycledByRejection }, sales: rejected, marketing: reengaged });
    const first = nextStage(lead, HIGH, stages, NOW);
    expect(first.stage).toBe('mql');
    expect(first.transition?.cause).toBe('re-engaged: score 75 ≥ 60, fit 30 ≥ 20');
    const second = nextStage({ ...lead, stage: first.state }, HIGH, stages, NOW);
    expect(second.stage).toBe('mql');
    expect(second.transitions).toEqual([]);
  });

  it('a rejection made again after the re-handoff (seen against the previous snapshot) recycles again', () => {
    const history: StageTransition[] = [...recycledByRejection, { stage: 'mql', at: '2026-06-10T12:00:00.000Z', cause: 're-engaged' }];
    const previous = makeLead({ updatedAt: '2026-06-11T00:00:00Z', stage: { current: 'mql', history }, sales: {} });
    const lead = makeLead({ updatedAt: '2026-06-14T00:00:00Z', stage: { current: 'mql', history }, sales: rejected });
    const result = nextStage(lead, HIGH, stages, NOW, previous);
    expect(result.transition).toEqual({ stage: 'recycled', at: NOW_ISO, cause: 'rejected by sales: bad-timing' });
    expect(result.salesActed).toBe(true);
    // A rerun with the same snapshot finds the rejection spent.
    const rerun = nextStage({ ...lead, stage: result.state }, HIGH, stages, NOW, previous);
    expect(rerun.transitions).toEqual([]);
  });

  it('a fresh fact that agrees with the current side state is recorded, and then spent', () => {
    const lead = makeLead({ stage: at('recycled', '2026-06-01T00:00:00Z', 'no progress for 90 days in MQL'), sales: { status: 'Nurture' }, marketing: reengaged });
    const result = nextStage(lead, HIGH, stages, NOW);
    expect(result.transitions).toEqual([{ stage: 'recycled', at: NOW_ISO, cause: 'Salesforce status "Nurture"' }]);
    const again = nextStage({ ...lead, stage: result.state }, HIGH, stages, NOW);
    expect(again.transitions).toEqual([]);
  });

  it('keeps the history to its limit', () => {
    const history: StageTransition[] = Array.from({ length: 100 }, (_, index) => ({
      stage: 'lead' as const,
      at: new Date(Date.parse('2026-01-01T00:00:00Z') + index * DAY).toISOString(),
      cause: `entry ${index}`,
    }));
    const result = nextStage(makeLead({ stage: { current: 'lead', history } }), HIGH, stages, NOW);
    expect(result.state.history).toHaveLength(100);
    expect(result.state.history[0]?.cause).toBe('entry 1');
    expect(result.state.history[99]?.stage).toBe('mql');
  });

  it('returns the stored state untouched when nothing happens', () => {
    const lead = makeLead({ stage: at('mql') });
    const result = nextStage(lead, HIGH, stages, NOW);
    expect(result.state).toBe(lead.stage);
    expect(result.transition).toBeUndefined();
  });
});

describe('HubSpot lifecycle', () => {
  it('maps every stage', () => {
    const stagesList: Stage[] = ['subscriber', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'customer', 'recycled', 'disqualified'];
    expect(stagesList.map(lifecycleFor)).toEqual([
      'subscriber',
      'lead',
      'marketingqualifiedlead',
      'salesqualifiedlead',
      'salesqualifiedlead',
      'opportunity',
      'customer',
      'lead',
      'other',
    ]);
  });

  const cases: Array<[string | null, Stage, LifecycleWrite]> = [
    [null, 'mql', { clearFirst: false, value: 'marketingqualifiedlead' }],
    ['', 'lead', { clearFirst: false, value: 'lead' }],
    ['lead', 'mql', { clearFirst: false, value: 'marketingqualifiedlead' }],
    ['subscriber', 'sal', { clearFirst: false, value: 'salesqualifiedlead' }],
    ['marketingqualifiedlead', 'mql', { clearFirst: false, value: null }],
    ['MarketingQualifiedLead', 'mql', { clearFirst: false, value: null }],
    ['customer', 'mql', { clearFirst: false, value: null }],
    ['evangelist', 'customer', { clearFirst: false, value: null }],
    ['salesqualifiedlead', 'sql', { clearFirst: false, value: null }],
    ['marketingqualifiedlead', 'recycled', { clearFirst: true, value: 'lead' }],
    ['opportunity', 'recycled', { clearFirst: true, value: 'lead' }],
    ['lead', 'recycled', { clearFirst: false, value: null }],
    ['subscriber', 'recycled', { clearFirst: false, value: 'lead' }],
    ['salesqualifiedlead', 'disqualified', { clearFirst: false, value: 'other' }],
    ['other', 'recycled', { clearFirst: true, value: 'lead' }],
    ['other', 'mql', { clearFirst: false, value: null }],
    ['1234567', 'mql', { clearFirst: false, value: 'marketingqualifiedlead' }],
    ['1234567', 'recycled', { clearFirst: true, value: 'lead' }],
  ];

  it.each(cases)('from %j to %s', (current, desired, expected) => {
    expect(planLifecycleWrite(current, desired)).toEqual(expected);
  });
});
