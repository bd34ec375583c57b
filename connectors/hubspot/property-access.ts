/**
 * Whether the `smarketing` property group and its `smk_*` contact properties are there for the app
 * and the people who use HubSpot, for `smk doctor`: the group exists
 * (`GET /crm/v3/properties/contacts/groups`), each smk property exists, is not archived and sits in
 * the group (`GET /crm/v3/properties/contacts`: `groupName`), and a contact read through the app
 * with those properties (`GET /crm/v3/objects/contacts?limit=1&properties=...`, scope
 * `crm.objects.contacts.read`) returns each of them: a requested property the account has comes
 * back, with `null` when the contact has no value (reference H1). Reads only: three calls.
 *
 * The record sidebar (which cards and properties a contact record shows) has no public API: it is
 * set in HubSpot's settings ("Customize records", Settings > Objects > Contacts > Record
 * customization, https://knowledge.hubspot.com/object-settings/customize-records); SIDEBAR_HOWTO
 * says how.
 */
import { z } from 'zod';
import { HUBSPOT_PROPERTY_GROUP, SMK_FIELDS } from '../../src/model/fields.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';
import { existingPropertySchema } from './schema.js';

const OBJECT_TYPE = 'contacts';

export const SIDEBAR_HOWTO =
  `to show the "${HUBSPOT_PROPERTY_GROUP.label}" properties on each contact record, go to Settings > Objects > Contacts > Record customization > Default view ` +
  '(or a team\'s view), and in the left sidebar add a card with the smk_ properties (or add them to the "About this contact" card); ' +
  'this needs the "Customize record page layout" or Super Admin permission, and HubSpot has no API for it';

export interface PropertyAccessReport {
  group: string;
  groupExists: boolean;
  /** The smk properties expected. */
  expected: number;
  missing: string[];
  elsewhere: Array<{ name: string; group: string }>;
  /** null when the account has no contact to read. */
  unreadable: string[] | null;
}

const listSchema = z.object({ results: z.array(z.unknown()) });
const groupSchema = z.looseObject({ name: z.string(), archived: z.boolean().optional() });
const pageSchema = z.object({ results: z.array(z.looseObject({ properties: z.record(z.string(), z.string().nullable()).optional() })) });

export async function checkPropertyAccess(client: HubSpotClient): Promise<PropertyAccessReport> {
  const expected = SMK_FIELDS.flatMap((f) => (f.hubspot ? [f.hubspot] : []));
  const group = HUBSPOT_PROPERTY_GROUP.name;
  const groups = listSchema.safeParse(await client.call('read', 'properties.groups.list', (sdk, o) => sdk.crm.properties.groupsApi.getAll(OBJECT_TYPE, o)));
  if (!groups.success) throw unexpectedAnswer('property groups list', groups.error.issues[0]?.message ?? '');
  const groupExists = groups.data.results.some((g) => {
    const parsed = groupSchema.safeParse(g);
    return parsed.success && parsed.data.name === group && parsed.data.archived !== true;
  });
  const props = listSchema.safeParse(await client.call('read', 'properties.list', (sdk, o) => sdk.crm.properties.coreApi.getAll(OBJECT_TYPE, false, undefined, o)));
  if (!props.success) throw unexpectedAnswer('properties list', props.error.issues[0]?.message ?? '');
  const existing = new Map<string, z.infer<typeof existingPropertySchema>>();
  for (const raw of props.data.results) {
    const p = existingPropertySchema.safeParse(raw);
    if (p.success && !p.data.archived) existing.set(p.data.name, p.data);
  }
  const missing = expected.filter((name) => !existing.has(name));
  const elsewhere = expected.flatMap((name) => {
    const p = existing.get(name);
    return p && p.groupName !== group ? [{ name, group: p.groupName ?? '(none)' }] : [];
  });
  const readable = expected.filter((name) => existing.has(name));
  let unreadable: string[] | null = null;
  if (readable.length > 0) {
    // getPage(limit, after, properties, propertiesWithHistory, associations, archived)
    const page = pageSchema.safeParse(await client.call('read', 'contacts.page', (sdk, o) => sdk.crm.contacts.basicApi.getPage(1, undefined, readable, undefined, undefined, false, o)));
    if (!page.success) throw unexpectedAnswer('contacts page', page.error.issues[0]?.message ?? '');
    const first = page.data.results[0];
    if (first) unreadable = readable.filter((name) => !(name in (first.properties ?? {})));
  }
  return { group, groupExists, expected: expected.length, missing, elsewhere, unreadable };
}
