/**
 * Who may see and change the `Smk_*__c` fields: two permission sets the connector keeps, through the
 * REST API's PermissionSet, FieldPermissions and PermissionSetAssignment sObjects.
 *
 * Why: a custom field created through the Tooling API has no field-level security; nobody sees it,
 * a System Administrator with Modify All Data included ("must still be assigned field permissions",
 * Salesforce Help "View All and Modify All Permissions Overview"
 * https://help.salesforce.com/s/articleView?id=platform.users_profiles_view_all_mod_all.htm), until
 * a permission set assigned to the user carries a FieldPermissions row for it ("To grant a user
 * access to a field, associate a FieldPermissions record with a PermissionSet that's assigned to a
 * user", Object Reference "FieldPermissions"
 * https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-fieldpermissions.html).
 *
 * - "Smarketing Connector Integration" (`Smarketing_Connector_Integration`): Read and Edit on every
 *   smk field of Lead and Contact, assigned to the integration user by `ensureSchema`, so that the
 *   connector can read and write what it provisioned.
 * - "Smarketing Connector" (`Smarketing_Connector`): for reps and marketers in Salesforce: Read on
 *   every smk field, Edit on the ones sales sets (decision, reject reason, lead quality, disqualify
 *   reason). `smk install --assign` assigns it.
 *
 * Idempotent: rows are read first; a missing set, field permission or assignment is created, a
 * field permission with less than wanted is raised, and nothing is ever taken away (an admin may
 * have granted more). FieldPermissions rules relied on: `Field` is `Object.Field`, `PermissionsEdit`
 * "Requires PermissionsRead for the same field to be true", one row per set and field (a second is
 * DUPLICATE_VALUE); the API name of a set is unique.
 */
import { z } from 'zod';
import { CrmError } from '../errors.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { saveByCollections } from './batch.js';
import type { RecordResult } from './batch.js';
import { SALESFORCE_SMK_FIELDS } from './fields.js';
import { soqlId, soqlIn, soqlString } from './soql.js';

export const SMK_OBJECTS: readonly SalesforceObject[] = ['Lead', 'Contact'];

export interface PermissionSetSpec {
  /** The API name (PermissionSet.Name). */
  name: string;
  label: string;
  description: string;
  /** Whether the set grants Edit on a field (Read always). */
  edits(field: (typeof SALESFORCE_SMK_FIELDS)[number]): boolean;
}

export const INTEGRATION_PERMISSION_SET: PermissionSetSpec = {
  name: 'Smarketing_Connector_Integration',
  label: 'Smarketing Connector Integration',
  description: 'For the Smarketing Connector integration user: Read and Edit on every Smk field of Lead and Contact.',
  edits: () => true,
};

export const USER_PERMISSION_SET: PermissionSetSpec = {
  name: 'Smarketing_Connector',
  label: 'Smarketing Connector',
  description: 'For reps and marketers: Read on every Smk field of Lead and Contact; Edit on the sales feedback fields (decision, reject reason, lead quality, disqualify reason).',
  edits: (field) => field.writtenBy === 'sales',
};

/** One field permission the connector wants: `Lead.Smk_Score__c`, Read, and Edit or not. */
export interface Grant {
  object: SalesforceObject;
  field: string;
  edit: boolean;
}

/** The grants of a set over the given fields (`Object.Field` names that exist in the org). */
export function grantsOf(spec: PermissionSetSpec, existing?: ReadonlySet<string>): Grant[] {
  return SMK_OBJECTS.flatMap((object) =>
    SALESFORCE_SMK_FIELDS.filter((f) => !existing || existing.has(`${object}.${f.salesforce}`)).map((f) => ({ object, field: `${object}.${f.salesforce}`, edit: spec.edits(f) })),
  );
}

