/**
 * The Properties API for contacts (reference H4): properties and property groups, with HubSpot's
 * 409 on duplicates, type/fieldType checks and required enumeration options.
 */
import express from 'express';
import type { Request, Router } from 'express';
import { z } from 'zod';
import type { SandboxContext } from './context.js';
import { HubSpotApiError, parseOr400, standardError, type StandardError } from './errors.js';
import { FIELD_TYPES, PROPERTY_TYPES } from './property-defs.js';
import { isoOf, renderGroup, renderProperty } from './properties.js';

const optionSchema = z.object({
  label: z.string(),
  value: z.string(),
  displayOrder: z.number().int().optional(),
  hidden: z.boolean().optional(),
  description: z.string().optional(),
});

const propertyCreateSchema = z.object({
  name: z.string().min(1),
  label: z.string().min(1),
  type: z.enum(PROPERTY_TYPES),
  fieldType: z.enum(FIELD_TYPES),
  groupName: z.string().min(1),
  description: z.string().optional(),
  options: z.array(optionSchema).optional(),
  displayOrder: z.number().int().optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  hasUniqueValue: z.boolean().optional(),
  calculationFormula: z.string().optional(),
  externalOptions: z.boolean().optional(),
  referencedObjectType: z.string().optional(),
  dataSensitivity: z.string().optional(),
});

const propertyUpdateSchema = propertyCreateSchema.omit({ name: true, hasUniqueValue: true }).partial();
const groupCreateSchema = z.object({ name: z.string().min(1), label: z.string().min(1), displayOrder: z.number().int().optional() });
const groupUpdateSchema = z.object({ label: z.string().min(1).optional(), displayOrder: z.number().int().optional() });
const archivedQuerySchema = z.object({ archived: z.enum(['true', 'false']).optional(), properties: z.unknown().optional() });
const batchNamesSchema = z.object({ inputs: z.array(z.object({ name: z.string().min(1) })), archived: z.boolean().optional() });

function checkObjectType(req: Request): void {
  const objectType = String(req.params.objectType);
  if (!['contacts', 'contact', '0-1'].includes(objectType)) {
    throw new HubSpotApiError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${objectType}`);
  }
}

export function propertiesRouter(ctx: SandboxContext): Router {
  const router = express.Router({ mergeParams: true });
  const registry = () => ctx.store.registry;
  const render = (name: string) => {
    const def = registry().requireProperty(name);
    return renderProperty(def, registry().optionsOf(def));
  };

  router.use((req, _res, next) => {
    checkObjectType(req);
    next();
  });

  router.get('/', (req, res) => {
    const q = parseOr400(archivedQuerySchema, req.query, 'query');
    const defs = registry().list(q.archived === 'true');
    res.json({ results: defs.map((d) => renderProperty(d, registry().optionsOf(d))) });
  });

  router.post('/', (req, res) => {
    const body = parseOr400(propertyCreateSchema, req.body, 'JSON');
    const def = registry().create(body, ctx.clock.now());
    res.status(201).json(renderProperty(def, registry().optionsOf(def)));
  });

  router.post('/batch/create', (req, res) => {
    const startedAt = ctx.clock.now();
    const body = parseOr400(z.object({ inputs: z.array(propertyCreateSchema) }), req.body, 'JSON');
    const results: unknown[] = [];
    const errors: StandardError[] = [];
    for (const input of body.inputs) {
      try {
        const def = registry().create(input, ctx.clock.now());
        results.push(renderProperty(def, registry().optionsOf(def)));
      } catch (err) {
        if (!(err instanceof HubSpotApiError)) throw err;
        errors.push(standardError(err.category, err.message, { context: { name: [input.name] } }));
      }
    }
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: isoOf(startedAt), completedAt: isoOf(ctx.clock.now()) };
    if (errors.length > 0) Object.assign(out, { numErrors: errors.length, errors });
    res.status(errors.length > 0 ? 207 : 201).json(out);
  });

  router.post('/batch/read', (req, res) => {
    const startedAt = ctx.clock.now();
    const body = parseOr400(batchNamesSchema, req.body, 'JSON');
    const results = body.inputs.flatMap(({ name }) => {
      const def = registry().get(name);
      return def ? [renderProperty(def, registry().optionsOf(def))] : [];
    });
    res.json({ status: 'COMPLETE', results, startedAt: isoOf(startedAt), completedAt: isoOf(ctx.clock.now()) });
  });

  router.post('/batch/archive', (req, res) => {
    const body = parseOr400(batchNamesSchema, req.body, 'JSON');
    for (const { name } of body.inputs) registry().archive(name, ctx.clock.now());
    res.status(204).end();
  });

  router.get('/groups', (_req, res) => {
    res.json({ results: registry().listGroups().map(renderGroup) });
  });

  router.post('/groups', (req, res) => {
    const body = parseOr400(groupCreateSchema, req.body, 'JSON');
    res.status(201).json(renderGroup(registry().createGroup(body)));
  });

  router.get('/groups/:groupName', (req, res) => {
    res.json(renderGroup(registry().requireGroup(String(req.params.groupName))));
  });

  router.patch('/groups/:groupName', (req, res) => {
    const body = parseOr400(groupUpdateSchema, req.body, 'JSON');
    res.json(renderGroup(registry().updateGroup(String(req.params.groupName), body)));
  });

  router.delete('/groups/:groupName', (req, res) => {
    registry().archiveGroup(String(req.params.groupName));
    res.status(204).end();
  });

  router.get('/:propertyName', (req, res) => {
    parseOr400(archivedQuerySchema, req.query, 'query');
    res.json(render(String(req.params.propertyName)));
  });

  router.patch('/:propertyName', (req, res) => {
    const body = parseOr400(propertyUpdateSchema, req.body, 'JSON');
    const def = registry().update(String(req.params.propertyName), body, ctx.clock.now());
    res.json(renderProperty(def, registry().optionsOf(def)));
  });

  router.delete('/:propertyName', (req, res) => {
    const name = String(req.params.propertyName);
    registry().requireProperty(name);
    registry().archive(name, ctx.clock.now());
    res.status(204).end();
  });

  return router;
}
