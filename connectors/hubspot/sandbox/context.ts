/** Everything one running HubSpot sandbox holds, shared by its routers. */
import type { SandboxClock, SandboxMonitor } from '../../sandbox/common.js';
import type { PortalAccount } from './account.js';
import type { AuthRegistry, Credentials, Principal } from './auth.js';
import type { ChangeSource } from './contact-model.js';
import type { CrmObjectStore } from './crm-objects.js';
import type { RateLimiter } from './rate-limits.js';
import type { SearchEngine } from './search.js';
import type { HubSpotStore } from './store.js';
import type { WebhookDispatcher } from './webhooks.js';

export interface SandboxContext {
  store: HubSpotStore;
  /** Deals and companies, and the associations between them and contacts. */
  objects: CrmObjectStore;
  search: SearchEngine;
  auth: AuthRegistry;
  limiter: RateLimiter;
  /** The portal's settings (time zone) that `/account-info/v3/details` answers. */
  account: PortalAccount;
  webhooks: WebhookDispatcher;
  monitor: SandboxMonitor;
  clock: SandboxClock;
  credentials: Credentials;
  /** How API writes are attributed in webhooks (INTEGRATION, sourceId = app id). */
  apiSource: ChangeSource;
}

/** Set by the auth middleware on `res.locals` for API routes. */
export interface ApiLocals {
  principal?: Principal;
}
