/**
 * Field provisioning: the `Smk_*__c` fields of SMK_FIELDS on both Lead and Contact, through the
 * Tooling API's CustomField (POST to create, PATCH to widen), after reading what exists from the
 * describe of each object. Idempotent: a second run finds every field as wanted, reports it
 * `unchanged` and writes nothing.
 *
 * Picklists are created restricted: the connector writes grade, stage, SLA status and reads the
 * sales decision as fixed vocabularies, and a value a rep invented would be one the rules cannot
 * read. Values are API name = our lower-case value, label = our display label.
 */
import { z } from 'zod';
import { CrmError } from '../errors.js';
import type { SchemaChange, SchemaReport } from '../types.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SmkField } from '../../src/model/fields.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow, toCrmError } from './client.js';
import { SALESFORCE_SMK_FIELDS } from './fields.js';
import type { FieldMeta, OrgMetadata } from './metadata.js';
import { soqlString } from './soql.js';

export const PERMISSION_FIX = "give the integration user 'Customize Application' and 'Modify All Data' (Setup > Users > the integration user's profile or a permission set)";
const VISIBILITY_FIX =
  "grant field-level security (Read and Edit) on the Smk fields to the integration user's profile or permission set (Setup > Object Manager > Lead/Contact > Fields > Set Field-Level Security)";

type SfField = SmkField & { salesforce: string };

/** The Tooling API CustomField Metadata for one smk field. */
export function customFieldMetadata(field: SmkField): Record<string, unknown> {
  const base = { label: field.label, description: field.description, inlineHelpText: field.description };
  switch (field.type) {
    case 'number':
      return { ...base, type: 'Number', precision: field.precision ?? 18, scale: 0 };
    case 'text':
      return { ...base, type: 'Text', length: field.maxLength ?? 255 };
    case 'longtext':
      return { ...base, type: 'LongTextArea', length: field.maxLength ?? 32768, visibleLines: 5 };
    case 'datetime':
      return { ...base, type: 'DateTime' };
    case 'enum':
      return {
        ...base,
        type: 'Picklist',
        valueSet: {
          restricted: true,
          valueSetDefinition: {
            sorted: false,
            value: (field.options ?? []).map((o) => ({ fullName: o.value, label: o.label, default: false })),
          },
        },
      };
  }
}

const EXPECTED_TYPES: Record<SmkField['type'], readonly string[]> = {
  number: ['double', 'int', 'currency', 'percent'],
  text: ['string'],
  longtext: ['textarea'],
  datetime: ['datetime'],
  enum: ['picklist'],
};

export type FieldPlan = { action: 'create' } | { action: 'update'; why: string } | { action: 'none' } | { action: 'problem'; message: string; fix: string };

/** What to do about one field, given what describe says of it (or undefined if it is missing). */
export function planField(field: SmkField, meta: FieldMeta | undefined): FieldPlan {
  if (!meta) return { action: 'create' };
  if (!EXPECTED_TYPES[field.type].includes(meta.type)) {
    return {
      action: 'problem',
      message: `${meta.name} exists as a ${meta.type} field; the connector needs ${field.type}`,
      fix: `delete or rename the field ${meta.name} in Setup, then run \`smk install\` again`,
    };
  }
  if ((field.type === 'text' || field.type === 'longtext') && field.maxLength && (meta.length ?? 0) < field.maxLength) {
    return { action: 'update', why: `length ${meta.length ?? 0} < ${field.maxLength}` };
  }
  if (field.type === 'number' && field.precision && meta.type === 'double' && (meta.precision ?? 0) < field.precision) {
    return { action: 'update', why: `precision ${meta.precision ?? 0} < ${field.precision}` };
  }
  if (field.type === 'enum') {
    const have = meta.picklist.filter((p) => p.active).flatMap((p) => [p.value.toLowerCase(), p.label.toLowerCase()]);
    const missing = (field.options ?? []).filter((o) => !have.includes(o.value) && !have.includes(o.label.toLowerCase()));
    if (missing.length > 0) return { action: 'update', why: `missing picklist values ${missing.map((o) => o.value).join(', ')}` };
  }
  return { action: 'none' };
}

const toolingSaveSchema = z.object({ id: z.string().optional(), success: z.boolean().optional(), errors: z.array(z.unknown()).optional() });
const toolingFieldRowSchema = z.object({ Id: z.string() });

