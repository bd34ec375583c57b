/**
 * Synced field values (src/model/field-sync.ts) -> HubSpot contact properties, each checked against
 * the portal's own property definition before the write (reference H1, H4): the property must
 * exist and not be calculated (`modificationMetadata.readOnlyValue`), an enumeration value must be
 * one of its options (HubSpot compares option values exactly, so a case-insensitive match is
 * written in the option's own spelling), a number must parse, a date is `YYYY-MM-DD`, text is at
 * most 65,536 characters. A value that fails is left out of the write and reported with its
 * reason; the rest of the record is written.
 */
import { z } from 'zod';
import type { SyncField } from '../../src/model/field-sync.js';
import type { CrmError } from '../errors.js';
import type { HubSpotClient } from './client.js';
import { HUBSPOT_MAX_TEXT, validationError } from './write-mapping.js';

const definitionSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  options: z.array(z.looseObject({ value: z.string(), hidden: z.boolean().optional() })).optional(),
  calculated: z.boolean().optional(),
  modificationMetadata: z.looseObject({ readOnlyValue: z.boolean().optional() }).optional(),
});
type Definition = z.infer<typeof definitionSchema>;
const listSchema = z.object({ results: z.array(z.unknown()) });

/** The portal's contact property definitions, read once and trusted for `ttlMs`. */
export class PropertyDefinitions {
  private loaded: { at: number; byName: Map<string, Definition> } | null = null;
  private loading: Promise<Map<string, Definition>> | null = null;

  constructor(
    private readonly client: HubSpotClient,
    private readonly ttlMs = 30 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Map<string, Definition>> {
    if (this.loaded && this.now() - this.loaded.at < this.ttlMs) return this.loaded.byName;
    this.loading ??= (async () => {
      try {
        // GET /crm/v3/properties/contacts: every property with its type, options and read-only flag.
        const answer = listSchema.parse(await this.client.call('read', 'properties.list', (sdk, o) => sdk.crm.properties.coreApi.getAll('contacts', false, undefined, o)));
        const byName = new Map<string, Definition>();
        for (const raw of answer.results) {
          const parsed = definitionSchema.safeParse(raw);
          if (parsed.success) byName.set(parsed.data.name, parsed.data);
        }
        this.loaded = { at: this.now(), byName };
        return byName;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

type Checked = { ok: true; value: string } | { ok: false; error: CrmError };

/** One synced value in HubSpot's wire form ("" clears), or why the portal would refuse it. */
export function fieldValueToHubSpot(field: SyncField, value: string | null, definition: Definition | undefined, record: string): Checked {
  const name = field.hubspot;
  if (name === null) return { ok: false, error: validationError(record, field.name, value ?? '', 'has no HubSpot property in sync.fields') };
  if (!definition) {
    return { ok: false, error: validationError(record, name, value ?? '', `is not a contact property of this portal; create it or fix sync.fields.${field.name}`) };
  }
  if (definition.modificationMetadata?.readOnlyValue || definition.calculated) {
    return { ok: false, error: validationError(record, name, value ?? '', 'is calculated by HubSpot and cannot be written') };
  }
  if (value === null || value === '') return { ok: true, value: '' };
  switch (definition.type) {
    case 'enumeration': {
      const options = (definition.options ?? []).map((o) => o.value);
      const hit = options.find((o) => o === value) ?? options.find((o) => o.toLowerCase() === value.toLowerCase());
      if (hit === undefined) return { ok: false, error: validationError(record, name, value, `must be one of ${options.join(', ')}`) };
      return { ok: true, value: hit };
    }
    case 'number': {
      const t = value.trim();
      if (!NUMBER.test(t) || !Number.isFinite(Number(t))) return { ok: false, error: validationError(record, name, value, 'must be a number') };
      return { ok: true, value: String(Number(t)) };
    }
    case 'date': {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
        return { ok: false, error: validationError(record, name, value, 'must be a date (YYYY-MM-DD)') };
      }
      return { ok: true, value };
    }
    case 'bool': {
      const t = value.trim().toLowerCase();
      if (t !== 'true' && t !== 'false') return { ok: false, error: validationError(record, name, value, 'must be true or false') };
      return { ok: true, value: t };
    }
    default: {
      if (value.length > HUBSPOT_MAX_TEXT) return { ok: false, error: validationError(record, name, value, `is ${value.length} characters long; at most ${HUBSPOT_MAX_TEXT} fit`) };
      return { ok: true, value };
    }
  }
}

/** The properties of a record's synced fields: the accepted ones, and the refused ones with reasons. */
export function fieldProperties(
  fields: Record<string, string | null>,
  specs: ReadonlyMap<string, SyncField>,
  definitions: ReadonlyMap<string, Definition>,
  record: string,
): { properties: Record<string, string>; refused: Array<{ field: string; error: CrmError }> } {
  const properties: Record<string, string> = {};
  const refused: Array<{ field: string; error: CrmError }> = [];
  for (const [name, value] of Object.entries(fields)) {
    const spec = specs.get(name);
    if (!spec) {
      refused.push({ field: name, error: validationError(record, name, value ?? '', 'is not a field of sync.fields') });
      continue;
    }
    const checked = fieldValueToHubSpot(spec, value, spec.hubspot ? definitions.get(spec.hubspot) : undefined, record);
    if (checked.ok) properties[spec.hubspot as string] = checked.value;
    else refused.push({ field: name, error: checked.error });
  }
  return { properties, refused };
}
