/**
 * The sales objects of the sandbox org: Opportunity, its stages (OpportunityStage) and the people
 * on it (OpportunityContactRole), as `describe` reports them and as DML treats them.
 *
 * Vendor behaviour followed:
 * - Opportunity (Object Reference, "Opportunity"; Field Reference v62): Name (120, required),
 *   StageName (picklist, required), CloseDate (date, required), Amount (currency 18,2),
 *   Probability (percent 3,0), ForecastCategoryName (picklist), IsClosed and IsWon (read-only).
 *   "If the StageName is updated, then the ForecastCategoryName, IsClosed, IsWon, and Probability
 *   are automatically updated based on the stage-category mapping"; Probability and
 *   ForecastCategoryName may still be set directly on the same write.
 * - OpportunityStage (Field Reference "OpportunityStage"): ApiName, MasterLabel, IsActive,
 *   IsClosed, IsWon, DefaultProbability, ForecastCategoryName, SortOrder; query only
 *   (describeSObjects, query, retrieve). A real org keys it with the prefix 01J, as it does
 *   LeadStatus; the sandbox routes records by prefix, so it gives the stages a prefix of their own.
 * - The default sales process's stages and their probabilities and forecast categories are those
 *   of a new Developer or Enterprise edition org (Setup > Opportunity > Stage).
 * - OpportunityContactRole (Object Reference, "OpportunityContactRole"): key prefix 00K;
 *   OpportunityId (create only) and ContactId (required), Role (picklist), IsPrimary, IsDeleted.
 * - StageName is a standard picklist; a value outside the stages is refused per record with
 *   INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST "Stage: bad value for restricted picklist field: X"
 *   (validation.ts; the SOAP StatusCode of that name, and the message seen from orgs).
 */
import {
  CRUD, READ_ONLY, READ_ONLY_OBJECT, SObjectSchema, makeAudit, makeBoolean, makeCurrency, makeDate, makeField, makeIdField, makeInt,
  makeIsDeleted, makeOwnerId, makePicklist, makeReference, makeString, makeTextarea, LEAD_SOURCES,
} from './objects.js';

export interface OpportunityStageInfo {
  apiName: string;
  closed: boolean;
  won: boolean;
  probability: number;
  forecastCategory: 'Pipeline' | 'Best Case' | 'Commit' | 'Closed' | 'Omitted';
}

/** The stages of the default sales process, in their sort order. */
export const OPPORTUNITY_STAGES: readonly OpportunityStageInfo[] = [
  { apiName: 'Prospecting', closed: false, won: false, probability: 10, forecastCategory: 'Pipeline' },
  { apiName: 'Qualification', closed: false, won: false, probability: 10, forecastCategory: 'Pipeline' },
  { apiName: 'Needs Analysis', closed: false, won: false, probability: 20, forecastCategory: 'Pipeline' },
  { apiName: 'Value Proposition', closed: false, won: false, probability: 50, forecastCategory: 'Pipeline' },
  { apiName: 'Id. Decision Makers', closed: false, won: false, probability: 60, forecastCategory: 'Pipeline' },
  { apiName: 'Perception Analysis', closed: false, won: false, probability: 70, forecastCategory: 'Pipeline' },
  { apiName: 'Proposal/Price Quote', closed: false, won: false, probability: 75, forecastCategory: 'Pipeline' },
  { apiName: 'Negotiation/Review', closed: false, won: false, probability: 90, forecastCategory: 'Pipeline' },
  { apiName: 'Closed Won', closed: true, won: true, probability: 100, forecastCategory: 'Closed' },
  { apiName: 'Closed Lost', closed: true, won: false, probability: 0, forecastCategory: 'Omitted' },
];

const STAGE_BY_NAME = new Map(OPPORTUNITY_STAGES.map((s) => [s.apiName, s]));

export function opportunityStage(name: unknown): OpportunityStageInfo | undefined {
  return typeof name === 'string' ? STAGE_BY_NAME.get(name) : undefined;
}

