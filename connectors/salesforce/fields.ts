/**
 * The fields the connector reads from each Salesforce object. The `Smk_*__c` fields are read only
 * where the org has them (describe), because a SOQL naming a missing field fails as a whole
 * (INVALID_FIELD) and a fresh org has none until `ensureSchema()` ran.
 */
import { SMK_FIELDS } from '../../src/model/fields.js';
import type { SmkField } from '../../src/model/fields.js';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SyncField } from '../../src/model/field-sync.js';

/** Standard Lead fields (Salesforce Lead field reference). */
export const LEAD_FIELDS = [
  'Id',
  'IsDeleted',
  'FirstName',
  'LastName',
  'Email',
  'Title',
  'Phone',
  'Company',
  'Website',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'Country',
  'State',
  'City',
  'LeadSource',
  'Status',
  'Rating',
  'OwnerId',
  'HasOptedOutOfEmail',
  'IsConverted',
  'ConvertedContactId',
  'ConvertedAccountId',
  'ConvertedDate',
  'LastActivityDate',
  'CreatedDate',
  'LastModifiedDate',
  'SystemModstamp',
] as const;

/**
 * Standard Contact fields. The company lives on the Account; the parent's fields come through the
 * `Account` relationship in the same query (no second call).
 */
export const CONTACT_FIELDS = [
  'Id',
  'IsDeleted',
  'FirstName',
  'LastName',
  'Email',
  'Title',
  'Phone',
  'MailingCountry',
  'MailingState',
  'MailingCity',
  'AccountId',
  'Account.Name',
  'Account.Website',
  'Account.Industry',
  'Account.NumberOfEmployees',
  'Account.AnnualRevenue',
  'LeadSource',
  'OwnerId',
  'HasOptedOutOfEmail',
  'LastActivityDate',
  'CreatedDate',
  'LastModifiedDate',
  'SystemModstamp',
] as const;

/** The smk fields that live in Salesforce (a non-null `salesforce` name), on both Lead and Contact. */
export const SALESFORCE_SMK_FIELDS: readonly (SmkField & { salesforce: string })[] = SMK_FIELDS.filter(
  (f): f is SmkField & { salesforce: string } => f.salesforce !== null,
);

/**
 * The field list of one object's queries, with the smk fields the org has. `relationships: false`
 * leaves out the `Account.*` parent fields (for an org whose integration user cannot read
 * Accounts); the Contact's company then stays empty and comes from HubSpot.
 */
export function readFields(
  object: SalesforceObject,
  existing: ReadonlySet<string>,
  options: { relationships?: boolean; syncFields?: readonly SyncField[]; salesNotesField?: string | null } = {},
): string[] {
  const all: readonly string[] = object === 'Lead' ? LEAD_FIELDS : CONTACT_FIELDS;
  const base = options.relationships === false ? all.filter((f) => !f.includes('.')) : all;
  const smk = SALESFORCE_SMK_FIELDS.map((f) => f.salesforce).filter((name) => existing.has(name));
  // Synced fields the org has on this object (a custom field not created yet would fail the whole query).
  const synced = (options.syncFields ?? []).flatMap((f) => {
    const name = f.salesforce[object];
    return name !== null && existing.has(name) ? [name] : [];
  });
  const notes = options.salesNotesField && existing.has(options.salesNotesField) ? [options.salesNotesField] : [];
  return [...new Set([...base, ...smk, ...synced, ...notes])];
}
