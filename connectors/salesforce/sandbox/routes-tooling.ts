/**
 * The Tooling API subset used to provision fields idempotently: `POST /tooling/sobjects/CustomField`
 * (201 `{id, success, errors, warnings, infos}`), read / update / delete by id, and
 * `GET /tooling/query?q=SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE ...`; and
 * the objects selected for Change Data Capture, as `PlatformEventChannelMember` rows of the standard
 * `ChangeEvents` channel (`SelectedEntity` `LeadChangeEvent`; Metadata API Developer Guide,
 * "PlatformEventChannelMember"; the Tooling API queries the same type), read-only here: an admin
 * selects objects in Setup > Integrations > Change Data Capture (the control surface's `PUT /cdc`).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { dataBase, param, parseBody } from './context.js';
import type { SandboxContext } from './context.js';
import { createCustomField, customFieldBody, customFieldMetadata, deleteCustomField, updateCustomField } from './custom-fields.js';
import { describeSObject } from './describe.js';
import { SfApiError, notFound } from './errors.js';
import { SObjectSchema, makeField, picklistValues } from './objects.js';
import type { FieldDef } from './objects.js';
import { answerLocator, answerQuery } from './routes-query.js';
import type { QueryTarget } from './routes-query.js';
import { rootColumns } from './soql/paths.js';
import type { SelectNode } from './soql/paths.js';
import type { CustomFieldRow } from './store.js';
import { INTEGRATION_USER } from './store.js';
import { outputValue, readValue } from './values.js';
import type { SfRecord } from './values.js';

const locked = { createable: false, updateable: false };

/** The Tooling API's CustomField object, as far as provisioning needs it. */
export function customFieldSchema(): SObjectSchema {
  return new SObjectSchema(
    'CustomField',
    'Custom Field Definition',
    'Custom Field Definitions',
    '00N',
    { createable: true, updateable: true, deletable: true, queryable: true, customizable: false, softDelete: false },
    [
      makeField('Id', 'Custom Field Definition ID', 'id', { length: 18, ...locked, nillable: false }),
      makeField('DeveloperName', 'Field Name', 'string', { length: 40, ...locked }),
      makeField('TableEnumOrId', 'Table Enum or ID', 'string', { length: 40, ...locked }),
      makeField('NamespacePrefix', 'Namespace Prefix', 'string', { length: 15, ...locked }),
      makeField('ManageableState', 'Manageable State', 'picklist', { ...locked, picklistValues: picklistValues(['unmanaged', 'installed', 'released']) }),
      makeField('Description', 'Description', 'string', { length: 1000, ...locked }),
      makeField('InlineHelpText', 'Help Text', 'string', { length: 510, ...locked }),
      makeField('Length', 'Length', 'int', { ...locked }),
      makeField('Precision', 'Precision', 'int', { ...locked }),
      makeField('Scale', 'Scale', 'int', { ...locked }),
      makeField('FullName', 'Full Name', 'string', { length: 255, ...locked, filterable: false, sortable: false }),
      makeField('Metadata', 'Metadata', 'textarea', { length: 131_072, ...locked }),
      makeField('CreatedDate', 'Created Date', 'datetime', locked),
      makeField('CreatedById', 'Created By ID', 'reference', { length: 18, ...locked, referenceTo: ['User'] }),
      makeField('LastModifiedDate', 'Last Modified Date', 'datetime', locked),
      makeField('LastModifiedById', 'Last Modified By ID', 'reference', { length: 18, ...locked, referenceTo: ['User'] }),
    ],
  );
}

function rowRecord(row: CustomFieldRow): SfRecord {
  const m = row.metadata;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    Id: row.id,
    DeveloperName: row.developerName,
    TableEnumOrId: row.object,
    NamespacePrefix: null,
    ManageableState: 'unmanaged',
    Description: typeof m.description === 'string' ? m.description : null,
    InlineHelpText: typeof m.inlineHelpText === 'string' ? m.inlineHelpText : null,
    Length: num(m.length),
    Precision: num(m.precision),
    Scale: num(m.scale),
    FullName: row.fullName,
    Metadata: JSON.stringify(m),
    CreatedDate: row.createdDate,
    CreatedById: INTEGRATION_USER.Id,
    LastModifiedDate: row.createdDate,
    LastModifiedById: INTEGRATION_USER.Id,
  };
}

