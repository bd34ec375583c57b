/**
 * A local, stateful HubSpot API server speaking the real wire format (shared/reference/crm-api.md
 * Part 1), so that `@hubspot/api-client` pointed at it with `basePath` cannot tell it from HubSpot.
 */
import { listen, type SandboxClock, type SandboxMonitor } from '../../sandbox/common.js';
import { createHubSpotSandboxApp, type HubSpotSandboxOptions } from './app.js';
import type { CrmObjectStore } from './crm-objects.js';
import type { HubSpotStore } from './store.js';
import type { WebhookDispatcher } from './webhooks.js';

export { createHubSpotSandboxApp, type HubSpotSandboxApp, type HubSpotSandboxOptions } from './app.js';
export { HubSpotStore, type OwnerRecord, type StoreEvent } from './store.js';
export { renderContact, type ContactRecord, type SimplePublicObjectJson } from './contact-model.js';
export { signV3, type WebhookEventJson, type WebhookDispatcher } from './webhooks.js';
export { ACTIVITY_KINDS } from './routes-control.js';

export interface HubSpotSandbox {
  baseUrl: string;
  accessToken: string;
  clientSecret: string;
  clientId: string;
  appId: number;
  portalId: number;
  monitor: SandboxMonitor;
  clock: SandboxClock;
  setWebhookUrl(url: string | null): void;
  /** Direct, uncounted access to state for tests and the demo (contact count, get by id...). */
  store: HubSpotStore;
  /** Direct, uncounted access to deals, companies and their associations. */
  objects: CrmObjectStore;
  /** Webhook delivery state; `whenIdle()` waits for queued and retried deliveries. */
  webhooks: WebhookDispatcher;
  close(): Promise<void>;
}

export async function startHubSpotSandbox(options: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const sandbox = createHubSpotSandboxApp(options);
  const server = await listen(sandbox.app, options.port ?? 0);
  const { context } = sandbox;
  const c = context.credentials;
  return {
    baseUrl: server.url,
    accessToken: c.accessToken,
    clientSecret: c.clientSecret,
    clientId: c.clientId,
    appId: c.appId,
    portalId: c.portalId,
    monitor: context.monitor,
    clock: context.clock,
    setWebhookUrl: (url) => {
      context.webhooks.update({ url });
    },
    // A getter: reset and seed swap nothing out, but keep callers on the live store regardless.
    get store() {
      return context.store;
    },
    get objects() {
      return context.objects;
    },
    webhooks: context.webhooks,
    close: async () => {
      sandbox.close();
      await server.close();
    },
  };
}
