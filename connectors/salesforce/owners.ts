/** The org's users as owners routing can assign (`SELECT Id, Name, Email, IsActive FROM User`). */
import { z } from 'zod';
import type { CrmOwner } from '../types.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { USERS_QUERY, isSalesforceId } from './soql.js';

const userRowSchema = z.object({
  Id: z.string().refine(isSalesforceId, 'not a Salesforce id'),
  Name: z.string().nullable().optional(),
  Email: z.string().nullable().optional(),
  IsActive: z.boolean().nullable().optional(),
});

export async function listOwners(client: SalesforceClient): Promise<CrmOwner[]> {
  // Every user, inactive ones too: routing must know an owner left rather than lose track of them.
  const rows = await client.queryAll('owners', USERS_QUERY);
  return rows.map((raw) => {
    const row = parseOrThrow(userRowSchema, raw, 'User');
    return { id: row.Id, name: row.Name ?? row.Id, email: row.Email ?? null, active: row.IsActive ?? false };
  });
}
