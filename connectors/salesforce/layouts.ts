/**
 * Where reps see the smk fields on a record page: a "Smarketing" section on every Lead and Contact
 * page layout, through the Metadata API over jsforce (`conn.metadata.list`, `read`, `update` of
 * `Layout`, SOAP `listMetadata`, `readMetadata`, `updateMetadata`).
 *
 * Vendor behaviour relied on:
 * - A layout's full name is `Object-Layout Name` (`Lead-Lead Layout`); `listMetadata` of `Layout`
 *   names every layout of the org [C Metadata API Developer Guide "Layout", "listMetadata()"].
 * - `updateMetadata` replaces the whole component with what it is sent, and needs every required
 *   field of it [C https://developer.salesforce.com/docs/platform/api-metadata/references/crud-based-calls/meta-updatemetadata.html]:
 *   so each layout is read, the section added to what was read, and all of it written back;
 *   `readMetadata` and `updateMetadata` take at most 10 components per call [C "Limit: 10"].
 * - `readMetadata` of a name that does not exist answers a record without `fullName` [S].
 * - Both need the "Modify Metadata Through Metadata API Functions" or "Modify All Data" permission [C].
 * - jsforce casts the answer by its `Layout` schema (api/metadata/schema.js): sections, columns
 *   and items come back as arrays, booleans as booleans; what it does not know passes through.
 *
 * Idempotent: a field already placed anywhere on a layout is left where the admin put it (the
 * Metadata API would refuse a field placed twice); only missing ones are added, to the existing
 * "Smarketing" section when there is one. A layout with nothing missing is not written.
 */
import { z } from 'zod';
import type { SalesforceClient } from './client.js';
import { parseOrThrow, stopsTheRun, toCrmError } from './client.js';
import { SMK_FIELDS } from '../../src/model/fields.js';
import type { SmkFieldKey } from '../../src/model/fields.js';
import { chunk } from './batch.js';
import { SMK_OBJECTS } from './permissions.js';

export const LAYOUT_SECTION = 'Smarketing';

/** The section's fields, top to bottom in two columns: the score and its reasons, the likelihood and its reasons, then stage, SLA and sales feedback. */
const SECTION_KEYS: readonly SmkFieldKey[] = ['score', 'grade', 'scoreReasons', 'likelihood', 'likelihoodReasons', 'stage', 'handoffAt', 'slaDueAt', 'slaStatus', 'salesDecision', 'rejectReason', 'leadQuality'];

export const LAYOUT_FIELDS: ReadonlyArray<{ field: string; behavior: 'Readonly' | 'Edit' }> = SECTION_KEYS.map((key) => {
  const def = SMK_FIELDS.find((f) => f.key === key);
  if (!def?.salesforce) throw new Error(`no Salesforce field for ${key}`);
  // Reps set the sales feedback; what the connector writes they read.
  return { field: def.salesforce, behavior: def.writtenBy === 'sales' ? 'Edit' : 'Readonly' };
});

/** Components per readMetadata / updateMetadata call. */
const PER_CALL = 10;

export const LAYOUT_FIX =
  "give the integration user 'Modify All Data' or 'Modify Metadata Through Metadata API Functions', then run `smk install --layouts` again; or in Setup > Object Manager > Lead (and Contact) > Page Layouts add a section with the Smk fields";

const itemSchema = z.looseObject({ field: z.string().nullable().optional() });
const columnSchema = z.looseObject({ layoutItems: z.array(itemSchema).optional() });
const sectionSchema = z.looseObject({ label: z.string().nullable().optional(), layoutColumns: z.array(columnSchema).optional() });
const layoutSchema = z.looseObject({ fullName: z.string().optional(), layoutSections: z.array(sectionSchema).optional() });
type Layout = z.infer<typeof layoutSchema>;
type Section = z.infer<typeof sectionSchema>;

const filePropertiesSchema = z.array(z.looseObject({ fullName: z.string(), type: z.string().optional() }));
const saveResultSchema = z.object({
  fullName: z.string(),
  success: z.boolean(),
  errors: z.array(z.looseObject({ message: z.string(), statusCode: z.string().optional() })).default([]),
});

export interface LayoutChange {
  layout: string;
  /** `added`: a new section; `extended`: fields added to the existing section; `unchanged`: nothing missing. */
  action: 'added' | 'extended' | 'unchanged';
  /** The fields added (or, on a dry run, to be added). */
  fields: string[];
}

export interface LayoutReport {
  changes: LayoutChange[];
  problems: Array<{ layout?: string; message: string; fix: string }>;
}

function placedFields(layout: Layout): Set<string> {
  const placed = new Set<string>();
  for (const s of layout.layoutSections ?? []) for (const c of s.layoutColumns ?? []) for (const i of c.layoutItems ?? []) if (i.field) placed.add(i.field.toLowerCase());
  return placed;
}

function item(f: { field: string; behavior: string }): Record<string, string> {
  return { behavior: f.behavior, field: f.field };
}

