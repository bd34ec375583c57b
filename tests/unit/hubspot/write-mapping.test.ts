import { describe, expect, it } from 'vitest';
import { SMK_FIELD_BY_KEY } from '../../../src/model/fields.js';
import type { RecordUpdate } from '../../../connectors/types.js';
import { createPicklists } from '../../../connectors/hubspot/picklists.js';
import { createToProperties, smkValueToHubSpot, updateToProperties } from '../../../connectors/hubspot/write-mapping.js';

const picklists = createPicklists();
const ref = { object: 'contact' as const, id: '51873' };

function refused(update: Omit<RecordUpdate, 'ref'>): { message: string; field?: string; recordId?: string; code: string } {
  const result = updateToProperties({ ref, ...update }, picklists);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('RecordUpdate -> HubSpot properties', () => {
  it('writes smk values in HubSpot wire form, null as "" (clear), datetimes as epoch ms', () => {
    const result = updateToProperties(
      {
        ref,
        smk: { score: '76.50', grade: 'hot', stage: 'mql', scoreReasons: 'Senior title (+20)', handoffAt: '2026-11-01T13:00:00.000Z', slaBreachedAt: null },
        ownerId: '7000014',
      },
      picklists,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        clearLifecycleFirst: false,
        properties: {
          smk_score: '76.5',
          smk_grade: 'hot',
          smk_stage: 'mql',
          smk_score_reasons: 'Senior title (+20)',
          smk_handoff_at: String(Date.parse('2026-11-01T13:00:00.000Z')),
          smk_sla_breached_at: '',
          hubspot_owner_id: '7000014',
        },
      },
    });
  });

  it.each([
    [{ smk: { grade: 'Hot' } }, 'smk_grade', '"Hot"', 'must be one of hot, warm, cold'],
    [{ smk: { score: '1,200' } }, 'smk_score', '"1,200"', 'must be a number'],
    [{ smk: { leadQuality: 'NaN' } }, 'smk_lead_quality', '"NaN"', 'must be a number'],
    [{ smk: { scoreReasons: 'x'.repeat(256) } }, 'smk_score_reasons', '"xxxxxxxx', '256 characters long; at most 255'],
    [{ smk: { slaDueAt: 'tomorrow' } }, 'smk_sla_due_at', '"tomorrow"', 'ISO-8601'],
    [{ smk: {}, ownerId: '0051t00000ABCDE' }, 'hubspot_owner_id', '"0051t00000ABCDE"', 'HubSpot owner id'],
    [{ smk: {}, lifecycleStage: { value: 'hotprospect', clearFirst: false } }, 'lifecyclestage', '"hotprospect"', 'must be one of subscriber'],
    [{ smk: {}, status: 'Working - Contacted' }, 'status', '"Working - Contacted"', 'Salesforce Lead field'],
  ] as const)('refuses %j before the write, naming record, field and value', (update, field, value, why) => {
    const error = refused(update as Omit<RecordUpdate, 'ref'>);
    expect(error.code).toBe('VALIDATION');
    expect(error.recordId).toBe('51873');
    expect(error.field).toBe(field);
    expect(error.message).toContain('51873');
    expect(error.message).toContain(field);
    expect(error.message).toContain(value);
    expect(error.message).toContain(why);
  });

  it('translates the lifecycle stage and keeps the clear-first flag of a deliberate move back', () => {
    expect(updateToProperties({ ref, smk: {}, lifecycleStage: { value: 'mql', clearFirst: false } }, picklists)).toEqual({
      ok: true,
      value: { properties: { lifecyclestage: 'marketingqualifiedlead' }, clearLifecycleFirst: false },
    });
    expect(updateToProperties({ ref, smk: {}, lifecycleStage: { value: 'lead', clearFirst: true } }, picklists)).toEqual({
      ok: true,
      value: { properties: { lifecyclestage: 'lead' }, clearLifecycleFirst: true },
    });
  });

  it('checks a long text against the field limit (65,535 for sales notes)', () => {
    const notes = SMK_FIELD_BY_KEY.get('salesNotes');
    if (!notes) throw new Error('salesNotes missing');
    expect(smkValueToHubSpot(notes, 'n'.repeat(65_535), '1').ok).toBe(true);
    expect(smkValueToHubSpot(notes, 'n'.repeat(65_536), '1').ok).toBe(false);
  });
});

describe('CreateRequest -> HubSpot properties', () => {
  it('writes smk_lead_id and the person, skipping blanks and read-only analytics', () => {
    const result = createToProperties({
      leadId: 'lead-42',
      email: ' zoe.dubois@example.org ',
      person: { firstName: 'Zoë', lastName: 'Dubois', title: '  ', phone: null },
      company: { name: 'Café Société', domain: 'cafesociete.example.com', employees: 1200, annualRevenue: 2_500_000 },
      marketing: { source: 'ORGANIC_SEARCH', campaign: 'Spring Launch' },
      smk: { grade: 'cold', score: '12' },
      ownerId: '7000001',
    });
    expect(result).toEqual({
      ok: true,
      value: {
        email: 'zoe.dubois@example.org',
        firstname: 'Zoë',
        lastname: 'Dubois',
        company: 'Café Société',
        website: 'cafesociete.example.com',
        annualrevenue: '2500000',
        smk_grade: 'cold',
        smk_score: '12',
        smk_lead_id: 'lead-42',
        hubspot_owner_id: '7000001',
      },
    });
  });

  it('refuses an unusable email or a bad smk value before the create', () => {
    const bad = createToProperties({ leadId: 'lead-43', email: 'not-an-email', person: {}, company: {}, smk: {} });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.message).toContain('lead-43');
    const badGrade = createToProperties({ leadId: 'lead-44', email: 'a@b.example', person: {}, company: {}, smk: { grade: 'tepid' } });
    expect(!badGrade.ok && badGrade.error.field).toBe('smk_grade');
  });
});
