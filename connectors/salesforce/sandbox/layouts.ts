/**
 * Page layouts as the Metadata API holds them (`Layout`, full name `Object-Layout Name`): the
 * layouts of a fresh org, and the checks an `updateMetadata` of one passes before it replaces it.
 *
 * The shape is the Metadata API's [C Metadata API Developer Guide "Layout"; jsforce
 * `api/metadata/schema.js` Layout, LayoutSection, LayoutColumn, LayoutItem, RelatedListItem]:
 * `layoutSections` (each with `customLabel`, `detailHeading`, `editHeading`, `label`,
 * `layoutColumns` of `layoutItems`, and `style`: TwoColumnsTopToBottom, TwoColumnsLeftToRight,
 * OneColumn or CustomLinks), a layout item naming a `field` with its `behavior` (Edit, Required or
 * Readonly) or an `emptySpace`, then `relatedLists` and the layout's flags. The Metadata API's
 * `updateMetadata` replaces the whole component with what it is sent ("You must supply values for
 * all the required fields in the component" [C https://developer.salesforce.com/docs/platform/api-metadata/references/crud-based-calls/meta-updatemetadata.html]),
 * so a client that adds a section must read the layout, add to it, and send it all back.
 *
 * What the sandbox refuses, as per-record errors of the SaveResult (the codes are Salesforce's,
 * the messages ours [U]): a field that must be on every layout of its object left out (a Lead's
 * name, company and status, a Contact's name: Setup's "always on page" fields), a field the
 * object does not have, the same field placed twice, a field item without a valid behavior, and
 * a layout that does not exist (an update does not create one).
 */
import { recordError } from './errors.js';
import type { RecordError } from './errors.js';
import { childrenNamed, element, textOf } from './soap.js';
import type { SObjectSchema } from './objects.js';
import type { XmlNode } from './soap.js';
import { makeId } from './values.js';

export interface StoredLayout {
  id: string;
  fullName: string;
  /** The layout's elements after `fullName`, as last saved. */
  body: XmlNode[];
  createdDate: number;
  lastModifiedDate: number;
}

/** Fields every layout of the object must carry. */
const ALWAYS_ON_LAYOUT: Record<string, readonly string[]> = {
  Lead: ['Name', 'Company', 'Status'],
  Contact: ['Name'],
};
const BEHAVIORS = new Set(['Edit', 'Required', 'Readonly']);
const STYLES = new Set(['TwoColumnsTopToBottom', 'TwoColumnsLeftToRight', 'OneColumn', 'CustomLinks']);

type Item = [field: string, behavior: 'Edit' | 'Required' | 'Readonly'] | null;

function section(label: string, columns: Item[][], style = 'TwoColumnsTopToBottom', detailHeading = true): XmlNode {
  const items = (column: Item[]) =>
    column.map((item) => (item ? element('layoutItems', [element('behavior', item[1]), element('field', item[0])]) : element('layoutItems', [element('emptySpace', 'true')])));
  return element('layoutSections', [
    element('customLabel', 'false'),
    element('detailHeading', String(detailHeading)),
    element('editHeading', String(style !== 'CustomLinks')),
    element('label', label),
    ...columns.map((column) => element('layoutColumns', items(column))),
    element('style', style),
  ]);
}

function relatedList(name: string, fields: string[]): XmlNode {
  return element('relatedLists', [...fields.map((f) => element('fields', f)), element('relatedList', name)]);
}

const flags = (names: string[]) => names.map((n) => element(n, 'false'));

