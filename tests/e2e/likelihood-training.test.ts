/**
 * Training on the sandboxes' own outcomes, end to end: reps close HubSpot deals in the sandbox
 * (through the official client), won for the people of the larger companies and lost for the
 * others, all of them at 200+ employees (where the rule score's size rule cannot tell them apart);
 * the connector reads the deals onto the leads; `smk model train --target won --publish` learns
 * from those outcomes, beats the rule score on the newer ones, and is published; its likelihood
 * reaches HubSpot and Salesforce at the next sync. Run as an admin runs it: bin/smk.js.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../jobs/run-once.js';
import { createRandom } from '../../connectors/sandbox/common.js';
import { fastSyncConfig, hubspotContacts, salesforceRecords, startHarness } from '../helpers/pipeline.js';
import type { Harness } from '../helpers/pipeline.js';
import { smk } from '../helpers/smk.js';

describe('training on the outcomes the sandboxes hold', () => {
  let h: Harness;

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 180_000 });
  }

  beforeAll(async () => {
    h = await startHarness({ people: 900, seed: 23, configYaml: fastSyncConfig('deals: true'), label: 'likelihood-training' });
    expect((await smk(['install'], h.env)).code).toBe(0);
    await sync();
    // People HubSpot holds whose company has 200+ employees, as the connector sees them.
    const people: Array<{ hubspotId: string; employees: number }> = [];
    for await (const page of h.runtime.ctx.leads.all()) {
      for (const { lead } of page) {
        const employees = lead.company?.employees;
        if (lead.links.hubspot && typeof employees === 'number' && employees >= 200) people.push({ hubspotId: lead.links.hubspot.id, employees });
      }
    }
    expect(people.length).toBeGreaterThanOrEqual(120);
    const chosen = people.slice(0, 140);
    const median = [...chosen].sort((a, b) => a.employees - b.employees)[Math.floor(chosen.length / 2)]!.employees;
    // Deals in a shuffled order, so that the newer outcomes hold both kinds.
    const rand = createRandom(5);
    const order = chosen.map((p) => ({ p, k: rand() })).sort((a, b) => a.k - b.k).map((x) => x.p);
    for (const [i, p] of order.entries()) {
      // HUBSPOT_DEFINED association type 3: deal to contact (v4 associations).
      await h.hubspot.crm.deals.basicApi.create({
        properties: { dealname: `Deal ${i}`, pipeline: 'default', dealstage: p.employees >= median ? 'closedwon' : 'closedlost', amount: '10000', closedate: '2026-11-30T00:00:00.000Z' },
        associations: [{ to: { id: p.hubspotId }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 3 }] }],
      });
    }
    await sync();
  }, 600_000);

  afterAll(async () => {
    await h?.close();
  });

  it('learns from them, beats the rule score on the newer ones, and is published; its likelihood reaches both CRMs', async () => {
    const evaluate = await smk(['model', 'evaluate', '--target', 'won', '--json'], h.env);
    expect(evaluate.code, evaluate.stderr).toBe(0);
    const figures = JSON.parse(evaluate.stdout) as { publishable: boolean; reasons: string[]; evaluation: { train: { outcomes: number }; test: { outcomes: number; positives: number }; model: { auc: number }; rules: { auc: number } } };
    // The deals closed here, and the few closed opportunities the seeded world came with.
    expect(figures.evaluation.train.outcomes + figures.evaluation.test.outcomes).toBeGreaterThanOrEqual(140);
    expect(figures.evaluation.model.auc).toBeGreaterThan(figures.evaluation.rules.auc);
    expect(figures.reasons).toEqual([]);

    const train = await smk(['model', 'train', '--target', 'won', '--publish'], h.env);
    expect(train.code, `${train.stdout}${train.stderr}`).toBe(0);
    expect(train.stdout).toMatch(/^Likelihood of an opportunity to be won, learnt from the org's own outcomes\.$/m);
    expect(train.stdout).toMatch(/^Saved and published as version 1\.$/m);
    await sync();
    const hubspot = (await hubspotContacts(h.hubspot, ['smk_likelihood', 'smk_likelihood_reasons'])).filter((c) => c.leadId);
    const salesforce = (await salesforceRecords(h.salesforce, ['Smk_Likelihood__c'])).filter((r) => r.leadId);
    expect(hubspot.every((c) => c.values.smk_likelihood !== null && c.values.smk_likelihood !== undefined)).toBe(true);
    expect(salesforce.every((r) => r.values.Smk_Likelihood__c !== null)).toBe(true);
    // What moves it most for the larger companies: their size, in the rule reasons' words.
    expect(hubspot.some((c) => /Company size \([\d,]+ employees\)/.test(c.values.smk_likelihood_reasons ?? ''))).toBe(true);
  }, 300_000);
});
