/**
 * What single and batch contact endpoints share: request schemas for property maps and ids,
 * record lookup by id or `idProperty`, and HubSpot's write-error bodies.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { textOf, type ChangeSource, type ContactRecord } from './contact-model.js';
import { HubSpotApiError, standardError, validationError, type ErrorDetail, type StandardError } from './errors.js';
import { DEFAULT_CONTACT_PROPERTIES } from './property-defs.js';
import type { PropertyValueError } from './properties.js';
import type { HubSpotStore } from './store.js';

/** Property maps as clients send them; HubSpot coerces numbers and booleans, null clears. */
export const propertyMapSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export const idSchema = z.union([z.string().min(1), z.number().int()]).transform(String);
/** `properties=a,b` and `properties=a&properties=b` both (reference H1). */
export const listParamSchema = z.union([z.string(), z.array(z.string())]).optional();
export const booleanParamSchema = z.enum(['true', 'false']).optional();

export function listParam(value: string | string[] | undefined): string[] | null {
  if (value === undefined) return null;
  const names = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return names.length > 0 ? names : null;
}

export function toStringMap(input: z.infer<typeof propertyMapSchema>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) out[k] = v === null ? '' : String(v);
  return out;
}

/** Properties to render after a write: what was written plus HubSpot's defaults. */
export function writtenNames(input: Record<string, string>): string[] {
  return [...new Set([...DEFAULT_CONTACT_PROPERTIES, ...Object.keys(input)])];
}

function details(errors: PropertyValueError[]): ErrorDetail[] {
  return errors.map((e) => ({ message: e.message, code: e.error, context: { propertyName: [e.name] } }));
}

/** HubSpot's message embeds the per-property errors as JSON: `Property values were not valid: [...]`. */
export function propertyValuesMessage(errors: PropertyValueError[], portalId: number): string {
  const list = errors.map((e) => ({
    isValid: false,
    message: e.message,
    error: e.error,
    name: e.name,
    localizedErrorMessage: e.message,
    portalId,
  }));
  return `Property values were not valid: ${JSON.stringify(list)}`;
}

export function propertyValuesError(errors: PropertyValueError[], portalId: number): HubSpotApiError {
  return validationError(propertyValuesMessage(errors, portalId), { errors: details(errors) });
}

export function propertyValuesStandardError(errors: PropertyValueError[], portalId: number, context: Record<string, string[]>): StandardError {
  return standardError('VALIDATION_ERROR', propertyValuesMessage(errors, portalId), { errors: details(errors), context });
}

export function duplicateEmailMessage(holder: ContactRecord): string {
  return `Contact already exists. Existing ID: ${holder.id}`;
}

export function duplicateEmailError(holder: ContactRecord): HubSpotApiError {
  return new HubSpotApiError(409, 'CONFLICT', duplicateEmailMessage(holder), { context: { existingId: [holder.id] } });
}

export const NOT_FOUND_BATCH_MESSAGE = 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.';

/**
 * Finds a contact by id (following merges) or by a unique property. `email` is indexed; other
 * unique properties are scanned (rare, and HubSpot allows only a few per object).
 */
export function lookupContact(store: HubSpotStore, id: string, idProperty: string | undefined, archived: boolean): ContactRecord | undefined {
  if (idProperty === undefined || idProperty === 'hs_object_id' || idProperty === 'id') {
    return /^\d+$/.test(id) ? store.findById(id, archived) : undefined;
  }
  if (idProperty === 'email') return store.findByEmail(id, archived);
  const def = store.registry.get(idProperty);
  if (!def || !def.hasUniqueValue) {
    throw validationError(`Property "${idProperty}" is not a unique identifier property and cannot be used as idProperty`);
  }
  for (const c of store.all()) {
    if (c.mergedInto === null && c.archived === archived && textOf(c.props, idProperty) === id) return c;
  }
  return undefined;
}

/** The change source of an API write: the app id lets a connector recognise its own echo. */
export function integrationSource(appId: number): ChangeSource {
  return { changeSource: 'INTEGRATION', sourceId: String(appId) };
}

export function batchCapCheck(count: number, withHistory: boolean): void {
  if (withHistory && count > 50) {
    throw validationError('The maximum number of inputs supported in a batch request for property histories is 50', {
      context: { maxInputs: ['50'] },
    });
  }
  if (count > 100) {
    throw validationError(`The maximum number of inputs supported in a batch request is 100 (got ${count})`, {
      context: { maxInputs: ['100'] },
    });
  }
}

export function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
