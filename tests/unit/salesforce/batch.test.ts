import { describe, expect, it } from 'vitest';
import { parseBulkError, toRecordResults } from '../../../connectors/salesforce/batch.js';
import { parseLimitInfo } from '../../../connectors/salesforce/transport.js';
import { fixture } from './fixtures.js';

const ids = ['00Q5g00000KjX3aEAF', '00Q5g00000KjX3bEAF', '00Q5g00000KjX3cEAF', '00Q5g00000KjX3eEAF', '00Q5g00000KjX3gEAF', '00Q5g00000KjX3hEAF'] as const;

describe('collection results, per record', () => {
  const results = toRecordResults(fixture('collection-update-partial.json'), ids.map((Id) => ({ Id, Smk_Score__c: 1 })));

  it('keeps the good record and fails each bad one with the CRM\'s own message and field', () => {
    expect(results[0]).toEqual({ ok: true, id: ids[0] });
    expect(results[1]).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', vendorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', field: 'Smk_Grade__c', recordId: ids[1], message: 'Smarketing grade: bad value for restricted picklist field: tepid' },
    });
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'VALIDATION', vendorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'A rejected lead needs a reject reason' } });
  });

  it('sorts failures by what can be done about them', () => {
    expect(results.slice(3).map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['NOT_FOUND', 'TRANSIENT', 'CONFLICT']);
  });

  it('fails records the answer has no result for', () => {
    const short = toRecordResults([{ id: ids[0], success: true, errors: [] }], [{ Id: ids[0] }, { Id: ids[1] }]);
    expect(short[1]).toMatchObject({ ok: false, error: { code: 'TRANSIENT', recordId: ids[1] } });
  });

  it('refuses an answer of the wrong shape', () => {
    expect(() => toRecordResults({ records: [] }, [{ Id: ids[0] }])).toThrow(/unexpected Salesforce answer/);
  });
});

describe('Bulk API 2.0 failures', () => {
  it('reads STATUS_CODE:message:fields', () => {
    expect(parseBulkError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Smarketing grade: bad value for restricted picklist field: tepid:Smk_Grade__c', ids[1])).toMatchObject({
      code: 'VALIDATION',
      vendorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      field: 'Smk_Grade__c',
      recordId: ids[1],
    });
    expect(parseBulkError('ENTITY_IS_DELETED:entity is deleted:--', ids[3])).toMatchObject({ code: 'NOT_FOUND', message: 'entity is deleted', field: undefined });
  });
});

describe('Sforce-Limit-Info', () => {
  it.each([
    ['api-usage=10018/100000', { used: 10018, limit: 100000 }],
    ['api-usage=25/15000; api-bursts=1/750', { used: 25, limit: 15000 }],
    ['per-app-api-usage=17/250(appName=sample-app)', null],
    [undefined, null],
  ])('%s', (header, expected) => {
    expect(parseLimitInfo(header)).toEqual(expected);
  });
});

describe('Sforce-Limit-Info with the per-app figure as well', () => {
  it('reads the org-wide usage', () => {
    expect(parseLimitInfo('per-app-api-usage=17/250(appName=sample-app), api-usage=25/15000')).toEqual({ used: 25, limit: 15000 });
  });
});
