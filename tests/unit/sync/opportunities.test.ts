import { describe, expect, it } from 'vitest';
import type { OpportunityFact } from '../../../connectors/types.js';
import type { Lead } from '../../../src/model/lead.js';
import { applyOpportunity, currentOpportunity, withOpportunity } from '../../../src/sync/opportunities.js';
import type { OutcomeViews } from '../../../src/sync/opportunities.js';

function fact(overrides: Partial<OpportunityFact> = {}): OpportunityFact {
  return {
    source: 'salesforce', id: '006000000000001AAA', name: 'Deal', stage: 'Qualification', closed: false, won: false, amount: 1000,
    closeDate: '2026-12-31', createdAt: '2026-11-01T10:00:00.000Z', modifiedAt: '2026-11-02T10:00:00.000Z', deleted: false, contacts: [],
    ...overrides,
  };
}

const lead: Lead = { id: 'L1', email: 'a@b.example', updatedAt: '2026-11-01T00:00:00.000Z', links: {}, person: {}, company: {}, marketing: { engagement: [] }, sales: { status: 'Working' } };

describe('applyOpportunity (recency)', () => {
  it('takes a first reading, then a newer one, and refuses an older one', () => {
    const first = applyOpportunity(undefined, fact(), false, 100);
    expect(first.outcome).toBe('changed');
    const won = applyOpportunity(first.views, fact({ stage: 'Closed Won', closed: true, won: true, modifiedAt: '2026-11-05T10:00:00.000Z' }), false, 200);
    expect(won.outcome).toBe('changed');
    const late = applyOpportunity(won.views, fact(), false, 300);
    expect(late.outcome).toBe('stale');
    expect(late.views).toBe(won.views);
  });

  it('changes nothing when the same reading is applied again (a retried page)', () => {
    const first = applyOpportunity(undefined, fact(), false, 100);
    expect(applyOpportunity(first.views, fact(), false, 150).outcome).toBe('same');
  });

  it('on one modification time, the later read wins (whole-second stamps)', () => {
    const first = applyOpportunity(undefined, fact(), false, 100);
    const later = applyOpportunity(first.views, fact({ amount: 2000 }), false, 200);
    expect(later.outcome).toBe('changed');
    expect(applyOpportunity(later.views, fact({ amount: 1000 }), false, 150).outcome).toBe('stale');
  });

  it('keeps a removed role as gone, so that an older reading does not bring it back', () => {
    const on = applyOpportunity(undefined, fact(), false, 100);
    const off = applyOpportunity(on.views, fact(), true, 200);
    expect(off.outcome).toBe('changed');
    expect(currentOpportunity(off.views)).toBeNull();
    expect(applyOpportunity(off.views, fact(), false, 150).outcome).toBe('stale');
  });
});

describe('currentOpportunity', () => {
  const views = (...facts: OpportunityFact[]): OutcomeViews => facts.reduce<OutcomeViews>((v, f) => applyOpportunity(v, f, false, 1).views, {});

  it('is the newest open one while none is won', () => {
    const v = views(
      fact({ id: '006000000000001AAA', createdAt: '2026-01-01T00:00:00.000Z' }),
      fact({ id: '006000000000002AAA', createdAt: '2026-03-01T00:00:00.000Z' }),
      fact({ id: '006000000000003AAA', createdAt: '2026-05-01T00:00:00.000Z', closed: true, stage: 'Closed Lost' }),
    );
    expect(currentOpportunity(v)?.id).toBe('006000000000002AAA');
  });

  it('is the newest closed one when none is open, and a won one beats any other', () => {
    expect(currentOpportunity(views(
      fact({ id: '006000000000001AAA', closed: true, closeDate: '2026-02-01', stage: 'Closed Lost' }),
      fact({ id: '006000000000002AAA', closed: true, closeDate: '2026-04-01', stage: 'Closed Lost' }),
    ))?.id).toBe('006000000000002AAA');
    expect(currentOpportunity(views(
      fact({ id: '006000000000001AAA', closed: true, won: true, closeDate: '2026-02-01', stage: 'Closed Won' }),
      fact({ id: '006000000000002AAA', createdAt: '2026-06-01T00:00:00.000Z' }),
      fact({ id: '006000000000003AAA', closed: true, closeDate: '2026-07-01', stage: 'Closed Lost' }),
    ))?.id).toBe('006000000000001AAA');
  });
});

describe('withOpportunity', () => {
  it('carries the current opportunity onto the lead, and clears it when there is none', () => {
    const v = applyOpportunity(undefined, fact({ stage: 'Closed Won', closed: true, won: true, amount: 48000 }), false, 1).views;
    const withIt = withOpportunity(lead, v);
    expect(withIt.sales).toEqual({
      status: 'Working', opportunityId: '006000000000001AAA', opportunityStage: 'Closed Won', opportunityWon: true,
      opportunityAmount: 48000, opportunityCloseDate: '2026-12-31', opportunityCreatedAt: '2026-11-01T10:00:00.000Z',
    });
    expect(withOpportunity(withIt, {}).sales).toEqual({ status: 'Working' });
    // An open one: won is not known yet.
    const open = withOpportunity(lead, applyOpportunity(undefined, fact(), false, 1).views);
    expect(open.sales.opportunityWon).toBeNull();
  });
});
