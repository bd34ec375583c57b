/**
 * Deals and companies of the sandbox portal, and the associations between them and contacts.
 * Contacts keep their own store (store.ts); these two objects share this simpler one: records by
 * id with string property values, a fixed property set per object, and associations in both
 * directions.
 *
 * Vendor behaviour followed (sources in the style of ../shared/reference/crm-api.md):
 * - Record shape, paging, batch read and search as for contacts (H1, H3): `{id, properties,
 *   createdAt, updatedAt, archived}`, string values, datetimes returned as ISO strings. [C SDK
 *   `codegen/crm/deals/models/SimplePublicObject.ts`; deal example in the Deals guide
 *   https://developers.hubspot.com/docs/api-reference/crm-deals-v3/guide]
 * - Default properties returned for deals: dealname, amount, closedate, createdate, dealstage,
 *   hs_lastmodifieddate, hs_object_id, pipeline; for companies: name, domain, createdate,
 *   hs_lastmodifieddate, hs_object_id. [C Deals and Companies guides]
 * - The default deal pipeline (`default`) and its stage ids, with their win probabilities; closedwon
 *   and closedlost are its closed stages. [C Pipelines guide, "Default pipelines"
 *   https://developers.hubspot.com/docs/api-reference/crm-pipelines-v3/guide]
 * - `hs_is_closed` and `hs_is_closed_won` are calculated, read-only deal properties that follow the
 *   stage's `isClosed` and probability; `hs_deal_stage_probability` too. [S HubSpot default deal
 *   properties, knowledge base "HubSpot's default deal properties"]
 * - A dealstage outside the pipeline's stages is refused: 400 VALIDATION_ERROR naming the property,
 *   `INVALID_OPTION`, as enumeration values of contacts are (H1). [S]
 * - Deal search filters on `hs_lastmodifieddate` (deals have no `lastmodifieddate`); the 10,000-result
 *   cap, limit 200 and the filter limits are those of every CRM search (H3). [C search guide]
 * - Associations v4: HUBSPOT_DEFINED type ids contact->company 1 (Primary) and 279, company->contact 2
 *   (Primary) and 280, deal->contact 3, contact->deal 4, deal->company 5 (Primary) and 341,
 *   company->deal 6 (Primary) and 342. [C "Associations v4" guide, "Association type id values"
 *   https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide]
 * - Companies carry `hubspot_owner_id` ("Company owner"): owners are assigned to contacts,
 *   companies, deals and tickets alike by owner id. [C Owners guide
 *   https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide, "HubSpot uses owners
 *   to assign CRM object records (contacts, companies, deals, tickets, and engagements)"; S default
 *   company properties, knowledge base "HubSpot's default company properties"]
 * - A contact's primary company is its contact->company association of type 1 (Primary); the
 *   contact's read-only `associatedcompanyid` names it (property-defs.ts). [C Associations v4 guide;
 *   Developer Changelog 2019-01-24 on associatedcompanyid]
 * - Adding or removing a deal's contact updates the deal's `num_associated_contacts` rollup, and so its
 *   `hs_lastmodifieddate`. [U: what the sandbox does; a search cursor on hs_lastmodifieddate relies on it]
 */
import type { SandboxClock } from '../../sandbox/common.js';
import { isoOf, parseTimeInput } from './properties.js';
import type { PropertyValueError } from './properties.js';

export const CRM_OBJECT_TYPES = ['deals', 'companies'] as const;
export type CrmObjectType = (typeof CRM_OBJECT_TYPES)[number];
export type AssociatedType = CrmObjectType | 'contacts';

export interface DealStage {
  id: string;
  label: string;
  probability: number;
  closed: boolean;
}

