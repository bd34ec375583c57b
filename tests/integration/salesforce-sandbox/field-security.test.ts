/**
 * Field-level security as a real org applies it, read back through jsforce: a custom field created
 * through the Tooling API is visible to nobody, the System Administrator included, until a
 * PermissionSet assigned to the user carries FieldPermissions for it; Read shows it in describe and
 * SOQL, Edit lets writes through. Profiles, permission sets, their assignments and the field
 * permissions are ordinary sObjects (PermissionSet, FieldPermissions, PermissionSetAssignment,
 * Profile, User) with Salesforce's rules and errors.
 */
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox, SfRecord } from '../../../connectors/salesforce/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { asWire, connect, rejection, seedLeads } from './helpers.js';

let sb: SalesforceSandbox;
let leads: SfRecord[];
let admin: Connection;
let adminId: string;
let repId: string;
let rep: Connection;

interface FieldDescription {
  name: string;
  updateable: boolean;
  createable: boolean;
}

async function fieldOf(conn: Connection, object: string, name: string): Promise<FieldDescription | undefined> {
  const described = await conn.sobject(object).describe();
  return (described.fields as unknown as FieldDescription[]).find((f) => f.name === name);
}

beforeAll(async () => {
  sb = await startSalesforceSandbox({ world: generateWorld({ people: 0, seed: 5, owners: 2 }) });
  leads = seedLeads(sb, 3);
  admin = connect(sb);
  adminId = (await admin.identity()).user_id;
  const reps = await admin.query<{ Id: string }>(`SELECT Id FROM User WHERE Id != '${adminId}' ORDER BY Username`);
  repId = reps.records[0]?.Id as string;
  // A rep's own session (the sandbox's uncounted helper; a real rep would log in).
  rep = connect(sb, { accessToken: sb.auth.issueAccessToken(repId, null), refreshToken: '' });
  await admin.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Score__c', Metadata: { type: 'Number', label: 'Score', precision: 6, scale: 0 } });
  await admin.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Sales_Decision__c', Metadata: { type: 'Text', label: 'Decision', length: 40 } });
});
afterAll(async () => {
  await sb.close();
});

describe('profiles, users and their permission sets', () => {
  it('has a System Administrator (Modify All Data) and a Standard User profile, each user on one, each holding its profile\'s permission set', async () => {
    const profiles = await admin.query<{ Name: string }>('SELECT Id, Name FROM Profile ORDER BY Name');
    expect(profiles.records.map((p) => p.Name)).toEqual(['Standard User', 'System Administrator']);
    const users = await admin.query<{ Id: string; IsActive: boolean; Profile: { Name: string } }>('SELECT Id, IsActive, Profile.Name FROM User');
    expect(users.records.find((u) => u.Id === adminId)?.Profile.Name).toBe('System Administrator');
    expect(users.records.find((u) => u.Id === repId)).toMatchObject({ IsActive: true, Profile: { Name: 'Standard User' } });
    const owned = await admin.query<{ PermissionsModifyAllData: boolean; IsOwnedByProfile: boolean; Profile: { Name: string } }>(
      'SELECT PermissionsModifyAllData, IsOwnedByProfile, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true',
    );
    expect(owned.records.find((p) => p.Profile.Name === 'System Administrator')?.PermissionsModifyAllData).toBe(true);
    expect(owned.records.find((p) => p.Profile.Name === 'Standard User')?.PermissionsModifyAllData).toBe(false);
    const held = await admin.query<{ PermissionSet: { IsOwnedByProfile: boolean; Profile: { Name: string } } }>(
      `SELECT PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE AssigneeId = '${adminId}'`,
    );
    expect(held.records).toEqual([expect.objectContaining({ PermissionSet: expect.objectContaining({ IsOwnedByProfile: true, Profile: expect.objectContaining({ Name: 'System Administrator' }) }) })]);
  });
});

