/**
 * The sandbox org's data: one table per sObject (a Map by Id plus a SystemModstamp index), the
 * custom fields added through the Tooling API, and the writes a rep makes (lead conversion, a
 * logged call). Routes validate input first (validation.ts); the store applies trusted values and
 * maintains Id, audit fields and timestamps from the SandboxClock. Every stamp it keeps
 * (CreatedDate, LastModifiedDate, SystemModstamp) is cut to the whole second, as a real org keeps
 * them (values.ts `wholeSecond`): writes within one second tie on SystemModstamp. Methods here are
 * uncounted: tests and the demo may call them directly.
 */
import type { SandboxClock } from '../../sandbox/common.js';
import type { StoreChange } from './change-events.js';
import { SfApiError } from './errors.js';
import { ModstampIndex } from './modstamp-index.js';
import { CONVERTED_LEAD_STATUS, createSchemas } from './objects.js';
import type { FieldDef, SObjectSchema } from './objects.js';
import { SECURITY_OBJECTS, createSetupSchemas } from './setup-objects.js';
import { createSalesSchemas, opportunityStageRows } from './opportunity-objects.js';
import { defaultLayouts } from './layouts.js';
import type { StoredLayout } from './layouts.js';
import { runSoql } from './soql/evaluate.js';
import type { ExecuteOptions, QueryResult, QuerySource } from './soql/evaluate.js';
import type { FoundRecord, RecordFinder } from './soql/paths.js';
import { DAY_MS, idChecksum, makeId, readValue, startOfUtcDay, wholeSecond } from './values.js';
import type { SfRecord, SfValue } from './values.js';

interface RecordFactory {
  version: number;
  make: new (values: readonly SfValue[]) => SfRecord;
  initial: SfValue[];
}

/**
 * A constructor that assigns every stored field by name. V8 then gives all records of an object
 * one hidden class with in-object fields; records built by adding ~40 computed keys one by one
 * fall into dictionary mode and take several times the memory (it matters at 1,000,000 records).
 */
function recordFactory(schema: SObjectSchema): RecordFactory {
  const stored = schema.fields.filter((f) => !f.compute);
  const body = stored.map((f, i) => `this[${JSON.stringify(f.name)}] = v[${i}];`).join('\n');
  const make = new Function('v', body) as unknown as RecordFactory['make'];
  const initial = stored.map((f) => (f.type === 'boolean' ? (f.defaultValue ?? false) : f.defaultValue));
  return { version: schema.version, make, initial };
}

/** A stamp field's value on insert: the one given (seeded history) or `fallback`, to the second. */
function stamp(given: SfValue | undefined, fallback: number): number {
  return typeof given === 'number' ? wholeSecond(given) : fallback;
}

export class SObjectTable {
  readonly records = new Map<string, SfRecord>();
  readonly index: ModstampIndex;

  constructor(readonly schema: SObjectSchema) {
    this.index = new ModstampIndex((id) => this.records.get(id));
  }

  source(): QuerySource {
    return {
      schema: this.schema,
      scanAll: () => this.records.values(),
      scanByModstamp: (lo, hi, dir) => this.index.scan(lo, hi, dir),
      lookup: (id) => this.records.get(id) ?? (id.length === 15 ? (this.records.get(id + idChecksum(id)) ?? this.records.get(`${id}AAA`)) : undefined),
    };
  }
}

/** A custom field created through the Tooling API (`CustomField` rows for tooling queries). */
export interface CustomFieldRow {
  id: string;
  object: string;
  developerName: string;
  fullName: string;
  metadata: Record<string, unknown>;
  createdDate: number;
  field: FieldDef;
}

export interface WriteOptions {
  /** One timestamp for every record of a transaction (a collection call shares it); kept to the second. */
  ts?: number;
  /** The user making the change (CreatedById / LastModifiedById). */
  actorId?: string;
}

export interface ConversionResult {
  leadId: string;
  accountId: string;
  contactId: string;
  opportunityId: string | null;
  /** The conversion's timestamp (epoch ms, to the second). */
  at: number;
}

export const INTEGRATION_USER = {
  Id: makeId('005', 46_656),
  FirstName: 'Smarketing',
  LastName: 'Integration',
  Username: 'integration@smarketing-demo.example',
  Email: 'integration@smarketing-demo.example',
  Alias: 'smkint',
};

