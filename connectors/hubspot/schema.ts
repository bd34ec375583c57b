/**
 * Field provisioning: the property group `smarketing` and every `smk_*` contact property of
 * SMK_FIELDS, created idempotently, drifted definitions updated, the rest reported unchanged.
 *
 * Vendor behaviour relied on (reference H4): `GET /crm/v3/properties/contacts` lists every
 * property with its type, fieldType, groupName and options; `POST .../batch/create` creates many in
 * one call; `PATCH .../{name}` updates one; `GET/POST .../groups` lists and creates groups;
 * enumerations need `options`; the type/fieldType pairs below are ones HubSpot accepts. Writes need
 * the `crm.schemas.contacts.write` scope: a 403 MISSING_SCOPES names it in
 * `errors[].context.requiredGranularScopes`.
 */
import { z } from 'zod';
import { isCrmError } from '../errors.js';
import type { CrmError } from '../errors.js';
import type { SchemaChange, SchemaReport } from '../types.js';
import { HUBSPOT_PROPERTY_GROUP, SMK_FIELDS } from '../../src/model/fields.js';
import type { SmkField, SmkFieldType } from '../../src/model/fields.js';
import type { HubSpotClient } from './client.js';
import { unexpectedAnswer } from './client.js';
import { asApiException, requiredScopes } from './errors.js';

const OBJECT_TYPE = 'contacts';
export const SCHEMA_WRITE_SCOPE = 'crm.schemas.contacts.write';
export const SCHEMA_READ_SCOPE = 'crm.schemas.contacts.read';

type HubSpotType = 'number' | 'string' | 'enumeration' | 'datetime';
type HubSpotFieldType = 'number' | 'text' | 'textarea' | 'select' | 'date';

const TYPES: Record<SmkFieldType, { type: HubSpotType; fieldType: HubSpotFieldType }> = {
  number: { type: 'number', fieldType: 'number' },
  text: { type: 'string', fieldType: 'text' },
  longtext: { type: 'string', fieldType: 'textarea' },
  enum: { type: 'enumeration', fieldType: 'select' },
  datetime: { type: 'datetime', fieldType: 'date' },
};

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
}

export interface DesiredProperty {
  name: string;
  label: string;
  description: string;
  groupName: string;
  type: HubSpotType;
  fieldType: HubSpotFieldType;
  options?: PropertyOption[];
  formField: boolean;
}

export function desiredProperty(field: SmkField & { hubspot: string }): DesiredProperty {
  const { type, fieldType } = TYPES[field.type];
  const desired: DesiredProperty = {
    name: field.hubspot,
    label: field.label,
    description: field.description,
    groupName: HUBSPOT_PROPERTY_GROUP.name,
    type,
    fieldType,
    formField: false,
  };
  if (field.type === 'enum') {
    desired.options = (field.options ?? []).map((o, i) => ({ label: o.label, value: o.value, displayOrder: i, hidden: false }));
  }
  return desired;
}

export function desiredProperties(): DesiredProperty[] {
  return SMK_FIELDS.flatMap((f) => (f.hubspot ? [desiredProperty({ ...f, hubspot: f.hubspot })] : []));
}

/** An existing property as the SDK returns it (its `Property` model). */
export const existingPropertySchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  fieldType: z.string(),
  groupName: z.string().optional(),
  options: z
    .array(z.looseObject({ label: z.string(), value: z.string(), hidden: z.boolean().optional(), displayOrder: z.number().optional() }))
    .optional(),
  archived: z.boolean().optional(),
});
export interface ExistingProperty {
  name: string;
  label?: string;
  description?: string;
  type: string;
  fieldType: string;
  groupName?: string;
  options?: Array<{ label: string; value: string; hidden?: boolean; displayOrder?: number }>;
  archived?: boolean;
}

export type PropertyPlan =
  | { action: 'created'; create: DesiredProperty }
  | { action: 'updated'; patch: Partial<DesiredProperty>; drift: string[] }
  | { action: 'unchanged' };

/**
 * Pure: what to do about one property. Drift is a different type or fieldType, another group, or
 * an enum option missing, hidden or relabelled. Options an admin added are kept; labels and
 * descriptions an admin edited are theirs.
 */
