/**
 * The integration user's own access to the fields it provisions: a field created through the
 * Tooling API is visible to nobody until field-level security grants it, so ensureSchema gives the
 * integration user Read and Edit through the permission set "Smarketing Connector Integration",
 * finds fields that exist but are hidden from it (instead of failing to create them again), and
 * raises a read-only grant. Everything is read back through jsforce as the org holds it.
 */
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { connect } from '../salesforce-sandbox/helpers.js';

interface Described {
  name: string;
  updateable: boolean;
}

async function smkFields(conn: Connection, object: string): Promise<Described[]> {
  const described = await conn.sobject(object).describe();
  return (described.fields as unknown as Described[]).filter((f) => f.name.startsWith('Smk_'));
}

describe('the integration user\'s access to the smk fields', () => {
  let h: Harness;
  let conn: Connection;

  beforeAll(async () => {
    h = await startHarness('sf-field-access', 10, 43);
    conn = connect(h.sandbox);
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  it('grants Read and Edit on every field it creates through its own permission set, assigned to itself', async () => {
    const report = await h.connector().ensureSchema();
    expect(report.problems).toEqual([]);
    expect(report.notes).toEqual(expect.arrayContaining([
      'created the permission set "Smarketing Connector Integration" (Smarketing_Connector_Integration) with Read and Edit on 34 field(s)',
      expect.stringMatching(/^assigned "Smarketing Connector Integration" to the integration user /),
    ]));
    for (const object of ['Lead', 'Contact']) {
      const fields = await smkFields(conn, object);
      expect(fields).toHaveLength(17);
      expect(fields.every((f) => f.updateable)).toBe(true);
    }
    const me = (await conn.identity()).user_id;
    const held = await conn.query<{ PermissionSet: { Name: string } }>(`SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '${me}' AND PermissionSet.IsOwnedByProfile = false`);
    expect(held.records.map((r) => r.PermissionSet.Name)).toEqual(['Smarketing_Connector_Integration']);
    const grants = await conn.query<{ Field: string; PermissionsRead: boolean; PermissionsEdit: boolean }>(
      "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE Parent.Name = 'Smarketing_Connector_Integration'",
    );
    expect(grants.totalSize).toBe(34);
    expect(grants.records.every((g) => g.PermissionsRead && g.PermissionsEdit)).toBe(true);
  });

  it('finds fields that exist but are hidden from it, and grants them instead of creating them again', async () => {
    // An admin removes the connector's grants (say, a cleanup of permission sets).
    const rows = await conn.query<{ Id: string }>("SELECT Id FROM FieldPermissions WHERE Parent.Name = 'Smarketing_Connector_Integration' AND SobjectType = 'Contact'");
    await conn.sobject('FieldPermissions').destroy(rows.records.map((r) => r.Id));
    expect(await smkFields(conn, 'Contact')).toEqual([]);

    const dry = await h.connector().ensureSchema({ dryRun: true });
    expect(dry.changes.filter((c) => c.action !== 'unchanged')).toHaveLength(17);
    expect(dry.changes.filter((c) => c.object === 'Contact').every((c) => c.action === 'granted')).toBe(true);

    const report = await h.connector().ensureSchema();
    expect(report.problems).toEqual([]);
    expect(report.changes.filter((c) => c.action === 'granted')).toHaveLength(17);
    expect(report.changes.some((c) => c.action === 'created')).toBe(false);
    expect(report.notes).toEqual(['"Smarketing Connector Integration" grants Read and Edit on 17 more field(s)']);
    expect((await smkFields(conn, 'Contact')).every((f) => f.updateable)).toBe(true);
    // Usable at once: a write and a read of a Contact.
    const contact = h.sandbox.store.list('Contact')[0];
    const sf = h.connector();
    const [outcome] = await sf.write([{ ref: { object: 'Contact', id: String(contact?.Id) }, smk: { stage: 'sql' } }]);
    expect(outcome?.ok).toBe(true);
    expect((await conn.sobject('Contact').retrieve(String(contact?.Id))).Smk_Stage__c).toBe('sql');
  });

  it('raises a field it may only read to Read and Edit, and leaves the rest alone', async () => {
    const [row] = (await conn.query<{ Id: string }>("SELECT Id FROM FieldPermissions WHERE Parent.Name = 'Smarketing_Connector_Integration' AND Field = 'Lead.Smk_Score__c'")).records;
    await conn.sobject('FieldPermissions').update({ Id: row?.Id as string, PermissionsEdit: false });
    const report = await h.connector().ensureSchema();
    expect(report.problems).toEqual([]);
    expect(report.changes.filter((c) => c.action !== 'unchanged')).toEqual([{ object: 'Lead', field: 'Smk_Score__c', action: 'granted' }]);
    expect((await smkFields(conn, 'Lead')).find((f) => f.name === 'Smk_Score__c')?.updateable).toBe(true);

    await h.resetStats();
    const quiet = await h.connector().ensureSchema();
    expect(quiet.changes.every((c) => c.action === 'unchanged')).toBe(true);
    expect(quiet.notes).toEqual([]);
    // Two describes: nothing else is looked at while every field is editable.
    expect((await h.stats()).total).toBe(2);
  });
});
