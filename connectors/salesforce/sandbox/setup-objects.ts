/**
 * The setup objects of field-level security, as the REST API serves them (Object Reference for the
 * Salesforce Platform): Profile, PermissionSet, FieldPermissions and PermissionSetAssignment.
 *
 * - PermissionSet: `Name` is the API name ("can contain only underscores and alphanumeric
 *   characters ... must begin with a letter, not include spaces, not end with an underscore, and not
 *   contain two consecutive underscores", 80 characters), `Label` 80, `Description` 255;
 *   `IsOwnedByProfile` and `ProfileId` mark the permission set every profile owns, which holds the
 *   profile's own permissions; one boolean `Permissions<Name>` per system permission
 *   [C https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionset.htm].
 * - FieldPermissions: `ParentId` (relationship `Parent`, a PermissionSet), `SobjectType`, `Field`
 *   (restricted picklists, "The field's API name. This name must be prefixed with the SobjectType"),
 *   `PermissionsRead`, `PermissionsEdit` ("Requires PermissionsRead for the same field to be true"),
 *   `SystemModstamp`; no other audit fields
 *   [C https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-fieldpermissions.html].
 * - PermissionSetAssignment: `AssigneeId` (relationship `Assignee`, a User), `PermissionSetId`;
 *   create and delete, no update of either
 *   [C https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_permissionsetassignment.htm].
 *
 * The sandbox seeds two profiles (see security.ts): System Administrator, whose permission set has
 * Modify All Data, View All Data and Customize Application, and Standard User.
 */
import { SObjectSchema, makeBoolean, makeField, makeReference, picklistValues } from './objects.js';
import type { FieldDef, SObjectFlags } from './objects.js';

const setupObject: SObjectFlags = { createable: true, updateable: true, deletable: true, queryable: true, customizable: false, softDelete: false };
const readOnlyObject: SObjectFlags = { createable: false, updateable: false, deletable: false, queryable: true, customizable: false, softDelete: false };

const locked = { createable: false, updateable: false };
/** Set once on create, never changed (the assignment's two ends, a field permission's field). */
const createOnly = { createable: true, updateable: false };
const system = { ...locked, nillable: false, defaultedOnCreate: true };

const audit = (): FieldDef[] => [
  makeField('CreatedDate', 'Created Date', 'datetime', system),
  makeReference('CreatedById', 'Created By ID', ['User'], 'CreatedBy', system),
  makeField('LastModifiedDate', 'Last Modified Date', 'datetime', system),
  makeReference('LastModifiedById', 'Last Modified By ID', ['User'], 'LastModifiedBy', system),
  makeField('SystemModstamp', 'System Modstamp', 'datetime', system),
];
const idField = (label: string) => makeField('Id', label, 'id', { length: 18, ...system, idLookup: true });

/** The system permissions the sandbox knows, as PermissionSet fields. */
export const SYSTEM_PERMISSIONS = [
  'PermissionsApiEnabled',
  'PermissionsViewSetup',
  'PermissionsCustomizeApplication',
  'PermissionsModifyAllData',
  'PermissionsViewAllData',
  'PermissionsManageUsers',
  'PermissionsAssignPermissionSets',
  'PermissionsManageProfilesPermissionsets',
  'PermissionsModifyMetadata',
] as const;
export type SystemPermission = (typeof SYSTEM_PERMISSIONS)[number];

function profile(): SObjectSchema {
  return new SObjectSchema('Profile', 'Profile', 'Profiles', '00e', readOnlyObject, [
    idField('Profile ID'),
    makeField('Name', 'Name', 'string', { length: 255, ...locked, nillable: false, nameField: true }),
    makeField('UserType', 'User Type', 'picklist', { length: 40, ...locked, picklistValues: picklistValues(['Standard', 'PowerPartner', 'CsnOnly', 'Guest']) }),
    ...audit(),
  ]);
}

function permissionSet(): SObjectSchema {
  return new SObjectSchema('PermissionSet', 'Permission Set', 'Permission Sets', '0PS', setupObject, [
    idField('PermissionSet ID'),
    makeField('Name', 'Permission Set Name', 'string', { length: 80, nillable: false }),
    makeField('Label', 'Permission Set Label', 'string', { length: 80, nillable: false, nameField: true }),
    makeField('Description', 'Description', 'string', { length: 255 }),
    makeBoolean('IsOwnedByProfile', 'Is Owned By Profile', locked),
    makeReference('ProfileId', 'Profile ID', ['Profile'], 'Profile', locked),
    makeBoolean('IsCustom', 'Is Custom', { ...locked, defaultValue: true }),
    makeField('NamespacePrefix', 'Namespace Prefix', 'string', { length: 15, ...locked }),
    ...SYSTEM_PERMISSIONS.map((name) => makeBoolean(name, name.replace(/^Permissions/, ''))),
    ...audit(),
  ]);
}

function fieldPermissions(): SObjectSchema {
  return new SObjectSchema('FieldPermissions', 'Field Permissions', 'Field Permissions', '01k', setupObject, [
    idField('Field Permissions ID'),
    makeReference('ParentId', 'Parent ID', ['PermissionSet'], 'Parent', { ...createOnly, nillable: false }),
    // Restricted picklists whose values are the org's objects and fields: checked in security.ts.
    makeField('SobjectType', 'SObject Type Name', 'picklist', { length: 40, ...createOnly, nillable: false }),
    makeField('Field', 'Field Name', 'picklist', { length: 255, ...createOnly, nillable: false }),
    makeBoolean('PermissionsRead', 'Read Field'),
    makeBoolean('PermissionsEdit', 'Edit Field'),
    makeField('SystemModstamp', 'System Modstamp', 'datetime', system),
  ]);
}

function permissionSetAssignment(): SObjectSchema {
  return new SObjectSchema('PermissionSetAssignment', 'Permission Set Assignment', 'Permission Set Assignments', '0Pa', setupObject, [
    idField('Permission Set Assignment ID'),
    makeReference('AssigneeId', 'Assignee ID', ['User'], 'Assignee', { ...createOnly, nillable: false }),
    makeReference('PermissionSetId', 'Permission Set ID', ['PermissionSet'], 'PermissionSet', { ...createOnly, nillable: false }),
    makeField('SystemModstamp', 'Date Assigned', 'datetime', system),
  ]);
}

export function createSetupSchemas(): SObjectSchema[] {
  return [profile(), permissionSet(), fieldPermissions(), permissionSetAssignment()];
}

/** The objects (by their canonical names) whose rows decide who sees which field. */
export const SECURITY_OBJECTS: ReadonlySet<string> = new Set(['Profile', 'PermissionSet', 'FieldPermissions', 'PermissionSetAssignment', 'User']);