/** Every sObject of a fresh org, keyed by lower-case name: the data objects and the setup objects. */
function allSchemas(): Map<string, SObjectSchema> {
  const schemas = createSchemas();
  for (const s of createSetupSchemas()) schemas.set(s.name.toLowerCase(), s);
  for (const s of createSalesSchemas()) schemas.set(s.name.toLowerCase(), s);
  return schemas;
}

/**
 * What a data reset (`clear()` without `schema`) keeps besides the custom fields: the org's setup,
 * that is its profiles, permission sets, field permissions and assignments.
 */
const SETUP_TABLES = ['profile', 'permissionset', 'fieldpermissions', 'permissionsetassignment'];

export class SalesforceStore {
  schemas = allSchemas();
  /**
   * Bumped by every write to a profile, permission set, field permission, assignment or user:
   * field-level security (security.ts) recomputes a user's access when it moves.
   */
  securityVersion = 0;
  private tables = new Map<string, SObjectTable>();
  private byPrefix = new Map<string, SObjectTable>();
  private counters = new Map<string, number>();
  /** Lower-case Account name to Id: the account a conversion reuses. */
  private accountByName = new Map<string, string>();
  readonly customFields = new Map<string, CustomFieldRow>();
  /** Page layouts by full name (`Lead-Lead Layout`), as the Metadata API reads and updates them. */
  readonly layouts = new Map<string, StoredLayout>();
  private factories = new WeakMap<SObjectSchema, RecordFactory>();
  /** While bulk loading, the modstamp indexes are rebuilt once at the end instead of per write. */
  private bulk = false;
  /** Told of every write outside a bulk load (Change Data Capture, change-events.ts). */
  onChange: ((change: StoreChange) => void) | null = null;

  constructor(readonly clock: SandboxClock) {
    this.buildTables();
    this.resetLayouts();
    this.insertStandardValues();
  }

  /** The org's standard picklist records that no API call creates: the opportunity stages. */
  private insertStandardValues(): void {
    const ts = Date.UTC(2015, 0, 1);
    for (const row of opportunityStageRows()) this.insert('OpportunityStage', row, { ts });
  }

  private resetLayouts(): void {
    this.layouts.clear();
    for (const layout of defaultLayouts(this.stampNow())) this.layouts.set(layout.fullName, layout);
  }

  private buildTables(keep: ReadonlyMap<string, SObjectTable> = new Map()): void {
    this.tables.clear();
    this.byPrefix.clear();
    for (const schema of this.schemas.values()) {
      const table = keep.get(schema.name.toLowerCase()) ?? new SObjectTable(schema);
      this.tables.set(schema.name.toLowerCase(), table);
      this.byPrefix.set(schema.keyPrefix, table);
    }
  }

  /**
   * Drops all data but the org's setup (custom fields, page layouts, profiles, permission sets and
   * their field permissions and assignments); with `schema: true` that too (back to a fresh org).
   */
  clear(options: { schema?: boolean } = {}): void {
    if (options.schema) {
      this.schemas = allSchemas();
      this.customFields.clear();
      this.resetLayouts();
    }
    const keep = new Map<string, SObjectTable>();
    // Ids of what survives keep counting, so that a new row never takes a surviving one's id.
    const counters = new Map<string, number>();
    if (!options.schema) {
      const fieldCounter = this.counters.get('00N');
      if (fieldCounter !== undefined) counters.set('00N', fieldCounter);
      for (const name of SETUP_TABLES) {
        const table = this.tables.get(name);
        if (!table) continue;
        keep.set(name, table);
        const n = this.counters.get(table.schema.keyPrefix);
        if (n !== undefined) counters.set(table.schema.keyPrefix, n);
      }
    }
    this.counters = counters;
    this.accountByName.clear();
    this.buildTables(keep);
    this.securityVersion += 1;
    this.insertStandardValues();
  }

  now(): number {
    return this.clock.now();
  }

  /** Now as a record stamp: the current second (`.000`). */
  stampNow(): number {
    return wholeSecond(this.clock.now());
  }

  schema(name: string): SObjectSchema | undefined {
    return this.schemas.get(name.toLowerCase());
  }

  table(name: string): SObjectTable | undefined {
    return this.tables.get(name.toLowerCase());
  }

  nextId(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return makeId(prefix, n);
  }

  /** The table an id belongs to, by its key prefix. */
  tableForId(id: string): SObjectTable | undefined {
    return this.byPrefix.get(id.slice(0, 3));
  }

