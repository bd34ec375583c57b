/**
 * How a stored lead is kept in Redis: one version byte, then its JSON deflated (raw deflate) with
 * a preset dictionary of the stored lead's own field names and common values. A person known to
 * both CRMs takes about 600 bytes instead of about 4,500 (the issue's budget is 2 KB per person for
 * everything the service keeps). What this service wrote is trusted on the way back: it was built
 * by the engine from validated input, so it is not validated again on every read (the hot path).
 *
 * Values written before this encoding (plain JSON, first byte `{`) are still read, validated by the
 * schema as before (which fills defaults of older shapes); the next save re-encodes them.
 *
 * Version 1's dictionary is part of the stored format: never edit it. A better one is version 2,
 * with both kept for reading.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { storedLeadSchema } from './lead-schema.js';
import type { StoredLead } from './lead-schema.js';

export const LEAD_CODEC_VERSION = 1;

const FIELDS_V1 = [
  'email', 'person.firstName', 'person.lastName', 'person.title', 'person.phone', 'person.country', 'person.state', 'person.city',
  'company.name', 'company.domain', 'company.industry', 'company.employees', 'company.annualRevenue', 'marketing.source',
  'marketing.unsubscribed', 'sales.ownerId', 'sales.decision', 'sales.rejectReason', 'sales.qualityRating', 'sales.disqualifyReason',
  'sales.notes', 'sales.lastActivityAt',
];
const SYNC_FIELDS_V1 = ['firstName', 'lastName', 'email', 'title', 'phone', 'mobile', 'street', 'city', 'state', 'postalCode', 'country', 'leadSource'];
const SALES_V1 = '"sales":{"ownerId":"","decision":null,"rejectReason":null,"qualityRating":null,"disqualifyReason":null,"notes":null,"lastActivityAt":null}';
const viewV1 = (crm: string, object: string) =>
  `"${crm}":{"ref":{"object":"${object}","id":""},"modifiedAt":"","values":{${FIELDS_V1.map((f) => `"${f}":""`).join(',')}},` +
  `"changedAt":{${FIELDS_V1.map((f) => `"${f}":""`).join(',')}},"readAt":0,"fields":{${SYNC_FIELDS_V1.map((f) => `"${f}":null`).join(',')}},` +
  `"fieldChangedAt":{${SYNC_FIELDS_V1.map((f) => `"${f}":""`).join(',')}}}`;

/**
 * Deflate finds a match in the dictionary's last 32 KB, and codes nearer matches more cheaply: the
 * skeleton every lead has comes last.
 */
const DICTIONARY_V1 = Buffer.from([
  '"hot""warm""cold""mql""sal""sql""opportunity""customer""disqualified""recycled""accepted""rejected""open""met""breached""due"',
  '"kind":"email_open","kind":"email_click","kind":"page_view","kind":"form_submission","kind":"meeting","kind":"call","weight":1,"at":""',
  '"cause":"first evaluation""handoff"" engagement ("events in 30 days)"Industry: "Company size ""Country: "Title: "',
  '"the Salesforce Contact is under Account "," is the website of HubSpot company ","email domain ","company website ","by":"domain","by":"name"',
  '"outcomes":{"source":"salesforce","stage":"","closed":false,"won":false,"amount":null,"closeDate":null,"createdAt":"","modifiedAt":"","readAt":0,"gone":false}',
  '"routedOwnerId":"","sla":{"status":"none","dueAt":"","escalations":0},"activity":{"lastTouchAt":""},"archived":false,"unsubscribed":false',
  '{"lead":{"id":"L","email":"","updatedAt":"T00:00:00.000Z","links":{"salesforce":{"object":"Lead","id":"00Q","accountId":""},"hubspot":{"id":""}},',
  '"person":{"firstName":"","lastName":"","title":"","phone":null,"country":"","state":null,"city":""},',
  '"company":{"name":"","domain":".example.com","industry":"","employees":0,"annualRevenue":0},"marketing":{"source":"","engagement":[]},',
  SALES_V1, ',"score":{"fit":0,"engagement":0,"total":0,"grade":"","reasons":["+"],"scoredAt":""},"stage":{"current":"lead","history":[{"stage":"lead","at":"","cause":""}]},',
  '"createdAt":"","account":{"salesforce":{"id":"001","name":"","ownerId":"005","by":"","reason":""},"hubspot":{"id":"","name":"","ownerId":"","by":"","reason":""}}},',
  `"views":{${viewV1('hubspot', 'contact')},${viewV1('salesforce', 'Lead')}},"evaluated${SALES_V1.slice(1)}}`,
].join(''));

const LEVEL = 3;

export function encodeStoredLead(stored: StoredLead): Buffer {
  const body = deflateRawSync(JSON.stringify(stored), { level: LEVEL, dictionary: DICTIONARY_V1 });
  return Buffer.concat([Buffer.from([LEAD_CODEC_VERSION]), body]);
}

/** Reads a stored lead in any encoding this version knows; throws an error naming what is wrong. */
export function decodeStoredLead(raw: Buffer): StoredLead {
  const first = raw[0];
  if (first === 0x7b) {
    // Plain JSON from an earlier version: validated (defaults of older shapes filled in).
    const parsed = storedLeadSchema.safeParse(JSON.parse(raw.toString('utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`stored lead (JSON of an earlier version) is not valid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : parsed.error.message}`);
    }
    return parsed.data as StoredLead;
  }
  if (first !== LEAD_CODEC_VERSION) {
    throw new Error(`stored lead has encoding version ${first ?? 'none'} that this service does not know: was it written by a newer version of the service?`);
  }
  try {
    const json = inflateRawSync(raw.subarray(1), { dictionary: DICTIONARY_V1 }).toString('utf8');
    return JSON.parse(json) as StoredLead;
  } catch (err) {
    throw new Error(`stored lead (encoding version ${first}) could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
