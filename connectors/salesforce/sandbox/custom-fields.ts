/**
 * Custom fields defined through the Tooling API (`CustomField` with `FullName` and `Metadata`,
 * crm-api.md S6): metadata checks as Salesforce makes them (FIELD_INTEGRITY_EXCEPTION,
 * DUPLICATE_DEVELOPER_NAME), and the describe field each metadata type becomes. A new field is
 * visible in describe, SOQL and writes at once.
 */
import { z } from 'zod';
import { SfApiError } from './errors.js';
import { makeField, picklistValues } from './objects.js';
import type { FieldDef, FieldType } from './objects.js';
import type { CustomFieldRow, SalesforceStore } from './store.js';

const integer = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);
const boolish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const customFieldMetadata = z
  .object({
    type: z.string(),
    label: z.string().optional(),
    length: integer.optional(),
    precision: integer.optional(),
    scale: integer.optional(),
    visibleLines: integer.optional(),
    description: z.string().optional(),
    inlineHelpText: z.string().optional(),
    defaultValue: z.string().nullable().optional(),
    externalId: boolish.optional(),
    unique: boolish.optional(),
    required: boolish.optional(),
    valueSet: z
      .object({
        restricted: boolish.optional(),
        valueSetDefinition: z
          .object({
            sorted: boolish.optional(),
            value: z.array(z.object({ fullName: z.string(), label: z.string().optional(), default: boolish.optional() })),
          })
          .optional(),
      })
      .optional(),
  })
  .loose();
export type CustomFieldMetadata = z.infer<typeof customFieldMetadata>;

export const customFieldBody = z.object({ FullName: z.string(), Metadata: customFieldMetadata });

const TYPES: Record<string, FieldType> = {
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Number: 'double',
  Currency: 'currency',
  Percent: 'percent',
  Checkbox: 'boolean',
  Picklist: 'picklist',
  Date: 'date',
  DateTime: 'datetime',
  Email: 'email',
  Phone: 'phone',
  Url: 'url',
};

const NAME_RE = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/;

function integrity(message: string, fields: string[] = []): SfApiError {
  return new SfApiError(400, 'FIELD_INTEGRITY_EXCEPTION', message, fields);
}

/** Checks the metadata and builds the describe field it defines. */
export function fieldFromMetadata(name: string, m: CustomFieldMetadata): FieldDef {
  const type = TYPES[m.type];
  if (!type) throw integrity(`Field type ${m.type} is not supported by the sandbox; use one of ${Object.keys(TYPES).join(', ')}`, ['Type']);
  const label = m.label?.trim();
  if (!label) throw integrity('Field Label: You must enter a value', ['Label']);
  if (label.length > 40) throw integrity('Field Label: data value too large (max length=40)', ['Label']);
  if ((m.description?.length ?? 0) > 1000) throw integrity('Description: data value too large (max length=1000)', ['Description']);
  if ((m.inlineHelpText?.length ?? 0) > 510) throw integrity('Help Text: data value too large (max length=510)', ['InlineHelpText']);
  const common = {
    custom: true,
    externalId: m.externalId ?? false,
    unique: m.unique ?? false,
    nillable: !(m.required ?? false),
  };
  switch (m.type) {
    case 'Text': {
      if (m.length === undefined || m.length < 1 || m.length > 255) throw integrity('Length: Text fields need a length between 1 and 255', ['Length']);
      return makeField(name, label, type, { ...common, length: m.length, idLookup: common.externalId || common.unique });
    }
    case 'TextArea':
      return makeField(name, label, type, { ...common, length: 255 });
    case 'LongTextArea': {
      if (m.length === undefined || m.length < 256 || m.length > 131_072) throw integrity('Length: Long Text Area fields need a length between 256 and 131072', ['Length']);
      if (m.visibleLines === undefined || m.visibleLines < 2 || m.visibleLines > 50) throw integrity('Visible Lines: You must enter a value between 2 and 50', ['VisibleLines']);
      return makeField(name, label, type, { ...common, length: m.length });
    }
    case 'Number':
    case 'Currency':
    case 'Percent': {
      const precision = m.precision;
      const scale = m.scale ?? 0;
      if (precision === undefined || precision < 1 || precision > 18) throw integrity('Length: precision must be between 1 and 18', ['Precision']);
      if (scale < 0 || scale > precision) throw integrity('Decimal Places: scale must be between 0 and the precision', ['Scale']);
      return makeField(name, label, type, { ...common, precision, scale });
    }
    case 'Checkbox': {
      if (m.defaultValue !== 'true' && m.defaultValue !== 'false') throw integrity('Default Value: Checkbox fields need a defaultValue of true or false', ['DefaultValue']);
      return makeField(name, label, type, { ...common, nillable: false, defaultedOnCreate: true, defaultValue: m.defaultValue === 'true' });
    }
    case 'Picklist': {
      const values = m.valueSet?.valueSetDefinition?.value ?? [];
      if (!values.length) throw integrity('Values: a picklist needs at least one value in valueSet.valueSetDefinition', ['ValueSet']);
      const names = values.map((v) => v.fullName);
      if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) throw integrity('Values: duplicate picklist value', ['ValueSet']);
      const def = values.find((v) => v.default)?.fullName;
      const options = picklistValues(names, def).map((p, i) => ({ ...p, label: values[i]?.label ?? p.value }));
      return makeField(name, label, type, {
        ...common,
        length: 255,
        picklistValues: options,
        restrictedPicklist: m.valueSet?.restricted ?? false,
        ...(def ? { defaultValue: def, defaultedOnCreate: true } : {}),
      });
    }
    case 'Email':
      return makeField(name, label, type, { ...common, length: 80 });
    case 'Phone':
      return makeField(name, label, type, { ...common, length: 40 });
    case 'Url':
      return makeField(name, label, type, { ...common, length: 255 });
    default:
      return makeField(name, label, type, common);
  }
}