  /** Finds a record by a 15- or 18-character id, deleted ones included. */
  find(id: string): { table: SObjectTable; record: SfRecord } | undefined {
    const table = this.tableForId(id);
    if (!table) return undefined;
    let record = table.records.get(id);
    if (!record && id.length === 15) record = table.records.get(id + idChecksum(id)) ?? table.records.get(`${id}AAA`);
    return record ? { table, record } : undefined;
  }

  get(id: string): SfRecord | undefined {
    return this.find(id)?.record;
  }

  /** Parent lookups for SOQL relationship paths (`Account.Name`): any record by id, with its object. */
  readonly finder: RecordFinder = (id: string): FoundRecord | undefined => {
    const found = this.find(id);
    return found ? { schema: found.table.schema, record: found.record } : undefined;
  };

  source(schema: SObjectSchema): QuerySource {
    const table = this.table(schema.name);
    if (!table) throw new Error(`no table for ${schema.name}`);
    return table.source();
  }

  /** Runs SOQL without counting an API call (tests, demo, control surface). */
  query(soql: string, options: Partial<ExecuteOptions> = {}): QueryResult {
    return runSoql(soql, (n) => this.schema(n), (s) => this.source(s), this.now(), { includeDeleted: options.includeDeleted ?? false }, this.finder);
  }

  /** Records of a type (not deleted unless asked), for tests and the demo. */
  list(type: string, options: { includeDeleted?: boolean } = {}): SfRecord[] {
    const table = this.table(type);
    if (!table) return [];
    return [...table.records.values()].filter((r) => options.includeDeleted || r.IsDeleted !== true);
  }

  count(type: string, options: { includeDeleted?: boolean } = {}): number {
    const table = this.table(type);
    if (!table) return 0;
    if (options.includeDeleted) return table.records.size;
    let n = 0;
    for (const r of table.records.values()) if (r.IsDeleted !== true) n += 1;
    return n;
  }

  /** A record with every stored field present and defaults applied. */
  private blank(schema: SObjectSchema): SfRecord {
    let factory = this.factories.get(schema);
    if (!factory || factory.version !== schema.version) {
      factory = recordFactory(schema);
      this.factories.set(schema, factory);
    }
    return new factory.make(factory.initial);
  }

  /**
   * Inserts trusted values (seed loading, conversions, validated API creates). Fills Id, defaults,
   * audit fields and timestamps; `values` may carry CreatedDate/SystemModstamp for seeded history.
   * Every stamp, given or taken from the clock, is kept to the second.
   */
  insert(type: string, values: Record<string, SfValue>, options: WriteOptions = {}): SfRecord {
    const table = this.table(type);
    if (!table) throw new Error(`unknown sObject ${type}`);
    const { schema } = table;
    const ts = wholeSecond(options.ts ?? this.now());
    const actor = options.actorId ?? INTEGRATION_USER.Id;
    const record = this.blank(schema);
    Object.assign(record, values);
    record.Id ??= this.nextId(schema.keyPrefix);
    if ('OwnerId' in record) record.OwnerId ??= actor;
    record.CreatedDate = stamp(record.CreatedDate, ts);
    record.CreatedById ??= actor;
    record.LastModifiedDate = stamp(record.LastModifiedDate, record.CreatedDate);
    record.LastModifiedById ??= record.CreatedById;
    record.SystemModstamp = stamp(record.SystemModstamp, record.LastModifiedDate);
    if (schema.name === 'Task' && record.IsClosed === true) record.CompletedDateTime ??= record.LastModifiedDate;
    table.records.set(record.Id as string, record);
    if (!this.bulk) table.index.moved(record.Id as string, null, record.SystemModstamp as number);
    if (schema.name === 'Account') this.indexAccountName(record);
    this.touched(schema);
    if (!this.bulk) this.onChange?.({ schema, record, changeType: 'CREATE', fields: [], ts: record.CreatedDate as number, actorId: record.CreatedById as string });
    return record;
  }

  private touched(schema: SObjectSchema): void {
    if (SECURITY_OBJECTS.has(schema.name)) this.securityVersion += 1;
  }

  /**
   * Deletes a record of an object without a recycle bin (the setup objects): the row is gone, as
   * it is from a real org; queryAll does not return it.
   */
  remove(record: SfRecord): void {
    const table = this.tableForId(record.Id as string);
    if (!table) throw new Error('record without a table');
    table.records.delete(record.Id as string);
    this.touched(table.schema);
  }

