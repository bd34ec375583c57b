/**
 * Keeping each CRM's connection status (src/store/connection-status.ts): a refused authorisation
 * is recorded once with the fix; a CRM marked so is checked at most once a minute, never polled.
 */
import { isCrmError } from '../connectors/errors.js';
import type { CrmName } from '../src/model/lead.js';
import { reconnectFix } from '../src/store/connection-status.js';
import type { SyncContext } from './context.js';

/** Records a failed authorisation (logged once, when it starts). */
export async function markAuthFailed(ctx: SyncContext, crm: CrmName, message: string): Promise<void> {
  const fix = reconnectFix(crm);
  if (await ctx.connections.set(crm, 'auth_failed', ctx.clock.now(), { message, fix })) {
    ctx.logger.error({ crm, err: message, fix }, 'the CRM refused our authorisation: syncing with it stops until it is connected again');
  }
}

/** Checks a CRM marked auth_failed (at most once a minute across workers); true when it works again. */
export async function reconnected(ctx: SyncContext, crm: CrmName): Promise<boolean> {
  if (!(await ctx.connections.mayCheck(crm))) return false;
  try {
    await ctx.connectors[crm].ping();
  } catch (err) {
    if (isCrmError(err) && (err.code === 'AUTH_INVALID' || err.code === 'AUTH_EXPIRED')) {
      await ctx.connections.set(crm, 'auth_failed', ctx.clock.now(), { message: err.message, fix: reconnectFix(crm) });
      return false;
    }
    throw err;
  }
  await ctx.connections.set(crm, 'connected', ctx.clock.now());
  ctx.logger.info({ crm }, 'the CRM accepts our authorisation again: syncing resumes from the cursor');
  return true;
}
