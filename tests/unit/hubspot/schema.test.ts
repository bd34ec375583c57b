import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { SMK_FIELDS } from '../../../src/model/fields.js';
import { createHubSpotConnector } from '../../../connectors/hubspot/index.js';
import { desiredProperties, planProperty } from '../../../connectors/hubspot/schema.js';
import { fakeGate, fixture } from './helpers.js';

const BASE = 'http://hubspot.test';

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

describe('the smk_* property definitions', () => {
  it('cover every SMK field with a HubSpot name, with the right type and fieldType', () => {
    const desired = desiredProperties();
    expect(desired.map((d) => d.name)).toEqual(SMK_FIELDS.flatMap((f) => (f.hubspot ? [f.hubspot] : [])));
    const byName = new Map(desired.map((d) => [d.name, d]));
    expect(byName.get('smk_score')).toMatchObject({ type: 'number', fieldType: 'number', groupName: 'smarketing' });
    expect(byName.get('smk_score_reasons')).toMatchObject({ type: 'string', fieldType: 'text' });
    expect(byName.get('smk_sales_notes')).toMatchObject({ type: 'string', fieldType: 'textarea' });
    expect(byName.get('smk_handoff_at')).toMatchObject({ type: 'datetime', fieldType: 'date' });
    expect(byName.get('smk_grade')).toMatchObject({
      type: 'enumeration',
      fieldType: 'select',
      options: [
        { label: 'Hot', value: 'hot', displayOrder: 0, hidden: false },
        { label: 'Warm', value: 'warm', displayOrder: 1, hidden: false },
        { label: 'Cold', value: 'cold', displayOrder: 2, hidden: false },
      ],
    });
  });

  it('plan: create what is missing, leave what matches, update what drifted while keeping admin-added options', () => {
    const grade = desiredProperties().find((d) => d.name === 'smk_grade');
    if (!grade) throw new Error('smk_grade missing');
    expect(planProperty(grade, undefined)).toEqual({ action: 'created', create: grade });
    expect(planProperty(grade, { ...grade, label: 'Renamed by an admin' })).toEqual({ action: 'unchanged' });
    const drifted = planProperty(grade, {
      ...grade,
      options: [
        { label: 'Hot', value: 'hot', hidden: false },
        { label: 'Warm', value: 'warm', hidden: true },
        { label: 'Lukewarm', value: 'lukewarm', hidden: false },
      ],
    });
    expect(drifted.action).toBe('updated');
    expect(drifted.action === 'updated' && drifted.drift).toEqual(['options warm, cold']);
    expect(drifted.action === 'updated' && drifted.patch.options?.map((o) => o.value)).toEqual(['hot', 'warm', 'cold', 'lukewarm']);
    expect(planProperty(grade, { ...grade, fieldType: 'radio', groupName: 'contactinformation' })).toMatchObject({
      action: 'updated',
      drift: ['fieldType radio -> select', 'group contactinformation -> smarketing'],
    });
  });
});

describe('ensureSchema', () => {
  it('reports a 403 MISSING_SCOPES as a problem naming the scope and the fix', async () => {
    nock(BASE)
      .get('/crm/v3/properties/contacts/groups')
      .reply(200, { results: [{ name: 'contactinformation', label: 'Contact information', displayOrder: 0, archived: false }] })
      .get('/crm/v3/properties/contacts')
      .query(true)
      .reply(200, { results: [] })
      .post('/crm/v3/properties/contacts/groups')
      .reply(403, fixture('error-403-missing-scopes.json'));
    const connector = createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat-read-only', gate: fakeGate() });
    const report = await connector.ensureSchema();
    expect(report.changes).toEqual([]);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]?.message).toContain('crm.schemas.contacts.write');
    expect(report.problems[0]?.fix).toContain('crm.schemas.contacts.write');
    expect(report.problems[0]?.fix).toContain('smk install');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('dryRun plans without writing', async () => {
    nock(BASE)
      .get('/crm/v3/properties/contacts/groups')
      .reply(200, { results: [] })
      .get('/crm/v3/properties/contacts')
      .query(true)
      .reply(200, { results: [] });
    const gate = fakeGate();
    const report = await createHubSpotConnector({ baseUrl: BASE, accessToken: 'pat', gate }).ensureSchema({ dryRun: true });
    expect(report.changes).toHaveLength(1 + desiredProperties().length);
    expect(report.changes.every((c) => c.action === 'created')).toBe(true);
    expect(gate.takes.map((t) => t.kind)).toEqual(['read', 'read']);
  });
});
