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
import { parseOrThrow, stopsTheRun, toCrmError } from './client.js';
import { SALESFORCE_SMK_FIELDS } from './fields.js';
import type { FieldMeta, ObjectMeta, OrgMetadata } from './metadata.js';
import { INTEGRATION_PERMISSION_SET, SMK_OBJECTS, assignPermissionSet, ensurePermissionSet, grantsOf, sessionUser } from './permissions.js';
import { soqlIn, soqlString } from './soql.js';

export const PERMISSION_FIX = "give the integration user 'Customize Application' and 'Modify All Data' (Setup > Users > the integration user's profile or a permission set)";
const VISIBILITY_FIX =
  "grant field-level security (Read and Edit) on the Smk fields to the integration user's profile or permission set (Setup > Object Manager > Lead/Contact > Fields > Set Field-Level Security)";
export const ACCESS_FIX =
  `give the integration user 'Manage Profiles and Permission Sets' and 'Assign Permission Sets' and run \`smk install\` again; or in Setup > Permission Sets open "${INTEGRATION_PERMISSION_SET.label}" (or any set the integration user holds), give it Read and Edit on every Smk field of Lead and Contact (Object Settings > Lead/Contact > Field Permissions), and assign it to the integration user (Manage Assignments)`;

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

/** The CustomField rows of the smk fields on Lead and Contact, visible or not (Tooling API: metadata is not field-level secured). */
export async function existingSmkFields(client: SalesforceClient): Promise<Set<string>> {
  const names = SALESFORCE_SMK_FIELDS.map((f) => soqlString(f.salesforce.replace(/__c$/, '')));
  const rows = await client.call('find smk CustomFields', (conn) =>
    conn.tooling
      .query(`SELECT DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId IN ${soqlIn(SMK_OBJECTS.map(soqlString))} AND DeveloperName IN ${soqlIn(names)}`)
      .then((r): unknown => r.records),
  );
  const parsed = parseOrThrow(z.array(z.object({ DeveloperName: z.string(), TableEnumOrId: z.string() })), rows, 'CustomField query');
  return new Set(parsed.map((r) => `${r.TableEnumOrId}.${r.DeveloperName}__c`));
}

type Step = { kind: 'create' } | { kind: 'update'; grant: boolean } | { kind: 'grant'; hidden: boolean } | { kind: 'none' };

interface PlannedField {
  object: SalesforceObject;
  field: SfField;
  step: Step;
}

/**
 * Plans (and unless `dryRun`, applies) the smk fields of Lead and Contact, and the integration
 * user's access to them: a field the Tooling API creates is visible to nobody until field-level
 * security grants it (permissions.ts), so every field created, and every existing one the
 * integration user cannot see or cannot edit, is granted Read and Edit through the permission set
 * "Smarketing Connector Integration", assigned to the session's user. A second run changes
 * nothing, with two describes (no grant is looked at while describe shows every field editable).
 */
