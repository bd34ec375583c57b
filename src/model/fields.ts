/**
 * The `smk` fields written into both CRMs (DESIGN.md "Field names"). One table drives field
 * provisioning in each connector, write planning, and the pre-write validation of values.
 * Values travel as strings (HubSpot's wire format); each connector converts per its field type.
 */

export type SmkFieldType = 'number' | 'text' | 'longtext' | 'enum' | 'datetime';

export interface SmkField {
  /** The common key used in write plans and snapshots. */
  key: SmkFieldKey;
  label: string;
  description: string;
  type: SmkFieldType;
  /** HubSpot contact property name, or null where the field lives only in Salesforce. */
  hubspot: string | null;
  /** Salesforce custom field API name on Lead and Contact, or null where it is HubSpot-only. */
  salesforce: string | null;
  /** Allowed values for enum fields (lower-case values, labels for display). */
  options?: ReadonlyArray<{ value: string; label: string }>;
  /** Maximum text length (Salesforce Text is at most 255; long text areas hold more). */
  maxLength?: number;
  /** Number precision for Salesforce Number fields. */
  precision?: number;
  /** Who writes it: the connector (rules output) or sales in Salesforce (feedback input). */
  writtenBy: 'connector' | 'sales';
}

export const SMK_FIELD_KEYS = [
  'score',
  'fitScore',
  'engagementScore',
  'grade',
  'scoreReasons',
  'stage',
  'handoffAt',
  'slaDueAt',
  'slaStatus',
  'slaBreachedAt',
  'salesDecision',
  'rejectReason',
  'leadQuality',
  'disqualifyReason',
  'salesNotes',
  'leadId',
  'likelihood',
  'likelihoodReasons',
] as const;
export type SmkFieldKey = (typeof SMK_FIELD_KEYS)[number];

const stageOptions = [
  ['subscriber', 'Subscriber'],
  ['lead', 'Lead'],
  ['mql', 'MQL'],
  ['sal', 'SAL'],
  ['sql', 'SQL'],
  ['opportunity', 'Opportunity'],
  ['customer', 'Customer'],
  ['recycled', 'Recycled'],
  ['disqualified', 'Disqualified'],
].map(([value, label]) => ({ value: value as string, label: label as string }));

