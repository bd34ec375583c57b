/**
 * Both sandboxes over one seeded world, as `npm run sandbox`, the demo, the benchmark and the
 * tests start them. The connection line is the contract of DESIGN.md ("Interfaces").
 */
import { startHubSpotSandbox } from '../hubspot/sandbox/index.js';
import type { HubSpotSandbox } from '../hubspot/sandbox/index.js';
import { startSalesforceSandbox } from '../salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../salesforce/sandbox/index.js';
import { faultsFromRate, SandboxClock } from './common.js';
import { generateWorld } from './seed.js';
import type { SeedWorld } from './seed.js';

export interface SandboxesOptions {
  people?: number;
  seed?: number;
  hubspotPort?: number;
  salesforcePort?: number;
  /** One rate spread over 429s, 5xx, slow and dropped responses, in both sandboxes. */
  faults?: number;
  /** HubSpot's 10-second limit per token (default 190; 0 = off); Salesforce's daily allocation. */
  hubspotPerTenSeconds?: number;
  salesforceDailyLimit?: number;
  /** Objects selected for Change Data Capture in the Salesforce sandbox (none by default, as in a new org). */
  changeDataCapture?: string[];
  webhookUrl?: string | null;
  /** The seeded world's "now" (its dates are relative to it); default the current minute. Two runs compared with each other pass the same one. */
  now?: number;
  /** The HubSpot portal uses deals: the world gives people only HubSpot knows deals too (default false). */
  deals?: boolean;
}

export interface Sandboxes {
  world: SeedWorld;
  hubspot: HubSpotSandbox;
  salesforce: SalesforceSandbox;
  clock: SandboxClock;
  /** The JSON line of DESIGN.md "Interfaces". */
  connection: SandboxConnection;
  close(): Promise<void>;
}

export interface SandboxConnection {
  hubspot: { baseUrl: string; accessToken: string; clientSecret: string; appId: number };
  salesforce: { instanceUrl: string; loginUrl: string; accessToken: string; refreshToken: string; clientId: string; clientSecret: string };
}

export async function startSandboxes(options: SandboxesOptions = {}): Promise<Sandboxes> {
  const seed = options.seed ?? 1;
  const world = generateWorld({ people: options.people ?? 1000, seed, ...(options.now !== undefined ? { now: options.now } : {}), ...(options.deals ? { deals: true } : {}) });
  const clock = new SandboxClock();
  const faults = options.faults ? faultsFromRate(options.faults, seed) : undefined;
  const hubspot = await startHubSpotSandbox({
    port: options.hubspotPort ?? 0,
    world,
    seed,
    clock,
    ...(faults ? { faults } : {}),
    ...(options.hubspotPerTenSeconds !== undefined ? { rateLimits: { perTenSeconds: options.hubspotPerTenSeconds } } : {}),
    webhookUrl: options.webhookUrl ?? null,
  });
  const salesforce = await startSalesforceSandbox({
    port: options.salesforcePort ?? 0,
    world,
    seed,
    clock,
    ...(faults ? { faults } : {}),
    ...(options.salesforceDailyLimit !== undefined ? { dailyApiLimit: options.salesforceDailyLimit } : {}),
    ...(options.changeDataCapture ? { changeDataCapture: options.changeDataCapture } : {}),
  });
  const connection: SandboxConnection = {
    hubspot: { baseUrl: hubspot.baseUrl, accessToken: hubspot.accessToken, clientSecret: hubspot.clientSecret, appId: hubspot.appId },
    salesforce: {
      instanceUrl: salesforce.instanceUrl,
      loginUrl: salesforce.loginUrl,
      accessToken: salesforce.accessToken,
      refreshToken: salesforce.refreshToken,
      clientId: salesforce.clientId,
      clientSecret: salesforce.clientSecret,
    },
  };
  return {
    world,
    hubspot,
    salesforce,
    clock,
    connection,
    close: async () => {
      await Promise.all([hubspot.close(), salesforce.close()]);
    },
  };
}

/** The environment a service process needs to talk to these sandboxes (DESIGN.md variable names). */
export function sandboxEnv(connection: SandboxConnection): Record<string, string> {
  return {
    HUBSPOT_BASE_URL: connection.hubspot.baseUrl,
    HUBSPOT_ACCESS_TOKEN: connection.hubspot.accessToken,
    HUBSPOT_CLIENT_SECRET: connection.hubspot.clientSecret,
    HUBSPOT_APP_ID: String(connection.hubspot.appId),
    SALESFORCE_INSTANCE_URL: connection.salesforce.instanceUrl,
    SALESFORCE_LOGIN_URL: connection.salesforce.loginUrl,
    SALESFORCE_ACCESS_TOKEN: connection.salesforce.accessToken,
    SALESFORCE_REFRESH_TOKEN: connection.salesforce.refreshToken,
    SALESFORCE_CLIENT_ID: connection.salesforce.clientId,
    SALESFORCE_CLIENT_SECRET: connection.salesforce.clientSecret,
  };
}