  /** Applies trusted changes and stamps LastModifiedDate/SystemModstamp (or SystemModstamp only), to the second. */
  update(record: SfRecord, changes: Record<string, SfValue>, options: WriteOptions & { systemOnly?: boolean; deleting?: boolean } = {}): SfRecord {
    const table = this.tableForId(record.Id as string);
    if (!table) throw new Error('record without a table');
    const ts = wholeSecond(options.ts ?? this.now());
    const previous = record.SystemModstamp as number;
    // Change Data Capture lists the fields whose values changed, not every field the write named.
    const changed = this.onChange && !this.bulk ? Object.keys(changes).filter((k) => record[k] !== changes[k]) : [];
    if (table.schema.name === 'Account' && 'Name' in changes) this.unindexAccountName(record);
    const wasClosed = record.IsClosed === true;
    Object.assign(record, changes);
    // A task saved as completed gets its completion time; reopened, it has none.
    if (table.schema.name === 'Task' && 'IsClosed' in changes) {
      if (record.IsClosed === true && !wasClosed) record.CompletedDateTime = ts;
      else if (record.IsClosed !== true) record.CompletedDateTime = null;
    }
    if (!options.systemOnly) {
      record.LastModifiedDate = ts;
      record.LastModifiedById = options.actorId ?? INTEGRATION_USER.Id;
    }
    record.SystemModstamp = ts;
    if (!this.bulk) table.index.moved(record.Id as string, previous, ts);
    if (table.schema.name === 'Account' && 'Name' in changes) this.indexAccountName(record);
    this.touched(table.schema);
    if (!this.bulk) {
      const actorId = options.actorId ?? INTEGRATION_USER.Id;
      const fields = options.systemOnly ? changed : [...changed, 'LastModifiedDate'];
      this.onChange?.({ schema: table.schema, record, changeType: options.deleting ? 'DELETE' : 'UPDATE', fields, ts, actorId });
    }
    return record;
  }

  /** Soft delete: the row stays, with IsDeleted = true, visible to queryAll. */
  softDelete(record: SfRecord, options: WriteOptions = {}): void {
    this.update(record, { IsDeleted: true }, { ...options, deleting: true });
    if (this.tableForId(record.Id as string)?.schema.name === 'Account') this.unindexAccountName(record);
  }

  private unindexAccountName(record: SfRecord): void {
    if (typeof record.Name !== 'string') return;
    const key = record.Name.toLowerCase();
    if (this.accountByName.get(key) === record.Id) this.accountByName.delete(key);
  }

  /** Runs a bulk load (seeding): index maintenance is skipped, then every index is rebuilt once. */
  bulkLoad<T>(load: () => T): T {
    this.bulk = true;
    try {
      return load();
    } finally {
      this.bulk = false;
      for (const table of this.tables.values()) table.index.rebuild(table.records.values());
    }
  }

  private indexAccountName(record: SfRecord): void {
    if (typeof record.Name === 'string' && record.IsDeleted !== true) {
      const key = record.Name.toLowerCase();
      if (!this.accountByName.has(key)) this.accountByName.set(key, record.Id as string);
    }
  }

  accountIdByName(name: string): string | undefined {
    const id = this.accountByName.get(name.toLowerCase());
    return id && this.get(id)?.IsDeleted !== true ? id : undefined;
  }

