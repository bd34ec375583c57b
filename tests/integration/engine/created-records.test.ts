/**
 * A record the connector created holds what the create wrote: the evaluation that follows the
 * create (to write the smk values the new record may lack) must not write the synced fields again.
 * It did: every Salesforce record created in the benchmark's full sync got a second write of its
 * own Email, FirstName, LastName and LeadSource (201 writes that changed nothing at 2,000 people).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../../jobs/run-once.js';
import { startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { ENGINE_CONFIG } from './setup.js';

const CONFIG = ENGINE_CONFIG.replace('create: { salesforce: never, hubspot: never }', 'create: { salesforce: always, hubspot: never }');

describe('a record the connector created', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 12, seed: 43, label: 'engine-created', configYaml: CONFIG });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    for (let pass = 0; pass < 2; pass += 1) await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('is created with its fields and smk values in one call, and never written again with what it already holds', async () => {
    await h.hubspot.crm.contacts.basicApi.create({
      properties: { email: 'ines.moreau@northwind-traders.example', firstname: 'Ines', lastname: 'Moreau', company: 'Northwind Traders', jobtitle: 'VP Marketing', phone: '+1 555 0100' },
      associations: [],
    });
    let created = 0;
    let written = 0;
    for (let pass = 0; pass < 3; pass += 1) {
      const result = await syncOnce(h.runtime.ctx, { timeoutMs: 60_000 });
      created += result.created.salesforce;
      written += result.writes.salesforce;
    }
    const rows = await h.salesforce.query<{ Id: string; FirstName: string; Phone: string; Smk_Score__c: number | null }>(
      "SELECT Id, FirstName, Phone, Smk_Score__c FROM Lead WHERE Email = 'ines.moreau@northwind-traders.example'",
    );
    expect(rows.records).toHaveLength(1);
    expect(rows.records[0]).toMatchObject({ FirstName: 'Ines', Phone: '+1 555 0100' });
    expect(rows.records[0]?.Smk_Score__c).not.toBeNull();
    expect({ created, written }).toEqual({ created: 1, written: 0 });
  }, 180_000);
});
