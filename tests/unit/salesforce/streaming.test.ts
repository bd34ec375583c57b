/** Change events as the connector reads them: our own writes by changeOrigin, gap and overflow kinds, zod at the boundary. */
import { describe, expect, it } from 'vitest';
import { isOwnOrigin, streamEventSchema, toStreamedChange } from '../../../connectors/salesforce/streaming.js';

const event = (header: Record<string, unknown>) => ({
  schema: 'x',
  payload: { ChangeEventHeader: { entityName: 'Lead', recordIds: ['00Q1'], changeType: 'UPDATE', changeOrigin: '', commitTimestamp: 1_700_000_000_000, ...header }, Title: 'CEO' },
  event: { replayId: 42 },
});

describe('change events', () => {
  it('knows our own writes by the client named in changeOrigin, and no one else\'s', () => {
    expect(isOwnOrigin('com/salesforce/api/rest/62.0;client=smarketing-connector', 'smarketing-connector')).toBe(true);
    expect(isOwnOrigin('com/salesforce/api/rest/62.0;client=smarketing-connector-2', 'smarketing-connector')).toBe(false);
    expect(isOwnOrigin('com/salesforce/api/rest/62.0', 'smarketing-connector')).toBe(false);
    expect(isOwnOrigin('', 'smarketing-connector')).toBe(false);
  });

  it('turns an event into a change naming its records; a gap names records, an overflow none', () => {
    const own = toStreamedChange('Lead', streamEventSchema.parse(event({ changeOrigin: 'com/salesforce/api/rest/62.0;client=smk' })), 'smk');
    expect(own).toEqual({ stream: 'Lead', replayId: 42, kind: 'change', changeType: 'UPDATE', refs: [{ object: 'Lead', id: '00Q1' }], own: true, committedAt: 1_700_000_000_000 });
    expect(toStreamedChange('Lead', streamEventSchema.parse(event({ changeType: 'GAP_UPDATE' })), 'smk')).toMatchObject({ kind: 'gap', own: false, refs: [{ object: 'Lead', id: '00Q1' }] });
    expect(toStreamedChange('Lead', streamEventSchema.parse(event({ changeType: 'GAP_OVERFLOW', recordIds: ['000000000000000AAA'] })), 'smk')).toMatchObject({ kind: 'overflow', refs: [] });
  });

  it('refuses an event without a header or a replay id', () => {
    expect(streamEventSchema.safeParse({ payload: {}, event: { replayId: 1 } }).success).toBe(false);
    expect(streamEventSchema.safeParse({ payload: event({}).payload, event: {} }).success).toBe(false);
  });
});