export function planProperty(desired: DesiredProperty, existing: ExistingProperty | undefined): PropertyPlan {
  if (!existing || existing.archived) return { action: 'created', create: desired };
  const drift: string[] = [];
  if (existing.type !== desired.type) drift.push(`type ${existing.type} -> ${desired.type}`);
  if (existing.fieldType !== desired.fieldType) drift.push(`fieldType ${existing.fieldType} -> ${desired.fieldType}`);
  if (existing.groupName !== desired.groupName) drift.push(`group ${existing.groupName ?? '(none)'} -> ${desired.groupName}`);
  let options: PropertyOption[] | undefined;
  if (desired.options) {
    const have = new Map((existing.options ?? []).map((o) => [o.value, o]));
    const optionDrift = desired.options.filter((o) => {
      const h = have.get(o.value);
      return !h || h.hidden === true || h.label !== o.label;
    });
    if (optionDrift.length > 0) {
      drift.push(`options ${optionDrift.map((o) => o.value).join(', ')}`);
      const ours = new Set(desired.options.map((o) => o.value));
      const extra = (existing.options ?? [])
        .filter((o) => !ours.has(o.value))
        .map((o, i) => ({ label: o.label, value: o.value, hidden: o.hidden ?? false, displayOrder: desired.options!.length + i }));
      options = [...desired.options, ...extra];
    }
  }
  if (drift.length === 0) return { action: 'unchanged' };
  const patch: Partial<DesiredProperty> = { type: desired.type, fieldType: desired.fieldType, groupName: desired.groupName };
  if (options) patch.options = options;
  return { action: 'updated', patch, drift };
}

const listSchema = z.object({ results: z.array(z.unknown()) });
const batchCreateAnswerSchema = z.object({
  results: z.array(z.looseObject({ name: z.string() })).default([]),
  errors: z.array(z.looseObject({ message: z.string().optional() })).default([]),
});

function permissionProblem(err: CrmError, field: string | undefined, fallbackScope: string): SchemaReport['problems'][number] {
  const api = asApiException(err.cause);
  const scopes = api ? requiredScopes(api.body) : [];
  const scope = scopes.length > 0 ? scopes.join(', ') : fallbackScope;
  return {
    object: 'contact',
    ...(field ? { field } : {}),
    message: `HubSpot refused the change: the app lacks the scope ${scope} (${err.message})`,
    fix: `Add the scope ${scope} to the HubSpot private app (Settings > Integrations > Private Apps > Scopes) or reinstall the OAuth app with it, then run \`smk install\` again.`,
  };
}