/** The page layouts of a fresh org, as "Lead-Lead Layout" and "Contact-Contact Layout" come. */
export function defaultLayouts(now: number): StoredLayout[] {
  const lead: XmlNode[] = [
    element('excludeButtons', 'Submit'),
    section('Lead Information', [
      [['OwnerId', 'Edit'], ['Name', 'Required'], ['Title', 'Edit'], ['Company', 'Required'], ['Industry', 'Edit'], ['AnnualRevenue', 'Edit']],
      [['Phone', 'Edit'], ['MobilePhone', 'Edit'], ['Email', 'Edit'], ['Website', 'Edit'], ['Status', 'Required'], ['LeadSource', 'Edit'], ['Rating', 'Edit'], ['NumberOfEmployees', 'Edit']],
    ]),
    section('Address Information', [[['City', 'Edit'], ['State', 'Edit']], [['PostalCode', 'Edit'], ['Country', 'Edit']]]),
    section('Description Information', [[['Description', 'Edit']]], 'OneColumn'),
    section('System Information', [[['CreatedById', 'Readonly']], [['LastModifiedById', 'Readonly']]]),
    section('Custom Links', [[], [], []], 'CustomLinks', false),
    relatedList('RelatedActivityList', ['TASK.SUBJECT', 'TASK.WHO_NAME', 'ACTIVITY.TASK', 'TASK.DUE_DATE', 'TASK.STATUS', 'CORE.USERS.FULL_NAME']),
    relatedList('RelatedHistoryList', ['TASK.SUBJECT', 'TASK.WHO_NAME', 'ACTIVITY.TASK', 'TASK.DUE_DATE', 'CORE.USERS.FULL_NAME', 'TASK.LAST_UPDATE']),
    element('showEmailCheckbox', 'false'),
    element('showHighlightsPanel', 'false'),
    element('showInteractionLogPanel', 'false'),
    element('showRunAssignmentRulesCheckbox', 'false'),
    element('showSubmitAndAttachButton', 'false'),
  ];
  const contact: XmlNode[] = [
    section('Contact Information', [
      [['OwnerId', 'Edit'], ['Name', 'Required'], ['AccountId', 'Edit'], ['Title', 'Edit'], ['Department', 'Edit'], ['LeadSource', 'Edit']],
      [['Phone', 'Edit'], ['MobilePhone', 'Edit'], ['Email', 'Edit']],
    ]),
    section('Address Information', [[['MailingCity', 'Edit'], ['MailingState', 'Edit']], [['MailingPostalCode', 'Edit'], ['MailingCountry', 'Edit']]]),
    section('Description Information', [[['Description', 'Edit']]], 'OneColumn'),
    section('System Information', [[['CreatedById', 'Readonly']], [['LastModifiedById', 'Readonly']]]),
    section('Custom Links', [[], [], []], 'CustomLinks', false),
    relatedList('RelatedActivityList', ['TASK.SUBJECT', 'TASK.WHO_NAME', 'TASK.WHAT_NAME', 'ACTIVITY.TASK', 'TASK.DUE_DATE', 'TASK.STATUS']),
    relatedList('RelatedHistoryList', ['TASK.SUBJECT', 'TASK.WHO_NAME', 'TASK.WHAT_NAME', 'ACTIVITY.TASK', 'TASK.DUE_DATE', 'TASK.LAST_UPDATE']),
    ...flags(['showEmailCheckbox', 'showHighlightsPanel', 'showInteractionLogPanel', 'showRunAssignmentRulesCheckbox', 'showSubmitAndAttachButton']),
  ];
  return [
    { id: makeId('00h', 1), fullName: 'Lead-Lead Layout', body: lead, createdDate: now, lastModifiedDate: now },
    { id: makeId('00h', 2), fullName: 'Contact-Contact Layout', body: contact, createdDate: now, lastModifiedDate: now },
  ];
}

/** The object of a layout full name (`Lead-Lead Layout` → `Lead`). */
export function layoutObject(fullName: string): string {
  const dash = fullName.indexOf('-');
  return dash > 0 ? fullName.slice(0, dash) : fullName;
}

function integrity(message: string): RecordError {
  return recordError('FIELD_INTEGRITY_EXCEPTION', message, []);
}

/**
 * What an updateMetadata of a layout with these elements would be refused for; none means it may
 * be saved. `org` is the store's layouts and objects (the store holds this module's layouts).
 */
export function checkLayout(
  org: { layouts: ReadonlyMap<string, StoredLayout>; schema(name: string): SObjectSchema | undefined },
  fullName: string,
  body: readonly XmlNode[],
): RecordError[] {
  if (!org.layouts.has(fullName)) {
    return [recordError('INVALID_CROSS_REFERENCE_KEY', `In field: fullName - no Layout named ${fullName} found`, ['fullName'])];
  }
  const object = layoutObject(fullName);
  const schema = org.schema(object);
  if (!schema) return [recordError('INVALID_CROSS_REFERENCE_KEY', `In field: fullName - no object named ${object} found`, ['fullName'])];
  const errors: RecordError[] = [];
  const placed = new Set<string>();
  for (const s of body.filter((n) => n.name === 'layoutSections')) {
    const style = textOf(s, 'style');
    const label = textOf(s, 'label') ?? '(no label)';
    if (!style || !STYLES.has(style)) errors.push(integrity(`Layout section ${label}: style must be one of ${[...STYLES].join(', ')}`));
    const columns = childrenNamed(s, 'layoutColumns');
    if (columns.length > 3) errors.push(integrity(`Layout section ${label}: at most three columns`));
    for (const item of columns.flatMap((c) => childrenNamed(c, 'layoutItems'))) {
      const field = textOf(item, 'field');
      if (field === undefined) continue;
      const def = schema.field(field);
      if (!def) {
        errors.push(integrity(`Layout section ${label}: ${object} has no field named ${field}`));
        continue;
      }
      if (placed.has(def.name)) errors.push(integrity(`Layout ${fullName} places the field ${def.name} more than once`));
      placed.add(def.name);
      const behavior = textOf(item, 'behavior');
      if (!behavior || !BEHAVIORS.has(behavior)) errors.push(integrity(`Layout section ${label}: the field ${def.name} needs a behavior of Edit, Required or Readonly`));
    }
  }
  for (const required of ALWAYS_ON_LAYOUT[schema.name] ?? []) {
    if (!placed.has(required)) errors.push(integrity(`Layout ${fullName} must contain the field ${required}: it is on every ${schema.name} layout`));
  }
  return errors;
}

/** The elements of a `<metadata xsi:type="Layout">` to store: all but `fullName`, without attributes jsforce adds. */
export function layoutBody(metadata: XmlNode): XmlNode[] {
  const strip = (n: XmlNode): XmlNode => ({ name: n.name, attrs: n.attrs['xsi:nil'] === 'true' ? { 'xsi:nil': 'true' } : {}, text: n.text, children: n.children.map(strip) });
  return metadata.children.filter((c) => c.name !== 'fullName').map(strip);
}

export function layoutRecord(layout: StoredLayout): XmlNode {
  return element('records', [element('fullName', layout.fullName), ...layout.body], { 'xsi:type': 'Layout' });
}

