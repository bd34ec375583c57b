/**
 * Describe metadata of the sObjects the sandbox serves (Lead, Contact, Account, User, Task,
 * LeadStatus; Opportunity and its kin are in opportunity-objects.ts, the setup objects of
 * field-level security in setup-objects.ts): field types, lengths, picklists, nillable/createable/updateable, the
 * way `GET /sobjects/{type}/describe` reports them (crm-api.md S6). Custom fields are added at run
 * time through the Tooling API; none is pre-created here.
 */
import type { SfRecord, SfValue } from './record.js';

export type FieldType =
  | 'id'
  | 'reference'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'combobox'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime';

export interface PicklistValue {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  custom: boolean;
  defaultedOnCreate: boolean;
  /** Value given on create when the field is omitted (picklist default, checkbox default). */
  defaultValue: SfValue;
  picklistValues: PicklistValue[];
  restrictedPicklist: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  filterable: boolean;
  sortable: boolean;
  groupable: boolean;
  externalId: boolean;
  unique: boolean;
  nameField: boolean;
  idLookup: boolean;
  calculated: boolean;
  extraTypeInfo: string | null;
  /** Calculated fields (Name) are derived on read, not stored. */
  compute?: (record: SfRecord) => SfValue;
}

type FieldOptions = Partial<Omit<FieldDef, 'name' | 'label' | 'type'>>;

function field(name: string, label: string, type: FieldType, options: FieldOptions = {}): FieldDef {
  const textual = type === 'string' || type === 'textarea' || type === 'email' || type === 'phone' || type === 'url';
  const longText = type === 'textarea' && (options.length ?? 0) > 255;
  return {
    name,
    label,
    type,
    length: 0,
    precision: 0,
    scale: 0,
    digits: 0,
    nillable: true,
    createable: true,
    updateable: true,
    custom: name.endsWith('__c'),
    defaultedOnCreate: false,
    defaultValue: null,
    picklistValues: [],
    restrictedPicklist: false,
    referenceTo: [],
    relationshipName: null,
    filterable: !longText,
    sortable: !longText,
    groupable: !longText && type !== 'double' && type !== 'currency' && type !== 'percent' && type !== 'datetime',
    externalId: false,
    unique: false,
    nameField: false,
    idLookup: type === 'email' || (textual && name === 'Name'),
    calculated: false,
    extraTypeInfo: longText ? 'plaintextarea' : null,
    ...options,
  };
}

const str = (name: string, label: string, length: number, options: FieldOptions = {}) =>
  field(name, label, 'string', { length, ...options });
const textarea = (name: string, label: string, length: number) => field(name, label, 'textarea', { length });
const email = (name = 'Email', label = 'Email') => field(name, label, 'email', { length: 80 });
const phone = (name: string, label: string) => field(name, label, 'phone', { length: 40 });
const url = (name: string, label: string) => field(name, label, 'url', { length: 255 });
const bool = (name: string, label: string, options: FieldOptions = {}) =>
  field(name, label, 'boolean', { nillable: false, defaultedOnCreate: true, defaultValue: false, ...options });
const int = (name: string, label: string, digits = 8) => field(name, label, 'int', { digits });
const currency = (name: string, label: string) => field(name, label, 'currency', { precision: 18, scale: 0 });
const date = (name: string, label: string, options: FieldOptions = {}) => field(name, label, 'date', options);
const ref = (name: string, label: string, to: string[], relationshipName: string, options: FieldOptions = {}) =>
  field(name, label, 'reference', { length: 18, referenceTo: to, relationshipName, ...options });

export function picklistValues(values: readonly string[], defaultValue?: string): PicklistValue[] {
  return values.map((value) => ({ value, label: value, active: true, defaultValue: value === defaultValue }));
}

const picklist = (name: string, label: string, values: readonly string[], options: FieldOptions & { default?: string } = {}) => {
  const { default: def, ...rest } = options;
  return field(name, label, 'picklist', {
    length: 255,
    picklistValues: picklistValues(values, def),
    ...(def ? { defaultValue: def, defaultedOnCreate: true, nillable: false } : {}),
    ...rest,
  });
};

