/**
 * The contact property registry (definitions and groups) and the per-type rules HubSpot applies to
 * values on write. Values are stored in a canonical string form (datetimes and dates as epoch-ms
 * strings) and rendered on read the way v3 returns them (datetimes ISO-8601, dates YYYY-MM-DD).
 */
import { HubSpotApiError, validationError } from './errors.js';
import {
  BUILTIN_GROUPS,
  FIELD_TYPES_BY_TYPE,
  builtinProperties,
  optionsFrom,
  type FieldType,
  type PropertyDefinition,
  type PropertyGroupDefinition,
  type PropertyOption,
  type PropertyType,
} from './property-defs.js';

export interface PropertyValueError {
  name: string;
  /** HubSpot's error code, e.g. PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE, INVALID_OPTION. */
  error: string;
  message: string;
}

export type Normalized = { ok: true; value: string } | { ok: false; error: PropertyValueError };

const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
const NUMBER_PATTERN = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const EPOCH_PATTERN = /^-?\d{1,16}$/;
const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DAY_MS = 86_400_000;
export const MAX_STRING_LENGTH = 65_536;

/** Epoch ms from an epoch-ms string or an ISO-8601 date/date-time; null when neither. */
export function parseTimeInput(raw: string): number | null {
  const text = raw.trim();
  if (EPOCH_PATTERN.test(text)) return Number(text);
  if (ISO_PATTERN.test(text)) {
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Renders a stored value the way the v3 API returns it. */
export function formatValue(type: PropertyType, stored: string): string {
  if (type === 'datetime') {
    const ms = Number(stored);
    return Number.isFinite(ms) ? isoOf(ms) : stored;
  }
  if (type === 'date') {
    const ms = Number(stored);
    return Number.isFinite(ms) ? isoOf(ms).slice(0, 10) : stored;
  }
  return stored;
}

function fail(name: string, error: string, message: string): Normalized {
  return { ok: false, error: { name, error, message } };
}

export interface PropertyCreateInput {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: FieldType;
  groupName: string;
  description?: string | undefined;
  options?: Array<{ label: string; value: string; displayOrder?: number | undefined; hidden?: boolean | undefined; description?: string | undefined }> | undefined;
  displayOrder?: number | undefined;
  hidden?: boolean | undefined;
  formField?: boolean | undefined;
  hasUniqueValue?: boolean | undefined;
}

export type PropertyUpdateInput = Partial<Omit<PropertyCreateInput, 'name' | 'hasUniqueValue'>>;

export class PropertyRegistry {
  private defs = new Map<string, PropertyDefinition>();
  private groups = new Map<string, PropertyGroupDefinition>();

  constructor(
    at: number,
    private readonly owners: { exists(id: string): boolean; options(): PropertyOption[] },
  ) {
    for (const def of builtinProperties(at)) this.defs.set(def.name, def);
    for (const g of BUILTIN_GROUPS) this.groups.set(g.name, { ...g, archived: false });
  }

  /** The active (not archived) definition. */
  get(name: string): PropertyDefinition | undefined {
    const def = this.defs.get(name);
    return def && !def.archived ? def : undefined;
  }

  list(archived: boolean): PropertyDefinition[] {
    return [...this.defs.values()].filter((d) => d.archived === archived);
  }

  optionsOf(def: PropertyDefinition): PropertyOption[] {
    return def.name === 'hubspot_owner_id' ? this.owners.options() : def.options;
  }

  create(input: PropertyCreateInput, at: number): PropertyDefinition {
    if (!NAME_PATTERN.test(input.name) || input.name.length > 100) {
      throw validationError(`Property name '${input.name}' is invalid: it must start with a lower-case letter and contain only lower-case letters, digits and underscores.`, {
        errors: [{ message: 'invalid property name', in: 'name', code: 'INVALID_PROPERTY_NAME' }],
      });
    }
    if (input.name.startsWith('hs_')) {
      throw validationError(`Property name '${input.name}' is reserved: the hs_ prefix is used by HubSpot-defined properties.`);
    }
    const existing = this.defs.get(input.name);
    if (existing && !existing.archived) {
      throw new HubSpotApiError(409, 'CONFLICT', `Property named '${input.name}' already exists.`, {
        subCategory: 'PropertyCreateError.PROPERTY_EXISTS',
        context: { name: [input.name] },
      });
    }
    this.requireGroup(input.groupName);
    checkFieldType(input.type, input.fieldType);
    const options = checkOptions(input.type, input.options);
    const def: PropertyDefinition = {
      name: input.name,
      label: input.label,
      type: input.type,
      fieldType: input.fieldType,
      groupName: input.groupName,
      description: input.description ?? '',
      options,
      displayOrder: input.displayOrder ?? -1,
      hidden: input.hidden ?? false,
      formField: input.formField ?? false,
      hasUniqueValue: input.hasUniqueValue ?? false,
      calculated: false,
      externalOptions: false,
      hubspotDefined: false,
      readOnlyValue: false,
      readOnlyDefinition: false,
      archivable: true,
      createdAt: at,
      updatedAt: at,
      archived: false,
      archivedAt: null,
    };
    this.defs.set(def.name, def);
    return def;
  }

  update(name: string, patch: PropertyUpdateInput, at: number): PropertyDefinition {
    const def = this.requireProperty(name);
    if (def.readOnlyDefinition) {
      throw validationError(`Property '${name}' is a HubSpot-defined property whose definition cannot be changed through the API.`);
    }
    const type = patch.type ?? def.type;
    const fieldType = patch.fieldType ?? def.fieldType;
    checkFieldType(type, fieldType);
    if (patch.groupName !== undefined) this.requireGroup(patch.groupName);
    const options = patch.options !== undefined || type !== def.type ? checkOptions(type, patch.options ?? def.options) : def.options;
    Object.assign(def, {
      label: patch.label ?? def.label,
      type,
      fieldType,
      groupName: patch.groupName ?? def.groupName,
      description: patch.description ?? def.description,
      options,
      displayOrder: patch.displayOrder ?? def.displayOrder,
      hidden: patch.hidden ?? def.hidden,
      formField: patch.formField ?? def.formField,
      updatedAt: at,
    });
    return def;
  }

  archive(name: string, at: number): void {
    const def = this.defs.get(name);
    if (!def || def.archived) return;
    if (!def.archivable) {
      throw validationError(`Property '${name}' is a HubSpot-defined property and cannot be archived.`);
    }
    def.archived = true;
    def.archivedAt = at;
    def.updatedAt = at;
  }

  requireProperty(name: string): PropertyDefinition {
    const def = this.get(name);
    if (!def) {
      throw new HubSpotApiError(404, 'OBJECT_NOT_FOUND', `Unable to find property named '${name}' for object type 0-1`, {
        context: { propertyName: [name] },
      });
    }
    return def;
  }

  // --- groups ---

  listGroups(): PropertyGroupDefinition[] {
    return [...this.groups.values()].filter((g) => !g.archived);
  }

  getGroup(name: string): PropertyGroupDefinition | undefined {
    const g = this.groups.get(name);
    return g && !g.archived ? g : undefined;
  }

  createGroup(input: { name: string; label: string; displayOrder?: number | undefined }): PropertyGroupDefinition {
    if (!NAME_PATTERN.test(input.name)) {
      throw validationError(`Property group name '${input.name}' is invalid: use lower-case letters, digits and underscores.`);
    }
    if (this.getGroup(input.name)) {
      throw new HubSpotApiError(409, 'CONFLICT', `A property group named '${input.name}' already exists.`, {
        context: { name: [input.name] },
      });
    }
    const group: PropertyGroupDefinition = { name: input.name, label: input.label, displayOrder: input.displayOrder ?? -1, archived: false };
    this.groups.set(group.name, group);
    return group;
  }

  updateGroup(name: string, patch: { label?: string | undefined; displayOrder?: number | undefined }): PropertyGroupDefinition {
    const g = this.requireGroup(name);
    if (patch.label !== undefined) g.label = patch.label;
    if (patch.displayOrder !== undefined) g.displayOrder = patch.displayOrder;
    return g;
  }

  archiveGroup(name: string): void {
    const g = this.requireGroup(name);
    if (BUILTIN_GROUPS.some((b) => b.name === name)) {
      throw validationError(`Property group '${name}' is HubSpot-defined and cannot be archived.`);
    }
    if ([...this.defs.values()].some((d) => !d.archived && d.groupName === name)) {
      throw validationError(`Property group '${name}' still holds properties; move or archive them first.`);
    }
    g.archived = true;
  }

  requireGroup(name: string): PropertyGroupDefinition {
    const g = this.getGroup(name);
    if (!g) {
      throw new HubSpotApiError(404, 'OBJECT_NOT_FOUND', `Unable to find property group named '${name}' for object type 0-1`, {
        context: { groupName: [name] },
      });
    }
    return g;
  }

  // --- values ---

  /** Checks one written value against its property and returns the canonical stored form. */
  normalize(def: PropertyDefinition, raw: string): Normalized {
    const name = def.name;
    if (raw === '') return { ok: true, value: '' };
    switch (def.type) {
      case 'string':
      case 'phone_number':
        if (raw.length > MAX_STRING_LENGTH) {
          return fail(name, 'INVALID_STRING_LENGTH', `Property "${name}" value is ${raw.length} characters long; the maximum is ${MAX_STRING_LENGTH}.`);
        }
        if (name === 'email' && !EMAIL_PATTERN.test(raw.trim())) {
          return fail(name, 'INVALID_EMAIL', `Email address ${raw} is invalid`);
        }
        return { ok: true, value: name === 'email' ? raw.trim() : raw };
      case 'number': {
        const text = raw.trim();
        if (!NUMBER_PATTERN.test(text)) return fail(name, 'INVALID_DECIMAL', `${raw} was not a valid number.`);
        const n = Number(text);
        const canonical = String(n);
        return { ok: true, value: Number.isSafeInteger(n) || text.replace(/^[-+]/, '').length <= 15 ? canonical : text };
      }
      case 'bool': {
        const text = raw.trim().toLowerCase();
        if (text !== 'true' && text !== 'false') return fail(name, 'INVALID_BOOLEAN', `${raw} is not a valid boolean: use "true" or "false".`);
        return { ok: true, value: text };
      }
      case 'datetime': {
        const ms = parseTimeInput(raw);
        if (ms === null) return fail(name, 'INVALID_DATETIME', `${raw} is not a valid datetime: use epoch milliseconds or ISO 8601.`);
        return { ok: true, value: String(ms) };
      }
      case 'date': {
        const ms = parseTimeInput(raw);
        if (ms === null) return fail(name, 'INVALID_DATE', `${raw} is not a valid date: use epoch milliseconds at midnight UTC or YYYY-MM-DD.`);
        if (ms % DAY_MS !== 0) {
          const time = isoOf(ms).slice(11, 23);
          return fail(name, 'INVALID_DATE', `${raw} is at ${time} UTC, not midnight!`);
        }
        return { ok: true, value: String(ms) };
      }
      case 'enumeration': {
        if (name === 'hubspot_owner_id') {
          const id = raw.trim();
          if (!this.owners.exists(id)) return fail(name, 'INVALID_OWNER_ID', `${raw} is not a valid owner id`);
          return { ok: true, value: id };
        }
        const allowed = def.options.map((o) => o.value);
        const parts = def.fieldType === 'checkbox' ? raw.split(';') : [raw];
        for (const part of parts) {
          if (!allowed.includes(part)) {
            return fail(
              name,
              'INVALID_OPTION',
              `${part} was not one of the allowed options for property "${name}": [${allowed.join(', ')}]`,
            );
          }
        }
        return { ok: true, value: raw };
      }
    }
  }
}

function checkFieldType(type: PropertyType, fieldType: FieldType): void {
  if (!FIELD_TYPES_BY_TYPE[type].includes(fieldType)) {
    throw validationError(
      `Property type '${type}' cannot use field type '${fieldType}'; allowed: ${FIELD_TYPES_BY_TYPE[type].join(', ')}.`,
      { errors: [{ message: `invalid fieldType for type ${type}`, in: 'fieldType', code: 'INVALID_FIELD_TYPE' }] },
    );
  }
}

function checkOptions(type: PropertyType, options: PropertyCreateInput['options']): PropertyOption[] {
  if (type === 'bool') {
    if (!options || options.length === 0) return optionsFrom([['true', 'Yes'], ['false', 'No']]);
    const values = options.map((o) => o.value).sort();
    if (values.join() !== 'false,true') throw validationError("Options of a bool property must have the values 'true' and 'false'.");
  }
  if (type !== 'enumeration' && type !== 'bool') return [];
  if (!options || options.length === 0) {
    throw validationError('Options are required for enumeration properties.', {
      errors: [{ message: 'options is required for type enumeration', in: 'options', code: 'REQUIRED' }],
    });
  }
  const seen = new Set<string>();
  return options.map((o, i) => {
    if (o.value === '' || o.label === '') throw validationError('Every option needs a non-empty label and value.');
    if (seen.has(o.value)) throw validationError(`Option value '${o.value}' appears more than once.`);
    seen.add(o.value);
    const option: PropertyOption = { label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false };
    if (o.description !== undefined) option.description = o.description;
    return option;
  });
}

/** The SDK's `Property` model. */
export function renderProperty(def: PropertyDefinition, options: PropertyOption[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    updatedAt: isoOf(def.updatedAt),
    createdAt: isoOf(def.createdAt),
    name: def.name,
    label: def.label,
    type: def.type,
    fieldType: def.fieldType,
    description: def.description,
    groupName: def.groupName,
    options: options.map((o) => ({ ...o })),
    displayOrder: def.displayOrder,
    calculated: def.calculated,
    externalOptions: def.externalOptions,
    hasUniqueValue: def.hasUniqueValue,
    hidden: def.hidden,
    hubspotDefined: def.hubspotDefined,
    modificationMetadata: {
      archivable: def.archivable,
      readOnlyDefinition: def.readOnlyDefinition,
      readOnlyValue: def.readOnlyValue,
    },
    formField: def.formField,
    dataSensitivity: 'non_sensitive',
  };
  if (def.referencedObjectType) out.referencedObjectType = def.referencedObjectType;
  if (def.archived) {
    out.archived = true;
    if (def.archivedAt !== null) out.archivedAt = isoOf(def.archivedAt);
  }
  return out;
}

export function renderGroup(g: PropertyGroupDefinition): Record<string, unknown> {
  return { name: g.name, label: g.label, displayOrder: g.displayOrder, archived: g.archived };
}