/** A member of the standard Change Data Capture channel: one selected object. */
export function channelMemberSchema(): SObjectSchema {
  return new SObjectSchema(
    'PlatformEventChannelMember',
    'Platform Event Channel Member',
    'Platform Event Channel Members',
    '0v8',
    { createable: false, updateable: false, deletable: false, queryable: true, customizable: false, softDelete: false },
    [
      makeField('Id', 'Platform Event Channel Member ID', 'id', { length: 18, ...locked, nillable: false }),
      makeField('DeveloperName', 'Developer Name', 'string', { length: 80, ...locked }),
      makeField('EventChannel', 'Event Channel', 'string', { length: 255, ...locked }),
      makeField('SelectedEntity', 'Selected Entity', 'string', { length: 255, ...locked }),
    ],
  );
}

function renderTooling(res: Response, schema: SObjectSchema, record: SfRecord, columns: readonly FieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: schema.name, url: `${dataBase(res)}/tooling/sobjects/${schema.name}/${String(record.Id)}` } };
  for (const f of columns) {
    const v = readValue(record, f);
    out[f.name] = f.name === 'Metadata' && typeof v === 'string' ? JSON.parse(v) : outputValue(f, v);
  }
  return out;
}

export function toolingRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;
  const schema = customFieldSchema();
  const members = channelMemberSchema();
  const memberRows = (): SfRecord[] =>
    ctx.changeEvents.entities().map((entity, i) => ({
      Id: `0v8${String(i + 1).padStart(12, '0')}AAA`,
      DeveloperName: `ChangeEvents_${entity}ChangeEvent`,
      EventChannel: 'ChangeEvents',
      SelectedEntity: `${entity}ChangeEvent`,
    }));
  const target: QueryTarget = {
    resolve: (name) => (name.toLowerCase() === 'customfield' ? schema : name.toLowerCase() === 'platformeventchannelmember' ? members : undefined),
    source: (s) => (s === members ? { schema: members, scanAll: memberRows } : { schema, scanAll: () => [...store.customFields.values()].map(rowRecord) }),
    // CustomField declares no relationship names: a tooling select list is fields only.
    render: (res, type, record, select: readonly SelectNode[]) => renderTooling(res, type, record, rootColumns(select)),
    check: (query, rows) => {
      if (rows > 1 && query.columns.some((f) => f.name === 'FullName' || f.name === 'Metadata')) {
        throw new SfApiError(400, 'MALFORMED_QUERY', 'When retrieving results with Metadata or FullName fields, the query qualificiations must specify no more than one row for retrieval. Result size: ' + rows);
      }
    },
  };
  const customFieldType = (req: Request) => {
    if (param(req, 'type').toLowerCase() !== 'customfield') throw notFound();
  };
  const rowOf = (req: Request): CustomFieldRow => {
    customFieldType(req);
    const id = param(req, 'id');
    const row = store.customFields.get(id) ?? [...store.customFields.values()].find((r) => r.id.slice(0, 15) === id.slice(0, 15));
    if (!row) throw notFound();
    return row;
  };

  router.get('/tooling/query', (req, res) => answerQuery(req, res, ctx, target, false));
  router.get('/tooling/query/:locator', (req, res) => answerLocator(req, res, ctx, target));

  router.get('/tooling/sobjects/:type/describe', (req, res) => {
    customFieldType(req);
    res.json(describeSObject(schema, `${dataBase(res)}/tooling`));
  });

  router.post('/tooling/sobjects/:type', (req, res) => {
    customFieldType(req);
    const body = parseBody(customFieldBody, req);
    const row = createCustomField(store, body.FullName, body.Metadata);
    res.status(201).json({ id: row.id, success: true, errors: [], warnings: [], infos: [] });
  });

  router.get('/tooling/sobjects/:type/:id', (req, res) => {
    res.json(renderTooling(res, schema, rowRecord(rowOf(req)), schema.fields));
  });

  router.patch('/tooling/sobjects/:type/:id', (req, res) => {
    const row = rowOf(req);
    const body = parseBody(z.object({ FullName: z.string().optional(), Metadata: customFieldMetadata }), req);
    if (body.FullName && body.FullName.toLowerCase() !== row.fullName.toLowerCase()) {
      throw new SfApiError(400, 'FIELD_INTEGRITY_EXCEPTION', 'Renaming a custom field is not supported by the sandbox', ['FullName']);
    }
    updateCustomField(store, row, body.Metadata);
    res.status(204).end();
  });

  router.delete('/tooling/sobjects/:type/:id', (req, res) => {
    deleteCustomField(store, rowOf(req));
    res.status(204).end();
  });
  return router;
}