const permissionSetRow = z.object({ Id: z.string(), Name: z.string(), Label: z.string().nullable().optional() });
const fieldPermissionRow = z.object({ Id: z.string(), Field: z.string(), PermissionsRead: z.boolean(), PermissionsEdit: z.boolean() });
const assignmentRow = z.object({ Id: z.string(), AssigneeId: z.string() });

export interface PermissionSetOutcome {
  spec: PermissionSetSpec;
  /** The grants the set holds at least (Read on each, Edit where `edit`). */
  wanted: readonly Grant[];
  /** Null on a dry run when the set does not exist yet. */
  id: string | null;
  created: boolean;
  /** Fields whose Read (and Edit where wanted) was added or raised, or would be on a dry run. */
  granted: string[];
  unchanged: number;
  problems: Array<{ field?: string; message: string }>;
}

export async function findPermissionSet(client: SalesforceClient, name: string): Promise<{ id: string; label: string } | null> {
  const rows = await client.queryAll(`find permission set ${name}`, `SELECT Id, Name, Label FROM PermissionSet WHERE Name = ${soqlString(name)}`);
  const row = rows.map((r) => parseOrThrow(permissionSetRow, r, 'PermissionSet')).find((r) => r.Name.toLowerCase() === name.toLowerCase());
  return row ? { id: row.Id, label: row.Label ?? row.Name } : null;
}

/** The FieldPermissions rows of a set on Lead and Contact, by `Object.Field` (lower case). */
export async function fieldPermissionsOf(client: SalesforceClient, setId: string): Promise<Map<string, z.infer<typeof fieldPermissionRow>>> {
  const rows = await client.queryAll(
    'field permissions',
    `SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = ${soqlId(setId)} AND SobjectType IN ${soqlIn(SMK_OBJECTS.map(soqlString))}`,
  );
  return new Map(rows.map((r) => parseOrThrow(fieldPermissionRow, r, 'FieldPermissions')).map((r) => [r.Field.toLowerCase(), r]));
}

function failures(results: RecordResult[], labels: readonly string[]): Array<{ field?: string; message: string }> {
  return results.flatMap((r, i) => (r.ok ? [] : [{ field: labels[i], message: `${labels[i] ?? 'record'}: ${r.error.message} (${r.error.vendorCode ?? r.error.code})` }]));
}

/**
 * The set exists with at least the grants given; on a dry run, what would change. Two calls when
 * nothing is missing (the set, its field permissions), one more per kind of write.
 */
export async function ensurePermissionSet(client: SalesforceClient, spec: PermissionSetSpec, grants: readonly Grant[], options: { dryRun?: boolean } = {}): Promise<PermissionSetOutcome> {
  const outcome: PermissionSetOutcome = { spec, wanted: grants, id: null, created: false, granted: [], unchanged: 0, problems: [] };
  const found = await findPermissionSet(client, spec.name);
  if (!found) {
    outcome.created = true;
    if (options.dryRun) {
      outcome.granted = grants.map((g) => g.field);
      return outcome;
    }
    const [created] = await saveByCollections(client, 'create', 'PermissionSet', [{ Name: spec.name, Label: spec.label, Description: spec.description }]);
    if (!created?.ok) {
      // Another install made it first (DUPLICATE_DEVELOPER_NAME): use that one.
      const again = created?.error.code === 'CONFLICT' ? await findPermissionSet(client, spec.name) : null;
      if (!again) throw created?.error ?? new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: `no answer creating the permission set ${spec.name}` });
      outcome.created = false;
      outcome.id = again.id;
    } else {
      outcome.id = created.id;
    }
  } else {
    outcome.id = found.id;
  }
  const have = outcome.created ? new Map<string, z.infer<typeof fieldPermissionRow>>() : await fieldPermissionsOf(client, outcome.id as string);
  const inserts: Grant[] = [];
  const raises: Array<{ grant: Grant; id: string }> = [];
  for (const grant of grants) {
    const row = have.get(grant.field.toLowerCase());
    if (!row) inserts.push(grant);
    else if (!row.PermissionsRead || (grant.edit && !row.PermissionsEdit)) raises.push({ grant, id: row.Id });
    else outcome.unchanged += 1;
  }
  if (options.dryRun) {
    outcome.granted = [...inserts, ...raises.map((r) => r.grant)].map((g) => g.field);
    return outcome;
  }
  if (inserts.length > 0) {
    const results = await saveByCollections(
      client,
      'create',
      'FieldPermissions',
      inserts.map((g) => ({ ParentId: outcome.id, SobjectType: g.object, Field: g.field, PermissionsRead: true, PermissionsEdit: g.edit })),
    );
    outcome.problems.push(...failures(results, inserts.map((g) => g.field)));
    outcome.granted.push(...inserts.filter((_, i) => results[i]?.ok).map((g) => g.field));
  }
  if (raises.length > 0) {
    // Raise only: an Edit an admin granted stays even where the set does not ask for it.
    const results = await saveByCollections(
      client,
      'update',
      'FieldPermissions',
      raises.map((r) => ({ Id: r.id, PermissionsRead: true, ...(r.grant.edit ? { PermissionsEdit: true } : {}) })),
    );
    outcome.problems.push(...failures(results, raises.map((r) => r.grant.field)));
    outcome.granted.push(...raises.filter((_, i) => results[i]?.ok).map((r) => r.grant.field));
  }
  return outcome;
}

