import type { SyncContext } from './context.js';

/**
 * People are created in the other CRM only once both CRMs have been read in full: before that, a
 * person "missing" from Salesforce may simply not have been read yet, and creating them would make
 * a duplicate. The end of the initial read re-evaluates every lead (see jobs/poll.ts).
 */
const readInFull = new WeakSet<SyncContext>();

export async function bothCrmsRead(ctx: SyncContext): Promise<boolean> {
  if (readInFull.has(ctx)) return true;
  const [hubspot, salesforce] = await Promise.all([ctx.cursors.lastSyncAt('hubspot'), ctx.cursors.lastSyncAt('salesforce')]);
  const both = hubspot !== null && salesforce !== null;
  // Once both were read in full they stay so (a cursor is never unset).
  if (both) readInFull.add(ctx);
  return both;
}
