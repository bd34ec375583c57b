/**
 * Field-level security as the sandbox org applies it to every API session.
 *
 * What a real org does, and the sandbox with it:
 * - A user sees a field when a permission set assigned to them (their profile's own permission set
 *   included) has a FieldPermissions row with `PermissionsRead` for it, and may write it with
 *   `PermissionsEdit` ("To grant a user access to a field, associate a FieldPermissions record with a
 *   PermissionSet that's assigned to a user"
 *   [C https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-fieldpermissions.html]).
 * - A field the user cannot read does not exist for them: describe leaves it out, SOQL naming it
 *   fails with INVALID_FIELD "No such column", and so does a write; a field they can read but not
 *   edit is `updateable: false` and a write fails with INVALID_FIELD_FOR_INSERT_UPDATE
 *   ("... verify that it is read/write for your profile or permission set").
 * - A custom field created through the Tooling API (or the Metadata API) gets no field permission
 *   at all: nobody sees it, the System Administrator included. View All Data and Modify All Data
 *   ignore sharing, not field-level security: users with them "can view (or modify) all apps and
 *   data, even if the apps and data aren't shared with them but must still be assigned field
 *   permissions" [C https://help.salesforce.com/s/articleView?id=platform.users_profiles_view_all_mod_all.htm].
 *   So the sandbox's integration user, a System Administrator with Modify All Data, needs field
 *   permissions like anyone else.
 *
 * Where the sandbox is simpler than an org (and says so): only custom fields are secured; standard
 * fields are visible and editable as their describe says, as the seeded profiles would grant them.
 * Object permissions (ObjectPermissions) and sharing are not modelled. The control surface
 * (`/__sandbox/activity`: a rep's edit in the UI) and the store's own helpers act with full
 * access. Checking that a session may manage permission sets (Manage Profiles and Permission
 * Sets, Assign Permission Sets) is not modelled either: every session may.
 */
import { recordError } from './errors.js';
import type { RecordError } from './errors.js';
import { SObjectSchema } from './objects.js';
import type { FieldDef } from './objects.js';
import { SYSTEM_PERMISSIONS } from './setup-objects.js';
import type { SystemPermission } from './setup-objects.js';
import type { SalesforceStore } from './store.js';
import type { SfRecord, SfValue } from './values.js';

export const SYSTEM_ADMINISTRATOR = 'System Administrator';
export const STANDARD_USER = 'Standard User';

/** The system permissions of the seeded profiles (their owned permission sets): an administrator has them all. */
const PROFILE_PERMISSIONS: Record<string, readonly SystemPermission[]> = {
  [SYSTEM_ADMINISTRATOR]: SYSTEM_PERMISSIONS,
  [STANDARD_USER]: ['PermissionsApiEnabled'],
};

/**
 * The seeded profiles and their owned permission sets, each created once (a data reset keeps
 * them); returns the profile ids by name.
 */
export function ensureProfiles(store: SalesforceStore, options: { ts: number; actorId: string }): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const [name, permissions] of Object.entries(PROFILE_PERMISSIONS)) {
    const existing = store.list('Profile').find((p) => p.Name === name);
    const profile = existing ?? store.insert('Profile', { Name: name, UserType: 'Standard' }, options);
    const profileId = profile.Id as string;
    ids[name] = profileId;
    if (!store.list('PermissionSet').some((s) => s.ProfileId === profileId)) {
      const flags = Object.fromEntries(permissions.map((p) => [p, true]));
      // A profile's own permission set: its name is the profile id prefixed with X, its label the profile's.
      store.insert('PermissionSet', { Name: `X${profileId}`, Label: name, IsOwnedByProfile: true, ProfileId: profileId, IsCustom: false, ...flags }, options);
    }
  }
  return ids;
}

/**
 * Each user holds the permission set of their profile (a real org returns those assignments in
 * PermissionSetAssignment queries, `PermissionSet.IsOwnedByProfile = true`); assignments of users
 * that no longer exist (after a re-seed) are dropped.
 */
