import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMK_FIELDS } from '../../../src/model/fields.js';
import { startWorld, writeCalls, type HubSpotWorld } from './setup.js';

describe('HubSpot field provisioning against the sandbox', () => {
  let w: HubSpotWorld;
  const smkCount = SMK_FIELDS.filter((f) => f.hubspot).length;

  beforeAll(async () => {
    w = await startWorld('hs-schema', { people: 20, seed: 2 });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('dryRun plans everything and writes nothing', async () => {
    await w.resetStats();
    const plan = await w.connector.ensureSchema({ dryRun: true });
    expect(plan.changes).toHaveLength(1 + smkCount);
    expect(plan.changes.every((c) => c.action === 'created')).toBe(true);
    expect(writeCalls(await w.stats())).toEqual({});
  });

  it('creates the group and every smk_* property; a second run is all unchanged with zero write calls', async () => {
    await w.resetStats();
    const first = await w.connector.ensureSchema();
    expect(first.problems).toEqual([]);
    expect(first.changes).toHaveLength(1 + smkCount);
    expect(first.changes.every((c) => c.action === 'created')).toBe(true);
    expect((await w.stats()).calls).toEqual({
      'GET /crm/v3/properties/contacts/groups': 1,
      'GET /crm/v3/properties/contacts': 1,
      'POST /crm/v3/properties/contacts/groups': 1,
      'POST /crm/v3/properties/contacts/batch/create': 1,
    });
    const props = (await w.api('GET', '/crm/v3/properties/contacts')).body as { results: Array<{ name: string; type: string; fieldType: string; groupName: string; options: Array<{ value: string }> }> };
    const byName = new Map(props.results.map((p) => [p.name, p]));
    expect(byName.get('smk_score')).toMatchObject({ type: 'number', fieldType: 'number', groupName: 'smarketing' });
    expect(byName.get('smk_sales_notes')).toMatchObject({ type: 'string', fieldType: 'textarea' });
    expect(byName.get('smk_sla_due_at')).toMatchObject({ type: 'datetime', fieldType: 'date' });
    expect(byName.get('smk_stage')?.options.map((o) => o.value)).toEqual(['subscriber', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'customer', 'recycled', 'disqualified']);

    await w.resetStats();
    const second = await w.connector.ensureSchema();
    expect(second.problems).toEqual([]);
    expect(second.changes.every((c) => c.action === 'unchanged')).toBe(true);
    const stats = await w.stats();
    expect(writeCalls(stats)).toEqual({});
    expect(stats.total).toBe(2);
  });

  it('updates a property whose definition drifted (a missing enum option), keeping what an admin added', async () => {
    const patched = await w.api('PATCH', '/crm/v3/properties/contacts/smk_grade', {
      options: [
        { label: 'Hot', value: 'hot', hidden: false, displayOrder: 0 },
        { label: 'Warm', value: 'warm', hidden: false, displayOrder: 1 },
        { label: 'Frozen', value: 'frozen', hidden: false, displayOrder: 2 },
      ],
    });
    expect(patched.status).toBe(200);
    await w.resetStats();
    const report = await w.connector.ensureSchema();
    expect(report.changes.filter((c) => c.action !== 'unchanged')).toEqual([{ object: 'contact', field: 'smk_grade', action: 'updated' }]);
    expect(writeCalls(await w.stats())).toEqual({ 'PATCH /crm/v3/properties/contacts/smk_grade': 1 });
    const grade = (await w.api('GET', '/crm/v3/properties/contacts/smk_grade')).body as { options: Array<{ value: string }> };
    expect(grade.options.map((o) => o.value)).toEqual(['hot', 'warm', 'cold', 'frozen']);
    expect((await w.connector.ensureSchema()).changes.every((c) => c.action === 'unchanged')).toBe(true);
  });
});
