/**
 * The likelihood in both CRMs, end to end: both sandboxes, a real Redis, `smk` run as an admin
 * runs it, the official clients reading back. `smk install` provisions `smk_likelihood` and
 * `smk_likelihood_reasons` (HubSpot, in the smarketing group) and `Smk_Likelihood__c` and
 * `Smk_Likelihood_Reasons__c` (Salesforce Lead and Contact); training on the sandbox's own few
 * outcomes is refused, saying why; a published model's likelihood and reasons reach every linked
 * record of both CRMs at the next sync, a quiet pass writes nothing, and a rollback puts back the
 * previous model's values, then none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../jobs/run-once.js';
import { likelihoodOf } from '../../src/rules/learn/explain.js';
import { trainLikelihoodModel } from '../../src/rules/learn/model.js';
import type { LikelihoodModel } from '../../src/rules/learn/model.js';
import { outcomeWorld, NOW } from '../helpers/outcome-world.js';
import { fastSyncConfig, hubspotContacts, resetStats, salesforceRecords, startHarness, stats, writeCalls } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';
import { smk } from '../helpers/smk.js';

const HS = ['smk_likelihood', 'smk_likelihood_reasons'];
const SF = ['Smk_Likelihood__c', 'Smk_Likelihood_Reasons__c'];

describe('the likelihood in both CRMs', () => {
  let h: Harness;
  const models: LikelihoodModel[] = [];

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }

  /** What each CRM record holds, by lead id, against what the model gives the stored lead now. */
  async function held(): Promise<Array<{ crm: string; leadId: string; likelihood: number | null; reasons: string | null }>> {
    const out: Array<{ crm: string; leadId: string; likelihood: number | null; reasons: string | null }> = [];
    for (const c of await hubspotContacts(h.hubspot, HS)) {
      if (c.leadId) out.push({ crm: 'hubspot', leadId: c.leadId, likelihood: c.values.smk_likelihood ? Number(c.values.smk_likelihood) : null, reasons: c.values.smk_likelihood_reasons || null });
    }
    for (const r of await salesforceRecords(h.salesforce, SF)) {
      if (r.leadId) out.push({ crm: 'salesforce', leadId: r.leadId, likelihood: r.values.Smk_Likelihood__c ? Number(r.values.Smk_Likelihood__c) : null, reasons: r.values.Smk_Likelihood_Reasons__c || null });
    }
    return out;
  }

  async function expectValuesOf(model: LikelihoodModel): Promise<void> {
    const rows = await held();
    expect(rows.filter((r) => r.crm === 'hubspot').length).toBeGreaterThan(50);
    expect(rows.filter((r) => r.crm === 'salesforce').length).toBeGreaterThan(50);
    const now = new Date(h.runtime.ctx.clock.now());
    for (const row of rows) {
      const stored = await h.runtime.ctx.leads.get(row.leadId);
      const expected = likelihoodOf(stored!.lead, model, now);
      expect({ ...row, likelihood: row.likelihood }).toEqual({ ...row, likelihood: expected.likelihood, reasons: expected.reasonsText || null });
    }
    // The values differ between people: it is a score, not a constant.
    expect(new Set(rows.map((r) => r.likelihood)).size).toBeGreaterThan(5);
  }

  beforeAll(async () => {
    h = await startHarness({ people: 150, seed: 19, configYaml: fastSyncConfig('deals: true'), label: 'likelihood' });
    const install = await smk(['install'], h.env);
    expect(install.code, install.stderr).toBe(0);
    await sync();
    // Two models learnt from two histories of closed outcomes (the sandbox's own are too few).
    for (const seed of [3, 4]) {
      const trained = trainLikelihoodModel(outcomeWorld({ people: 1200, seed }), h.runtime.ctx.config.file, { target: 'opportunity', now: NOW });
      models.push(await h.runtime.ctx.models.save(trained));
    }
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  it('smk install provisions the likelihood fields in both CRMs', async () => {
    for (const name of HS) {
      const property = await h.hubspot.crm.properties.coreApi.getByName('contacts', name);
      expect(property).toMatchObject({ name, groupName: 'smarketing' });
    }
    expect((await h.hubspot.crm.properties.coreApi.getByName('contacts', 'smk_likelihood')).type).toBe('number');
    for (const object of ['Lead', 'Contact']) {
      const described = await h.salesforce.sobject(object).describe();
      const fields = new Map(described.fields.map((f) => [f.name, f]));
      expect(fields.get('Smk_Likelihood__c')?.type).toBe('double');
      expect(fields.get('Smk_Likelihood_Reasons__c')?.type).toBe('string');
    }
    // No model is published: nothing is written to them.
    expect((await held()).every((r) => r.likelihood === null && r.reasons === null)).toBe(true);
  });

  it("refuses to publish a model learnt from the sandbox's own few outcomes, saying why", async () => {
    const run = await smk(['model', 'train', '--publish'], h.env);
    expect(run.code).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toMatch(/Nothing to learn from: the \d+ older outcomes|Not publishable: Too few outcomes to learn from: \d+ converted and \d+ not converted/);
    expect(await h.runtime.ctx.models.publishedVersion()).toBeNull();
  }, 60_000);

  it("writes a published model's likelihood and reasons into every linked record of both CRMs; a quiet pass writes nothing", async () => {
    const v1 = models[0] as LikelihoodModel;
    const published = await smk(['model', 'publish', String(v1.version)], h.env);
    expect(published.code, published.stderr).toBe(0);
    await sync();
    await expectValuesOf(v1);
    expect((await held()).some((r) => r.reasons !== null && /^[+-]\d+ /.test(r.reasons))).toBe(true);

    await Promise.all([resetStats(h.sandboxes.hubspot.baseUrl), resetStats(h.sandboxes.salesforce.instanceUrl)]);
    await sync();
    expect(writeCalls(await stats(h.sandboxes.hubspot.baseUrl))).toEqual({});
    expect(writeCalls(await stats(h.sandboxes.salesforce.instanceUrl))).toEqual({});
  }, 180_000);

  it('rolls back to the previous model, then to none, in both CRMs', async () => {
    const [v1, v2] = models as [LikelihoodModel, LikelihoodModel];
    // The two models disagree on some people, so that the rollback shows in the CRMs.
    const now = new Date(h.runtime.ctx.clock.now());
    const leads = (await held()).map((r) => r.leadId);
    let differ = 0;
    for (const id of leads) {
      const lead = (await h.runtime.ctx.leads.get(id))!.lead;
      if (likelihoodOf(lead, v1, now).reasonsText !== likelihoodOf(lead, v2, now).reasonsText) differ += 1;
    }
    expect(differ).toBeGreaterThan(10);
    expect((await smk(['model', 'publish', String(v2.version)], h.env)).code).toBe(0);
    await sync();
    await expectValuesOf(v2);

    const back = await smk(['model', 'rollback'], h.env);
    expect(back.stdout).toBe(`Rolled back model version ${v2.version}: version ${v1.version} is published again.\n`);
    await sync();
    await expectValuesOf(v1);

    expect((await smk(['model', 'rollback'], h.env)).code).toBe(0);
    await sync();
    expect((await held()).every((r) => r.likelihood === null && r.reasons === null)).toBe(true);
  }, 240_000);
});
