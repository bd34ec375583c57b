import type { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { fixture, officialClient, raw, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 200, seed: 5 });

let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world });
  client = officialClient(sandbox);
  // The connector provisions its properties itself; here the test does.
  await client.crm.properties.groupsApi.create('contacts', { name: 'smarketing', label: 'Smarketing' });
  await client.crm.properties.coreApi.create('contacts', {
    name: 'smk_grade',
    label: 'Smarketing grade',
    type: 'enumeration' as never,
    fieldType: 'select' as never,
    groupName: 'smarketing',
    options: [
      { label: 'Hot', value: 'hot', hidden: false, displayOrder: 0 },
      { label: 'Warm', value: 'warm', hidden: false, displayOrder: 1 },
      { label: 'Cold', value: 'cold', hidden: false, displayOrder: 2 },
    ],
  });
  await client.crm.properties.coreApi.create('contacts', {
    name: 'smk_score',
    label: 'Smarketing score',
    type: 'number' as never,
    fieldType: 'number' as never,
    groupName: 'smarketing',
  });
});
afterAll(async () => {
  await sandbox.close();
});

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: { category?: string; message?: string; context?: Record<string, string[]> } }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; body: { category?: string; message?: string } };
  }
  throw new Error('expected the call to fail');
}

describe('HubSpot sandbox: batch endpoints', () => {
  it('batch read answers 207 for a missing id; the SDK returns the results with the errors', async () => {
    const res = await client.crm.contacts.batchApi.read({ inputs: [{ id: '101' }, { id: '999999999' }, { id: '102' }], properties: [], propertiesWithHistory: [] });
    expect(res.results.map((r) => r.id).sort()).toEqual(['101', '102']);
    const withErrors = res as typeof res & { numErrors?: number; errors?: Array<{ category: string; context: Record<string, string[]> }> };
    expect(withErrors.numErrors).toBe(1);
    expect(withErrors.errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
    expect(withErrors.errors?.[0]?.context.ids).toEqual(['999999999']);

    const wire = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '101' }, { id: '999999999' }], properties: [] });
    expect(wire.status).toBe(207);
    expect(shapeDiff(wire.body, fixture('batch-read-207.json'))).toEqual([]);
  });

  it('batch read by email and with property history (capped at 50 inputs)', async () => {
    const emails = [String(sandbox.store.getRecord('103')?.props.email), String(sandbox.store.getRecord('104')?.props.email)];
    const res = await client.crm.contacts.batchApi.read({
      inputs: emails.map((id) => ({ id: id.toUpperCase() })),
      idProperty: 'email',
      properties: ['email'],
      propertiesWithHistory: ['email'],
    });
    expect(res.results.map((r) => r.id).sort()).toEqual(['103', '104']);
    expect(res.results[0]?.propertiesWithHistory?.email?.[0]?.value).toBe(res.results[0]?.properties.email);
    const tooMany = await failure(
      client.crm.contacts.batchApi.read({ inputs: Array.from({ length: 51 }, (_, i) => ({ id: String(101 + i) })), properties: [], propertiesWithHistory: ['email'] }),
    );
    expect(tooMany.code).toBe(400);
    expect(tooMany.body.message).toBe('The maximum number of inputs supported in a batch request for property histories is 50');
  });

  it('refuses more than 100 inputs with a 400', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ id: String(101 + i) }));
    const read = await failure(client.crm.contacts.batchApi.read({ inputs, properties: [], propertiesWithHistory: [] }));
    expect(read.code).toBe(400);
    expect(read.body.category).toBe('VALIDATION_ERROR');
    const update = await failure(client.crm.contacts.batchApi.update({ inputs: inputs.map((i) => ({ ...i, properties: { smk_score: '1' } })) }));
    expect(update.code).toBe(400);
    expect(sandbox.store.getRecord('101')?.props.smk_score).toBeUndefined();
  });

  it('batch update with objectWriteTraceId: 207, the failing input reported by its trace id, the others applied', async () => {
    const res = await client.crm.contacts.batchApi.update({
      inputs: [
        { id: '110', properties: { smk_score: '72', smk_grade: 'warm' }, objectWriteTraceId: 'lead-a:110' },
        { id: '111', properties: { smk_score: '10', smk_grade: 'tepid' }, objectWriteTraceId: 'lead-b:111' },
        { id: '112', properties: { smk_score: '91', smk_grade: 'hot' }, objectWriteTraceId: 'lead-c:112' },
      ],
    });
    const withErrors = res as typeof res & { numErrors?: number; errors?: Array<{ category: string; context: Record<string, string[]>; message: string }> };
    expect(withErrors.numErrors).toBe(1);
    expect(withErrors.errors?.[0]?.category).toBe('VALIDATION_ERROR');
    expect(withErrors.errors?.[0]?.context.objectWriteTraceId).toEqual(['lead-b:111']);
    expect(withErrors.errors?.[0]?.message).toContain('smk_grade');
    expect(res.results.map((r) => r.id).sort()).toEqual(['110', '112']);
    expect(res.results.find((r) => r.id === '112')?.objectWriteTraceId).toBe('lead-c:112');
    expect(sandbox.store.getRecord('110')?.props.smk_grade).toBe('warm');
    expect(sandbox.store.getRecord('112')?.props.smk_score).toBe('91');
    expect(sandbox.store.getRecord('111')?.props.smk_score).toBeUndefined();

    const wire = await raw(sandbox, 'POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: '113', properties: { smk_score: '72' }, objectWriteTraceId: 'lead-d:113' },
        { id: '114', properties: { smk_grade: 'tepid' }, objectWriteTraceId: 'lead-e:114' },
      ],
    });
    expect(wire.status).toBe(207);
    expect(shapeDiff(wire.body, fixture('batch-update-207.json'))).toEqual([]);
  });

  it('batch update without trace ids fails as a whole on one bad input, writing nothing', async () => {
    const err = await failure(
      client.crm.contacts.batchApi.update({
        inputs: [
          { id: '120', properties: { smk_score: '50' } },
          { id: '121', properties: { smk_grade: 'lukewarm' } },
        ],
      }),
    );
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    expect(sandbox.store.getRecord('120')?.props.smk_score).toBeUndefined();

    const missing = await failure(client.crm.contacts.batchApi.update({ inputs: [{ id: '120', properties: { smk_score: '50' } }, { id: '888888', properties: { smk_score: '1' } }] }));
    expect(missing.code).toBe(404);
    expect(missing.body.category).toBe('OBJECT_NOT_FOUND');
    expect(missing.body.context?.ids).toEqual(['888888']);
    expect(sandbox.store.getRecord('120')?.props.smk_score).toBeUndefined();

    const traced = await client.crm.contacts.batchApi.update({
      inputs: [
        { id: '120', properties: { smk_score: '50' }, objectWriteTraceId: 't1' },
        { id: '888888', properties: { smk_score: '1' }, objectWriteTraceId: 't2' },
      ],
    });
    const errors = (traced as typeof traced & { errors?: Array<{ category: string; context: Record<string, string[]> }> }).errors;
    expect(errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
    expect(errors?.[0]?.context.objectWriteTraceId).toEqual(['t2']);
    expect(sandbox.store.getRecord('120')?.props.smk_score).toBe('50');
  });

  it('batch create: 201, a duplicate email fails the whole batch with 409, trace ids make it a 207', async () => {
    const created = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'batch.one@example.com', firstname: 'One' }, associations: [] },
        { properties: { email: 'batch.two@example.com', firstname: 'Two' }, associations: [] },
      ],
    });
    expect(created.status).toBe('COMPLETE');
    expect(created.results).toHaveLength(2);
    const dup = await failure(
      client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: 'batch.three@example.com' }, associations: [] },
          { properties: { email: 'BATCH.ONE@example.com' }, associations: [] },
        ],
      }),
    );
    expect(dup.code).toBe(409);
    expect(dup.body.message).toMatch(/^Contact already exists\. Existing ID: \d+$/);
    expect(sandbox.store.findByEmail('batch.three@example.com', false)).toBeUndefined();
    const partial = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'batch.three@example.com' }, associations: [], objectWriteTraceId: 'c1' },
        { properties: { email: 'BATCH.ONE@example.com' }, associations: [], objectWriteTraceId: 'c2' },
      ],
    });
    const errors = (partial as typeof partial & { errors?: Array<{ category: string; context: Record<string, string[]> }> }).errors;
    expect(errors?.[0]?.category).toBe('CONFLICT');
    expect(errors?.[0]?.context.objectWriteTraceId).toEqual(['c2']);
    expect(sandbox.store.findByEmail('batch.three@example.com', false)).toBeDefined();
  });

  it('batch upsert by email updates existing contacts and creates new ones', async () => {
    const existing = String(sandbox.store.getRecord('130')?.props.email);
    const res = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: existing, idProperty: 'email', properties: { smk_score: '33' } },
        { id: 'upserted.new@example.com', idProperty: 'email', properties: { firstname: 'Upserted' } },
      ],
    });
    const byId = new Map(res.results.map((r) => [r.id, r]));
    expect(byId.get('130')?._new).toBe(false);
    const created = res.results.find((r) => r.id !== '130');
    expect(created?._new).toBe(true);
    expect(created?.properties.email).toBe('upserted.new@example.com');
    expect(sandbox.store.getRecord('130')?.props.smk_score).toBe('33');
  });

  it('batch archive answers 204 and archives what exists', async () => {
    await client.crm.contacts.batchApi.archive({ inputs: [{ id: '140' }, { id: '777777' }] });
    expect(sandbox.store.getRecord('140')?.archived).toBe(true);
  });
});