export const SMK_FIELDS: readonly SmkField[] = [
  {
    key: 'score', label: 'Smarketing score', description: 'Total lead score: fit plus engagement.',
    type: 'number', hubspot: 'smk_score', salesforce: 'Smk_Score__c', precision: 6, writtenBy: 'connector',
  },
  {
    key: 'fitScore', label: 'Smarketing fit score', description: 'How well the person and company match the ideal customer.',
    type: 'number', hubspot: 'smk_fit_score', salesforce: 'Smk_Fit_Score__c', precision: 6, writtenBy: 'connector',
  },
  {
    key: 'engagementScore', label: 'Smarketing engagement score', description: 'Recent engagement, decayed with time.',
    type: 'number', hubspot: 'smk_engagement_score', salesforce: 'Smk_Engagement_Score__c', precision: 6, writtenBy: 'connector',
  },
  {
    key: 'grade', label: 'Smarketing grade', description: 'Hot, warm or cold, from the score thresholds.',
    type: 'enum', hubspot: 'smk_grade', salesforce: 'Smk_Grade__c', writtenBy: 'connector',
    options: [
      { value: 'hot', label: 'Hot' },
      { value: 'warm', label: 'Warm' },
      { value: 'cold', label: 'Cold' },
    ],
  },
  {
    key: 'scoreReasons', label: 'Smarketing score reasons', description: 'The top reasons behind the score.',
    type: 'text', hubspot: 'smk_score_reasons', salesforce: 'Smk_Score_Reasons__c', maxLength: 255, writtenBy: 'connector',
  },
  {
    key: 'stage', label: 'Smarketing stage', description: 'Funnel stage shared by sales and marketing.',
    type: 'enum', hubspot: 'smk_stage', salesforce: 'Smk_Stage__c', options: stageOptions, writtenBy: 'connector',
  },
  {
    key: 'handoffAt', label: 'Smarketing handoff time', description: 'When the lead was handed to sales.',
    type: 'datetime', hubspot: 'smk_handoff_at', salesforce: 'Smk_Handoff_At__c', writtenBy: 'connector',
  },
  {
    key: 'slaDueAt', label: 'Smarketing SLA due time', description: 'When the first-touch SLA is due.',
    type: 'datetime', hubspot: 'smk_sla_due_at', salesforce: 'Smk_SLA_Due_At__c', writtenBy: 'connector',
  },
  {
    key: 'slaStatus', label: 'Smarketing SLA status', description: 'Running, met or breached.',
    type: 'enum', hubspot: 'smk_sla_status', salesforce: 'Smk_SLA_Status__c', writtenBy: 'connector',
    options: [
      { value: 'none', label: 'None' },
      { value: 'running', label: 'Running' },
      { value: 'met', label: 'Met' },
      { value: 'breached', label: 'Breached' },
    ],
  },
  {
    key: 'slaBreachedAt', label: 'Smarketing SLA breach time', description: 'When the first-touch SLA was breached.',
    type: 'datetime', hubspot: 'smk_sla_breached_at', salesforce: 'Smk_SLA_Breached_At__c', writtenBy: 'connector',
  },
  {
    key: 'salesDecision', label: 'Smarketing sales decision', description: 'Whether sales accepted or rejected the lead.',
    type: 'enum', hubspot: 'smk_sales_decision', salesforce: 'Smk_Sales_Decision__c', writtenBy: 'sales',
    options: [
      { value: 'accepted', label: 'Accepted' },
      { value: 'rejected', label: 'Rejected' },
    ],
  },
  {
    key: 'rejectReason', label: 'Smarketing reject reason', description: 'Why sales rejected the lead.',
    type: 'text', hubspot: 'smk_reject_reason', salesforce: 'Smk_Reject_Reason__c', maxLength: 255, writtenBy: 'sales',
  },
  {
    key: 'leadQuality', label: 'Smarketing lead quality', description: 'Sales rating of the lead quality, 1 to 5.',
    type: 'number', hubspot: 'smk_lead_quality', salesforce: 'Smk_Lead_Quality__c', precision: 1, writtenBy: 'sales',
  },
  {
    key: 'disqualifyReason', label: 'Smarketing disqualify reason', description: 'Why sales disqualified the lead.',
    type: 'text', hubspot: 'smk_disqualify_reason', salesforce: 'Smk_Disqualify_Reason__c', maxLength: 255, writtenBy: 'sales',
  },
  {
    key: 'salesNotes', label: 'Smarketing sales notes', description: 'Notes from sales (they live in Salesforce).',
    type: 'longtext', hubspot: 'smk_sales_notes', salesforce: null, maxLength: 65535, writtenBy: 'connector',
  },
  {
    key: 'leadId', label: 'Smarketing lead id', description: 'The connector’s id of the person, shared by both CRMs.',
    type: 'text', hubspot: 'smk_lead_id', salesforce: 'Smk_Lead_Id__c', maxLength: 64, writtenBy: 'connector',
  },
  {
    key: 'likelihood', label: 'Smarketing likelihood', description: 'Likelihood to convert, 0 to 100, learnt from past outcomes (smk model).',
    type: 'number', hubspot: 'smk_likelihood', salesforce: 'Smk_Likelihood__c', precision: 3, writtenBy: 'connector',
  },
  {
    key: 'likelihoodReasons', label: 'Smarketing likelihood reasons', description: 'What moves the likelihood most for this person, in points.',
    type: 'text', hubspot: 'smk_likelihood_reasons', salesforce: 'Smk_Likelihood_Reasons__c', maxLength: 255, writtenBy: 'connector',
  },
];

export const SMK_FIELD_BY_KEY: ReadonlyMap<SmkFieldKey, SmkField> = new Map(SMK_FIELDS.map((f) => [f.key, f]));

/** The HubSpot property group that holds every `smk_*` property. */
export const HUBSPOT_PROPERTY_GROUP = { name: 'smarketing', label: 'Smarketing' } as const;

/**
 * One canonical string per value, so that what a CRM echoes back ("17.0", "2026-01-01T00:00:00.000+0000",
 * epoch-ms "1767225600000", "HOT") compares equal to what was written ("17", ISO, "hot").
 * Blank means "no value" and is null.
 */
export function normaliseSmkValue(field: SmkField, raw: string | number | boolean | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const text = String(raw).trim();
  if (text === '') return null;
  switch (field.type) {
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? String(n) : text;
    }
    case 'datetime': {
      const ms = /^\d{10,}$/.test(text) ? Number(text) : Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      return Number.isFinite(ms) ? new Date(ms).toISOString() : text;
    }
    case 'enum':
      return text.toLowerCase();
    case 'text':
    case 'longtext':
      return field.maxLength !== undefined && text.length > field.maxLength ? text.slice(0, field.maxLength) : text;
  }
}