export async function ensureSchema(
  deps: { client: SalesforceClient; metadata: OrgMetadata },
  options: { dryRun?: boolean } = {},
): Promise<SchemaReport> {
  const report: SchemaReport = { crm: 'salesforce', changes: [], problems: [], notes: [] };
  const metas = new Map<SalesforceObject, ObjectMeta>();
  for (const object of SMK_OBJECTS) {
    try {
      metas.set(object, await deps.metadata.object(object, { fresh: true }));
    } catch (err) {
      const error = toCrmError(err);
      report.problems.push({ object, message: `cannot read the ${object} fields: ${error.message}`, fix: error.code === 'PERMISSION' ? PERMISSION_FIX : 'check the connection with `smk doctor`' });
    }
  }
  const unseen = [...metas].some(([, meta]) => SALESFORCE_SMK_FIELDS.some((f) => !meta.fields.has(f.salesforce)));
  let hidden = new Set<string>();
  if (unseen) {
    try {
      hidden = await existingSmkFields(deps.client);
    } catch (err) {
      const error = toCrmError(err);
      if (stopsTheRun(error)) throw error;
      report.problems.push({ object: 'CustomField', message: `cannot list the existing Smk fields through the Tooling API: ${error.message}`, fix: error.code === 'PERMISSION' ? PERMISSION_FIX : 'check the connection with `smk doctor`' });
      return report;
    }
  }

  const planned: PlannedField[] = [];
  for (const [object, meta] of metas) {
    for (const field of SALESFORCE_SMK_FIELDS) {
      const seen = meta.fields.get(field.salesforce);
      if (!seen) {
        planned.push({ object, field, step: hidden.has(`${object}.${field.salesforce}`) ? { kind: 'grant', hidden: true } : { kind: 'create' } });
        continue;
      }
      const plan = planField(field, seen);
      if (plan.action === 'problem') report.problems.push({ object, field: field.salesforce, message: plan.message, fix: plan.fix });
      else if (plan.action === 'update') planned.push({ object, field, step: { kind: 'update', grant: !seen.updateable } });
      else planned.push({ object, field, step: seen.updateable ? { kind: 'none' } : { kind: 'grant', hidden: false } });
    }
  }
  const change = (p: PlannedField, action: SchemaChange['action']) => report.changes.push({ object: p.object, field: p.field.salesforce, action });
  const toGrant = planned.filter((p) => p.step.kind === 'create' || p.step.kind === 'grant' || (p.step.kind === 'update' && p.step.grant));

  if (options.dryRun) {
    for (const p of planned) change(p, p.step.kind === 'create' ? 'created' : p.step.kind === 'update' ? 'updated' : p.step.kind === 'grant' ? 'granted' : 'unchanged');
    if (toGrant.length > 0) report.notes?.push(`the integration user would get Read and Edit on ${toGrant.length} field(s) through the permission set "${INTEGRATION_PERMISSION_SET.label}"`);
    return report;
  }

  let blocked = false;
  let wrote = false;
  const failed = new Set<PlannedField>();
  for (const p of planned) {
    if (p.step.kind !== 'create' && p.step.kind !== 'update') continue;
    if (blocked) {
      report.problems.push({ object: p.object, field: p.field.salesforce, message: `${p.object}.${p.field.salesforce} was not provisioned (missing permission, see above)`, fix: PERMISSION_FIX });
      failed.add(p);
      continue;
    }
    try {
      if (p.step.kind === 'create') await createField(deps.client, p.object, p.field);
      else await updateField(deps.client, p.object, p.field);
      wrote = true;
    } catch (err) {
      const error = toCrmError(err);
      if (stopsTheRun(error)) throw error;
      report.problems.push(problemFor(p.object, p.field.salesforce, error));
      failed.add(p);
      if (error.code === 'PERMISSION') blocked = true;
    }
  }

  const granting = toGrant.filter((p) => !failed.has(p));
  let granted = false;
  if (granting.length > 0) granted = await grantIntegrationUser(deps.client, planned.filter((p) => !(p.step.kind === 'create' && failed.has(p))), report);
  // The next describe must see the new fields and grants (queries select only fields the org shows).
  if (wrote || granted) deps.metadata.forget();

  // Fields that were hidden could not be checked: now that they are visible, plan them as any other.
  const revealed = granted ? planned.filter((p) => p.step.kind === 'grant' && p.step.hidden && !failed.has(p)) : [];
  const after = new Map<SalesforceObject, ObjectMeta>();
  for (const object of new Set(revealed.map((p) => p.object))) after.set(object, await deps.metadata.object(object, { fresh: true }));
  for (const p of revealed) {
    const seen = after.get(p.object)?.fields.get(p.field.salesforce);
    const plan = planField(p.field, seen);
    if (!seen) {
      report.problems.push({ object: p.object, field: p.field.salesforce, message: `${p.object}.${p.field.salesforce} exists but the integration user still cannot see it`, fix: ACCESS_FIX });
      failed.add(p);
    } else if (plan.action === 'problem') {
      report.problems.push({ object: p.object, field: p.field.salesforce, message: plan.message, fix: plan.fix });
      failed.add(p);
    } else if (plan.action === 'update') {
      try {
        await updateField(deps.client, p.object, p.field);
        deps.metadata.forget();
      } catch (err) {
        report.problems.push(problemFor(p.object, p.field.salesforce, toCrmError(err)));
        failed.add(p);
      }
    }
  }
  for (const p of planned) {
    if (failed.has(p)) continue;
    const grantedHere = granted && toGrant.includes(p);
    if (p.step.kind === 'create') change(p, 'created');
    else if (p.step.kind === 'update') change(p, 'updated');
    else if (p.step.kind === 'grant') change(p, grantedHere ? 'granted' : 'unchanged');
    else change(p, 'unchanged');
  }
  return report;
}

/**
 * Gives the session's user Read and Edit on every smk field the org has (the integration
 * permission set, assigned to them). True when the user holds the grants afterwards; a refusal
 * is a problem of the report, with the way to do it by hand.
 */
async function grantIntegrationUser(client: SalesforceClient, existing: readonly PlannedField[], report: SchemaReport): Promise<boolean> {
  const spec = INTEGRATION_PERMISSION_SET;
  try {
    const fields = new Set(existing.map((p) => `${p.object}.${p.field.salesforce}`));
    const set = await ensurePermissionSet(client, spec, grantsOf(spec, fields));
    for (const problem of set.problems) report.problems.push({ object: 'PermissionSet', field: problem.field, message: `the permission set "${spec.label}" could not grant ${problem.message}`, fix: ACCESS_FIX });
    if (set.created) report.notes?.push(`created the permission set "${spec.label}" (${spec.name}) with Read and Edit on ${set.granted.length} field(s)`);
    else if (set.granted.length > 0) report.notes?.push(`"${spec.label}" grants Read and Edit on ${set.granted.length} more field(s)`);
    const user = await sessionUser(client);
    const assignment = await assignPermissionSet(client, set.id, [user.id]);
    for (const problem of assignment.problems) report.problems.push({ object: 'PermissionSetAssignment', message: `could not assign "${spec.label}" to ${user.username}: ${problem.message}`, fix: ACCESS_FIX });
    if (assignment.assigned.length > 0) report.notes?.push(`assigned "${spec.label}" to the integration user ${user.username}`);
    return set.problems.length === 0 && assignment.problems.length === 0;
  } catch (err) {
    const error = toCrmError(err);
    if (stopsTheRun(error)) throw error;
    report.problems.push({ object: 'PermissionSet', message: `could not give the integration user access to the Smk fields: ${error.message} (${error.vendorCode ?? error.code})`, fix: ACCESS_FIX });
    return false;
  }
}