export interface AssignOutcome {
  /** Users the set was (or, dry run, would be) assigned to now. */
  assigned: string[];
  /** Users who held it already. */
  already: string[];
  problems: Array<{ user: string; message: string }>;
}

/** Assigns a set to users who do not hold it yet (PermissionSetAssignment, one collection per 200). */
export async function assignPermissionSet(client: SalesforceClient, setId: string | null, userIds: readonly string[], options: { dryRun?: boolean } = {}): Promise<AssignOutcome> {
  const outcome: AssignOutcome = { assigned: [], already: [], problems: [] };
  if (userIds.length === 0) return outcome;
  const held = new Set<string>();
  if (setId) {
    for (let i = 0; i < userIds.length; i += 300) {
      const part = userIds.slice(i, i + 300);
      const rows = await client.queryAll(
        'permission set assignments',
        `SELECT Id, AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = ${soqlId(setId)} AND AssigneeId IN ${soqlIn(part.map(soqlId))}`,
      );
      for (const r of rows) held.add(parseOrThrow(assignmentRow, r, 'PermissionSetAssignment').AssigneeId);
    }
  }
  const missing = userIds.filter((id) => !held.has(id));
  outcome.already = userIds.filter((id) => held.has(id));
  if (options.dryRun || missing.length === 0 || !setId) {
    outcome.assigned = missing;
    return outcome;
  }
  const results = await saveByCollections(client, 'create', 'PermissionSetAssignment', missing.map((id) => ({ PermissionSetId: setId, AssigneeId: id })));
  results.forEach((r, i) => {
    const user = missing[i] as string;
    // DUPLICATE_VALUE: assigned meanwhile by someone else; it is held, which is what was wanted.
    if (r.ok || r.error.vendorCode === 'DUPLICATE_VALUE') outcome.assigned.push(user);
    else outcome.problems.push({ user, message: `${r.error.message} (${r.error.vendorCode ?? r.error.code})` });
  });
  return outcome;
}

const identitySchema = z.object({ user_id: z.string(), username: z.string().optional() });

/** The user the connector's session belongs to (jsforce `identity()`: the OAuth identity URL). */
export async function sessionUser(client: SalesforceClient): Promise<{ id: string; username: string }> {
  const raw: unknown = await client.call('identity', (conn) => conn.identity().then((r): unknown => r));
  const identity = parseOrThrow(identitySchema, raw, 'identity');
  return { id: identity.user_id, username: identity.username ?? identity.user_id };
}