export function assignProfiles(store: SalesforceStore, options: { ts: number; actorId: string }): void {
  const users = new Map(store.list('User').map((u) => [u.Id as string, u]));
  const ownedBy = new Map(store.list('PermissionSet').filter((s) => s.IsOwnedByProfile === true).map((s) => [s.ProfileId as string, s.Id as string]));
  const held = new Set<string>();
  for (const a of store.list('PermissionSetAssignment')) {
    if (!users.has(a.AssigneeId as string)) store.remove(a);
    else held.add(`${String(a.AssigneeId)}|${String(a.PermissionSetId)}`);
  }
  for (const user of users.values()) {
    const set = ownedBy.get(user.ProfileId as string);
    if (set && !held.has(`${String(user.Id)}|${set}`)) store.insert('PermissionSetAssignment', { AssigneeId: user.Id as string, PermissionSetId: set }, options);
  }
}

type Access = 'read' | 'edit';

/** One user's field permissions: `Object.Field` (lower case) to the most they may do. */
export class UserAccess {
  constructor(private readonly fields: ReadonlyMap<string, Access>) {}

  of(object: string, field: string): Access | null {
    return this.fields.get(`${object}.${field}`.toLowerCase()) ?? null;
  }
}

/**
 * Each user's access, recomputed when a setup object changes (the store's securityVersion), and
 * each user's view of an object's schema: the fields they may read, `createable`/`updateable`
 * only where they may edit.
 */
export class FieldSecurity {
  private access = new Map<string, { version: number; value: UserAccess }>();
  private views = new Map<string, { version: number; schemaVersion: number; value: SObjectSchema }>();

  constructor(private readonly store: SalesforceStore) {}

  /** Whether a permission set the user holds (their profile's included) has a system permission. */
  holds(userId: string, permission: SystemPermission): boolean {
    const sets = new Set<string>();
    for (const a of this.store.list('PermissionSetAssignment')) if (a.AssigneeId === userId) sets.add(a.PermissionSetId as string);
    return this.store.list('PermissionSet').some((s) => sets.has(s.Id as string) && s[permission] === true);
  }

  accessOf(userId: string): UserAccess {
    const version = this.store.securityVersion;
    const cached = this.access.get(userId);
    if (cached && cached.version === version) return cached.value;
    const sets = new Set<string>();
    for (const a of this.store.list('PermissionSetAssignment')) if (a.AssigneeId === userId) sets.add(a.PermissionSetId as string);
    const fields = new Map<string, Access>();
    for (const p of this.store.list('FieldPermissions')) {
      if (!sets.has(p.ParentId as string) || p.PermissionsRead !== true) continue;
      const key = String(p.Field).toLowerCase();
      if (p.PermissionsEdit === true) fields.set(key, 'edit');
      else if (!fields.has(key)) fields.set(key, 'read');
    }
    const value = new UserAccess(fields);
    this.access.set(userId, { version, value });
    return value;
  }

  /** The schema as `userId` sees it; the full schema without a user (the control surface). */
  schemaFor(userId: string | undefined, schema: SObjectSchema): SObjectSchema {
    if (userId === undefined || !schema.fields.some((f) => f.custom)) return schema;
    const key = `${userId}|${schema.name}`;
    const version = this.store.securityVersion;
    const cached = this.views.get(key);
    if (cached && cached.version === version && cached.schemaVersion === schema.version) return cached.value;
    const access = this.accessOf(userId);
    const fields: FieldDef[] = [];
    for (const f of schema.fields) {
      if (!f.custom) {
        fields.push(f);
        continue;
      }
      const granted = access.of(schema.name, f.name);
      if (granted === 'edit') fields.push(f);
      else if (granted === 'read') fields.push({ ...f, createable: false, updateable: false });
    }
    const value = new SObjectSchema(schema.name, schema.label, schema.labelPlural, schema.keyPrefix, schema.flags, fields);
    this.views.set(key, { version, schemaVersion: schema.version, value });
    return value;
  }
}

const API_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/;

export interface SetupCheck {
  errors: RecordError[];
  /** A key no two records of one call may share (a second row for the same field, or user and set). */
  unique?: string;
}

/**
 * The rules Salesforce applies to the setup objects on create and update, beyond the field checks
 * of validation.ts. `values` are the converted values of the write, `target` the record an update
 * changes. Sources are cited in setup-objects.ts; the messages marked [U] are our wording.
 */
export function checkSetupRecord(store: SalesforceStore, object: string, values: Record<string, SfValue>, target?: SfRecord): SetupCheck {
  switch (object) {
    case 'PermissionSet':
      return checkPermissionSet(store, values, target);
    case 'FieldPermissions':
      return checkFieldPermissions(store, values, target);
    case 'PermissionSetAssignment':
      return checkAssignment(store, values);
    default:
      return { errors: [] };
  }
}

