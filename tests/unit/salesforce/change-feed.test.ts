import { describe, expect, it } from 'vitest';
import { lastCompleteSecond } from '../../../connectors/salesforce/change-feed.js';

describe('lastCompleteSecond: the change feed reads only seconds no later write can be stamped with', () => {
  it.each([
    ['inside a second, that second is still open', '2026-11-24T10:00:05.437Z', '2026-11-24T10:00:04.999Z'],
    ['on a second\'s first millisecond, too', '2026-11-24T10:00:05.000Z', '2026-11-24T10:00:04.999Z'],
    ['on its last millisecond, the second is closed', '2026-11-24T10:00:05.999Z', '2026-11-24T10:00:05.999Z'],
    ['across midnight', '2026-11-25T00:00:00.000Z', '2026-11-24T23:59:59.999Z'],
    ['before 1970 as after', '1969-12-31T23:59:59.500Z', '1969-12-31T23:59:58.999Z'],
  ])('%s', (_label, until, expected) => {
    expect(lastCompleteSecond(new Date(until)).toISOString()).toBe(expected);
  });
});
