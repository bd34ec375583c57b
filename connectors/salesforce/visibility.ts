/**
 * What the integration user can do with the smk fields, for `smk doctor`: describe says what it
 * can read (a field it cannot read is not in the describe) and edit (`updateable`), the Tooling API
 * which fields exist at all (metadata is not field-level secured), and FieldPermissions of the
 * permission sets it holds (PermissionSetAssignment, its profile's own set included) through which
 * set each grant comes. Reads only.
 */
import { z } from 'zod';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { SALESFORCE_SMK_FIELDS } from './fields.js';
import type { OrgMetadata } from './metadata.js';
import { SMK_OBJECTS, sessionUser } from './permissions.js';
import { existingSmkFields } from './schema.js';
import { soqlId, soqlIn, soqlString } from './soql.js';

export interface FieldAccess {
  /** `Lead.Smk_Score__c`. */
  field: string;
  exists: boolean;
  read: boolean;
  edit: boolean;
  /** Labels of the permission sets the integration user holds that grant the field. */
  via: string[];
}

export interface IntegrationAccess {
  user: string;
  fields: FieldAccess[];
}

const assignmentRow = z.object({ PermissionSetId: z.string(), PermissionSet: z.object({ Label: z.string().nullable().optional(), Name: z.string() }).nullable() });
const grantRow = z.object({ Field: z.string(), ParentId: z.string(), PermissionsRead: z.boolean(), PermissionsEdit: z.boolean() });

export async function integrationAccess(deps: { client: SalesforceClient; metadata: OrgMetadata }): Promise<IntegrationAccess> {
  const { client } = deps;
  const metas = new Map<SalesforceObject, Awaited<ReturnType<OrgMetadata['object']>>>();
  for (const object of SMK_OBJECTS) metas.set(object, await deps.metadata.object(object, { fresh: true }));
  const allVisible = [...metas.values()].every((m) => SALESFORCE_SMK_FIELDS.every((f) => m.fields.has(f.salesforce)));
  const existing = allVisible ? null : await existingSmkFields(client);
  const user = await sessionUser(client);
  const held = (await client.queryAll('held permission sets', `SELECT PermissionSetId, PermissionSet.Name, PermissionSet.Label FROM PermissionSetAssignment WHERE AssigneeId = ${soqlId(user.id)}`))
    .map((r) => parseOrThrow(assignmentRow, r, 'PermissionSetAssignment'));
  const labels = new Map(held.map((a) => [a.PermissionSetId, a.PermissionSet?.Label ?? a.PermissionSet?.Name ?? a.PermissionSetId]));
  const via = new Map<string, string[]>();
  if (labels.size > 0) {
    const rows = await client.queryAll(
      'field permissions of the integration user',
      `SELECT Field, ParentId, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId IN ${soqlIn([...labels.keys()].map(soqlId))} AND SobjectType IN ${soqlIn(SMK_OBJECTS.map(soqlString))}`,
    );
    for (const g of rows.map((r) => parseOrThrow(grantRow, r, 'FieldPermissions'))) {
      if (!g.PermissionsRead) continue;
      const key = g.Field.toLowerCase();
      via.set(key, [...(via.get(key) ?? []), labels.get(g.ParentId) ?? g.ParentId]);
    }
  }
  const fields: FieldAccess[] = [];
  for (const [object, meta] of metas) {
    for (const f of SALESFORCE_SMK_FIELDS) {
      const name = `${object}.${f.salesforce}`;
      const seen = meta.fields.get(f.salesforce);
      fields.push({ field: name, exists: !!seen || (existing?.has(name) ?? false), read: !!seen, edit: seen?.updateable ?? false, via: via.get(name.toLowerCase()) ?? [] });
    }
  }
  return { user: user.username, fields };
}