function checkPermissionSet(store: SalesforceStore, values: Record<string, SfValue>, target?: SfRecord): SetupCheck {
  if (!('Name' in values)) return { errors: [] };
  const name = String(values.Name);
  if (!API_NAME.test(name) || name.endsWith('_')) {
    return {
      errors: [recordError(
        'FIELD_INTEGRITY_EXCEPTION',
        'The Permission Set Name can only contain underscores and alphanumeric characters, and must be unique in your organization. It must begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.',
        ['Name'],
      )],
    };
  }
  const taken = store.list('PermissionSet').some((s) => s.Id !== target?.Id && String(s.Name).toLowerCase() === name.toLowerCase());
  // [U] message; the code is the one Salesforce gives a taken API name.
  if (taken) return { errors: [recordError('DUPLICATE_DEVELOPER_NAME', `The API Name ${name} is already in use by another permission set.`, ['Name'])] };
  return { errors: [], unique: `PermissionSet|${name.toLowerCase()}` };
}

function checkFieldPermissions(store: SalesforceStore, values: Record<string, SfValue>, target?: SfRecord): SetupCheck {
  const merged = { ...(target ?? {}), ...values };
  const read = merged.PermissionsRead === true;
  const edit = merged.PermissionsEdit === true;
  const fieldName = String(merged.Field ?? '');
  // "PermissionsEdit ... Requires PermissionsRead for the same field to be true" [C]; [U] message.
  if (edit && !read) {
    return { errors: [recordError('FIELD_INTEGRITY_EXCEPTION', `Permission Edit ${fieldName} depends on permission(s): Read ${fieldName}`, ['PermissionsEdit'])] };
  }
  if (target) return { errors: [] };
  const sobjectType = String(values.SobjectType ?? '');
  const schema = store.schema(sobjectType);
  if (!schema) return { errors: [recordError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `SObject Type Name: bad value for restricted picklist field: ${sobjectType}`, ['SobjectType'])] };
  const dot = fieldName.indexOf('.');
  const prefix = dot > 0 ? fieldName.slice(0, dot) : '';
  const field = dot > 0 ? store.schema(prefix)?.field(fieldName.slice(dot + 1)) : undefined;
  // A field permission exists only for a field that has one: not the required or calculated ones.
  if (!field || !field.nillable || field.calculated || field.type === 'id') {
    return { errors: [recordError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `Field Name: bad value for restricted picklist field: ${fieldName}`, ['Field'])] };
  }
  // "This name must be prefixed with the SobjectType" [C]; [U] message.
  if (prefix.toLowerCase() !== schema.name.toLowerCase()) {
    return { errors: [recordError('FIELD_INTEGRITY_EXCEPTION', `Field ${fieldName} is not a field of ${schema.name}`, ['Field'])] };
  }
  const canonical = `${schema.name}.${field.name}`;
  values.SobjectType = schema.name;
  values.Field = canonical;
  const parent = String(values.ParentId);
  const duplicate = store.list('FieldPermissions').some((p) => p.ParentId === parent && String(p.Field).toLowerCase() === canonical.toLowerCase());
  // One row per permission set and field: a second insert fails with DUPLICATE_VALUE
  // [S the message Salesforce gives unique-index violations].
  if (duplicate) return { errors: [duplicateValue()] };
  return { errors: [], unique: `FieldPermissions|${parent}|${canonical.toLowerCase()}` };
}

function checkAssignment(store: SalesforceStore, values: Record<string, SfValue>): SetupCheck {
  const setId = String(values.PermissionSetId);
  const userId = String(values.AssigneeId);
  const set = store.get(setId);
  // A profile's own permission set comes with the profile; it is never assigned directly. [U] code and message.
  if (set?.IsOwnedByProfile === true) return { errors: [recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id: a profile\'s permission set cannot be assigned', ['PermissionSetId'])] };
  const duplicate = store.list('PermissionSetAssignment').some((a) => a.AssigneeId === userId && a.PermissionSetId === setId);
  // [S] DUPLICATE_VALUE for an (AssigneeId, PermissionSetId) pair that exists.
  if (duplicate) return { errors: [duplicateValue()] };
  return { errors: [], unique: `PermissionSetAssignment|${userId}|${setId}` };
}

function duplicateValue(): RecordError {
  return recordError('DUPLICATE_VALUE', 'duplicate value found: <unknown> duplicates value on record with id: <unknown>');
}
