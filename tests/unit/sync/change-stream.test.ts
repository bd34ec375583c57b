/**
 * What a batch of Salesforce change events asks of the pipeline: records to read (not our own
 * writes), a poll for an overflow, the replay ids to store, and how far a feed cursor may follow.
 */
import { describe, expect, it } from 'vitest';
import type { StreamedChange } from '../../../connectors/types.js';
import { cursorAfterStream, planStreamBatch } from '../../../src/sync/change-stream.js';

const change = (over: Partial<StreamedChange>): StreamedChange => ({
  stream: 'Lead', replayId: 1, kind: 'change', changeType: 'UPDATE', refs: [{ object: 'Lead', id: '00Q1' }], own: false, committedAt: 1_700_000_000_500, ...over,
});

describe('planStreamBatch', () => {
  it('reads each record others changed once, in order; our own writes are counted, not read', () => {
    const plan = planStreamBatch([
      change({ replayId: 5 }),
      change({ replayId: 6, own: true, refs: [{ object: 'Lead', id: '00Q2' }] }),
      change({ replayId: 7 }),
      change({ stream: 'Contact', replayId: 3, refs: [{ object: 'Contact', id: '0031' }], committedAt: 1_700_000_001_000 }),
    ]);
    expect(plan.refs).toEqual([{ object: 'Lead', id: '00Q1' }, { object: 'Contact', id: '0031' }]);
    expect(plan.own).toBe(1);
    expect(plan.poll).toBe(false);
    expect(plan.replay).toEqual({ Lead: 7, Contact: 3 });
    expect(plan.committedAt).toEqual({ Lead: 1_700_000_000_500, Contact: 1_700_000_001_000 });
  });

  it('reads the records of a gap event and polls on an overflow (no record ids)', () => {
    const plan = planStreamBatch([change({ kind: 'gap', changeType: 'GAP_UPDATE' }), change({ kind: 'overflow', changeType: 'GAP_OVERFLOW', refs: [], replayId: 2 })]);
    expect(plan.refs).toEqual([{ object: 'Lead', id: '00Q1' }]);
    expect(plan.poll).toBe(true);
    expect(plan.replay).toEqual({ Lead: 2 });
  });
});

describe('cursorAfterStream', () => {
  it('moves a cursor to one second before the commit second, inclusive, and never backwards', () => {
    expect(cursorAfterStream(null, Date.parse('2026-12-06T10:00:05.700Z'))).toEqual({ ts: '2026-12-06T10:00:04.000Z', id: '' });
    expect(cursorAfterStream({ ts: '2026-12-06T10:00:01.000Z', id: '00Q9' }, Date.parse('2026-12-06T10:00:05.700Z'))).toEqual({ ts: '2026-12-06T10:00:04.000Z', id: '' });
    expect(cursorAfterStream({ ts: '2026-12-06T10:00:04.000Z', id: '00Q9' }, Date.parse('2026-12-06T10:00:05.700Z'))).toBeNull();
    expect(cursorAfterStream({ ts: '2026-12-06T10:00:09.000Z', id: '' }, Date.parse('2026-12-06T10:00:05.700Z'))).toBeNull();
  });
});
