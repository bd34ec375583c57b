/**
 * What reps and marketers see in Salesforce: the permission set "Smarketing Connector"
 * (permissions.ts: Read on every smk field, Edit on the sales feedback fields), who holds it, and
 * assigning it to a profile's active users, to users by email, or to every active user.
 *
 * Users are read from the User sObject (`IsActive`, `UserType`, `ProfileId` with its `Profile`
 * relationship); a permission set is assigned to users, never to a profile, so "a profile" means
 * its active users at the time of the install (Object Reference "PermissionSetAssignment").
 */
import { z } from 'zod';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { USER_PERMISSION_SET, assignPermissionSet, ensurePermissionSet, grantsOf } from './permissions.js';
import type { AssignOutcome, PermissionSetOutcome } from './permissions.js';
import { existingSmkFields } from './schema.js';
import { soqlId, soqlIn, soqlString } from './soql.js';

export type AssignTarget = { kind: 'all-active-users' } | { kind: 'emails'; emails: string[] } | { kind: 'profile'; name: string };

/** A value of `--assign` that cannot name users: it says what is wrong with it. */
export class AssignTargetError extends Error {
  override readonly name = 'AssignTargetError';
}

const EMAIL = /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/;

/**
 * `all-active-users`; a comma-separated list of emails (anything with an `@`); else a profile
 * name, as Setup shows it (`Standard User`).
 */
export function parseAssignTarget(value: string): AssignTarget {
  const text = value.trim();
  if (text === '') throw new AssignTargetError('--assign needs a profile name, user emails (comma-separated) or all-active-users');
  if (text === 'all-active-users') return { kind: 'all-active-users' };
  if (text.includes('@')) {
    const emails = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
    const bad = emails.filter((e) => !EMAIL.test(e));
    if (bad.length > 0) throw new AssignTargetError(`--assign: not an email address: ${bad.join(', ')}`);
    return { kind: 'emails', emails: [...new Set(emails.map((e) => e.toLowerCase()))] };
  }
  return { kind: 'profile', name: text };
}

export function describeTarget(target: AssignTarget): string {
  if (target.kind === 'all-active-users') return 'every active user';
  if (target.kind === 'profile') return `the active users of the profile "${target.name}"`;
  return target.emails.join(', ');
}

const userRow = z.object({
  Id: z.string(),
  Name: z.string().nullable().optional(),
  Username: z.string(),
  Email: z.string().nullable().optional(),
  IsActive: z.boolean(),
});
export interface SfUser {
  id: string;
  name: string;
  username: string;
  email: string | null;
  active: boolean;
}

function toUser(raw: unknown): SfUser {
  const r = parseOrThrow(userRow, raw, 'User');
  return { id: r.Id, name: r.Name ?? r.Username, username: r.Username, email: r.Email ?? null, active: r.IsActive };
}

const USER_FIELDS = 'Id, Name, Username, Email, IsActive';

/**
 * The users a target names, all active. A profile or an email that names nobody, or an email of
 * an inactive user, is an AssignTargetError naming it; nothing is assigned then.
 */
