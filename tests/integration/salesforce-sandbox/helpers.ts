/**
 * Shared by the Salesforce sandbox tests: a jsforce connection configured the way the connector
 * configures it, control-surface calls, and fast seeding through the store (uncounted).
 */
import { Connection } from 'jsforce';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SfRecord, SfValue } from '../../../connectors/salesforce/sandbox/index.js';

export const API_VERSION = '62.0';

export function connect(sb: SalesforceSandbox, options: { version?: string; accessToken?: string; refreshToken?: string } = {}): Connection {
  return new Connection({
    instanceUrl: sb.instanceUrl,
    accessToken: options.accessToken ?? sb.accessToken,
    refreshToken: options.refreshToken ?? sb.refreshToken,
    version: options.version ?? API_VERSION,
    oauth2: { clientId: sb.clientId, clientSecret: sb.clientSecret, loginUrl: sb.loginUrl },
  });
}

export async function control<T = unknown>(sb: SalesforceSandbox, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sb.instanceUrl}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export interface Stats {
  total: number;
  calls: Record<string, number>;
}

export async function stats(sb: SalesforceSandbox): Promise<Stats> {
  return (await control<Stats>(sb, 'GET', '/stats')).body;
}

export async function resetStats(sb: SalesforceSandbox): Promise<void> {
  await control(sb, 'POST', '/reset-stats');
}

/** Inserts n leads directly into the store (uncounted); `at` fixes their timestamps. */
export function seedLeads(sb: SalesforceSandbox, n: number, options: { at?: number; prefix?: string; extra?: (i: number) => Record<string, SfValue> } = {}): SfRecord[] {
  const prefix = options.prefix ?? 'lead';
  return sb.store.bulkLoad(() =>
    Array.from({ length: n }, (_, i) =>
      sb.store.insert('Lead', {
        FirstName: 'Test',
        LastName: `${prefix}-${i}`,
        Company: `Company ${i % 97}`,
        Email: `${prefix}.${i}@example.com`,
        ...(options.extra?.(i) ?? {}),
      }, options.at === undefined ? {} : { ts: options.at }),
    ),
  );
}

/** The shape jsforce gives errors: HttpApiError with errorCode and data. */
export interface ApiErrorLike {
  name?: string;
  errorCode?: string;
  message: string;
  data?: unknown;
}

export async function rejection(promise: PromiseLike<unknown>): Promise<ApiErrorLike> {
  try {
    await promise;
  } catch (err) {
    return err as ApiErrorLike;
  }
  throw new Error('expected the call to fail');
}

/** jsforce types collection results as SaveResult with errorCode; the wire has statusCode. */
export interface WireSaveResult {
  id?: string;
  success: boolean;
  errors: Array<{ statusCode: string; message: string; fields: string[] }>;
}

export function asWire(results: unknown): WireSaveResult[] {
  return results as WireSaveResult[];
}

const TEST_PERMISSION_SET = 'Sandbox_Test_Fields';

/**
 * Grants the connection's own user Read and Edit on custom fields, the way an admin would: a
 * permission set with FieldPermissions, assigned to the user (a field created through the Tooling
 * API is visible to nobody until then). Fields already granted are skipped.
 */
export async function grantFields(conn: Connection, fields: string[]): Promise<void> {
  const userId = (await conn.identity()).user_id;
  const found = await conn.query<{ Id: string }>(`SELECT Id FROM PermissionSet WHERE Name = '${TEST_PERMISSION_SET}'`);
  let setId = found.records[0]?.Id;
  if (!setId) {
    const created = await conn.sobject('PermissionSet').create({ Name: TEST_PERMISSION_SET, Label: 'Sandbox test fields' });
    setId = created.id as string;
    await conn.sobject('PermissionSetAssignment').create({ PermissionSetId: setId, AssigneeId: userId });
  }
  const have = await conn.query<{ Field: string }>(`SELECT Field FROM FieldPermissions WHERE ParentId = '${setId}'`);
  const granted = new Set(have.records.map((r) => r.Field));
  const missing = fields.filter((f) => !granted.has(f));
  if (missing.length === 0) return;
  const rows = missing.map((f) => ({ ParentId: setId, SobjectType: f.split('.')[0] as string, Field: f, PermissionsRead: true, PermissionsEdit: true }));
  const results = await conn.sobject('FieldPermissions').create(rows);
  const failed = results.filter((r) => !r.success);
  if (failed.length > 0) throw new Error(`could not grant ${JSON.stringify(failed)}`);
}
