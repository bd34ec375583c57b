/**
 * Each CRM's connection as the service last knew it, kept in Redis for every process to read
 * (readiness, the dashboard, `smk doctor`, `/metrics`): connected, or its authorisation failed
 * (with the CRM's own message, since when, and the fix). A poll that finds the authorisation
 * failed does not spend attempts on it: it checks the connection at most once a minute instead.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { CrmName } from '../model/lead.js';
import type { Keys } from './keys.js';

export const connectionStateSchema = z.enum(['connected', 'auth_failed']);
export type ConnectionState = z.infer<typeof connectionStateSchema>;

const statusSchema = z.object({
  state: connectionStateSchema,
  /** The CRM's own message, when it failed. */
  message: z.string().optional(),
  /** How to fix it, in the admin's words. */
  fix: z.string().optional(),
  /** When the connection entered this state. */
  since: z.string(),
  /** When the state was last confirmed. */
  checkedAt: z.string(),
});
export type ConnectionStatus = z.infer<typeof statusSchema>;

export function reconnectFix(crm: CrmName): string {
  return crm === 'hubspot'
    ? 'connect HubSpot again: open /oauth/hubspot/start on this service (an OAuth app), or set a valid HUBSPOT_ACCESS_TOKEN and restart'
    : 'connect Salesforce again: open /oauth/salesforce/start on this service, or set a valid SALESFORCE_REFRESH_TOKEN (or SALESFORCE_ACCESS_TOKEN) and restart';
}

export class ConnectionStatusStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  private key(crm: CrmName): string {
    return this.keys.meta(`connection:${crm}`);
  }

  async get(crm: CrmName): Promise<ConnectionStatus | null> {
    const raw = await this.redis.get(this.key(crm));
    if (!raw) return null;
    const parsed = statusSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  /** Records a state; `since` moves only when the state changes. Returns whether it changed. */
  async set(crm: CrmName, state: ConnectionState, now: number, detail: { message?: string; fix?: string } = {}): Promise<boolean> {
    const current = await this.get(crm);
    const iso = new Date(now).toISOString();
    const changed = current?.state !== state;
    const next: ConnectionStatus = {
      state,
      ...(detail.message ? { message: detail.message.slice(0, 500) } : {}),
      ...(detail.fix ? { fix: detail.fix } : {}),
      since: changed || !current ? iso : current.since,
      checkedAt: iso,
    };
    // A connected CRM confirmed again is not written on every poll: only a change, or once a minute.
    if (!changed && current && state === 'connected' && now - Date.parse(current.checkedAt) < 60_000) return false;
    await this.redis.set(this.key(crm), JSON.stringify(next));
    return changed;
  }

  /** True at most once per `everyMs` across every process: the caller may check the CRM now. */
  async mayCheck(crm: CrmName, everyMs = 60_000): Promise<boolean> {
    return (await this.redis.set(this.keys.meta(`connection-check:${crm}`), '1', 'PX', everyMs, 'NX')) === 'OK';
  }
}
