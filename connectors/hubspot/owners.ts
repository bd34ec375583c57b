/**
 * HubSpot owners (the users records are assigned to), for routing: `GET /crm/v3/owners` through
 * `crm.owners.ownersApi.getPage(email, after, limit, archived)`, pages of up to 100 chained by
 * `paging.next.after`. Active owners come from `archived=false`, deactivated ones from `archived=true`.
 */
import { z } from 'zod';
import type { CrmOwner } from '../types.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';

const OWNER_PAGE_LIMIT = 100;

export const hubSpotOwnerSchema = z.looseObject({
  id: z.string().min(1),
  email: z.string().nullable().optional(),
  firstName: z.string().nullable().optional(),
  lastName: z.string().nullable().optional(),
  archived: z.boolean().optional(),
  type: z.string().optional(),
});

const ownerPageSchema = z.object({
  results: z.array(z.unknown()),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});

export function ownerFromHubSpot(raw: unknown, archived: boolean): CrmOwner | null {
  const parsed = hubSpotOwnerSchema.safeParse(raw);
  if (!parsed.success) return null;
  const o = parsed.data;
  const name = [o.firstName, o.lastName].filter((s): s is string => typeof s === 'string' && s.trim() !== '').join(' ').trim();
  return { id: o.id, email: o.email ?? null, name: name || o.email || o.id, active: !(o.archived ?? archived) };
}

export async function listOwners(client: HubSpotClient): Promise<CrmOwner[]> {
  const owners: CrmOwner[] = [];
  for (const archived of [false, true]) {
    let after: string | undefined;
    do {
      const answer = ownerPageSchema.safeParse(
        await client.call('read', archived ? 'owners.list.archived' : 'owners.list', (sdk, o) =>
          sdk.crm.owners.ownersApi.getPage(undefined, after, OWNER_PAGE_LIMIT, archived, o),
        ),
      );
      if (!answer.success) throw unexpectedAnswer('owners list', answer.error.issues[0]?.message ?? 'not a page');
      for (const raw of answer.data.results) {
        const owner = ownerFromHubSpot(raw, archived);
        if (owner && !owners.some((o) => o.id === owner.id)) owners.push(owner);
      }
      after = answer.data.paging?.next?.after;
    } while (after !== undefined);
  }
  return owners;
}