/** Plans (and unless `dryRun`, applies) the `smk_*` schema. A second run changes nothing. */
export async function ensureSchema(client: HubSpotClient, options: { dryRun?: boolean } = {}): Promise<SchemaReport> {
  const report: SchemaReport = { crm: 'hubspot', changes: [], problems: [] };
  const dryRun = options.dryRun ?? false;
  let groups: string[];
  let existing: Map<string, ExistingProperty>;
  try {
    // GET .../groups and GET /crm/v3/properties/contacts: the whole current schema in two reads.
    const groupAnswer = listSchema.safeParse(await client.call('read', 'properties.groups.list', (sdk, o) => sdk.crm.properties.groupsApi.getAll(OBJECT_TYPE, o)));
    if (!groupAnswer.success) throw unexpectedAnswer('property groups list', groupAnswer.error.issues[0]?.message ?? '');
    groups = groupAnswer.data.results.flatMap((g) => (typeof g === 'object' && g !== null && typeof (g as { name?: unknown }).name === 'string' ? [(g as { name: string }).name] : []));
    const propAnswer = listSchema.safeParse(await client.call('read', 'properties.list', (sdk, o) => sdk.crm.properties.coreApi.getAll(OBJECT_TYPE, false, undefined, o)));
    if (!propAnswer.success) throw unexpectedAnswer('properties list', propAnswer.error.issues[0]?.message ?? '');
    existing = new Map();
    for (const raw of propAnswer.data.results) {
      const p = existingPropertySchema.safeParse(raw);
      if (p.success) existing.set(p.data.name, p.data);
    }
  } catch (err) {
    if (isCrmError(err) && err.code === 'PERMISSION') {
      report.problems.push(permissionProblem(err, undefined, SCHEMA_READ_SCOPE));
      return report;
    }
    throw err;
  }

  const groupName = HUBSPOT_PROPERTY_GROUP.name;
  const plans = desiredProperties().map((d) => ({ desired: d, plan: planProperty(d, existing.get(d.name)) }));
  const needsGroup = !groups.includes(groupName);
  const change = (field: string, action: SchemaChange['action']): void => {
    report.changes.push({ object: 'contact', field, action });
  };

  const write = async (field: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isCrmError(err) && err.code === 'PERMISSION') {
        report.problems.push(permissionProblem(err, field, SCHEMA_WRITE_SCOPE));
        throw new StopProvisioning();
      }
      if (isCrmError(err) && (err.code === 'VALIDATION' || err.code === 'CONFLICT')) {
        report.problems.push({ object: 'contact', field, message: `HubSpot refused ${field}: ${err.message}`, fix: `Check the property ${field} in HubSpot (Settings > Properties > Contact) and remove or rename a conflicting definition, then run \`smk install\` again.` });
        return false;
      }
      throw err;
    }
  };

  try {
    if (needsGroup && !dryRun) {
      // POST /crm/v3/properties/contacts/groups: a 409 means another worker created it first.
      await write(`group:${groupName}`, () =>
        client.call('write', 'properties.groups.create', (sdk, o) => sdk.crm.properties.groupsApi.create(OBJECT_TYPE, { ...HUBSPOT_PROPERTY_GROUP }, o)).catch((err: unknown) => {
          if (isCrmError(err) && err.code === 'CONFLICT') return undefined;
          throw err;
        }),
      );
    }
    change(`group:${groupName}`, needsGroup ? 'created' : 'unchanged');

    const creates = plans.flatMap(({ plan }) => (plan.action === 'created' ? [plan.create] : []));
    const failed = new Set<string>();
    if (creates.length > 0 && !dryRun) {
      let answer: unknown;
      const ok = await write(creates.map((c) => c.name).join(','), async () => {
        // POST /crm/v3/properties/contacts/batch/create: 201, or 207 with one error per refused input.
        answer = await client.call('write', 'properties.batch.create', (sdk, o) =>
          // The SDK types `type`/`fieldType` as its string enums; the values are HubSpot's own strings.
          sdk.crm.properties.batchApi.create(OBJECT_TYPE, { inputs: creates as unknown as Parameters<typeof sdk.crm.properties.batchApi.create>[1]['inputs'] }, o),
        );
      });
      const parsed = batchCreateAnswerSchema.safeParse(answer);
      const created = new Set(parsed.success ? parsed.data.results.map((r) => r.name) : []);
      for (const c of creates) {
        if (ok && created.has(c.name)) continue;
        failed.add(c.name);
        if (!ok) continue;
        const error = (parsed.success ? parsed.data.errors : []).find((e) => JSON.stringify(e).includes(c.name));
        report.problems.push({
          object: 'contact',
          field: c.name,
          message: `HubSpot did not create ${c.name}: ${error?.message ?? 'no confirmation'}`,
          fix: 'Run `smk install` again; if it persists, check the property in HubSpot (Settings > Properties > Contact).',
        });
      }
    }
    for (const { desired, plan } of plans) {
      if (failed.has(desired.name)) continue;
      if (plan.action === 'updated' && !dryRun) {
        const ok = await write(desired.name, () =>
          // PATCH /crm/v3/properties/contacts/{name}: only the drifted parts, admin-added options kept.
          client.call('write', 'properties.update', (sdk, o) =>
            sdk.crm.properties.coreApi.update(OBJECT_TYPE, desired.name, plan.patch as unknown as Parameters<typeof sdk.crm.properties.coreApi.update>[2], o),
          ),
        );
        if (!ok) continue;
      }
      change(desired.name, plan.action);
    }
  } catch (err) {
    if (!(err instanceof StopProvisioning)) throw err;
  }
  return report;
}

class StopProvisioning extends Error {}
