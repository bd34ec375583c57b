import { describe, expect, it } from 'vitest';
import type { Lead } from '../../../src/model/lead.js';
import { leadIdFromRecord, restoreRuleState } from '../../../src/sync/restore.js';

const lead: Lead = { id: 'L0123456789abcdef0123', email: 'a@b.example', updatedAt: '2026-03-01T00:00:00.000Z', links: {}, person: {}, company: {}, marketing: { engagement: [] }, sales: {} };

describe('restoring rule state from what the records hold', () => {
  it('takes stage, handoff and a running SLA from the first record that has a stage', () => {
    const restored = restoreRuleState(lead, [
      { stage: 'mql', handoffAt: '2026-03-02T10:00:00Z', slaDueAt: '2026-03-02T14:00:00Z', slaStatus: 'running' },
      { stage: 'lead' },
    ]);
    expect(restored.stage).toEqual({ current: 'mql', history: [{ stage: 'mql', at: '2026-03-02T10:00:00.000Z', cause: 'restored from the CRM' }] });
    expect(restored.sla).toMatchObject({ status: 'running', handoffAt: '2026-03-02T10:00:00.000Z', dueAt: '2026-03-02T14:00:00.000Z', escalations: 0 });
  });

  const unchanged: Array<[string, Lead, Array<Record<string, string | null> | null>]> = [
    ['a lead evaluated before keeps its own state', { ...lead, stage: { current: 'lead', history: [] } }, [{ stage: 'sql' }]],
    ['records that hold no stage', lead, [{ score: '40' }, null]],
    ['a stage that is not one of ours', lead, [{ stage: 'hot-prospect' }]],
  ];
  it.each(unchanged)('leaves it as it is: %s', (_name, input, held) => {
    expect(restoreRuleState(input, held)).toBe(input);
  });

  it('ignores a handoff time that is not a time', () => {
    const restored = restoreRuleState(lead, [{ stage: 'sal', handoffAt: 'yesterday', slaStatus: 'met' }]);
    expect(restored.stage?.history[0]?.at).toBe(lead.updatedAt);
    expect(restored.sla).toMatchObject({ status: 'met', handoffAt: null });
  });
});

describe('the lead id a record carries', () => {
  it.each([
    ['L0123456789abcdef0123', 'L0123456789abcdef0123'],
    ['L0123', null],
    ['lead-1', null],
    [null, null],
  ])('%s -> %s', (value, expected) => {
    expect(leadIdFromRecord({ leadId: value })).toBe(expected);
  });
});