/** The default pipeline's stages, in display order. */
export const DEFAULT_DEAL_STAGES: readonly DealStage[] = [
  { id: 'appointmentscheduled', label: 'Appointment Scheduled', probability: 0.2, closed: false },
  { id: 'qualifiedtobuy', label: 'Qualified To Buy', probability: 0.4, closed: false },
  { id: 'presentationscheduled', label: 'Presentation Scheduled', probability: 0.6, closed: false },
  { id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', probability: 0.8, closed: false },
  { id: 'contractsent', label: 'Contract Sent', probability: 0.9, closed: false },
  { id: 'closedwon', label: 'Closed Won', probability: 1, closed: true },
  { id: 'closedlost', label: 'Closed Lost', probability: 0, closed: true },
];

type PropertyType = 'string' | 'number' | 'datetime' | 'enumeration' | 'bool';

interface PropertyDef {
  type: PropertyType;
  readOnly?: boolean;
  options?: readonly string[];
}

const COMMON: Record<string, PropertyDef> = {
  createdate: { type: 'datetime' },
  hs_lastmodifieddate: { type: 'datetime', readOnly: true },
  hs_object_id: { type: 'number', readOnly: true },
  hubspot_owner_id: { type: 'string' },
};

export const OBJECT_PROPERTIES: Record<CrmObjectType, Record<string, PropertyDef>> = {
  deals: {
    ...COMMON,
    dealname: { type: 'string' },
    amount: { type: 'number' },
    pipeline: { type: 'enumeration', options: ['default'] },
    dealstage: { type: 'enumeration', options: DEFAULT_DEAL_STAGES.map((s) => s.id) },
    closedate: { type: 'datetime' },
    dealtype: { type: 'enumeration', options: ['newbusiness', 'existingbusiness'] },
    description: { type: 'string' },
    hs_is_closed: { type: 'bool', readOnly: true },
    hs_is_closed_won: { type: 'bool', readOnly: true },
    hs_deal_stage_probability: { type: 'number', readOnly: true },
    num_associated_contacts: { type: 'number', readOnly: true },
  },
  companies: {
    ...COMMON,
    name: { type: 'string' },
    domain: { type: 'string' },
    industry: { type: 'string' },
    numberofemployees: { type: 'number' },
    annualrevenue: { type: 'number' },
    city: { type: 'string' },
    state: { type: 'string' },
    country: { type: 'string' },
  },
};

export const DEFAULT_PROPERTIES: Record<CrmObjectType, readonly string[]> = {
  deals: ['dealname', 'amount', 'closedate', 'createdate', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
  companies: ['name', 'domain', 'createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

export interface CrmObjectRecord {
  type: CrmObjectType;
  id: string;
  num: number;
  props: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt: number;
}

export interface AssociationType {
  category: 'HUBSPOT_DEFINED';
  typeId: number;
  label: string | null;
}

/** HUBSPOT_DEFINED association types by direction: [unlabeled or primary, ...]. */
const ASSOCIATION_TYPES: Record<string, readonly AssociationType[]> = {
  'contacts:companies': [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }],
  'companies:contacts': [{ category: 'HUBSPOT_DEFINED', typeId: 2, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 280, label: null }],
  'deals:contacts': [{ category: 'HUBSPOT_DEFINED', typeId: 3, label: null }],
  'contacts:deals': [{ category: 'HUBSPOT_DEFINED', typeId: 4, label: null }],
  'deals:companies': [{ category: 'HUBSPOT_DEFINED', typeId: 5, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 341, label: null }],
  'companies:deals': [{ category: 'HUBSPOT_DEFINED', typeId: 6, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 342, label: null }],
};

export function associationTypes(from: AssociatedType, to: AssociatedType): readonly AssociationType[] {
  return ASSOCIATION_TYPES[`${from}:${to}`] ?? [];
}

/** The type an association of `typeId` from `from` to `to` has in the other direction. */
function inverseTypeId(from: AssociatedType, to: AssociatedType, typeId: number): number | undefined {
  const index = associationTypes(from, to).findIndex((t) => t.typeId === typeId);
  return index < 0 ? undefined : associationTypes(to, from)[index]?.typeId;
}

const FIRST_IDS: Record<CrmObjectType, number> = { deals: 9_000_001, companies: 5_000_001 };

export class CrmObjectStore {
  private records: Record<CrmObjectType, Map<string, CrmObjectRecord>> = { deals: new Map(), companies: new Map() };
  private next: Record<CrmObjectType, number> = { ...FIRST_IDS };
  /** `fromType:fromId` -> `toType` -> toId -> type ids. */
  private links = new Map<string, Map<AssociatedType, Map<string, Set<number>>>>();
  /** Bumped on every change (search caches key on it). */
  version = 0;

  constructor(private readonly clock: SandboxClock) {}

  clear(): void {
    this.records = { deals: new Map(), companies: new Map() };
    this.next = { ...FIRST_IDS };
    this.links.clear();
    this.version += 1;
  }

  get(type: CrmObjectType, id: string, archived = false): CrmObjectRecord | undefined {
    const r = this.records[type].get(id);
    return r && r.archived === archived ? r : undefined;
  }

  /** Every record of a type, in id order. */
  all(type: CrmObjectType): CrmObjectRecord[] {
    return [...this.records[type].values()];
  }

  /** Checks written values: unknown and read-only properties, numbers, datetimes, options. */
  check(type: CrmObjectType, input: Record<string, string>): { values: Record<string, string>; errors: PropertyValueError[] } {
    const defs = OBJECT_PROPERTIES[type];
    const values: Record<string, string> = {};
    const errors: PropertyValueError[] = [];
    for (const [name, raw] of Object.entries(input)) {
      const def = defs[name];
      if (!def) {
        errors.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
        continue;
      }
      if (def.readOnly) {
        errors.push({ name, error: 'READ_ONLY_VALUE', message: `Property "${name}" is a read only property; its value cannot be set.` });
        continue;
      }
      const text = raw.trim();
      if (text === '') {
        values[name] = '';
        continue;
      }
      if (def.type === 'number' && !Number.isFinite(Number(text))) {
        errors.push({ name, error: 'INVALID_FLOAT', message: `${text} was not a valid number.` });
      } else if (def.type === 'datetime') {
        const ms = parseTimeInput(text);
        if (ms === null) errors.push({ name, error: 'INVALID_DATE', message: `${text} was not a valid long or an ISO 8601 date-time.` });
        else values[name] = String(ms);
      } else if (def.type === 'enumeration' && !def.options?.includes(text)) {
        errors.push({ name, error: 'INVALID_OPTION', message: `${text} was not one of the allowed options for property "${name}": [${(def.options ?? []).join(', ')}]` });
      } else values[name] = text;
    }
    return { values, errors };
  }

  /** Derived, read-only values (a deal's closed and won flags follow its stage). */
  private derive(record: CrmObjectRecord): void {
    if (record.type !== 'deals') return;
    const stage = DEFAULT_DEAL_STAGES.find((s) => s.id === record.props.dealstage);
    record.props.hs_is_closed = String(stage?.closed ?? false);
    record.props.hs_is_closed_won = String(stage !== undefined && stage.closed && stage.probability === 1);
    if (stage) record.props.hs_deal_stage_probability = String(stage.probability);
    else delete record.props.hs_deal_stage_probability;
    record.props.num_associated_contacts = String(this.associated('deals', record.id, 'contacts').length);
  }

  create(type: CrmObjectType, values: Record<string, string>, at = this.clock.now()): CrmObjectRecord {
    const num = this.next[type]++;
    const props: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) if (value !== '') props[name] = value;
    if (type === 'deals') props.pipeline ??= 'default';
    const createdAt = props.createdate ? Number(props.createdate) : at;
    const record: CrmObjectRecord = { type, id: String(num), num, props, createdAt, updatedAt: at, archived: false, archivedAt: 0 };
    props.createdate = String(createdAt);
    props.hs_object_id = String(num);
    props.hs_lastmodifieddate = String(at);
    this.derive(record);
    this.records[type].set(record.id, record);
    this.version += 1;
    return record;
  }

  /**
   * Seed loading: a record at a caller-chosen id and times (ids made through the API then go on
   * past the highest one), so that a seeded company keeps its id whatever else the world holds.
   */
  load(type: CrmObjectType, num: number, values: Record<string, string>, createdAt: number, updatedAt: number): CrmObjectRecord {
    if (this.records[type].has(String(num))) throw new Error(`${type} ${num} is already loaded`);
    const props: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) if (value !== '') props[name] = value;
    const record: CrmObjectRecord = { type, id: String(num), num, props, createdAt, updatedAt, archived: false, archivedAt: 0 };
    props.createdate = String(createdAt);
    props.hs_object_id = String(num);
    props.hs_lastmodifieddate = String(updatedAt);
    this.derive(record);
    this.records[type].set(record.id, record);
    this.next[type] = Math.max(this.next[type], num + 1);
    this.version += 1;
    return record;
  }

  /** Applies checked values; the modification time moves only when something changed. */
  update(record: CrmObjectRecord, values: Record<string, string>, at = this.clock.now()): boolean {
    const before = JSON.stringify(record.props);
    for (const [name, value] of Object.entries(values)) {
      if (value === '') delete record.props[name];
      else record.props[name] = value;
    }
    this.derive(record);
    if (JSON.stringify(record.props) === before) return false;
    this.touch(record, at);
    return true;
  }

  private touch(record: CrmObjectRecord, at: number): void {
    record.updatedAt = at;
    record.props.hs_lastmodifieddate = String(at);
    this.version += 1;
  }

  archive(record: CrmObjectRecord, at = this.clock.now()): void {
    if (record.archived) return;
    record.archived = true;
    record.archivedAt = at;
    this.touch(record, at);
  }

  private linkSet(fromType: AssociatedType, fromId: string, toType: AssociatedType): Map<string, Set<number>> {
    const key = `${fromType}:${fromId}`;
    let byType = this.links.get(key);
    if (!byType) {
      byType = new Map();
      this.links.set(key, byType);
    }
    let set = byType.get(toType);
    if (!set) {
      set = new Map();
      byType.set(toType, set);
    }
    return set;
  }

  /** Associates two records with a type id of `from` -> `to` (the inverse direction is kept too). */
  associate(fromType: AssociatedType, fromId: string, toType: AssociatedType, toId: string, typeId: number, at = this.clock.now()): boolean {
    const inverse = inverseTypeId(fromType, toType, typeId);
    if (inverse === undefined) return false;
    const forward = this.linkSet(fromType, fromId, toType);
    forward.set(toId, new Set([...(forward.get(toId) ?? []), typeId]));
    const backward = this.linkSet(toType, toId, fromType);
    backward.set(fromId, new Set([...(backward.get(fromId) ?? []), inverse]));
    this.version += 1;
    for (const [type, id, other] of [[fromType, fromId, toType], [toType, toId, fromType]] as const) {
      const record = type === 'deals' && other === 'contacts' ? this.get('deals', id) : undefined;
      if (record) this.update(record, {}, at);
    }
    return true;
  }

  /** Removes every association between the two records. */
  dissociate(fromType: AssociatedType, fromId: string, toType: AssociatedType, toId: string, at = this.clock.now()): void {
    this.linkSet(fromType, fromId, toType).delete(toId);
    this.linkSet(toType, toId, fromType).delete(fromId);
    this.version += 1;
    for (const [type, id, other] of [[fromType, fromId, toType], [toType, toId, fromType]] as const) {
      const record = type === 'deals' && other === 'contacts' ? this.get('deals', id) : undefined;
      if (record) this.update(record, {}, at);
    }
  }

  /**
   * Makes `companyId` the contact's only primary company (types 1 and 2): a former primary stays
   * associated, unlabeled (279 and 280).
   */
  demoteOtherPrimaries(contactId: string, companyId: string): void {
    const forward = this.linkSet('contacts', contactId, 'companies');
    for (const [other, typeIds] of forward) {
      if (other === companyId || !typeIds.has(1)) continue;
      typeIds.delete(1);
      typeIds.add(279);
      const backward = this.linkSet('companies', other, 'contacts').get(contactId);
      backward?.delete(2);
      backward?.add(280);
    }
    this.version += 1;
  }

  /** The contact's primary company (its contact->company association of type 1), or null. */
  primaryCompanyOf(contactId: string): string | null {
    return this.associated('contacts', contactId, 'companies').find((a) => a.typeIds.includes(1))?.toId ?? null;
  }

  /** The records of `toType` associated with one record, in id order, with their type ids. */
  associated(fromType: AssociatedType, fromId: string, toType: AssociatedType): Array<{ toId: string; typeIds: number[] }> {
    const set = this.links.get(`${fromType}:${fromId}`)?.get(toType);
    if (!set) return [];
    return [...set]
      .map(([toId, typeIds]) => ({ toId, typeIds: [...typeIds].sort((a, b) => a - b) }))
      .sort((a, b) => Number(a.toId) - Number(b.toId));
  }

  /** A stored value as the v3 API returns it. */
  static render(type: CrmObjectType, name: string, stored: string): string {
    return OBJECT_PROPERTIES[type][name]?.type === 'datetime' && /^-?\d+$/.test(stored) ? isoOf(Number(stored)) : stored;
  }
}
