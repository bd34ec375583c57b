/**
 * The likelihood model in the admin API: its versions with their figures against the rule score,
 * the published one, conversion by likelihood band, and a retrain asked for (a job as the schedule's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { likelihoodBands } from '../../src/rules/learn/bands.js';
import { trainLikelihoodModel } from '../../src/rules/learn/model.js';
import { NOW, outcomeWorld } from '../helpers/outcome-world.js';
import { authHeaders, startHarness } from './helpers.js';
import type { ServerHarness } from './helpers.js';

let h: ServerHarness;

async function getModel(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.url}/api/model`, { headers: authHeaders() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  h = await startHarness('api-model');
  for (const lead of outcomeWorld({ people: 800, seed: 3 })) await h.ctx.leads.save({ lead, views: {} });
});

afterAll(async () => {
  await h.close();
});

describe('/api/model', () => {
  it('says when no model has been trained', async () => {
    expect(await getModel()).toEqual({ status: 200, body: { published: null, models: [], bands: null } });
  });

  it('lists the versions newest first with their figures and verdicts, and the published one with conversion by likelihood band', async () => {
    const first = await h.ctx.models.save(trainLikelihoodModel(outcomeWorld({ people: 800, seed: 3 }), h.ctx.config.file, { target: 'opportunity', now: NOW }));
    const second = await h.ctx.models.save(trainLikelihoodModel(outcomeWorld({ people: 60, seed: 3 }), h.ctx.config.file, { target: 'opportunity', now: NOW }));
    await h.ctx.models.publish(first.version);
    const { status, body } = await getModel();
    expect(status).toBe(200);
    expect(body.published).toBe(first.version);
    const models = body.models as Array<Record<string, unknown>>;
    expect(models.map((m) => [m.version, m.published, m.publishable])).toEqual([[second.version, false, false], [first.version, true, true]]);
    expect(models[0]?.reasons).toEqual([expect.stringMatching(/^Too few outcomes to learn from/), expect.stringMatching(/^Too few newer outcomes to test on/)]);
    expect(models[1]?.evaluation).toEqual(first.evaluation);
    const leads = [];
    for await (const page of h.ctx.leads.all()) leads.push(...page.map((s) => s.lead));
    expect(body.bands).toEqual(likelihoodBands(leads, first, new Date(h.ctx.clock.now())));
  });

  it('queues a retrain as the schedule runs it', async () => {
    const res = await fetch(`${h.url}/api/model/retrain`, { method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: '{}' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const job = await h.ctx.queues.retrain.getJob(id);
    expect(job?.data).toEqual({ reason: 'asked from the dashboard' });
    const bad = await fetch(`${h.url}/api/model/retrain`, { method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: '{"why":"x"}' });
    expect(bad.status).toBe(400);
  });
});