/** Splits `Lead.Smk_Score__c` and checks the object and the name. */
export function parseFullName(store: SalesforceStore, fullName: string): { object: string; name: string; developerName: string } {
  const m = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(fullName);
  const schema = m ? store.schema(m[1] as string) : undefined;
  if (!m || !schema || !schema.flags.customizable) {
    throw new SfApiError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `Entity Enumeration Or ID: bad value for restricted picklist field: ${m?.[1] ?? fullName}`, ['TableEnumOrId']);
  }
  const name = m[2] as string;
  const developerName = name.replace(/__c$/i, '');
  if (!/__c$/i.test(name) || !NAME_RE.test(developerName) || developerName.endsWith('_') || developerName.length > 40) {
    throw integrity(
      'The Field Name field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.',
      ['DeveloperName'],
    );
  }
  return { object: schema.name, name: `${developerName}__c`, developerName };
}

/** Creates the field on its object and records the CustomField row. */
export function createCustomField(store: SalesforceStore, fullName: string, metadata: CustomFieldMetadata): CustomFieldRow {
  const { object, name, developerName } = parseFullName(store, fullName);
  const schema = store.schema(object);
  if (!schema) throw new SfApiError(400, 'INVALID_TYPE', `sObject type '${object}' is not supported.`);
  if (schema.field(name)) {
    throw new SfApiError(400, 'DUPLICATE_DEVELOPER_NAME', `There is already a field named ${developerName} on ${object}.`, []);
  }
  const field = fieldFromMetadata(name, metadata);
  schema.addField(field);
  const row: CustomFieldRow = {
    id: store.nextId('00N'),
    object,
    developerName,
    fullName: `${object}.${name}`,
    metadata: { ...metadata, fullName: `${object}.${name}` },
    createdDate: store.stampNow(),
    field,
  };
  store.customFields.set(row.id, row);
  return row;
}

/** Changes label, lengths or picklist values of an existing custom field (not its type). */
export function updateCustomField(store: SalesforceStore, row: CustomFieldRow, metadata: CustomFieldMetadata): void {
  const previousType = String(row.metadata.type);
  if (metadata.type !== previousType) throw integrity(`Changing the type of ${row.fullName} from ${previousType} to ${metadata.type} is not supported by the sandbox`, ['Type']);
  const schema = store.schema(row.object);
  if (!schema) return;
  const next = fieldFromMetadata(row.field.name, metadata);
  schema.removeField(row.field.name);
  schema.addField(next);
  row.field = next;
  row.metadata = { ...metadata, fullName: row.fullName };
}

export function deleteCustomField(store: SalesforceStore, row: CustomFieldRow): void {
  store.schema(row.object)?.removeField(row.field.name);
  store.customFields.delete(row.id);
  // Values go with the field (a field created again later starts empty).
  for (const record of store.list(row.object, { includeDeleted: true })) {
    if (row.field.name in record) record[row.field.name] = null;
  }
}
