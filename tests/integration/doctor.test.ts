/**
 * `smk doctor` finds and explains each misconfiguration: every check that fails names what is
 * wrong and how to fix it, and one failure does not hide the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/cli/doctor.js';
import type { Check } from '../../src/cli/doctor.js';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { writeConfig } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { bootstrap } from '../../jobs/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Client as HubSpotClient } from '@hubspot/api-client';
import { connect } from './salesforce-sandbox/helpers.js';
import { startSlackReceiver, startSmtpReceiver } from '../helpers/alert-receivers.js';

function find(checks: Check[], name: RegExp): Check {
  const check = checks.find((c) => name.test(c.name));
  if (!check) throw new Error(`no check named ${String(name)} in ${JSON.stringify(checks.map((c) => c.name))}`);
  return check;
}

describe('smk doctor', () => {
  let sandboxes: Sandboxes;
  let t: TestRedis;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 30, seed: 4, hubspotPerTenSeconds: 0 });
    t = await testRedis('doctor');
    env = {
      ...sandboxEnv(sandboxes.connection),
      REDIS_URL: t.url,
      SMK_KEY_PREFIX: t.prefix.replace(/:$/, ''),
      SMK_ADMIN_TOKEN: 'doctor-admin-token-123456',
      SMK_ENCRYPTION_KEY: 'b'.repeat(64),
    };
  });

  afterAll(async () => {
    await t?.cleanup();
    await sandboxes?.close();
  });

  it('says the fields are missing before `smk install`, and all is well after it', async () => {
    const before = await diagnose({ env });
    expect(find(before, /HubSpot fields/)).toMatchObject({ status: 'fail', fix: 'run `smk install`' });
    expect(find(before, /Salesforce fields/)).toMatchObject({ status: 'fail', fix: 'run `smk install`' });
    expect(find(before, /HubSpot connection/).status).toBe('ok');

    const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }) });
    for (const crm of ['hubspot', 'salesforce'] as const) await runtime.ctx.connectors[crm].ensureSchema();
    await runtime.close();

    const after = await diagnose({ env });
    expect(after.filter((c) => c.status === 'fail')).toEqual([]);
    expect(find(after, /HubSpot fields/).detail).toMatch(/smk fields in place/);
  });

  it('checks who sees the fields: the integration user\'s access, the reps\' permission set and its holders, the page layouts, the HubSpot group', async () => {
    // ensureSchema ran (previous test): the integration user reads and edits every field; the
    // reps' permission set and the layouts are not there yet.
    const before = await diagnose({ env });
    expect(find(before, /Salesforce field access/)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/reads and edits all 34 Smk fields, through "Smarketing Connector Integration"/) });
    expect(find(before, /Salesforce permission set/)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/"Smarketing Connector" does not exist/), fix: 'run `smk install`' });
    expect(find(before, /Salesforce page layouts/)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/2 of 2 Lead and Contact page layouts lack Smk fields: Contact-Contact Layout \(no Smarketing section\), Lead-Lead Layout \(no Smarketing section\)/), fix: 'run `smk install --layouts`' });
    expect(find(before, /HubSpot property group/)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/smarketing holds all 18 smk properties, and the app reads them/) });

    const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }) });
    const setup = runtime.ctx.connectors.salesforceSetup;
    if (!setup) throw new Error('no Salesforce setup');
    await setup.ensureUserAccess();
    let checks = await diagnose({ env });
    expect(find(checks, /Salesforce permission set/)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/no active user holds "Smarketing Connector"/), fix: expect.stringContaining('smk install --assign') });
    const users = await setup.resolveAssignees({ kind: 'profile', name: 'Standard User' });
    await setup.ensureUserAccess({ assign: { target: { kind: 'profile', name: 'Standard User' }, users } });
    await setup.ensureLayouts();
    await runtime.close();
    checks = await diagnose({ env });
    expect(find(checks, /Salesforce permission set/)).toMatchObject({ status: 'ok', detail: `"Smarketing Connector" grants its Smk fields and ${users.length} active user(s) hold it` });
    expect(find(checks, /Salesforce page layouts/)).toMatchObject({ status: 'ok', detail: 'the Smarketing section is on all 2 Lead and Contact page layouts' });
    expect(checks.filter((c) => c.status !== 'ok' && !/admin token|encryption key|Change Data Capture/.test(c.name))).toEqual([]);
  });

  it('names the fields the integration user cannot read or edit, and the fix', async () => {
    const conn = connect(sandboxes.salesforce);
    const rows = await conn.query<{ Id: string; Field: string }>("SELECT Id, Field FROM FieldPermissions WHERE Parent.Name = 'Smarketing_Connector_Integration' AND (Field = 'Contact.Smk_Score__c' OR Field = 'Lead.Smk_Stage__c')");
    const score = rows.records.find((r) => r.Field === 'Contact.Smk_Score__c');
    const stage = rows.records.find((r) => r.Field === 'Lead.Smk_Stage__c');
    await conn.sobject('FieldPermissions').destroy(score?.Id as string);
    await conn.sobject('FieldPermissions').update({ Id: stage?.Id as string, PermissionsEdit: false });
    const checks = await diagnose({ env });
    const access = find(checks, /Salesforce field access/);
    expect(access.status).toBe('fail');
    expect(access.detail).toContain('cannot read 1 Smk field(s): Contact.Smk_Score__c');
    expect(access.detail).toContain('can read but not edit 1: Lead.Smk_Stage__c');
    expect(access.fix).toMatch(/^run `smk install`/);
    // The fix works.
    const runtime = await bootstrap({ config: loadConfig({ env }), logger: createLogger({ level: 'silent' }) });
    await runtime.ctx.connectors.salesforce.ensureSchema();
    await runtime.close();
    expect(find(await diagnose({ env }), /Salesforce field access/).status).toBe('ok');
  });

  it('names an smk property that left the smarketing group', async () => {
    const hubspot = new HubSpotClient({ accessToken: sandboxes.connection.hubspot.accessToken, basePath: sandboxes.connection.hubspot.baseUrl });
    await hubspot.crm.properties.coreApi.update('contacts', 'smk_grade', { groupName: 'contactinformation' });
    const group = find(await diagnose({ env }), /HubSpot property group/);
    expect(group).toMatchObject({ status: 'fail', detail: expect.stringContaining('smk_grade is in the group contactinformation, not smarketing'), fix: expect.stringMatching(/^run `smk install`/) });
    await hubspot.crm.properties.coreApi.update('contacts', 'smk_grade', { groupName: 'smarketing' });
  });

  it('says whether Change Data Capture is on for Lead and Contact, and how to turn it on', async () => {
    sandboxes.salesforce.changeEvents.select(['Lead']);
    const off = find(await diagnose({ env }), /Salesforce Change Data Capture/);
    expect(off.status).toBe('warn');
    expect(off.detail).toMatch(/off for Contact/);
    expect(off.fix).toMatch(/Setup > Integrations > Change Data Capture/);
    sandboxes.salesforce.changeEvents.select(['Lead', 'Contact']);
    const on = find(await diagnose({ env }), /Salesforce Change Data Capture/);
    expect(on).toMatchObject({ status: 'ok' });
    expect(on.detail).toMatch(/on for Lead and Contact/);
    sandboxes.salesforce.changeEvents.select([]);
  });

  it('explains a config file mistake by path', async () => {
    const checks = await diagnose({ env: { ...env, SMK_CONFIG: writeConfig('scoring:\n  grades: { hot: "high" }\n') } });
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'config', status: 'fail' });
    expect(checks[0]?.detail).toContain('scoring.grades.hot: expected a number, got "high"');
  });

  it('explains a HubSpot token that is refused, and still checks Salesforce', async () => {
    const checks = await diagnose({ env: { ...env, HUBSPOT_ACCESS_TOKEN: 'pat-na1-wrong-token' } });
    const hubspot = find(checks, /HubSpot connection/);
    expect(hubspot.status).toBe('fail');
    expect(hubspot.detail).toMatch(/AUTH_INVALID/);
    expect(hubspot.fix).toMatch(/private app token/);
    expect(JSON.stringify(checks)).not.toContain('pat-na1-wrong-token');
    expect(find(checks, /Salesforce connection/).status).toBe('ok');
  });

  it('explains a Salesforce refresh token without the connected app that can use it', async () => {
    const { SALESFORCE_CLIENT_ID: _id, SALESFORCE_ACCESS_TOKEN: _token, ...rest } = env;
    const checks = await diagnose({ env: rest });
    const credentials = find(checks, /Salesforce credentials/);
    expect(credentials.status).toBe('fail');
    expect(credentials.fix).toMatch(/SALESFORCE_CLIENT_ID/);
  });

  it('explains a Redis that does not answer', async () => {
    const checks = await diagnose({ env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' } });
    const redis = find(checks, /Redis/);
    expect(redis.status).toBe('fail');
    expect(redis.fix).toMatch(/apt-get install redis-server|docker compose/);
  });

  it('warns when the admin token or the encryption key is missing', async () => {
    const { SMK_ADMIN_TOKEN: _a, SMK_ENCRYPTION_KEY: _k, ...rest } = env;
    const checks = await diagnose({ env: rest });
    expect(find(checks, /admin token/)).toMatchObject({ status: 'warn' });
    expect(find(checks, /encryption key/).fix).toMatch(/openssl rand -hex 32/);
  });
});

describe('smk doctor and the alert channels', () => {
  it('checks each channel live without sending: SMTP answers and takes the login, a Slack bot token is accepted; says what is wrong and never shows a secret', async () => {
    const smtp = await startSmtpReceiver();
    const slack = await startSlackReceiver();
    const t = await testRedis('doctor-alerts');
    try {
      const config = writeConfig(`
alerts:
  channels:
    reps-email: { type: email, host: 127.0.0.1, port: ${smtp.port}, from: "Smarketing <alerts@example.com>" }
    dead-email: { type: email, host: 127.0.0.1, port: 1, from: "Smarketing <alerts@example.com>" }
    sales-bot: { type: slack, tokenEnv: DOCTOR_SLACK_TOKEN, channel: C0123456789, apiUrl: "${slack.apiUrl}" }
    sales-team: { type: slack, webhookUrlEnv: DOCTOR_SLACK_WEBHOOK }
  routes:
    - { events: [handoff], channel: reps-email, to: owner }
    - { events: [breach], channel: dead-email, to: owner }
    - { events: [breach], channel: sales-bot }
    - { events: [breach], channel: sales-team }
`);
      const checks = await diagnose({
        configPath: config,
        env: { REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, ''), DOCTOR_SLACK_TOKEN: 'xoxb-doctor-secret-token', DOCTOR_SLACK_WEBHOOK: slack.webhookUrl('/services/T1/B1/doctorsecret') },
      });
      expect(find(checks, /alert channel "reps-email"/)).toMatchObject({ status: 'ok' });
      const dead = find(checks, /alert channel "dead-email"/);
      expect(dead).toMatchObject({ status: 'fail' });
      expect(dead.detail).toMatch(/127\.0\.0\.1:1/);
      expect(find(checks, /alert channel "sales-bot"/)).toMatchObject({ status: 'ok' });
      expect(slack.posts.map((p) => p.path)).toEqual(['/api/auth.test']);
      expect(find(checks, /alert channel "sales-team"/)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/only .* by posting/) });
      expect(smtp.mails).toEqual([]);
      expect(JSON.stringify(checks)).not.toMatch(/doctor-secret|doctorsecret/);
    } finally {
      await smtp.close();
      await slack.close();
      await t.cleanup();
    }
  });
});
