/**
 * `smk install` as an admin runs it (bin/smk.js in a child process) makes the Smk fields visible
 * to the people who work in Salesforce: the permission set "Smarketing Connector" (Read on every
 * Smk field, Edit on the ones sales sets), who holds it and how to assign it, and `--assign` to a
 * profile's active users, to users by email or to every active user; and `--layouts`, the
 * "Smarketing" section on the Lead and Contact page layouts (`--dry-run` shows it first). Results
 * are read back through jsforce as the org holds them; bad input names what is wrong and changes
 * nothing.
 */
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxes, sandboxEnv } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { testRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { smk } from '../helpers/smk.js';
import { connect } from './salesforce-sandbox/helpers.js';

const SALES_FIELDS = ['Smk_Sales_Decision__c', 'Smk_Reject_Reason__c', 'Smk_Lead_Quality__c', 'Smk_Disqualify_Reason__c'];

describe('smk install: who sees the Smk fields in Salesforce', () => {
  let sandboxes: Sandboxes;
  let t: TestRedis;
  let env: Record<string, string>;
  let conn: Connection;

  const holders = async (): Promise<string[]> => {
    const rows = await conn.query<{ Assignee: { Username: string } }>("SELECT Assignee.Username FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Smarketing_Connector'");
    return rows.records.map((r) => r.Assignee.Username).sort();
  };
  const activeStandardUsers = async (): Promise<string[]> => {
    const rows = await conn.query<{ Username: string }>("SELECT Username FROM User WHERE IsActive = true AND Profile.Name = 'Standard User'");
    return rows.records.map((r) => r.Username).sort();
  };

  beforeAll(async () => {
    sandboxes = await startSandboxes({ people: 20, seed: 13, hubspotPerTenSeconds: 0 });
    t = await testRedis('install-access');
    env = { ...sandboxEnv(sandboxes.connection), REDIS_URL: t.url, SMK_KEY_PREFIX: t.prefix.replace(/:$/, '') };
    conn = connect(sandboxes.salesforce);
    // A rep who left: inactive, still on the Standard User profile.
    const standard = sandboxes.salesforce.store.list('Profile').find((p) => p.Name === 'Standard User');
    sandboxes.salesforce.store.insert('User', { Username: 'gone@smarketing-demo.example', Email: 'gone@smarketing-demo.example', LastName: 'Gone', Alias: 'gone', IsActive: false, UserType: 'Standard', ProfileId: standard?.Id as string });
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
    await sandboxes?.close();
  });

  it('creates the permission set with Read on every Smk field and Edit on the sales ones, and says nobody holds it yet and how to assign it', async () => {
    const run = await smk(['install'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Salesforce: created the permission set "Smarketing Connector" (Smarketing_Connector): Read on 34 Smk fields of Lead and Contact, Edit on 8 of them');
    expect(run.stdout).toContain('Salesforce: nobody holds "Smarketing Connector" yet, so no rep sees a Smk field.');
    expect(run.stdout).toContain('smk install --assign "<profile name>"');
    expect(run.stdout).toContain('smk install --assign all-active-users');
    expect(run.stdout).toContain('Setup > Permission Sets > Smarketing Connector > Manage Assignments');
    // HubSpot's record sidebar has no API: install says where to show the group.
    expect(run.stdout).toContain('HubSpot: to show the "Smarketing" properties on each contact record, go to Settings > Objects > Contacts > Record customization');

    const grants = await conn.query<{ Field: string; PermissionsRead: boolean; PermissionsEdit: boolean }>(
      "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE Parent.Name = 'Smarketing_Connector'",
    );
    expect(grants.totalSize).toBe(34);
    expect(grants.records.every((g) => g.PermissionsRead)).toBe(true);
    const editable = grants.records.filter((g) => g.PermissionsEdit).map((g) => g.Field.split('.')[1]);
    expect(new Set(editable)).toEqual(new Set(SALES_FIELDS));
    expect(editable).toHaveLength(8);
    expect(await holders()).toEqual([]);
  }, 60_000);

  it('assigns it to the active users of a profile, and a second run assigns nobody new and says so', async () => {
    const run = await smk(['install', '--assign', 'Standard User'], env);
    expect(run.code, run.stderr).toBe(0);
    const expected = await activeStandardUsers();
    expect(expected.length).toBeGreaterThan(0);
    expect(await holders()).toEqual(expected);
    expect(run.stdout).toContain(`Salesforce: assigned "Smarketing Connector" to ${expected.length} user(s) (the active users of the profile "Standard User")`);
    expect(run.stdout).toContain(`Salesforce: "Smarketing Connector" is held by ${expected.length} active user(s):`);
    expect(run.stdout).not.toContain('gone@smarketing-demo.example');

    const again = await smk(['install', '--assign', 'Standard User'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Salesforce: all ${expected.length} user(s) already hold "Smarketing Connector"; nobody new to assign.`);
    expect(again.stdout).toContain('Salesforce: permission set "Smarketing Connector" already in place; nothing to change.');
    expect(await holders()).toEqual(expected);
  }, 60_000);

  it('says which profile or email names nobody, exits 1 and assigns nothing', async () => {
    const before = await holders();
    const profile = await smk(['install', '--assign', 'Sales Wizards'], env);
    expect(profile.code).toBe(1);
    expect(profile.stderr.trim()).toBe('smk: --assign: Salesforce has no profile named "Sales Wizards" (its profiles: Standard User, System Administrator); give a profile name, user emails or all-active-users');
    const email = await smk(['install', '--assign', 'nobody@nowhere.example'], env);
    expect(email.code).toBe(1);
    expect(email.stderr.trim()).toBe('smk: --assign: no Salesforce user has the email nobody@nowhere.example');
    const inactive = await smk(['install', '--assign', 'gone@smarketing-demo.example'], env);
    expect(inactive.code).toBe(1);
    expect(inactive.stderr).toContain('gone@smarketing-demo.example belongs to an inactive Salesforce user');
    const notEmail = await smk(['install', '--assign', 'ana@,bo@acme.example'], env);
    expect(notEmail.code).toBe(1);
    expect(notEmail.stderr.trim()).toBe('smk: --assign: not an email address: ana@');
    expect(await holders()).toEqual(before);
  }, 60_000);

  it('shows on a dry run whom it would assign it to, then assigns it by email, and to every active user', async () => {
    const before = await holders();
    const dry = await smk(['install', '--dry-run', '--assign', 'all-active-users'], env);
    expect(dry.code, dry.stderr).toBe(0);
    // Only the integration user (a System Administrator) does not hold it yet.
    expect(dry.stdout).toContain(`(dry run) Salesforce: would assign "Smarketing Connector" to 1 user(s) (every active user); ${before.length} already held it.`);
    expect(await holders()).toEqual(before);

    const integration = (await conn.identity()).username;
    const byEmail = await smk(['install', '--assign', integration], env);
    expect(byEmail.code, byEmail.stderr).toBe(0);
    expect(await holders()).toContain(integration);
    expect(byEmail.stdout).toContain(`Salesforce: assigned "Smarketing Connector" to 1 user(s) (${integration})`);

    const all = await smk(['install', '--assign', 'all-active-users'], env);
    expect(all.code, all.stderr).toBe(0);
    const active = await conn.query<{ Username: string }>("SELECT Username FROM User WHERE IsActive = true AND UserType = 'Standard'");
    expect(await holders()).toEqual(active.records.map((r) => r.Username).sort());
  }, 60_000);

  it('adds the Smarketing section to the Lead and Contact page layouts with --layouts, shown first with --dry-run, and a second run changes nothing', async () => {
    type Layout = { layoutSections: Array<{ label?: string | null; layoutColumns: Array<{ layoutItems: Array<{ field?: string | null }> }> }> };
    const read = async (name: string) => (await conn.metadata.read('Layout', name)) as unknown as Layout;
    const smkSection = (layout: Layout) => layout.layoutSections.find((s) => s.label === 'Smarketing');
    const plain = await smk(['install'], env);
    expect(plain.stdout).toContain('Salesforce: to show the Smk fields on Lead and Contact record pages, run `smk install --layouts`');

    const dry = await smk(['install', '--layouts', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('(dry run) Salesforce: would add the "Smarketing" section to the page layout "Lead-Lead Layout": Smk_Score__c, Smk_Grade__c, Smk_Score_Reasons__c, Smk_Likelihood__c, Smk_Likelihood_Reasons__c, Smk_Stage__c, Smk_Handoff_At__c, Smk_SLA_Due_At__c, Smk_SLA_Status__c, Smk_Sales_Decision__c, Smk_Reject_Reason__c, Smk_Lead_Quality__c');
    expect(dry.stdout).toContain('(dry run) Salesforce: would add the "Smarketing" section to the page layout "Contact-Contact Layout"');
    expect(smkSection(await read('Lead-Lead Layout'))).toBeUndefined();

    const run = await smk(['install', '--layouts'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Salesforce: added the "Smarketing" section to the page layout "Lead-Lead Layout"');
    for (const name of ['Lead-Lead Layout', 'Contact-Contact Layout']) {
      const fields = smkSection(await read(name))?.layoutColumns.flatMap((c) => c.layoutItems.map((i) => i.field));
      expect(fields).toContain('Smk_Score__c');
      expect(fields).toContain('Smk_Sales_Decision__c');
    }
    const again = await smk(['install', '--layouts'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Salesforce: the page layout "Lead-Lead Layout" already shows every Smarketing field; nothing to change.');
    expect(again.stdout).toContain('Salesforce: the page layout "Contact-Contact Layout" already shows every Smarketing field; nothing to change.');
  }, 60_000);
});
