import { describe, expect, it } from 'vitest';
import { isHubSpotEcho } from '../../../src/sync/echo.js';
import { DEFAULT_SYNC_FIELDS, fieldValueDigest } from '../../../src/model/field-sync.js';
import type { KnownValues, NamedChange } from '../../../src/sync/echo.js';

const written: KnownValues = { smk: { score: '42', grade: 'warm' }, lifecycle: 'marketingqualifiedlead', ownerId: '77' };
const read: KnownValues = { smk: { score: '40' }, ownerId: null };

describe('echo recognition', () => {
  const cases: Array<[string, NamedChange[], KnownValues[], boolean]> = [
    ['our own score and grade, as written', [{ property: 'smk_score', value: '42' }, { property: 'smk_grade', value: 'warm' }], [written], true],
    ['a number written back with a decimal is the same value', [{ property: 'smk_score', value: '42.0' }], [written], true],
    ['one value ours, one a user\'s', [{ property: 'smk_score', value: '42' }, { property: 'jobtitle', value: 'CRO' }], [written], false],
    ['a score nobody wrote', [{ property: 'smk_score', value: '43' }], [written, read], false],
    ['the value last read counts as known', [{ property: 'smk_score', value: '40' }], [written, read], true],
    ['the lifecycle stage we wrote', [{ property: 'lifecyclestage', value: 'marketingqualifiedlead' }], [written], true],
    ['a lifecycle stage when none is known', [{ property: 'lifecyclestage', value: 'lead' }], [read], false],
    ['an owner cleared, known as none', [{ property: 'hubspot_owner_id', value: '' }], [read], true],
    ['another owner', [{ property: 'hubspot_owner_id', value: '78' }], [written], false],
    ['no named change is no echo', [], [written], false],
    ['nothing known is no echo', [{ property: 'smk_score', value: '42' }], [], false],
  ];
  it.each(cases)('%s', (_name, changes, sources, echo) => {
    expect(isHubSpotEcho(changes, sources)).toBe(echo);
  });
});

describe('echo recognition of synced fields', () => {
  const fields = DEFAULT_SYNC_FIELDS;
  const wroteTitle: KnownValues = { smk: {}, fields: { title: 'Chief Revenue Officer', country: 'DE' } };
  it.each([
    ['the title we wrote', [{ property: 'jobtitle', value: 'Chief Revenue Officer' }], true],
    ['a title a user typed', [{ property: 'jobtitle', value: 'CRO' }], false],
    ['a country spelt out for the code we wrote', [{ property: 'country', value: 'Germany' }], true],
    ['a field nothing is known of', [{ property: 'phone', value: '+49 30 1' }], false],
  ] as Array<[string, NamedChange[], boolean]>)('%s', (_name, changes, echo) => {
    expect(isHubSpotEcho(changes, [wroteTitle], fields)).toBe(echo);
  });

  // The webhook intake keeps no personal value in job data: a synced field's value travels as a
  // digest of its canonical form. A blank title filled in by a user must not look like the blank
  // the contact held (the value, withheld, read as null, matched it: the change was never read).
  const title = fields.find((f) => f.name === 'title')!;
  const blankTitle: KnownValues = { smk: {}, fields: { title: null } };
  it.each([
    ['a blank title filled in is not the blank held', [{ property: 'jobtitle', value: null, digest: fieldValueDigest(title, 'Chief Revenue Officer') }], [blankTitle], false],
    ['the title we wrote, by its digest', [{ property: 'jobtitle', value: null, digest: fieldValueDigest(title, 'Chief Revenue Officer') }], [wroteTitle], true],
    ['a title cleared, when blank is held', [{ property: 'jobtitle', value: null, digest: fieldValueDigest(title, null) }], [blankTitle], true],
  ] as Array<[string, NamedChange[], KnownValues[], boolean]>)('%s', (_name, changes, sources, echo) => {
    expect(isHubSpotEcho(changes, sources, fields)).toBe(echo);
  });
});