  /**
   * Converts a Lead as a rep would: reuses the Account named like the lead's Company or creates it,
   * creates the Contact (person fields plus same-named custom fields, Salesforce's lead field
   * mapping), optionally an Opportunity, and marks the lead converted. One transaction, one timestamp.
   */
  convertLead(leadId: string, options: WriteOptions & { createOpportunity?: boolean; accountId?: string } = {}): ConversionResult {
    const found = this.find(leadId);
    if (!found || found.table.schema.name !== 'Lead') throw new SfApiError(404, 'NOT_FOUND', `No Lead with id ${leadId}`);
    const lead = found.record;
    if (lead.IsDeleted === true) throw new SfApiError(400, 'ENTITY_IS_DELETED', 'entity is deleted');
    if (lead.IsConverted === true) throw new SfApiError(400, 'CANNOT_UPDATE_CONVERTED_LEAD', 'This lead was already converted to the contact.');
    const ts = wholeSecond(options.ts ?? this.now());
    const write = { ts, actorId: options.actorId ?? (lead.OwnerId as string) };
    const company = String(lead.Company ?? '');
    const accountId =
      options.accountId ??
      this.accountIdByName(company) ??
      (this.insert('Account', {
        Name: company,
        Industry: lead.Industry ?? null,
        NumberOfEmployees: lead.NumberOfEmployees ?? null,
        AnnualRevenue: lead.AnnualRevenue ?? null,
        Website: lead.Website ?? null,
        Phone: lead.Phone ?? null,
        BillingCity: lead.City ?? null,
        BillingState: lead.State ?? null,
        BillingCountry: lead.Country ?? null,
        OwnerId: lead.OwnerId ?? null,
      }, write).Id as string);
    const contactValues: Record<string, SfValue> = {
      AccountId: accountId,
      FirstName: lead.FirstName ?? null,
      LastName: lead.LastName ?? null,
      Email: lead.Email ?? null,
      Phone: lead.Phone ?? null,
      MobilePhone: lead.MobilePhone ?? null,
      Title: lead.Title ?? null,
      MailingCity: lead.City ?? null,
      MailingState: lead.State ?? null,
      MailingPostalCode: lead.PostalCode ?? null,
      MailingCountry: lead.Country ?? null,
      LeadSource: lead.LeadSource ?? null,
      Description: lead.Description ?? null,
      HasOptedOutOfEmail: lead.HasOptedOutOfEmail ?? false,
      OwnerId: lead.OwnerId ?? null,
      LastActivityDate: lead.LastActivityDate ?? null,
    };
    const leadSchema = found.table.schema;
    const contactSchema = this.schema('Contact');
    for (const f of leadSchema.customFields()) {
      const target = contactSchema?.field(f.name);
      const value = readValue(lead, f);
      if (target?.custom && target.type === f.type && value !== null) contactValues[target.name] = value;
    }
    const contact = this.insert('Contact', contactValues, write);
    let opportunityId: string | null = null;
    if (options.createOpportunity) {
      opportunityId = this.insert('Opportunity', {
        Name: `${company}-`,
        AccountId: accountId,
        StageName: 'Prospecting',
        IsClosed: false,
        IsWon: false,
        Probability: 10,
        ForecastCategoryName: 'Pipeline',
        CloseDate: startOfUtcDay(ts) + 30 * DAY_MS,
        LeadSource: lead.LeadSource ?? null,
        OwnerId: lead.OwnerId ?? null,
      }, write).Id as string;
      // A conversion that creates an Opportunity makes the new Contact its primary contact role.
      this.insert('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: contact.Id as string, IsPrimary: true }, write);
    }
    this.update(lead, {
      IsConverted: true,
      Status: CONVERTED_LEAD_STATUS,
      ConvertedAccountId: accountId,
      ConvertedContactId: contact.Id as string,
      ConvertedOpportunityId: opportunityId,
      ConvertedDate: startOfUtcDay(ts),
    }, write);
    return { leadId: lead.Id as string, accountId, contactId: contact.Id as string, opportunityId, at: ts };
  }

  /** A rep logs a call: a completed Task of subtype Call, and LastActivityDate on the person and account. */
  logCall(whoId: string, subject: string, options: WriteOptions & { description?: string } = {}): SfRecord {
    const found = this.find(whoId);
    const type = found?.table.schema.name;
    if (!found || (type !== 'Lead' && type !== 'Contact')) throw new SfApiError(404, 'NOT_FOUND', `No Lead or Contact with id ${whoId}`);
    if (found.record.IsDeleted === true) throw new SfApiError(400, 'ENTITY_IS_DELETED', 'entity is deleted');
    const who = found.record;
    const ts = wholeSecond(options.ts ?? this.now());
    const owner = (who.OwnerId as string | null) ?? INTEGRATION_USER.Id;
    const write = { ts, actorId: options.actorId ?? owner };
    const today = startOfUtcDay(ts);
    const accountId = type === 'Contact' ? ((who.AccountId as string | null) ?? null) : null;
    const task = this.insert('Task', {
      Subject: subject,
      Description: options.description ?? null,
      WhoId: who.Id as string,
      WhatId: accountId,
      OwnerId: owner,
      Status: 'Completed',
      Priority: 'Normal',
      TaskSubtype: 'Call',
      Type: 'Call',
      ActivityDate: today,
      IsClosed: true,
    }, write);
    // LastActivityDate is maintained by the system: SystemModstamp moves, LastModifiedDate does not.
    if (who.IsConverted !== true) this.update(who, { LastActivityDate: today }, { ...write, systemOnly: true });
    const account = accountId ? this.get(accountId) : undefined;
    if (account) this.update(account, { LastActivityDate: today }, { ...write, systemOnly: true });
    return task;
  }
}