const readOnly: FieldOptions = { createable: false, updateable: false };
const system: FieldOptions = { createable: false, updateable: false, nillable: false, defaultedOnCreate: true };

function nameOf(record: SfRecord): SfValue {
  const parts = [record.FirstName, record.LastName].filter((p): p is string => typeof p === 'string' && p !== '');
  return parts.length ? parts.join(' ') : null;
}

const idField = () => field('Id', 'Record ID', 'id', { length: 18, ...system, idLookup: true });
const isDeleted = () => bool('IsDeleted', 'Deleted', readOnly);
const ownerId = () => ref('OwnerId', 'Owner ID', ['User'], 'Owner', { nillable: false, defaultedOnCreate: true });
const audit = () => [
  field('CreatedDate', 'Created Date', 'datetime', system),
  ref('CreatedById', 'Created By ID', ['User'], 'CreatedBy', system),
  field('LastModifiedDate', 'Last Modified Date', 'datetime', system),
  ref('LastModifiedById', 'Last Modified By ID', ['User'], 'LastModifiedBy', system),
  field('SystemModstamp', 'System Modstamp', 'datetime', system),
];
const personName = () => [
  str('LastName', 'Last Name', 80, { nillable: false }),
  str('FirstName', 'First Name', 40),
  str('Name', 'Full Name', 121, { ...readOnly, nameField: true, calculated: true, compute: nameOf }),
];

export const LEAD_STATUSES = [
  { label: 'Open - Not Contacted', isDefault: true, isConverted: false },
  { label: 'Working - Contacted', isDefault: false, isConverted: false },
  { label: 'Closed - Converted', isDefault: false, isConverted: true },
  { label: 'Closed - Not Converted', isDefault: false, isConverted: false },
] as const;
export const DEFAULT_LEAD_STATUS = 'Open - Not Contacted';
export const CONVERTED_LEAD_STATUS = 'Closed - Converted';

