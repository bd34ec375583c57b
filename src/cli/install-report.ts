/**
 * What `smk install` says about who sees the Smk fields in Salesforce (the reps' permission set,
 * whom it was assigned to, who holds it, how to assign it) and where (the page layouts). One
 * sentence per line, each prefixed with the CRM like the field report.
 */
import { LAYOUT_SECTION, USER_PERMISSION_SET, describeTarget } from '../../connectors/salesforce/index.js';
import type { LayoutReport, SfUser, UserAccessReport } from '../../connectors/salesforce/index.js';

const SET = `"${USER_PERMISSION_SET.label}"`;
const LISTED = 10;

function people(users: readonly SfUser[]): string {
  const shown = users.slice(0, LISTED).map((u) => (u.email && u.email !== u.name ? `${u.name} <${u.email}>` : u.username));
  return users.length > LISTED ? `${shown.join(', ')} and ${users.length - LISTED} more` : shown.join(', ');
}

/** How to give reps the permission set: the three forms of `--assign`, and Setup. */
export const HOW_TO_ASSIGN = [
  `assign it with \`smk install --assign "<profile name>"\` (that profile's active users, e.g. "Standard User"),`,
  '`smk install --assign <email>,<email>` (those users) or `smk install --assign all-active-users`;',
  `or in Setup > Permission Sets > ${USER_PERMISSION_SET.label} > Manage Assignments.`,
].join(' ');

export function describeUserAccess(report: UserAccessReport, options: { dryRun: boolean }): { lines: string[]; problems: number } {
  const lines: string[] = [];
  const say = (text: string) => lines.push(`Salesforce: ${text}`);
  const would = (done: string, planned: string) => (options.dryRun ? planned : done);
  const set = report.permissionSet;
  const edits = set.wanted.filter((g) => g.edit);
  const editNames = [...new Set(edits.map((g) => g.field.split('.')[1]))];

  if (set.created) {
    say(`${would('created', 'would create')} the permission set ${SET} (${USER_PERMISSION_SET.name}): Read on ${set.wanted.length} Smk fields of Lead and Contact, Edit on ${edits.length} of them (${editNames.join(', ')}).`);
  } else if (set.granted.length > 0) {
    say(`${SET} ${would('now grants', 'would grant')} ${set.granted.length} more field permission(s) (${set.granted.join(', ')}).`);
  } else {
    say(`permission set ${SET} already in place; nothing to change.`);
  }
  for (const p of set.problems) say(`PROBLEM ${SET} could not grant ${p.message}\n  fix: run \`smk install\` again; if it persists, grant it in Setup > Permission Sets > ${USER_PERMISSION_SET.label} > Object Settings`);

  const assignment = report.assignment;
  if (assignment) {
    const { outcome, users, target } = assignment;
    if (users.length === 0) {
      say(`${describeTarget(target)}: nobody to assign (no active user).`);
    } else if (outcome.assigned.length === 0 && outcome.problems.length === 0) {
      say(`all ${outcome.already.length} user(s) already hold ${SET}; nobody new to assign.`);
    } else if (outcome.assigned.length > 0) {
      const already = outcome.already.length > 0 ? `; ${outcome.already.length} already held it` : '';
      say(`${would('assigned', 'would assign')} ${SET} to ${outcome.assigned.length} user(s) (${describeTarget(target)})${already}.`);
    }
    const byId = new Map(users.map((u) => [u.id, u]));
    for (const p of outcome.problems) say(`PROBLEM could not assign ${SET} to ${byId.get(p.user)?.username ?? p.user}: ${p.message}\n  fix: check the user in Setup > Users (license, active), then run the install again`);
  }

  const active = report.holders.filter((u) => u.active);
  const inactive = report.holders.length - active.length;
  if (active.length === 0) {
    say(`nobody holds ${SET} yet, so no rep sees a Smk field.`);
  } else {
    say(`${SET} is held by ${active.length} active user(s): ${people(active)}${inactive > 0 ? ` (and ${inactive} inactive)` : ''}.`);
  }
  if (!assignment) say(`to give reps and marketers the Smk fields, ${HOW_TO_ASSIGN}`);
  return { lines, problems: set.problems.length + (assignment?.outcome.problems.length ?? 0) };
}

export const LAYOUTS_HINT = `to show the Smk fields on Lead and Contact record pages, run \`smk install --layouts\` (it adds a "${LAYOUT_SECTION}" section to their page layouts; \`--dry-run\` shows it first).`;

export function describeLayouts(report: LayoutReport, options: { dryRun: boolean }): { lines: string[]; problems: number } {
  const lines: string[] = [];
  const say = (text: string) => lines.push(`Salesforce: ${text}`);
  for (const c of report.changes) {
    const fields = c.fields.join(', ');
    if (c.action === 'added') say(`${options.dryRun ? 'would add' : 'added'} the "${LAYOUT_SECTION}" section to the page layout "${c.layout}": ${fields} (what the connector writes read-only, the sales feedback editable).`);
    else if (c.action === 'extended') say(`${options.dryRun ? 'would add' : 'added'} ${c.fields.length} missing field(s) to the "${LAYOUT_SECTION}" section of "${c.layout}": ${fields}.`);
    else say(`the page layout "${c.layout}" already shows every ${LAYOUT_SECTION} field; nothing to change.`);
  }
  for (const p of report.problems) say(`PROBLEM ${p.layout ? `${p.layout}: ` : ''}${p.message}\n  fix: ${p.fix}`);
  return { lines, problems: report.problems.length };
}
