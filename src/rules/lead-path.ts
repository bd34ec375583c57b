/**
 * Dotted paths into a Lead (`person.title`, `company.employees`, `marketing.counters.page_views`).
 * Rules name Lead fields by path in config; this module checks a path against the Lead schema
 * once, at config-parse time, and reads it at evaluation time without ever walking a prototype.
 */
import { z } from 'zod';
import { leadSchema } from '../model/lead.js';
import type { Lead } from '../model/lead.js';

/** Segments that would reach Object.prototype or a constructor through plain property access. */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const segmentCache = new Map<string, readonly string[]>();

/** Splits a path once and caches it: config paths are few and read on every evaluation. */
export function pathSegments(path: string): readonly string[] {
  let segments = segmentCache.get(path);
  if (segments === undefined) {
    segments = Object.freeze(path.split('.'));
    if (segmentCache.size < 10_000) segmentCache.set(path, segments);
  }
  return segments;
}

/**
 * Reads a dotted path from a Lead (or any JSON-like value). Only own properties are followed and
 * `__proto__`/`constructor`/`prototype` never traverse, so a crafted path or record key cannot
 * reach shared prototypes. Returns undefined when any step is missing.
 */
export function readLeadPath(lead: Lead | Record<string, unknown>, path: string | readonly string[]): unknown {
  const segments = typeof path === 'string' ? pathSegments(path) : path;
  let current: unknown = lead;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (FORBIDDEN_SEGMENTS.has(segment) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export type LeadFieldKind = 'value' | 'array' | 'record-entry';

export type LeadFieldCheck =
  | { ok: true; kind: LeadFieldKind }
  | { ok: false; message: string };

/** Strips optional/nullable/default wrappers so that the underlying shape can be inspected. */
function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 10; i += 1) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      current = current.def.innerType as z.ZodType;
    } else {
      return current;
    }
  }
  return current;
}

const checkCache = new Map<string, LeadFieldCheck>();

/**
 * Checks that a dotted path names a field of the Lead schema, so that a typo in config
 * (`person.titel`, `company.country`) fails at load time with the list of valid fields rather
 * than silently never matching.
 */
export function checkLeadPath(path: string): LeadFieldCheck {
  const cached = checkCache.get(path);
  if (cached !== undefined) return cached;
  const result = checkUncached(path);
  if (checkCache.size < 10_000) checkCache.set(path, result);
  return result;
}

function checkUncached(path: string): LeadFieldCheck {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/.test(path)) {
    return { ok: false, message: `"${path}" is not a dotted Lead field path such as person.title` };
  }
  const segments = path.split('.');
  let schema: z.ZodType = leadSchema;
  let walked = '';
  for (const [index, segment] of segments.entries()) {
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      return { ok: false, message: `"${path}" uses the reserved name "${segment}"` };
    }
    const shape = unwrapSchema(schema);
    if (shape instanceof z.ZodRecord) {
      // Free-form maps such as marketing.counters: any key is a field, and nothing lies below it.
      if (index !== segments.length - 1) {
        return { ok: false, message: `"${path}": ${walked}.${segment} is a number, not an object` };
      }
      return { ok: true, kind: 'record-entry' };
    }
    if (!(shape instanceof z.ZodObject)) {
      return { ok: false, message: `"${path}": ${walked || 'the lead'} has no fields below it` };
    }
    const fields = shape.shape as Record<string, z.ZodType>;
    const next = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
    if (next === undefined) {
      const known = Object.keys(fields).join(', ');
      const where = walked === '' ? 'the lead' : walked;
      return { ok: false, message: `unknown Lead field "${path}" (fields of ${where}: ${known})` };
    }
    schema = next;
    walked = walked === '' ? segment : `${walked}.${segment}`;
  }
  const leaf = unwrapSchema(schema);
  if (leaf instanceof z.ZodArray) return { ok: true, kind: 'array' };
  if (leaf instanceof z.ZodObject || leaf instanceof z.ZodRecord) {
    const inner = leaf instanceof z.ZodObject ? Object.keys(leaf.shape as object).join(', ') : 'any key';
    return { ok: false, message: `"${path}" is a group of fields; name one of them (${inner})` };
  }
  return { ok: true, kind: 'value' };
}