export async function resolveAssignees(client: SalesforceClient, target: AssignTarget): Promise<SfUser[]> {
  if (target.kind === 'all-active-users') {
    // Standard users: not the portal, guest or automated ones.
    const rows = await client.queryAll('active users', `SELECT ${USER_FIELDS} FROM User WHERE IsActive = true AND UserType = 'Standard' ORDER BY Username`);
    return rows.map(toUser);
  }
  if (target.kind === 'profile') {
    const profiles = parseOrThrow(z.array(z.object({ Id: z.string(), Name: z.string() })), await client.queryAll('profiles', 'SELECT Id, Name FROM Profile ORDER BY Name'), 'Profile');
    const profile = profiles.find((p) => p.Name.toLowerCase() === target.name.toLowerCase());
    if (!profile) {
      throw new AssignTargetError(`--assign: Salesforce has no profile named "${target.name}" (its profiles: ${profiles.map((p) => p.Name).join(', ')}); give a profile name, user emails or all-active-users`);
    }
    const rows = await client.queryAll(`users of ${profile.Name}`, `SELECT ${USER_FIELDS} FROM User WHERE ProfileId = ${soqlId(profile.Id)} AND IsActive = true ORDER BY Username`);
    return rows.map(toUser);
  }
  const rows = await client.queryAll('users by email', `SELECT ${USER_FIELDS} FROM User WHERE Email IN ${soqlIn(target.emails.map(soqlString))} ORDER BY Username`);
  const users = rows.map(toUser);
  const byEmail = new Map<string, SfUser[]>();
  for (const u of users) if (u.email) byEmail.set(u.email.toLowerCase(), [...(byEmail.get(u.email.toLowerCase()) ?? []), u]);
  const unknown = target.emails.filter((e) => !byEmail.has(e));
  if (unknown.length > 0) throw new AssignTargetError(`--assign: no Salesforce user has the email ${unknown.join(', ')}`);
  const inactive = target.emails.filter((e) => (byEmail.get(e) ?? []).every((u) => !u.active));
  if (inactive.length > 0) throw new AssignTargetError(`--assign: ${inactive.join(', ')} belongs to an inactive Salesforce user; activate the user or leave the email out`);
  return users.filter((u) => u.active);
}

const holderRow = z.object({
  AssigneeId: z.string(),
  Assignee: z.object({ Name: z.string().nullable().optional(), Username: z.string(), Email: z.string().nullable().optional(), IsActive: z.boolean() }).nullable(),
});

/** The users holding a permission set (PermissionSetAssignment with its Assignee), active ones first. */
export async function holdersOf(client: SalesforceClient, setId: string): Promise<SfUser[]> {
  const rows = await client.queryAll(
    'permission set holders',
    `SELECT AssigneeId, Assignee.Name, Assignee.Username, Assignee.Email, Assignee.IsActive FROM PermissionSetAssignment WHERE PermissionSetId = ${soqlId(setId)}`,
  );
  return rows
    .map((raw) => parseOrThrow(holderRow, raw, 'PermissionSetAssignment'))
    .flatMap((r) => (r.Assignee ? [{ id: r.AssigneeId, name: r.Assignee.Name ?? r.Assignee.Username, username: r.Assignee.Username, email: r.Assignee.Email ?? null, active: r.Assignee.IsActive }] : []))
    .sort((a, b) => Number(b.active) - Number(a.active) || a.username.localeCompare(b.username));
}

export interface UserAccessReport {
  permissionSet: PermissionSetOutcome;
  /** When asked to assign: to whom, and what happened. */
  assignment?: { target: AssignTarget; users: SfUser[]; outcome: AssignOutcome };
  /** Who holds the set now (after the assignment; on a dry run, before it). */
  holders: SfUser[];
}

/**
 * The reps' permission set exists with its grants over the smk fields the org has (on a dry run
 * before `smk install` created them: over every smk field), and the users given (resolved
 * beforehand with `resolveAssignees`, so that a target naming nobody fails before anything is
 * written) hold it.
 */
export async function ensureUserAccess(
  client: SalesforceClient,
  options: { dryRun?: boolean; assign?: { target: AssignTarget; users: SfUser[] } } = {},
): Promise<UserAccessReport> {
  const existing = await existingSmkFields(client);
  const grants = grantsOf(USER_PERMISSION_SET, options.dryRun ? undefined : existing);
  const permissionSet = await ensurePermissionSet(client, USER_PERMISSION_SET, grants, { dryRun: options.dryRun });
  const report: UserAccessReport = { permissionSet, holders: [] };
  if (options.assign) {
    const outcome = await assignPermissionSet(client, permissionSet.id, options.assign.users.map((u) => u.id), { dryRun: options.dryRun });
    report.assignment = { ...options.assign, outcome };
  }
  report.holders = permissionSet.id ? await holdersOf(client, permissionSet.id) : [];
  return report;
}
