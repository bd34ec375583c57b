/**
 * How held values are kept in Redis. They were JSON keyed by name (about 1.1 KB a record, half of
 * it names and quotes); now one version byte and then a MessagePack sequence, the names replaced by
 * their place in a fixed table (about 500 bytes). Redis's Lua has MessagePack (`cmsgpack`), so the
 * script that merges a write (src/store/held.ts) reads and writes the same encoding.
 *
 * Version 1, in order:
 *   1                      the version (a MessagePack positive fixint: the first byte is 0x01)
 *   at                     number, our clock (ms)
 *   owner                  string, '' = none
 *   lifecycle              string, '' = none
 *   others                 a map name -> value of the names the table does not know, or false (none)
 *   one slot per table name, in order: false = unknown, '' = known to be cleared, a string = the
 *                          value; for `leadId`, true = the id of the lead the key belongs to (the
 *                          usual case: the CRM holds our own id for it). Unknown slots at the end
 *                          are left out.
 *
 * A merge replaces a slot only where the write knows it. Values an earlier version wrote as JSON
 * (first byte `{`) are still read; the script rewrites them in version 1 at their next write.
 *
 * HELD_NAMES_V1 is part of the stored format: never edit it. Names added to the fields later are
 * kept under their own name (in `others`) until a version 2 adds them, with version 1 still read.
 */
import { Packr, Unpackr } from 'msgpackr';
import { z } from 'zod';
import type { SmkValues } from '../sync/plan.js';

export const HELD_CODEC_VERSION = 1;

/** The `smk` fields, then the default synced fields (`field:<name>`); those a Contact lacks come last. */
export const HELD_NAMES_V1: readonly string[] = [
  'score', 'fitScore', 'engagementScore', 'grade', 'scoreReasons', 'stage', 'handoffAt', 'slaDueAt', 'slaStatus', 'slaBreachedAt',
  'salesDecision', 'rejectReason', 'leadQuality', 'disqualifyReason', 'salesNotes', 'leadId', 'likelihood', 'likelihoodReasons',
  ...['firstName', 'lastName', 'email', 'title', 'phone', 'mobile', 'street', 'city', 'state', 'postalCode', 'country', 'leadSource',
    'company', 'website', 'industry', 'employees', 'annualRevenue', 'leadStatus'].map((name) => `field:${name}`),
];

/** Where the slots begin in the sequence (0-based; the Lua script's tables count from 1). */
export const HELD_FIRST_SLOT = 5;

const SLOT = new Map(HELD_NAMES_V1.map((name, i) => [name, i]));
const LEAD_ID_SLOT = SLOT.get('leadId') as number;

export interface HeldValues {
  values: SmkValues;
  /** Our clock (ms) when the values were last known to be in the CRM. */
  at: number;
  ownerId: string | null;
  /** HubSpot's lifecycle stage as last read or written (HubSpot only; absent when unknown). */
  lifecycle?: string;
}

// No records extension: plain MessagePack, which Redis's cmsgpack reads.
const packr = new Packr({ useRecords: false });
// cmsgpack writes a timestamp as a 64-bit integer: read it as a number, not a BigInt.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * The record a read or a write brings, in version 1 (the script stores a read as it is). A missing
 * or undefined value is cleared, as before: the CRM holds nothing there.
 */
export function encodeHeld(leadId: string, values: SmkValues, at: number, ownerId: string | null, lifecycle: string | null): Buffer {
  const slots: Array<string | boolean> = [];
  let others: Record<string, string> | false = false;
  for (const [name, value] of Object.entries(values as Record<string, string | null | undefined>)) {
    const text = value ?? '';
    const slot = SLOT.get(name);
    if (slot === undefined) (others ||= {})[name] = text;
    else slots[slot] = slot === LEAD_ID_SLOT && text === leadId ? true : text;
  }
  const parts = [HELD_CODEC_VERSION, at, ownerId ?? '', lifecycle ?? '', others];
  for (let i = 0; i < slots.length; i += 1) parts.push(slots[i] ?? false);
  return Buffer.concat(parts.map((part) => packr.pack(part)));
}

// The JSON of earlier versions: cleared values as '' (or null), no owner as '' (or absent).
const jsonSchema = z.object({
  values: z.union([z.record(z.string(), z.string().nullable()), z.array(z.never())]),
  at: z.number(),
  ownerId: z.string().nullable().default(null),
  lifecycle: z.string().optional(),
});

function fromJson(raw: Buffer): HeldValues {
  const parsed = jsonSchema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`held values (JSON of an earlier version) are not valid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : parsed.error.message}`);
  }
  const data = parsed.data;
  const values: Record<string, string | null> = {};
  // cjson encodes an empty table as {} (or [] had it been filled as an array).
  if (!Array.isArray(data.values)) for (const [name, value] of Object.entries(data.values)) values[name] = value === '' ? null : value;
  return {
    values: values as SmkValues,
    at: data.at,
    ownerId: data.ownerId === '' ? null : data.ownerId,
    ...(data.lifecycle ? { lifecycle: data.lifecycle } : {}),
  };
}

function invalid(what: string): Error {
  return new Error(`held values (encoding version ${HELD_CODEC_VERSION}) are not valid: ${what}`);
}

/** Reads held values in any encoding this version knows; throws an error naming what is wrong. */
export function decodeHeld(leadId: string, raw: Buffer): HeldValues {
  const first = raw[0];
  if (first === 0x7b) return fromJson(raw);
  if (first !== HELD_CODEC_VERSION) {
    throw new Error(`held values have encoding version ${first ?? 'none'} that this service does not know: were they written by a newer version of the service?`);
  }
  // What this service wrote is trusted to be MessagePack; its shape is checked cheaply (the hot path).
  const parts = unpackr.unpackMultiple(raw) as unknown[];
  const [, at, owner, lifecycle, others] = parts;
  if (typeof at !== 'number') throw invalid('the time is not a number');
  if (typeof owner !== 'string' || typeof lifecycle !== 'string') throw invalid('the owner or the lifecycle stage is not a string');
  const values: Record<string, string | null> = {};
  if (others !== false && !Array.isArray(others)) {
    // An empty map that Lua re-encoded arrives as an empty array.
    if (typeof others !== 'object' || others === null) throw invalid('the other names are not a map');
    for (const [name, value] of Object.entries(others)) {
      if (typeof value !== 'string') throw invalid(`the value of ${name} is not a string`);
      values[name] = value === '' ? null : value;
    }
  }
  for (let i = HELD_FIRST_SLOT; i < parts.length; i += 1) {
    const slot = i - HELD_FIRST_SLOT;
    const name = HELD_NAMES_V1[slot];
    const value = parts[i];
    if (name === undefined) throw invalid(`${parts.length - HELD_FIRST_SLOT} slots, more than the ${HELD_NAMES_V1.length} names`);
    if (value === false) continue;
    if (value === true && slot === LEAD_ID_SLOT) values[name] = leadId;
    else if (typeof value === 'string') values[name] = value === '' ? null : value;
    else throw invalid(`the value of ${name} is not a string`);
  }
  return { values: values as SmkValues, at, ownerId: owner === '' ? null : owner, ...(lifecycle !== '' ? { lifecycle } : {}) };
}
