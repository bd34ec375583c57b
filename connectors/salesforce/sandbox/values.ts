/**
 * Value representation inside the sandbox and on the wire. Records keep date-times and dates as
 * epoch milliseconds (dates at UTC midnight) so that SOQL comparisons and sorting are numeric; the
 * wire format is Salesforce's: `2026-11-24T10:00:00.000+0000` and `2026-11-24`.
 */
import type { FieldDef } from './objects.js';
import type { SfRecord, SfValue } from './record.js';

export type { SfRecord, SfValue };

export const DAY_MS = 86_400_000;

/** Salesforce's REST date-time format: always UTC, milliseconds, `+0000` offset. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/**
 * A record stamp as a real org keeps it: the second, without milliseconds. `CreatedDate`,
 * `LastModifiedDate` and `SystemModstamp` come back as `...T10:00:00.000+0000`, so every row a
 * bulk update touches within one second shares one SystemModstamp. "Regular dateTime fields are
 * full timestamps with a precision of one second" [C https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/primitive_data_types.htm];
 * comparisons ignore milliseconds [S https://salesforce.stackexchange.com/questions/234824].
 */
export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

function validDate(y: number, m: number, d: number): number | null {
  const ms = Date.UTC(y, m - 1, d);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  return ms;
}

/** Parses `YYYY-MM-DD` to UTC midnight, or null. */
export function parseDate(text: string): number | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  return validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * Parses an ISO-8601 date-time with `Z`, `+hh:mm` or `+hhmm` (missing offset means UTC, as the REST
 * API reads it), or null.
 */
export function parseDateTime(text: string): number | null {
  const m = DATETIME_RE.exec(text);
  if (!m) return null;
  const day = validDate(Number(m[1]), Number(m[2]), Number(m[3]));
  if (day === null) return null;
  const hh = Number(m[4]);
  const mi = Number(m[5]);
  const ss = Number(m[6] ?? '0');
  if (hh > 23 || mi > 59 || ss > 59) return null;
  // Digits past the millisecond are dropped, not rounded: `.9999` stays in its own second.
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let ms = day + ((hh * 60 + mi) * 60 + ss) * 1000 + frac;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 14 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return ms;
}

const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const CHECKSUM_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function isIdShaped(text: string): boolean {
  return ID_RE.test(text);
}

/** The 3-character case-safe suffix Salesforce appends to a 15-character id. */
export function idChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += CHECKSUM_CHARS[bits];
  }
  return suffix;
}

/** A deterministic 18-character id with a valid case-safe suffix: prefix + 12 base-36 digits. */
export function makeId(prefix: string, n: number): string {
  const id15 = `${prefix}${n.toString(36).toUpperCase().padStart(12, '0')}`;
  return id15 + idChecksum(id15);
}

/** The value of a field in a record: calculated fields derived, absent custom fields null (checkbox false). */
export function readValue(record: SfRecord, field: FieldDef): SfValue {
  if (field.compute) return field.compute(record);
  const v = record[field.name];
  if (field.type === 'boolean') return typeof v === 'boolean' ? v : (field.defaultValue ?? false);
  return v ?? null;
}

/** A stored value in its wire form: date-times and dates as Salesforce formats them. */
export function outputValue(field: FieldDef, value: SfValue): SfValue {
  if (value === null) return null;
  if (field.type === 'datetime' && typeof value === 'number') return formatDateTime(value);
  if (field.type === 'date' && typeof value === 'number') return formatDate(value);
  return value;
}