const FORECAST_CATEGORIES = ['Pipeline', 'Best Case', 'Commit', 'Closed', 'Omitted'];
export const CONTACT_ROLES = ['Business User', 'Decision Maker', 'Economic Buyer', 'Economic Decision Maker', 'Evaluator', 'Executive Sponsor',
  'Influencer', 'Technical Buyer', 'Other'];

function opportunity(): SObjectSchema {
  return new SObjectSchema('Opportunity', 'Opportunity', 'Opportunities', '006', CRUD, [
    makeIdField(),
    makeIsDeleted(),
    makeReference('AccountId', 'Account ID', ['Account'], 'Account'),
    makeString('Name', 'Name', 120, { nillable: false, nameField: true }),
    makeTextarea('Description', 'Description', 32000),
    makePicklist('StageName', 'Stage', OPPORTUNITY_STAGES.map((s) => s.apiName), { restrictedPicklist: true, nillable: false }),
    { ...makeCurrency('Amount', 'Amount'), scale: 2 },
    makeField('Probability', 'Probability (%)', 'percent', { precision: 3, scale: 0 }),
    makeDate('CloseDate', 'Close Date', { nillable: false }),
    makePicklist('Type', 'Opportunity Type', ['Existing Customer - Upgrade', 'Existing Customer - Replacement', 'Existing Customer - Downgrade', 'New Customer']),
    makePicklist('LeadSource', 'Lead Source', LEAD_SOURCES),
    makePicklist('ForecastCategoryName', 'Forecast Category', FORECAST_CATEGORIES, { restrictedPicklist: true }),
    makeBoolean('IsClosed', 'Closed', READ_ONLY),
    makeBoolean('IsWon', 'Won', READ_ONLY),
    makeOwnerId(),
    ...makeAudit(),
    makeDate('LastActivityDate', 'Last Activity', READ_ONLY),
  ]);
}

function opportunityStageObject(): SObjectSchema {
  return new SObjectSchema('OpportunityStage', 'Opportunity Stage', 'Opportunity Stages', '01M', READ_ONLY_OBJECT, [
    makeIdField(),
    makeString('ApiName', 'API Name', 255, { ...READ_ONLY, idLookup: true }),
    makeString('MasterLabel', 'Master Label', 255, READ_ONLY),
    makeString('Description', 'Description', 255, READ_ONLY),
    makeBoolean('IsActive', 'Is Active', READ_ONLY),
    makeBoolean('IsClosed', 'Closed', READ_ONLY),
    makeBoolean('IsWon', 'Won', READ_ONLY),
    makeField('DefaultProbability', 'Probability (%)', 'percent', { ...READ_ONLY, precision: 3, scale: 0 }),
    makePicklist('ForecastCategoryName', 'Forecast Category Name', FORECAST_CATEGORIES, { ...READ_ONLY, restrictedPicklist: true }),
    makeInt('SortOrder', 'Sort Order', 9),
    ...makeAudit(),
  ].map((f) => ({ ...f, createable: false, updateable: false })));
}

function opportunityContactRole(): SObjectSchema {
  return new SObjectSchema('OpportunityContactRole', 'Opportunity Contact Role', 'Opportunity Contact Role', '00K', { ...CRUD, customizable: false }, [
    makeIdField(),
    makeIsDeleted(),
    makeReference('OpportunityId', 'Opportunity ID', ['Opportunity'], 'Opportunity', { nillable: false, updateable: false }),
    makeReference('ContactId', 'Contact ID', ['Contact'], 'Contact', { nillable: false }),
    makePicklist('Role', 'Role', CONTACT_ROLES),
    makeBoolean('IsPrimary', 'Primary'),
    ...makeAudit(),
  ]);
}

export function createSalesSchemas(): SObjectSchema[] {
  return [opportunity(), opportunityStageObject(), opportunityContactRole()];
}

/** The OpportunityStage rows every org has (read-only through the API). */
export function opportunityStageRows(): Array<Record<string, string | number | boolean>> {
  return OPPORTUNITY_STAGES.map((s, i) => ({
    ApiName: s.apiName,
    MasterLabel: s.apiName,
    IsActive: true,
    IsClosed: s.closed,
    IsWon: s.won,
    DefaultProbability: s.probability,
    ForecastCategoryName: s.forecastCategory,
    SortOrder: i + 1,
  }));
}
