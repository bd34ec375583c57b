/**
 * The contact properties the connector reads, by HubSpot internal name. One list serves the
 * list endpoint (readAll), batch read and search, so every path maps the same record the same way.
 */
import { SMK_FIELDS } from '../../src/model/fields.js';

/** Standard contact properties mapped into the common Lead (see mapping.ts for where each goes). */
export const STANDARD_PROPERTIES = {
  email: 'email',
  firstName: 'firstname',
  lastName: 'lastname',
  title: 'jobtitle',
  phone: 'phone',
  mobilePhone: 'mobilephone',
  country: 'country',
  state: 'state',
  city: 'city',
  company: 'company',
  website: 'website',
  industry: 'industry',
  annualRevenue: 'annualrevenue',
  lifecycleStage: 'lifecyclestage',
  leadStatus: 'hs_lead_status',
  ownerId: 'hubspot_owner_id',
  source: 'hs_analytics_source',
  campaign: 'hs_analytics_first_touch_converting_campaign',
  unsubscribed: 'hs_email_optout',
  pageViews: 'hs_analytics_num_page_views',
  visits: 'hs_analytics_num_visits',
  formSubmissions: 'num_conversion_events',
  emailOpens: 'hs_email_open',
  emailClicks: 'hs_email_click',
  lastVisitAt: 'hs_analytics_last_visit_timestamp',
  recentConversionAt: 'recent_conversion_date',
  recentConversionName: 'recent_conversion_event_name',
  firstConversionAt: 'first_conversion_date',
  lastContactedAt: 'notes_last_contacted',
  mergedIds: 'hs_merged_object_ids',
  /** The primary company's id, read-only: set through the primary contact->company association (type 1). */
  companyId: 'associatedcompanyid',
  objectId: 'hs_object_id',
  createDate: 'createdate',
  lastModified: 'lastmodifieddate',
} as const;

/**
 * Employee counts live under different names: real portals have the contact property `numemployees`
 * (often a range such as "25-50"), some portals and our sandbox `numberofemployees` (free text such
 * as "1,200"). HubSpot ignores unknown names in a read, so asking for both is free; the first non-blank wins.
 */
export const EMPLOYEE_PROPERTIES = ['numemployees', 'numberofemployees'] as const;

/** The `smk_*` properties provisioned by ensureSchema (SMK_FIELDS with a HubSpot name). */
export const SMK_PROPERTIES: readonly string[] = SMK_FIELDS.flatMap((f) => (f.hubspot ? [f.hubspot] : []));

/** Every property the connector asks for in a read, list or search. */
export const READ_PROPERTIES: readonly string[] = [
  ...new Set<string>([...Object.values(STANDARD_PROPERTIES), ...EMPLOYEE_PROPERTIES, ...SMK_PROPERTIES]),
];

/** HubSpot's own sort and tie-breaker properties in search (reference H3). */
export const LAST_MODIFIED = STANDARD_PROPERTIES.lastModified;
export const OBJECT_ID = STANDARD_PROPERTIES.objectId;