describe('a field created through the Tooling API', () => {
  it('is hidden from the System Administrator (Modify All Data does not grant field permissions): describe, SOQL and writes', async () => {
    expect(await fieldOf(admin, 'Lead', 'Smk_Score__c')).toBeUndefined();
    const query = await rejection(admin.query('SELECT Id, Smk_Score__c FROM Lead'));
    expect(query.errorCode).toBe('INVALID_FIELD');
    expect(query.message).toContain("No such column 'Smk_Score__c' on entity 'Lead'");
    const write = asWire(await admin.sobject('Lead').update([{ Id: leads[0]?.Id as string, Smk_Score__c: 5 }, { Id: leads[1]?.Id as string, Smk_Score__c: 6 }]));
    expect(write[0]?.errors[0]).toMatchObject({ statusCode: 'INVALID_FIELD', fields: ['Smk_Score__c'] });
    // The Tooling API still lists it: metadata is not field-level secured.
    const rows = await admin.tooling.query<{ DeveloperName: string }>("SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = 'Lead'");
    expect(rows.records.map((r) => r.DeveloperName).sort()).toEqual(['Smk_Sales_Decision', 'Smk_Score']);
  });

  it('becomes readable through a permission set with Read, and writable once Edit is granted', async () => {
    const set = await admin.sobject('PermissionSet').create({ Name: 'Smk_Test_Access', Label: 'Smk test access' });
    expect(set.success).toBe(true);
    const score = await admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Lead', Field: 'Lead.Smk_Score__c', PermissionsRead: true, PermissionsEdit: false });
    expect(score.success).toBe(true);
    // Not yet assigned: still hidden.
    expect(await fieldOf(admin, 'Lead', 'Smk_Score__c')).toBeUndefined();
    const assigned = await admin.sobject('PermissionSetAssignment').create({ PermissionSetId: set.id, AssigneeId: adminId });
    expect(assigned.success).toBe(true);

    expect(await fieldOf(admin, 'Lead', 'Smk_Score__c')).toMatchObject({ updateable: false, createable: false });
    const read = await admin.query<{ Smk_Score__c: number | null }>('SELECT Id, Smk_Score__c FROM Lead');
    expect(read.records[0]).toHaveProperty('Smk_Score__c', null);
    const refused = asWire(await admin.sobject('Lead').update([{ Id: leads[0]?.Id as string, Smk_Score__c: 5 }, { Id: leads[1]?.Id as string, Smk_Score__c: 6 }]));
    expect(refused[0]?.errors[0]).toMatchObject({ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['Smk_Score__c'] });

    await admin.sobject('FieldPermissions').update({ Id: score.id as string, PermissionsEdit: true });
    expect(await fieldOf(admin, 'Lead', 'Smk_Score__c')).toMatchObject({ updateable: true, createable: true });
    const written = asWire(await admin.sobject('Lead').update([{ Id: leads[0]?.Id as string, Smk_Score__c: 5 }, { Id: leads[1]?.Id as string, Smk_Score__c: 6 }]));
    expect(written.every((r) => r.success)).toBe(true);
    expect((await admin.sobject('Lead').retrieve(leads[0]?.Id as string)).Smk_Score__c).toBe(5);

    const fls = await admin.query<{ Field: string; PermissionsRead: boolean; PermissionsEdit: boolean; Parent: { Name: string } }>(
      "SELECT Field, PermissionsRead, PermissionsEdit, Parent.Name FROM FieldPermissions WHERE SobjectType = 'Lead' AND Parent.Name = 'Smk_Test_Access'",
    );
    expect(fls.records).toEqual([expect.objectContaining({ Field: 'Lead.Smk_Score__c', PermissionsRead: true, PermissionsEdit: true, Parent: expect.objectContaining({ Name: 'Smk_Test_Access' }) })]);
  });

  it('stays hidden from a rep until the rep holds a permission set for it', async () => {
    expect(await fieldOf(rep, 'Lead', 'Smk_Score__c')).toBeUndefined();
    expect((await rejection(rep.query('SELECT Smk_Score__c FROM Lead'))).errorCode).toBe('INVALID_FIELD');
    const set = (await admin.query<{ Id: string }>("SELECT Id FROM PermissionSet WHERE Name = 'Smk_Test_Access'")).records[0]?.Id as string;
    await admin.sobject('PermissionSetAssignment').create({ PermissionSetId: set, AssigneeId: repId });
    expect(await fieldOf(rep, 'Lead', 'Smk_Score__c')).toMatchObject({ updateable: true });
    expect((await rep.query('SELECT Smk_Score__c FROM Lead')).totalSize).toBe(3);
    // The other field was granted to nobody.
    expect(await fieldOf(rep, 'Lead', 'Smk_Sales_Decision__c')).toBeUndefined();
  });
});

