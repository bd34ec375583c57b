import type { SyncContext } from './context.js';

/**
 * People are created in the other CRM only once both CRMs have been read in full: before that, a
 * person "missing" from Salesforce may simply not have been read yet, and creating them would make
 * a duplicate. The end of the initial read re-evaluates every lead (see jobs/poll.ts).
 *
 * Asked of Redis every time, never remembered by the process: a Redis that comes back empty (or a
 * `sync --full`) unsets the cursors, and a process that remembered "read in full" would then
 * evaluate, and create in Salesforce, people whose Salesforce record was not read again yet.
 */
export async function bothCrmsRead(ctx: SyncContext): Promise<boolean> {
  const [hubspot, salesforce] = await Promise.all([ctx.cursors.lastSyncAt('hubspot'), ctx.cursors.lastSyncAt('salesforce')]);
  return hubspot !== null && salesforce !== null;
}
