import { describe, expect, it } from 'vitest';
import { isHubSpotEcho, isReadBackOfOwnWrites } from '../../../src/sync/echo.js';
import type { SourceView } from '../../../src/sync/compose.js';
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

describe('isReadBackOfOwnWrites', () => {
  const fields = DEFAULT_SYNC_FIELDS;
  const view = (values: Record<string, string | number | boolean | null>, f: Record<string, string | null>, id = '101'): SourceView =>
    ({ ref: { object: 'contact', id }, modifiedAt: '2026-12-06T10:00:00.000Z', values, fields: f }) as SourceView;
  const before = view({ 'marketing.lifecycleStage': 'lead', 'marketing.leadStatus': null, 'sales.ownerId': null, 'person.title': 'CTO' }, { leadStatus: null, title: 'CTO' });
  const known = (over: Partial<KnownValues> = {}): KnownValues => ({ smk: {}, lifecycle: 'mql', ownerId: '7001', fields: { leadStatus: 'UNQUALIFIED', title: 'CTO' }, ...over });

  it('is the lifecycle stage, owner and a copied field we wrote, read back', () => {
    const after = view({ 'marketing.lifecycleStage': 'mql', 'marketing.leadStatus': 'Closed - Not Converted', 'sales.ownerId': '7001', 'person.title': 'CTO' }, { leadStatus: 'UNQUALIFIED', title: 'CTO' });
    expect(isReadBackOfOwnWrites('hubspot', before, after, known(), fields)).toBe(true);
    // The stage as HubSpot holds it (what a write-back records) is the same stage.
    expect(isReadBackOfOwnWrites('hubspot', before, after, known({ lifecycle: 'marketingqualifiedlead' }), fields)).toBe(true);
    expect(isReadBackOfOwnWrites('hubspot', before, after, known({ lifecycle: 'salesqualifiedlead' }), fields)).toBe(false);
  });

  it('is not when any changed value is not one we wrote', () => {
    const after = view({ 'marketing.lifecycleStage': 'mql', 'marketing.leadStatus': null, 'sales.ownerId': null, 'person.title': 'CEO' }, { leadStatus: null, title: 'CEO' });
    expect(isReadBackOfOwnWrites('hubspot', before, after, known(), fields)).toBe(false);
    const stage = view({ 'marketing.lifecycleStage': 'sql', 'marketing.leadStatus': null, 'sales.ownerId': null, 'person.title': 'CTO' }, { leadStatus: null, title: 'CTO' });
    expect(isReadBackOfOwnWrites('hubspot', before, stage, known(), fields)).toBe(false);
    const owner = view({ 'marketing.lifecycleStage': 'lead', 'marketing.leadStatus': null, 'sales.ownerId': '7002', 'person.title': 'CTO' }, { leadStatus: null, title: 'CTO' });
    expect(isReadBackOfOwnWrites('hubspot', before, owner, known(), fields)).toBe(false);
  });

  it('is not without what the record was known to hold, without an earlier view, for another record, or with nothing changed', () => {
    const after = view({ 'marketing.lifecycleStage': 'mql', 'marketing.leadStatus': null, 'sales.ownerId': null, 'person.title': 'CTO' }, { leadStatus: null, title: 'CTO' });
    expect(isReadBackOfOwnWrites('hubspot', before, after, null, fields)).toBe(false);
    expect(isReadBackOfOwnWrites('hubspot', undefined, after, known(), fields)).toBe(false);
    expect(isReadBackOfOwnWrites('hubspot', before, { ...after, ref: { object: 'contact', id: '202' } }, known(), fields)).toBe(false);
    expect(isReadBackOfOwnWrites('hubspot', before, before, known(), fields)).toBe(false);
    // A value that rules read but no write of ours sets.
    const counted = view({ ...before.values, 'company.employees': 500 }, before.fields ?? {});
    expect(isReadBackOfOwnWrites('hubspot', before, counted, known(), fields)).toBe(false);
  });

  it('takes a copied field in its canonical form (a website written without its www.)', () => {
    const sfBefore = view({ 'company.domain': 'www.acme.example.com' }, { website: 'www.acme.example.com' }, '00Q1');
    const sfAfter = view({ 'company.domain': 'acme.example.com' }, { website: 'acme.example.com' }, '00Q1');
    expect(isReadBackOfOwnWrites('salesforce', sfBefore, sfAfter, known({ fields: { website: 'acme.example.com' } }), fields)).toBe(true);
    expect(isReadBackOfOwnWrites('salesforce', sfBefore, sfAfter, known({ fields: { website: 'other.example.com' } }), fields)).toBe(false);
  });
});
