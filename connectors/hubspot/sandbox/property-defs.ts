/**
 * HubSpot's built-in contact properties and groups that the connector reads or writes, with their
 * real internal names, types and options. The `smk_*` properties are NOT here: the connector
 * provisions them through the Properties API.
 */

export const PROPERTY_TYPES = ['bool', 'date', 'datetime', 'enumeration', 'number', 'phone_number', 'string'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const FIELD_TYPES = [
  'booleancheckbox',
  'calculation_equation',
  'checkbox',
  'date',
  'file',
  'html',
  'number',
  'phonenumber',
  'radio',
  'select',
  'text',
  'textarea',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Which field types each type may use (HubSpot rejects other combinations). */
export const FIELD_TYPES_BY_TYPE: Record<PropertyType, readonly FieldType[]> = {
  string: ['text', 'textarea', 'html', 'phonenumber', 'file'],
  number: ['number', 'calculation_equation'],
  bool: ['booleancheckbox', 'radio', 'select', 'calculation_equation'],
  enumeration: ['checkbox', 'radio', 'select', 'booleancheckbox', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  phone_number: ['phonenumber', 'text'],
};

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: FieldType;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hidden: boolean;
  formField: boolean;
  hasUniqueValue: boolean;
  calculated: boolean;
  externalOptions: boolean;
  hubspotDefined: boolean;
  referencedObjectType?: string;
  readOnlyValue: boolean;
  readOnlyDefinition: boolean;
  archivable: boolean;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt: number | null;
}

export interface PropertyGroupDefinition {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

export const BUILTIN_GROUPS: ReadonlyArray<Omit<PropertyGroupDefinition, 'archived'>> = [
  { name: 'contactinformation', label: 'Contact information', displayOrder: 0 },
  { name: 'emailinformation', label: 'Email information', displayOrder: 1 },
  { name: 'analyticsinformation', label: 'Web analytics history', displayOrder: 2 },
  { name: 'conversioninformation', label: 'Conversion information', displayOrder: 3 },
  { name: 'sales_properties', label: 'Sales properties', displayOrder: 4 },
  { name: 'contact_activity', label: 'Contact activity', displayOrder: 5 },
];

/** Lifecycle stages in HubSpot's order: through the API the stage only moves forward. */
export const LIFECYCLE_STAGES: ReadonlyArray<[string, string]> = [
  ['subscriber', 'Subscriber'],
  ['lead', 'Lead'],
  ['marketingqualifiedlead', 'Marketing Qualified Lead'],
  ['salesqualifiedlead', 'Sales Qualified Lead'],
  ['opportunity', 'Opportunity'],
  ['customer', 'Customer'],
  ['evangelist', 'Evangelist'],
  ['other', 'Other'],
];

const LEAD_STATUSES: ReadonlyArray<[string, string]> = [
  ['NEW', 'New'],
  ['OPEN', 'Open'],
  ['IN_PROGRESS', 'In Progress'],
  ['OPEN_DEAL', 'Open Deal'],
  ['UNQUALIFIED', 'Unqualified'],
  ['ATTEMPTED_TO_CONTACT', 'Attempted to Contact'],
  ['CONNECTED', 'Connected'],
  ['BAD_TIMING', 'Bad Timing'],
];

const ANALYTICS_SOURCES: ReadonlyArray<[string, string]> = [
  ['ORGANIC_SEARCH', 'Organic search'],
  ['PAID_SEARCH', 'Paid search'],
  ['EMAIL_MARKETING', 'Email marketing'],
  ['SOCIAL_MEDIA', 'Organic social'],
  ['REFERRALS', 'Referrals'],
  ['OTHER_CAMPAIGNS', 'Other campaigns'],
  ['DIRECT_TRAFFIC', 'Direct traffic'],
  ['OFFLINE', 'Offline sources'],
  ['PAID_SOCIAL', 'Paid social'],
];

export function optionsFrom(pairs: ReadonlyArray<[string, string]>): PropertyOption[] {
  return pairs.map(([value, label], i) => ({ label, value, displayOrder: i, hidden: false }));
}

const BOOL_OPTIONS: ReadonlyArray<[string, string]> = [
  ['true', 'Yes'],
  ['false', 'No'],
];

interface BuiltinSpec {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: FieldType;
  group: string;
  readOnly?: boolean;
  calculated?: boolean;
  options?: ReadonlyArray<[string, string]>;
  externalOptions?: boolean;
  referencedObjectType?: string;
  hidden?: boolean;
  formField?: boolean;
  description?: string;
}

const SPECS: readonly BuiltinSpec[] = [
  { name: 'email', label: 'Email', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true, description: "A contact's email address" },
  { name: 'firstname', label: 'First Name', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'lastname', label: 'Last Name', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'jobtitle', label: 'Job Title', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', group: 'contactinformation', formField: true },
  { name: 'mobilephone', label: 'Mobile Phone Number', type: 'string', fieldType: 'phonenumber', group: 'contactinformation', formField: true },
  { name: 'fax', label: 'Fax Number', type: 'string', fieldType: 'phonenumber', group: 'contactinformation' },
  { name: 'address', label: 'Street Address', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'city', label: 'City', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'state', label: 'State/Region', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'zip', label: 'Postal Code', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'country', label: 'Country/Region', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'company', label: 'Company Name', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'website', label: 'Website URL', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'industry', label: 'Industry', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  // Free text in this sandbox so that seeded values such as "1,200" stay as HubSpot portals often hold them.
  { name: 'numberofemployees', label: 'Number of Employees', type: 'string', fieldType: 'text', group: 'contactinformation', formField: true },
  { name: 'annualrevenue', label: 'Annual Revenue', type: 'number', fieldType: 'number', group: 'contactinformation', formField: true },
  { name: 'message', label: 'Message', type: 'string', fieldType: 'textarea', group: 'contactinformation', formField: true },
  { name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', fieldType: 'radio', group: 'contactinformation', options: LIFECYCLE_STAGES, description: 'The qualification of contacts to sales readiness.' },
  { name: 'hs_lead_status', label: 'Lead Status', type: 'enumeration', fieldType: 'radio', group: 'sales_properties', options: LEAD_STATUSES, description: "The contact's sales, prospecting or outreach status" },
  { name: 'hubspot_owner_id', label: 'Contact owner', type: 'enumeration', fieldType: 'select', group: 'sales_properties', externalOptions: true, referencedObjectType: 'OWNER', description: 'The owner of a contact.' },
  { name: 'hs_analytics_source', label: 'Original Traffic Source', type: 'enumeration', fieldType: 'select', group: 'analyticsinformation', options: ANALYTICS_SOURCES, readOnly: true, calculated: true },
  { name: 'hs_analytics_source_data_1', label: 'Original Traffic Source Drill-Down 1', type: 'string', fieldType: 'text', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'hs_analytics_first_touch_converting_campaign', label: 'First touch converting campaign', type: 'string', fieldType: 'text', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'hs_analytics_num_page_views', label: 'Number of Pageviews', type: 'number', fieldType: 'number', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'hs_analytics_num_visits', label: 'Number of Sessions', type: 'number', fieldType: 'number', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'hs_analytics_first_visit_timestamp', label: 'Time of First Session', type: 'datetime', fieldType: 'date', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'hs_analytics_last_visit_timestamp', label: 'Time of Last Session', type: 'datetime', fieldType: 'date', group: 'analyticsinformation', readOnly: true, calculated: true },
  { name: 'num_conversion_events', label: 'Number of Form Submissions', type: 'number', fieldType: 'number', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'num_unique_conversion_events', label: 'Number of Unique Forms Submitted', type: 'number', fieldType: 'number', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'recent_conversion_date', label: 'Recent Conversion Date', type: 'datetime', fieldType: 'date', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'recent_conversion_event_name', label: 'Recent Conversion', type: 'string', fieldType: 'text', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'first_conversion_date', label: 'First Conversion Date', type: 'datetime', fieldType: 'date', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'first_conversion_event_name', label: 'First Conversion', type: 'string', fieldType: 'text', group: 'conversioninformation', readOnly: true, calculated: true },
  { name: 'hs_email_open', label: 'Marketing emails opened', type: 'number', fieldType: 'number', group: 'emailinformation', readOnly: true, calculated: true },
  { name: 'hs_email_click', label: 'Marketing emails clicked', type: 'number', fieldType: 'number', group: 'emailinformation', readOnly: true, calculated: true },
  { name: 'hs_email_last_open_date', label: 'Last marketing email open date', type: 'datetime', fieldType: 'date', group: 'emailinformation', readOnly: true, calculated: true },
  { name: 'hs_email_last_click_date', label: 'Last marketing email click date', type: 'datetime', fieldType: 'date', group: 'emailinformation', readOnly: true, calculated: true },
  { name: 'hs_email_optout', label: 'Unsubscribed from all email', type: 'bool', fieldType: 'booleancheckbox', group: 'emailinformation', options: BOOL_OPTIONS, readOnly: true },
  { name: 'hs_email_domain', label: 'Email Domain', type: 'string', fieldType: 'text', group: 'contactinformation', readOnly: true, calculated: true },
  { name: 'hs_additional_emails', label: 'Additional email addresses', type: 'enumeration', fieldType: 'checkbox', group: 'contactinformation', readOnly: true, externalOptions: true },
  { name: 'hs_merged_object_ids', label: 'Merged Contact IDs', type: 'enumeration', fieldType: 'checkbox', group: 'contactinformation', readOnly: true, externalOptions: true },
  // The contact's primary company, read-only since 2019-04-26 and set only through associations
  // (primary contact->company, type 1). [C HubSpot Developer Changelog, "Update: The
  // associatedcompanyid contact property will become read-only on April 26th"
  // https://developers.hubspot.com/changelog/2019-01-24-update-the-associatedcompanyid-contact-property-will-become-read-only-on-april-26th]
  { name: 'associatedcompanyid', label: 'Primary Associated Company ID', type: 'number', fieldType: 'number', group: 'contactinformation', readOnly: true, calculated: true, description: 'HubSpot defined ID of the primary company with which a contact is associated.' },
  { name: 'notes_last_contacted', label: 'Last Contacted', type: 'datetime', fieldType: 'date', group: 'contact_activity', readOnly: true, calculated: true },
  { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date', group: 'contactinformation', readOnly: true },
  { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', group: 'contactinformation', readOnly: true },
  { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', group: 'contactinformation', readOnly: true },
];

/** Built-in definitions; `at` stamps createdAt/updatedAt. */
export function builtinProperties(at: number): PropertyDefinition[] {
  return SPECS.map((spec, i) => ({
    name: spec.name,
    label: spec.label,
    type: spec.type,
    fieldType: spec.fieldType,
    groupName: spec.group,
    description: spec.description ?? '',
    options: spec.options ? optionsFrom(spec.options) : [],
    displayOrder: i,
    hidden: spec.hidden ?? false,
    formField: spec.formField ?? false,
    hasUniqueValue: false,
    calculated: spec.calculated ?? false,
    externalOptions: spec.externalOptions ?? false,
    hubspotDefined: true,
    ...(spec.referencedObjectType ? { referencedObjectType: spec.referencedObjectType } : {}),
    readOnlyValue: spec.readOnly ?? false,
    readOnlyDefinition: true,
    archivable: false,
    createdAt: at,
    updatedAt: at,
    archived: false,
    archivedAt: null,
  }));
}

/** Properties returned when a read names none (reference H3). */
export const DEFAULT_CONTACT_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'] as const;

/** Properties whose value the sandbox derives from the record rather than storing. */
export const VIRTUAL_PROPERTIES = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_email_domain']);