describe('the rules of the permission objects', () => {
  it('refuses Edit without Read, a second FieldPermissions row for one field, an unknown field and a mismatched object', async () => {
    const set = await admin.sobject('PermissionSet').create({ Name: 'Smk_Rules', Label: 'Smk rules' });
    const editOnly = await rejection(admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Lead', Field: 'Lead.Smk_Sales_Decision__c', PermissionsRead: false, PermissionsEdit: true }));
    expect(editOnly.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    await admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Lead', Field: 'Lead.Smk_Sales_Decision__c', PermissionsRead: true });
    const duplicate = await rejection(admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Lead', Field: 'Lead.Smk_Sales_Decision__c', PermissionsRead: true }));
    expect(duplicate.errorCode).toBe('DUPLICATE_VALUE');
    const unknown = await rejection(admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Lead', Field: 'Lead.Smk_Nope__c', PermissionsRead: true }));
    expect(unknown.errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    const mismatch = await rejection(admin.sobject('FieldPermissions').create({ ParentId: set.id, SobjectType: 'Contact', Field: 'Lead.Smk_Score__c', PermissionsRead: true }));
    expect(mismatch.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
  });

  it('refuses a permission set name that is taken or not an API name, and a second assignment of one set to one user', async () => {
    expect((await rejection(admin.sobject('PermissionSet').create({ Name: 'Smk_Rules', Label: 'Again' }))).errorCode).toBe('DUPLICATE_DEVELOPER_NAME');
    expect((await rejection(admin.sobject('PermissionSet').create({ Name: 'Smk Rules', Label: 'Spaces' }))).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    expect((await rejection(admin.sobject('PermissionSet').create({ Name: 'Smk_Label_Missing' }))).errorCode).toBe('REQUIRED_FIELD_MISSING');
    const set = (await admin.query<{ Id: string }>("SELECT Id FROM PermissionSet WHERE Name = 'Smk_Rules'")).records[0]?.Id as string;
    await admin.sobject('PermissionSetAssignment').create({ PermissionSetId: set, AssigneeId: repId });
    expect((await rejection(admin.sobject('PermissionSetAssignment').create({ PermissionSetId: set, AssigneeId: repId }))).errorCode).toBe('DUPLICATE_VALUE');
    // A profile's own permission set is assigned through the profile, never directly.
    const owned = (await admin.query<{ Id: string }>("SELECT Id FROM PermissionSet WHERE Profile.Name = 'System Administrator'")).records[0]?.Id as string;
    expect((await rejection(admin.sobject('PermissionSetAssignment').create({ PermissionSetId: owned, AssigneeId: repId }))).errorCode).toBe('INVALID_CROSS_REFERENCE_KEY');
  });

  it('deletes an assignment, and the field is hidden again', async () => {
    const rows = await admin.query<{ Id: string }>(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${repId}' AND PermissionSet.Name = 'Smk_Test_Access'`);
    expect(rows.totalSize).toBe(1);
    await admin.sobject('PermissionSetAssignment').destroy(rows.records[0]?.Id as string);
    expect(await fieldOf(rep, 'Lead', 'Smk_Score__c')).toBeUndefined();
  });
});
