/**
 * What the org says about itself: the describe of Lead and Contact (which fields exist, their
 * lengths, precisions and picklist values) and the real Lead Status values. Both are read once
 * per connector and cached: they drive the field list of every query and the pre-write checks.
 */
import { z } from 'zod';
import type { SalesforceObject } from '../../src/model/lead.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { LEAD_STATUS_QUERY } from './soql.js';

const picklistValueSchema = z.object({
  value: z.string(),
  label: z.string().nullable().optional(),
  active: z.boolean().optional(),
  defaultValue: z.boolean().optional(),
});

/** The slice of a DescribeSObjectResult field the connector uses (REST `sobjects/{type}/describe`). */
const describeFieldSchema = z.object({
  name: z.string(),
  type: z.string(),
  label: z.string().nullable().optional(),
  length: z.number().int().nullable().optional(),
  precision: z.number().int().nullable().optional(),
  scale: z.number().int().nullable().optional(),
  custom: z.boolean().optional(),
  nillable: z.boolean().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  restrictedPicklist: z.boolean().optional(),
  picklistValues: z.array(picklistValueSchema).nullable().optional(),
});
export const describeSchema = z.object({
  name: z.string(),
  fields: z.array(describeFieldSchema),
});
export type DescribeField = z.infer<typeof describeFieldSchema>;

export interface PicklistValue {
  value: string;
  label: string;
  active: boolean;
}

export interface FieldMeta {
  name: string;
  /** Salesforce field type: string, textarea, double, int, currency, picklist, datetime, boolean, ... */
  type: string;
  label: string;
  length: number | null;
  precision: number | null;
  scale: number | null;
  custom: boolean;
  /** Whether the session's user may write it (describe `updateable`: field-level security Edit). */
  updateable: boolean;
  /** Whether the field may be blank (describe `nillable`; false for required fields such as LastName, Company, Status). */
  nillable: boolean;
  restricted: boolean;
  picklist: PicklistValue[];
}

export interface ObjectMeta {
  object: SalesforceObject;
  fields: ReadonlyMap<string, FieldMeta>;
}

export function toObjectMeta(object: SalesforceObject, describe: z.infer<typeof describeSchema>): ObjectMeta {
  const fields = new Map<string, FieldMeta>();
  for (const f of describe.fields) {
    fields.set(f.name, {
      name: f.name,
      type: f.type,
      label: f.label ?? f.name,
      length: f.length ?? null,
      precision: f.precision ?? null,
      scale: f.scale ?? null,
      custom: f.custom ?? f.name.endsWith('__c'),
      updateable: f.updateable ?? true,
      nillable: f.nillable ?? true,
      restricted: f.restrictedPicklist ?? false,
      picklist: (f.picklistValues ?? []).map((p) => ({ value: p.value, label: p.label ?? p.value, active: p.active ?? true })),
    });
  }
  return { object, fields };
}

/** One row of `SELECT MasterLabel, ApiName, IsDefault, IsConverted, SortOrder FROM LeadStatus`. */
const leadStatusRowSchema = z.object({
  MasterLabel: z.string(),
  ApiName: z.string().nullable().optional(),
  IsDefault: z.boolean().nullable().optional(),
  IsConverted: z.boolean().nullable().optional(),
  SortOrder: z.number().nullable().optional(),
});

export interface LeadStatusInfo {
  label: string;
  /** The value the Status field holds and takes (ApiName; older orgs: the label). */
  apiName: string;
  isDefault: boolean;
  isConverted: boolean;
  sortOrder: number;
}

export function toLeadStatuses(rows: readonly unknown[]): LeadStatusInfo[] {
  return rows
    .map((row) => parseOrThrow(leadStatusRowSchema, row, 'LeadStatus'))
    .map((r) => ({
      label: r.MasterLabel,
      apiName: r.ApiName ?? r.MasterLabel,
      isDefault: r.IsDefault ?? false,
      isConverted: r.IsConverted ?? false,
      sortOrder: r.SortOrder ?? 0,
    }))
    .sort((a, b) => a.sortOrder - b.sortOrder);
}

/**
 * The cache of org metadata; `forget()` after a schema change. Entries expire after `ttlMs`, so a
 * long-running worker sees fields another process (`smk install`) added, at two describes a cycle.
 */
export class OrgMetadata {
  private objects = new Map<SalesforceObject, { at: number; value: Promise<ObjectMeta> }>();
  private statuses: { at: number; value: Promise<LeadStatusInfo[]> } | null = null;

  constructor(
    private readonly client: SalesforceClient,
    private readonly ttlMs = 30 * 60_000,
  ) {}

  private fresh(entry: { at: number } | null | undefined): boolean {
    return entry !== null && entry !== undefined && Date.now() - entry.at < this.ttlMs;
  }

  /** Describe of one object (REST `GET sobjects/{type}/describe`, one call). */
  object(object: SalesforceObject, options: { fresh?: boolean } = {}): Promise<ObjectMeta> {
    const cached = this.objects.get(object);
    if (cached && this.fresh(cached) && !options.fresh) return cached.value;
    const loading = this.client
      .call(`describe ${object}`, (conn) => conn.sobject(object).describe().then((d): unknown => d))
      .then((raw) => toObjectMeta(object, parseOrThrow(describeSchema, raw, `describe ${object}`)));
    const entry = { at: Date.now(), value: loading };
    // A failed load is not cached: the next caller tries again.
    loading.catch(() => {
      if (this.objects.get(object) === entry) this.objects.delete(object);
    });
    this.objects.set(object, entry);
    return loading;
  }

  /** The org's Lead Status values (`SELECT ... FROM LeadStatus`, one call). */
  leadStatuses(options: { fresh?: boolean } = {}): Promise<LeadStatusInfo[]> {
    if (this.statuses && this.fresh(this.statuses) && !options.fresh) return this.statuses.value;
    const loading = this.client.queryAll('LeadStatus', LEAD_STATUS_QUERY).then(toLeadStatuses);
    const entry = { at: Date.now(), value: loading };
    loading.catch(() => {
      if (this.statuses === entry) this.statuses = null;
    });
    this.statuses = entry;
    return loading;
  }

  forget(): void {
    this.objects.clear();
    this.statuses = null;
  }
}
