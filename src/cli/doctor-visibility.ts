/**
 * `smk doctor`'s checks of who sees the smk fields, each finding with its fix:
 * - Salesforce field access: which Smk fields the integration user can read and edit (describe
 *   and its permission sets' FieldPermissions); a field it cannot read or edit breaks the sync.
 * - Salesforce permission set: whether "Smarketing Connector" exists with its grants and how many
 *   active users hold it; without holders no rep sees a score.
 * - Salesforce page layouts: whether every Lead and Contact layout carries the Smarketing fields.
 * - HubSpot property group: the `smarketing` group and its properties exist, and the app reads them.
 */
import { ACCESS_FIX, INTEGRATION_PERMISSION_SET, LAYOUT_SECTION, USER_PERMISSION_SET } from '../../connectors/salesforce/index.js';
import type { SalesforceSetup } from '../../connectors/salesforce/index.js';
import type { HubSpotSetup } from '../../connectors/hubspot/index.js';
import type { Check } from './check.js';
import { HOW_TO_ASSIGN } from './install-report.js';

const SHOWN = 8;

function names(list: readonly string[]): string {
  return list.length > SHOWN ? `${list.slice(0, SHOWN).join(', ')} and ${list.length - SHOWN} more` : list.join(', ');
}

/** Runs one check; a failure to even look is a warning with the CRM's message. */
async function attempt(checks: Check[], name: string, fixOf: (err: unknown) => string, run: () => Promise<Check | null>): Promise<void> {
  try {
    const check = await run();
    if (check) checks.push(check);
  } catch (err) {
    checks.push({ name, status: 'warn', detail: `could not check: ${err instanceof Error ? err.message : String(err)}`, fix: fixOf(err) });
  }
}

export async function checkSalesforceVisibility(setup: SalesforceSetup, checks: Check[], fixOf: (err: unknown) => string): Promise<void> {
  await attempt(checks, 'Salesforce field access', fixOf, async () => {
    const access = await setup.integrationAccess();
    const existing = access.fields.filter((f) => f.exists);
    // Nothing provisioned yet: the fields check already says to install.
    if (existing.length === 0) return null;
    const unreadable = existing.filter((f) => !f.read).map((f) => f.field);
    const readOnly = existing.filter((f) => f.read && !f.edit).map((f) => f.field);
    if (unreadable.length > 0 || readOnly.length > 0) {
      const parts = [
        ...(unreadable.length > 0 ? [`cannot read ${unreadable.length} Smk field(s): ${names(unreadable)}`] : []),
        ...(readOnly.length > 0 ? [`can read but not edit ${readOnly.length}: ${names(readOnly)}`] : []),
      ];
      return {
        name: 'Salesforce field access',
        status: 'fail',
        detail: `the integration user (${access.user}) ${parts.join('; ')}; the sync cannot read or write them`,
        fix: `run \`smk install\` (it gives the integration user Read and Edit through the permission set "${INTEGRATION_PERMISSION_SET.label}"); if it cannot, ${ACCESS_FIX}`,
      };
    }
    const via = [...new Set(existing.flatMap((f) => f.via))].map((v) => `"${v}"`);
    return { name: 'Salesforce field access', status: 'ok', detail: `the integration user (${access.user}) reads and edits all ${existing.length} Smk fields${via.length > 0 ? `, through ${via.join(', ')}` : ''}` };
  });

  await attempt(checks, 'Salesforce permission set', fixOf, async () => {
    const state = await setup.ensureUserAccess({ dryRun: true });
    const set = `"${USER_PERMISSION_SET.label}"`;
    if (state.permissionSet.created) {
      return { name: 'Salesforce permission set', status: 'warn', detail: `the permission set ${set} does not exist: no rep or marketer sees a Smk field in Salesforce`, fix: 'run `smk install`' };
    }
    if (state.permissionSet.granted.length > 0) {
      return { name: 'Salesforce permission set', status: 'warn', detail: `${set} lacks ${state.permissionSet.granted.length} field permission(s): ${names(state.permissionSet.granted)}`, fix: 'run `smk install`' };
    }
    const active = state.holders.filter((u) => u.active).length;
    if (active === 0) {
      return { name: 'Salesforce permission set', status: 'warn', detail: `no active user holds ${set}: no rep sees a Smk field`, fix: HOW_TO_ASSIGN };
    }
    return { name: 'Salesforce permission set', status: 'ok', detail: `${set} grants its Smk fields and ${active} active user(s) hold it` };
  });

  await attempt(checks, 'Salesforce page layouts', fixOf, async () => {
    const report = await setup.ensureLayouts({ dryRun: true });
    const problem = report.problems[0];
    if (problem) return { name: 'Salesforce page layouts', status: 'warn', detail: problem.message, fix: problem.fix };
    const lacking = report.changes.filter((c) => c.action !== 'unchanged');
    if (lacking.length > 0) {
      const which = lacking.map((c) => (c.action === 'added' ? `${c.layout} (no ${LAYOUT_SECTION} section)` : `${c.layout} (missing ${names(c.fields)})`));
      return {
        name: 'Salesforce page layouts',
        status: 'warn',
        detail: `${lacking.length} of ${report.changes.length} Lead and Contact page layouts lack Smk fields: ${which.join(', ')}`,
        fix: 'run `smk install --layouts`',
      };
    }
    return { name: 'Salesforce page layouts', status: 'ok', detail: `the ${LAYOUT_SECTION} section is on all ${report.changes.length} Lead and Contact page layouts` };
  });
}

export async function checkHubSpotGroup(setup: HubSpotSetup, checks: Check[], fixOf: (err: unknown) => string): Promise<void> {
  await attempt(checks, 'HubSpot property group', fixOf, async () => {
    const r = await setup.propertyAccess();
    const unreadable = r.unreadable ?? [];
    const parts = [
      ...(r.groupExists ? [] : [`the property group ${r.group} does not exist`]),
      ...(r.missing.length > 0 ? [`${r.missing.length} smk propert(ies) missing: ${names(r.missing)}`] : []),
      ...r.elsewhere.map((p) => `${p.name} is in the group ${p.group}, not ${r.group}`),
      ...(unreadable.length > 0 ? [`a contact read through the app does not return ${names(unreadable)}`] : []),
    ];
    if (parts.length > 0) {
      const structural = !r.groupExists || r.missing.length > 0 || r.elsewhere.length > 0;
      return {
        name: 'HubSpot property group',
        status: 'fail',
        detail: parts.join('; '),
        fix: structural
          ? 'run `smk install` (it creates the group and the properties, and moves them back into the group)'
          : 'give the app the scope crm.objects.contacts.read, and check those properties in Settings > Properties (a property marked Sensitive Data needs the sensitive scopes)',
      };
    }
    return {
      name: 'HubSpot property group',
      status: 'ok',
      detail: `the group ${r.group} holds all ${r.expected} smk properties, and the app reads them${r.unreadable === null ? ' (no contact yet to read them on)' : ''}`,
    };
  });
}