export const INDUSTRIES = ['Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction',
  'Consulting', 'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental', 'Finance',
  'Food & Beverage', 'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery', 'Manufacturing', 'Media',
  'Not For Profit', 'Recreation', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities', 'Other'];
export const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const RATINGS = ['Hot', 'Warm', 'Cold'];
const TASK_STATUSES = ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'];

export interface SObjectFlags {
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
  /** Whether custom fields may be added through the Tooling API. */
  customizable: boolean;
  /** Whether the object has an IsDeleted field and a recycle bin. */
  softDelete: boolean;
}

export class SObjectSchema {
  readonly fields: FieldDef[] = [];
  private byLower = new Map<string, FieldDef>();
  /** Bumped on every schema change so that cached describes and compiled queries can tell. */
  version = 0;

  constructor(
    readonly name: string,
    readonly label: string,
    readonly labelPlural: string,
    readonly keyPrefix: string,
    readonly flags: SObjectFlags,
    fields: FieldDef[],
  ) {
    for (const f of fields) this.addField(f);
  }

  /** Case-insensitive lookup, as Salesforce resolves field names. */
  field(name: string): FieldDef | undefined {
    return this.byLower.get(name.toLowerCase());
  }

  addField(def: FieldDef): void {
    this.fields.push(def);
    this.byLower.set(def.name.toLowerCase(), def);
    this.version += 1;
  }

  removeField(name: string): void {
    const def = this.field(name);
    if (!def) return;
    this.fields.splice(this.fields.indexOf(def), 1);
    this.byLower.delete(name.toLowerCase());
    this.version += 1;
  }

  customFields(): FieldDef[] {
    return this.fields.filter((f) => f.custom);
  }
}

const crud: SObjectFlags = { createable: true, updateable: true, deletable: true, queryable: true, customizable: true, softDelete: true };
const readOnlyObject: SObjectFlags = { createable: false, updateable: false, deletable: false, queryable: true, customizable: false, softDelete: false };

function lead(): SObjectSchema {
  return new SObjectSchema('Lead', 'Lead', 'Leads', '00Q', crud, [
    idField(),
    isDeleted(),
    ...personName(),
    str('Title', 'Title', 128),
    str('Company', 'Company', 255, { nillable: false }),
    // Address parts of the compound Address field (Salesforce Lead field reference: Street is a textarea of 255).
    textarea('Street', 'Street', 255),
    str('City', 'City', 40),
    str('State', 'State/Province', 80),
    str('PostalCode', 'Zip/Postal Code', 20),
    str('Country', 'Country', 80),
    phone('Phone', 'Phone'),
    phone('MobilePhone', 'Mobile Phone'),
    email(),
    url('Website', 'Website'),
    textarea('Description', 'Description', 32000),
    picklist('LeadSource', 'Lead Source', LEAD_SOURCES),
    picklist('Status', 'Status', LEAD_STATUSES.map((s) => s.label), { default: DEFAULT_LEAD_STATUS, restrictedPicklist: true }),
    picklist('Industry', 'Industry', INDUSTRIES),
    picklist('Rating', 'Rating', RATINGS),
    currency('AnnualRevenue', 'Annual Revenue'),
    int('NumberOfEmployees', 'Employees'),
    ownerId(),
    bool('HasOptedOutOfEmail', 'Email Opt Out'),
    bool('IsConverted', 'Converted', { updateable: false }),
    date('ConvertedDate', 'Converted Date', readOnly),
    ref('ConvertedAccountId', 'Converted Account ID', ['Account'], 'ConvertedAccount', readOnly),
    ref('ConvertedContactId', 'Converted Contact ID', ['Contact'], 'ConvertedContact', readOnly),
    ref('ConvertedOpportunityId', 'Converted Opportunity ID', ['Opportunity'], 'ConvertedOpportunity', readOnly),
    bool('IsUnreadByOwner', 'Unread By Owner'),
    ...audit(),
    date('LastActivityDate', 'Last Activity', readOnly),
  ]);
}

function contact(): SObjectSchema {
  return new SObjectSchema('Contact', 'Contact', 'Contacts', '003', crud, [
    idField(),
    isDeleted(),
    ref('AccountId', 'Account ID', ['Account'], 'Account'),
    ...personName(),
    textarea('MailingStreet', 'Mailing Street', 255),
    str('MailingCity', 'Mailing City', 40),
    str('MailingState', 'Mailing State/Province', 80),
    str('MailingPostalCode', 'Mailing Zip/Postal Code', 20),
    str('MailingCountry', 'Mailing Country', 80),
    phone('Phone', 'Business Phone'),
    phone('MobilePhone', 'Mobile Phone'),
    email(),
    str('Title', 'Title', 128),
    str('Department', 'Department', 80),
    picklist('LeadSource', 'Lead Source', LEAD_SOURCES),
    textarea('Description', 'Contact Description', 32000),
    ownerId(),
    bool('HasOptedOutOfEmail', 'Email Opt Out'),
    ...audit(),
    date('LastActivityDate', 'Last Activity', readOnly),
  ]);
}

function account(): SObjectSchema {
  return new SObjectSchema('Account', 'Account', 'Accounts', '001', crud, [
    idField(),
    isDeleted(),
    str('Name', 'Account Name', 255, { nillable: false, nameField: true }),
    picklist('Type', 'Account Type', ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Channel Partner / Reseller', 'Installation Partner', 'Technology Partner', 'Other']),
    str('BillingCity', 'Billing City', 40),
    str('BillingState', 'Billing State/Province', 80),
    str('BillingCountry', 'Billing Country', 80),
    phone('Phone', 'Account Phone'),
    url('Website', 'Website'),
    picklist('Industry', 'Industry', INDUSTRIES),
    currency('AnnualRevenue', 'Annual Revenue'),
    int('NumberOfEmployees', 'Employees'),
    textarea('Description', 'Account Description', 32000),
    ownerId(),
    ...audit(),
    date('LastActivityDate', 'Last Activity', readOnly),
  ]);
}

function user(): SObjectSchema {
  return new SObjectSchema('User', 'User', 'Users', '005', readOnlyObject, [
    idField(),
    str('Username', 'Username', 80, { ...readOnly, nillable: false, unique: true, idLookup: true }),
    ...personName().map((f) => ({ ...f, createable: false, updateable: false })),
    field('Email', 'Email', 'email', { length: 128, ...readOnly, nillable: false }),
    str('Alias', 'Alias', 8, { ...readOnly, nillable: false }),
    str('Title', 'Title', 80, readOnly),
    bool('IsActive', 'Active', readOnly),
    picklist('UserType', 'User Type', ['Standard', 'PowerPartner', 'CsnOnly', 'Guest'], readOnly),
    // Every user has exactly one profile (User object reference: ProfileId, relationship Profile).
    ref('ProfileId', 'Profile ID', ['Profile'], 'Profile', { ...readOnly, nillable: false }),
    ...audit(),
  ]);
}

function task(): SObjectSchema {
  return new SObjectSchema('Task', 'Task', 'Tasks', '00T', { ...crud, customizable: false }, [
    idField(),
    ref('WhoId', 'Name ID', ['Contact', 'Lead'], 'Who'),
    ref('WhatId', 'Related To ID', ['Account', 'Opportunity'], 'What'),
    field('Subject', 'Subject', 'combobox', { length: 255, picklistValues: picklistValues(['Call', 'Send Letter', 'Send Quote', 'Other']) }),
    date('ActivityDate', 'Due Date Only'),
    picklist('Status', 'Status', TASK_STATUSES, { default: 'Not Started', restrictedPicklist: true }),
    picklist('Priority', 'Priority', ['High', 'Normal', 'Low'], { default: 'Normal', restrictedPicklist: true }),
    ownerId(),
    textarea('Description', 'Description', 32000),
    picklist('Type', 'Type', ['Call', 'Email', 'Meeting', 'Other']),
    isDeleted(),
    bool('IsClosed', 'Closed', readOnly),
    // [C] Object Reference, Task: "The date and time the task was saved as Completed or Closed"
    // (datetime, read-only, API 46.0 and later). Stamped by the store (store.ts stampTaskCompletion).
    field('CompletedDateTime', 'Completed Date/Time', 'datetime', { ...readOnly, nillable: true }),
    picklist('TaskSubtype', 'Task Subtype', ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'], {
      restrictedPicklist: true,
      updateable: false,
    }),
    ...audit(),
  ]);
}

function leadStatus(): SObjectSchema {
  return new SObjectSchema('LeadStatus', 'Lead Status Value', 'Lead Status Value', '01J', readOnlyObject, [
    idField(),
    str('MasterLabel', 'Master Label', 255, readOnly),
    str('ApiName', 'Api Name', 255, readOnly),
    int('SortOrder', 'Sort Order', 9),
    bool('IsDefault', 'Is Default', readOnly),
    bool('IsConverted', 'Is Converted', readOnly),
    ...audit(),
  ].map((f) => ({ ...f, createable: false, updateable: false })));
}

/** A fresh set of schemas keyed by lower-case object name; each sandbox owns its own (custom fields differ). */
export function createSchemas(): Map<string, SObjectSchema> {
  const all = [lead(), contact(), account(), user(), task(), leadStatus()];
  return new Map(all.map((s) => [s.name.toLowerCase(), s]));
}

export {
  field as makeField, bool as makeBoolean, ref as makeReference, str as makeString, textarea as makeTextarea, currency as makeCurrency,
  date as makeDate, int as makeInt, picklist as makePicklist, idField as makeIdField, isDeleted as makeIsDeleted, ownerId as makeOwnerId,
  audit as makeAudit, readOnly as READ_ONLY, crud as CRUD, readOnlyObject as READ_ONLY_OBJECT,
};
