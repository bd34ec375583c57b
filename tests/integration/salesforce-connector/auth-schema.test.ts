/**
 * Sessions and field provisioning against the Salesforce sandbox: an expired session refreshed and
 * persisted (encrypted, in Redis), a revoked refresh token that ends in AUTH_INVALID without a
 * loop, JWT bearer, and ensureSchema run twice (field-access.test.ts: the integration user's
 * field-level security).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CrmError } from '../../../connectors/errors.js';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { createSalesforceConnector } from '../../../connectors/salesforce/index.js';
import { callsMatching, drain, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const oauthSchema = z.object({ tokenRequests: z.number() });

describe('Salesforce sessions', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('sf-auth', 50, 31);
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  const tokenRequests = async () => oauthSchema.parse(await (await fetch(`${h.sandbox.instanceUrl}/__sandbox/oauth`)).json()).tokenRequests;

  it('recovers an expired session by refreshing, and persists the new token in the TokenStore', async () => {
    const sf = h.connector();
    await sf.ping();
    expect(await h.tokens.get('salesforce')).toBeNull();
    const before = await tokenRequests();
    await h.control('/expire-sessions');

    const owners = await sf.owners();
    expect(owners.length).toBeGreaterThan(0);
    expect(await tokenRequests()).toBe(before + 1);
    const stored = await h.tokens.get('salesforce');
    expect(stored?.accessToken).toBeTruthy();
    expect(stored?.accessToken).not.toBe(h.sandbox.accessToken);
    expect(stored).toMatchObject({ refreshToken: h.sandbox.refreshToken, instanceUrl: h.sandbox.instanceUrl });
    // Encrypted at rest: the raw Redis value does not contain the token.
    const raw = await h.redis.redis.get(h.keys.token('salesforce'));
    expect(raw).not.toContain(stored?.accessToken ?? '!');

    // A second worker starting from the same environment takes the stored (fresh) session: no refresh.
    const other = h.connector();
    await other.owners();
    expect(await tokenRequests()).toBe(before + 1);
  });

  it('ends a revoked refresh token in AUTH_INVALID after two refused refreshes, without a loop', async () => {
    // No TokenStore here: the refreshed session of the test above must not rescue this one.
    const sf = h.connector({ tokens: undefined });
    await sf.ping();
    await h.control('/revoke', { refreshToken: h.sandbox.refreshToken });
    const before = await tokenRequests();
    await h.resetStats();

    const err = await sf.owners().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmError);
    expect(err).toMatchObject({ code: 'AUTH_INVALID' });
    expect((err as CrmError).message).toMatch(/Reconnect Salesforce/);
    expect(await tokenRequests()).toBe(before + 2);

    // Dead: later calls fail at once, with no token request and no API call.
    await expect(sf.owners()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    await expect(drain(sf.changes({}))).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(await tokenRequests()).toBe(before + 2);
    expect((await h.stats()).total).toBe(0);
  });
});

describe('Salesforce JWT bearer flow', () => {
  it('gets its session from a signed assertion', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sandbox = await startSalesforceSandbox({ jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    try {
      const gate = { take: async () => {}, observe: async () => {}, report: async () => ({ crm: 'salesforce' as const, dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }) };
      const sf = createSalesforceConnector({
        instanceUrl: sandbox.instanceUrl,
        loginUrl: sandbox.loginUrl,
        clientId: sandbox.clientId,
        jwt: { username: 'integration@smarketing-demo.example', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        gate,
      });
      const statuses = await sf.leadStatuses();
      expect(statuses.find((s) => s.isDefault)?.apiName).toBe('Open - Not Contacted');
    } finally {
      await sandbox.close();
    }
  });
});

describe('Salesforce field provisioning', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('sf-schema', 20, 41);
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  it('plans without writing on a dry run', async () => {
    await h.resetStats();
    const plan = await h.connector().ensureSchema({ dryRun: true });
    expect(plan.changes).toHaveLength(34);
    expect(plan.changes.every((c) => c.action === 'created')).toBe(true);
    const { calls, total } = await h.stats();
    // Two describes and one Tooling query (a field the integration user cannot see may exist): no write.
    expect(callsMatching(calls, 'GET /services/data/v62.0/tooling/query')).toBe(1);
    expect(Object.keys(calls).filter((k) => !k.startsWith('GET '))).toEqual([]);
    expect(total).toBe(3);
  });

  it('creates every smk field on Lead and Contact, then changes nothing the second time', async () => {
    const sf = h.connector();
    const first = await sf.ensureSchema();
    expect(first.problems).toEqual([]);
    expect(first.changes.filter((c) => c.action === 'created')).toHaveLength(34);
    expect(new Set(first.changes.map((c) => c.object))).toEqual(new Set(['Lead', 'Contact']));

    await h.resetStats();
    const second = await h.connector().ensureSchema();
    expect(second.problems).toEqual([]);
    expect(second.changes).toHaveLength(34);
    expect(second.changes.every((c) => c.action === 'unchanged')).toBe(true);
    const { calls, total } = await h.stats();
    // Two describes, zero writes.
    expect(total).toBe(2);
    expect(callsMatching(calls, 'tooling')).toBe(0);

    // The fields are usable straight away: the next read selects them.
    const lead = h.sandbox.store.list('Lead')[0];
    const [outcome] = await sf.write([{ ref: { object: 'Lead', id: String(lead?.Id) }, smk: { stage: 'sal', slaStatus: 'running' } }]);
    expect(outcome?.ok).toBe(true);
    const read = await sf.read([{ object: 'Lead', id: String(lead?.Id) }]);
    expect(read.fragments[0]?.smk).toMatchObject({ stage: 'sal', slaStatus: 'running' });
  });

  it('adds a missing picklist value to an existing field (updated), and only that field', async () => {
    const row = [...h.sandbox.store.customFields.values()].find((r) => r.fullName === 'Lead.Smk_Grade__c');
    if (!row) throw new Error('no Smk_Grade__c');
    const patched = await fetch(`${h.sandbox.instanceUrl}/services/data/v62.0/tooling/sobjects/CustomField/${row.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${h.sandbox.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        Metadata: { type: 'Picklist', label: 'Smarketing grade', valueSet: { restricted: true, valueSetDefinition: { value: [{ fullName: 'hot', label: 'Hot' }, { fullName: 'warm', label: 'Warm' }] } } },
      }),
    });
    expect(patched.status).toBe(204);
    const report = await h.connector().ensureSchema();
    expect(report.problems).toEqual([]);
    expect(report.changes.filter((c) => c.action !== 'unchanged')).toEqual([{ object: 'Lead', field: 'Smk_Grade__c', action: 'updated' }]);
    const again = await h.connector().ensureSchema();
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
  });
});