function problemFor(object: string, field: string, error: CrmError): SchemaReport['problems'][number] {
  if (error.code === 'PERMISSION') {
    return { object, field, message: `Salesforce refused to create ${object}.${field}: ${error.message} (${error.vendorCode ?? 'INSUFFICIENT_ACCESS'})`, fix: PERMISSION_FIX };
  }
  if (error.code === 'CONFLICT') {
    return { object, field, message: `${object}.${field} exists but the integration user cannot see it (${error.message})`, fix: VISIBILITY_FIX };
  }
  return { object, field, message: `${object}.${field} could not be provisioned: ${error.message}`, fix: 'check the message, fix it in Setup, and run `smk install` again' };
}

async function createField(client: SalesforceClient, object: SalesforceObject, field: SfField): Promise<void> {
  // Tooling API `POST /tooling/sobjects/CustomField` with {FullName, Metadata} (crm-api.md S6).
  const raw: unknown = await client.call(`create ${object}.${field.salesforce}`, (conn) =>
    conn.tooling.sobject('CustomField').create({ FullName: `${object}.${field.salesforce}`, Metadata: customFieldMetadata(field) }),
  );
  const res = parseOrThrow(toolingSaveSchema, raw, 'CustomField create');
  if (res.success === false) throw new CrmError({ crm: 'salesforce', code: 'VALIDATION', message: JSON.stringify(res.errors ?? []) });
}

async function updateField(client: SalesforceClient, object: SalesforceObject, field: SfField): Promise<void> {
  const developerName = field.salesforce.replace(/__c$/, '');
  // The CustomField's Tooling id: query by object and developer name, then PATCH its Metadata.
  const rows = await client.call(`find ${object}.${field.salesforce}`, (conn) =>
    conn.tooling
      .query(`SELECT Id FROM CustomField WHERE TableEnumOrId = ${soqlString(object)} AND DeveloperName = ${soqlString(developerName)}`)
      .then((r): unknown => r.records),
  );
  const first = parseOrThrow(z.array(toolingFieldRowSchema), rows, 'CustomField query')[0];
  if (!first) throw new CrmError({ crm: 'salesforce', code: 'NOT_FOUND', message: `the Tooling API does not list ${object}.${field.salesforce}` });
  await client.call(`update ${object}.${field.salesforce}`, (conn) =>
    conn.tooling.sobject('CustomField').update({ Id: first.Id, FullName: `${object}.${field.salesforce}`, Metadata: customFieldMetadata(field) }),
  );
}

export async function ensureSchema(
  deps: { client: SalesforceClient; metadata: OrgMetadata },
  options: { dryRun?: boolean } = {},
): Promise<SchemaReport> {
  const report: SchemaReport = { crm: 'salesforce', changes: [], problems: [] };
  let blocked = false;
  let wrote = false;
  for (const object of ['Lead', 'Contact'] as const) {
    let meta;
    try {
      meta = await deps.metadata.object(object, { fresh: true });
    } catch (err) {
      const error = toCrmError(err);
      report.problems.push({ object, message: `cannot read the ${object} fields: ${error.message}`, fix: error.code === 'PERMISSION' ? PERMISSION_FIX : 'check the connection with `smk doctor`' });
      continue;
    }
    for (const field of SALESFORCE_SMK_FIELDS) {
      const plan = planField(field, meta.fields.get(field.salesforce));
      const change = (action: SchemaChange['action']) => report.changes.push({ object, field: field.salesforce, action });
      if (plan.action === 'none') {
        change('unchanged');
        continue;
      }
      if (plan.action === 'problem') {
        report.problems.push({ object, field: field.salesforce, message: plan.message, fix: plan.fix });
        continue;
      }
      if (options.dryRun) {
        change(plan.action === 'create' ? 'created' : 'updated');
        continue;
      }
      if (blocked) {
        report.problems.push({ object, field: field.salesforce, message: `${object}.${field.salesforce} was not provisioned (missing permission, see above)`, fix: PERMISSION_FIX });
        continue;
      }
      try {
        if (plan.action === 'create') await createField(deps.client, object, field);
        else await updateField(deps.client, object, field);
        wrote = true;
        change(plan.action === 'create' ? 'created' : 'updated');
      } catch (err) {
        const error = toCrmError(err);
        if (error.code === 'QUOTA_EXHAUSTED' || error.code === 'RATE_LIMITED' || error.code === 'AUTH_INVALID') throw error;
        report.problems.push(problemFor(object, field.salesforce, error));
        if (error.code === 'PERMISSION') blocked = true;
      }
    }
  }
  // The next describe must see the new fields (queries select only fields the org has).
  if (wrote) deps.metadata.forget();
  return report;
}
