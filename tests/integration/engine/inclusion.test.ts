/**
 * Who may be created in Salesforce: `sync.create.salesforceWhen` conditions on the lead (with the
 * `salesforce` trigger) decide. An excluded HubSpot contact is still scored in HubSpot and is never
 * created in Salesforce; the rest go on. Read back through the official clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../../jobs/run-once.js';
import { startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { ENGINE_CONFIG } from './setup.js';

/** The engine tests' config, with people known only to HubSpot created in Salesforce by the rule. */
const CONFIG = ENGINE_CONFIG.replace(
  'create: { salesforce: never, hubspot: never }',
  // Only people with a company email: a free-mail address is never created in Salesforce.
  'create: { salesforce: always, hubspot: never, salesforceWhen: [{ field: email, freemail: false }] }',
);

describe('the inclusion rule for creating people in Salesforce', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 20, seed: 41, label: 'engine-inclusion', configYaml: CONFIG });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  async function inSalesforce(email: string): Promise<number> {
    const escaped = email.replace(/'/g, "\\'");
    const leads = await h.salesforce.query<{ Id: string }>(`SELECT Id FROM Lead WHERE Email = '${escaped}'`);
    const contacts = await h.salesforce.query<{ Id: string }>(`SELECT Id FROM Contact WHERE Email = '${escaped}'`);
    return leads.totalSize + contacts.totalSize;
  }

  it('reads the rule from the config it was given', () => {
    expect(h.runtime.ctx.config.file.sync.create).toMatchObject({ salesforce: 'always', salesforceWhen: [{ field: 'email', freemail: false }] });
  });

  it('creates the company-email contact and never the free-mail one, which is still scored in HubSpot', async () => {
    const created = await h.hubspot.crm.contacts.basicApi.create({
      properties: { email: 'ines.moreau@northwind-traders.example', firstname: 'Ines', lastname: 'Moreau', company: 'Northwind Traders', jobtitle: 'VP Marketing' },
      associations: [],
    });
    const excluded = await h.hubspot.crm.contacts.basicApi.create({
      properties: { email: 'tom.becker.1987@gmail.com', firstname: 'Tom', lastname: 'Becker', jobtitle: 'VP Marketing' },
      associations: [],
    });
    for (let pass = 0; pass < 2; pass += 1) await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });

    expect(await inSalesforce('ines.moreau@northwind-traders.example')).toBe(1);
    expect(await inSalesforce('tom.becker.1987@gmail.com')).toBe(0);
    const scored = await h.hubspot.crm.contacts.basicApi.getById(excluded.id, ['smk_score', 'smk_grade']);
    expect(Number(scored.properties.smk_score)).toBeGreaterThanOrEqual(0);
    expect(scored.properties.smk_grade).toMatch(/hot|warm|cold/);
    expect((await h.hubspot.crm.contacts.basicApi.getById(created.id, ['smk_score'])).properties.smk_score).toBeTruthy();
  }, 120_000);

  it('refuses a condition it cannot apply, naming it', async () => {
    const { parseConfigText } = await import('../../../src/config.js');
    expect(() => parseConfigText('sync:\n  create:\n    salesforceWhen:\n      - { field: email }\n', 'smarketing.yaml')).toThrow(/sync\.create\.salesforceWhen\[0\]: the condition on "email" needs one of/);
  });
});