/** The layout with the missing fields added: a new section after the first one, or appended to the existing section. */
function withSection(layout: Layout, missing: ReadonlyArray<{ field: string; behavior: string }>): Layout {
  const sections = [...(layout.layoutSections ?? [])];
  const at = sections.findIndex((s) => s.label === LAYOUT_SECTION);
  if (at >= 0) {
    const existing = sections[at] as Section;
    const columns = [...(existing.layoutColumns ?? [])];
    if (columns.length === 0) columns.push({ layoutItems: [] });
    // The shorter column takes each field, so the section stays balanced.
    for (const f of missing) {
      let shortest = 0;
      columns.forEach((c, i) => {
        if ((c.layoutItems ?? []).length < (columns[shortest]?.layoutItems ?? []).length) shortest = i;
      });
      const column = columns[shortest] as z.infer<typeof columnSchema>;
      columns[shortest] = { ...column, layoutItems: [...(column.layoutItems ?? []), item(f)] };
    }
    sections[at] = { ...existing, layoutColumns: columns };
  } else {
    const half = Math.ceil(missing.length / 2);
    const section: Section = {
      customLabel: true,
      detailHeading: true,
      editHeading: true,
      label: LAYOUT_SECTION,
      layoutColumns: [{ layoutItems: missing.slice(0, half).map(item) }, { layoutItems: missing.slice(half).map(item) }],
      style: 'TwoColumnsTopToBottom',
    };
    sections.splice(Math.min(1, sections.length), 0, section);
  }
  return { ...layout, layoutSections: sections };
}

/** Every Lead and Contact layout of the org, by full name. */
async function leadAndContactLayouts(client: SalesforceClient): Promise<string[]> {
  const raw: unknown = await client.call('list layouts', (conn) => conn.metadata.list({ type: 'Layout' }).then((r): unknown => r));
  const listed = parseOrThrow(filePropertiesSchema, Array.isArray(raw) ? raw : [raw], 'listMetadata Layout');
  return listed.map((l) => l.fullName).filter((name) => SMK_OBJECTS.some((o) => name.startsWith(`${o}-`))).sort();
}

/**
 * Adds the "Smarketing" section (or its missing fields) to every Lead and Contact layout; on a dry
 * run, says what it would add (reads only: what `smk doctor` checks). The fields must exist
 * (ensureSchema runs first); a layout the org refuses is a problem of the report, the others saved.
 */
export async function ensureLayouts(client: SalesforceClient, options: { dryRun?: boolean } = {}): Promise<LayoutReport> {
  const report: LayoutReport = { changes: [], problems: [] };
  let planned: Array<{ layout: Layout; change: LayoutChange }>;
  try {
    const names = await leadAndContactLayouts(client);
    planned = [];
    for (const part of chunk(names, PER_CALL)) {
      const raw: unknown = await client.call('read layouts', (conn) => conn.metadata.read('Layout', part).then((r): unknown => r));
      const layouts = parseOrThrow(z.array(layoutSchema), Array.isArray(raw) ? raw : [raw], 'readMetadata Layout');
      layouts.forEach((layout, i) => {
        const name = part[i] as string;
        if (!layout.fullName) {
          report.problems.push({ layout: name, message: `the layout ${name} was listed but could not be read`, fix: 'run `smk install --layouts` again' });
          return;
        }
        const placed = placedFields(layout);
        const missing = LAYOUT_FIELDS.filter((f) => !placed.has(f.field.toLowerCase()));
        const hasSection = (layout.layoutSections ?? []).some((s) => s.label === LAYOUT_SECTION);
        const action = missing.length === 0 ? 'unchanged' : hasSection ? 'extended' : 'added';
        planned.push({ layout: missing.length === 0 ? layout : withSection(layout, missing), change: { layout: name, action, fields: missing.map((f) => f.field) } });
      });
    }
  } catch (err) {
    const error = toCrmError(err);
    if (stopsTheRun(error)) throw error;
    report.problems.push({ message: `could not read the page layouts through the Metadata API: ${error.message} (${error.vendorCode ?? error.code})`, fix: LAYOUT_FIX });
    return report;
  }
  const writes = planned.filter((p) => p.change.action !== 'unchanged');
  if (options.dryRun || writes.length === 0) {
    report.changes = planned.map((p) => p.change);
    return report;
  }
  const failed = new Set<string>();
  for (const part of chunk(writes, PER_CALL)) {
    try {
      const raw: unknown = await client.call('update layouts', (conn) => conn.metadata.update('Layout', part.map((p) => p.layout)).then((r): unknown => r));
      const results = parseOrThrow(z.array(saveResultSchema), Array.isArray(raw) ? raw : [raw], 'updateMetadata Layout');
      part.forEach((p, i) => {
        const result = results[i];
        if (result?.success) return;
        failed.add(p.change.layout);
        const why = result?.errors.map((e) => `${e.message}${e.statusCode ? ` (${e.statusCode})` : ''}`).join('; ') ?? 'no answer';
        report.problems.push({ layout: p.change.layout, message: `Salesforce refused the layout ${p.change.layout}: ${why}`, fix: `add the section by hand in Setup > Object Manager > ${p.change.layout.slice(0, p.change.layout.indexOf('-'))} > Page Layouts, or fix what the message names and run \`smk install --layouts\` again` });
      });
    } catch (err) {
      const error = toCrmError(err);
      if (stopsTheRun(error)) throw error;
      for (const p of part) failed.add(p.change.layout);
      report.problems.push({ message: `could not update the page layouts: ${error.message} (${error.vendorCode ?? error.code})`, fix: LAYOUT_FIX });
    }
  }
  report.changes = planned.filter((p) => !failed.has(p.change.layout)).map((p) => p.change);
  return report;
}
