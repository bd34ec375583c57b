/**
 * Makes both connectors from the environment of DESIGN.md "Interfaces": a sandbox or the real CRM
 * is a matter of base URLs alone. Tokens from an OAuth install (stored encrypted) take over where
 * the environment gives none. A HubSpot install reaches its connector as the TokenStore itself (a
 * refreshable credential: access token, refresh token, expiry), never as a fixed access token,
 * which HubSpot expires after 30 minutes; the store's lock keeps workers from refreshing at once.
 *
 * This is wiring, so it lives above the connectors (DESIGN.md "Layout"): it reads src/config's
 * environment and sync settings, which no code under connectors/ may import.
 */
import type { CrmName } from '../src/model/lead.js';
import { resolveSyncFields } from '../src/config.js';
import type { EnvConfig, SyncConfig } from '../src/config.js';
import { createHubSpotConnector } from '../connectors/hubspot/index.js';
import { createSalesforceConnector } from '../connectors/salesforce/index.js';
import type { SalesforceSetup } from '../connectors/salesforce/index.js';
import type { HubSpotSetup } from '../connectors/hubspot/index.js';
import type { RefreshLock } from '../connectors/types.js';
import type { ConnectorLogger, CrmConnector, QuotaGate, TaskRequest, TokenStore } from '../connectors/types.js';

export interface ConnectorSet extends Record<CrmName, CrmConnector> {
  salesforceTasks?: (tasks: TaskRequest[]) => Promise<Array<{ key: string; ok: boolean; id?: string; error?: Error }>>;
  /** Salesforce's permission sets and page layouts (`smk install`, `smk doctor`). */
  salesforceSetup?: SalesforceSetup;
  /** HubSpot's property group as the app reads it (`smk doctor`). */
  hubspotSetup?: HubSpotSetup;
  /** The objects selected for Change Data Capture in the Salesforce org. */
  salesforceChangeCapture?: () => Promise<string[]>;
}

export async function createConnectors(input: {
  env: EnvConfig;
  sync: SyncConfig;
  gate: QuotaGate;
  /** The encrypted store of OAuth installs and refreshed tokens, with its refresh lock. */
  tokens: (TokenStore & RefreshLock) | null;
  logger: ConnectorLogger;
  retries?: number;
  /** Epoch ms now, for token expiry (the service's clock; tests move it). */
  clock?: () => number;
}): Promise<ConnectorSet> {
  const { env, gate, tokens, logger } = input;
  const syncFields = resolveSyncFields(input.sync);
  const storedSalesforce = env.SALESFORCE_ACCESS_TOKEN || env.SALESFORCE_REFRESH_TOKEN ? null : await tokens?.get('salesforce');

  const hubspot = createHubSpotConnector({
    baseUrl: env.HUBSPOT_BASE_URL,
    // A private-app token when configured; otherwise the auth layer reads the install from `tokens`
    // on first use and refreshes it (connectors/hubspot/auth.ts).
    accessToken: env.HUBSPOT_ACCESS_TOKEN,
    clientId: env.HUBSPOT_CLIENT_ID,
    clientSecret: env.HUBSPOT_CLIENT_SECRET,
    appId: env.HUBSPOT_APP_ID,
    tokens: tokens ?? undefined,
    refreshLock: tokens ?? undefined,
    gate,
    logger,
    syncFields,
    ...(input.retries !== undefined ? { retries: input.retries } : {}),
    ...(input.clock ? { clock: input.clock } : {}),
  });
  // The JWT bearer flow when configured (src/config.ts checked username, key and client id):
  // sessions come from a signed assertion, so there is no refresh token to keep; the instance URL
  // comes with the first session when SALESFORCE_INSTANCE_URL is not set.
  const jwt = env.SALESFORCE_JWT_USERNAME && env.SALESFORCE_JWT_PRIVATE_KEY
    ? { username: env.SALESFORCE_JWT_USERNAME, privateKeyPem: env.SALESFORCE_JWT_PRIVATE_KEY, ...(env.SALESFORCE_JWT_AUDIENCE ? { audience: env.SALESFORCE_JWT_AUDIENCE } : {}) }
    : undefined;
  const salesforce = createSalesforceConnector({
    instanceUrl: env.SALESFORCE_INSTANCE_URL ?? storedSalesforce?.instanceUrl ?? env.SALESFORCE_LOGIN_URL,
    loginUrl: env.SALESFORCE_LOGIN_URL,
    accessToken: env.SALESFORCE_ACCESS_TOKEN ?? storedSalesforce?.accessToken,
    refreshToken: env.SALESFORCE_REFRESH_TOKEN ?? storedSalesforce?.refreshToken,
    clientId: env.SALESFORCE_CLIENT_ID,
    clientSecret: env.SALESFORCE_CLIENT_SECRET,
    ...(jwt ? { jwt } : {}),
    version: env.SALESFORCE_API_VERSION,
    tokens: tokens ?? undefined,
    refreshLock: tokens ?? undefined,
    gate,
    logger,
    // Bulk API 2.0 (src/config.ts): a job's wait stays below write-back's lease, so that no other
    // worker takes the same writes while the job may still run.
    ...(input.sync.bulkThreshold !== null ? { bulkThreshold: input.sync.bulkThreshold } : {}),
    ...(input.sync.bulkQueryThreshold !== null ? { bulkQueryThreshold: input.sync.bulkQueryThreshold } : {}),
    bulkPollIntervalMs: input.sync.bulkPollEvery,
    bulkPollTimeoutMs: Math.max(1_000, Math.min(input.sync.bulkTimeout, Math.floor((input.sync.writeLease * 3) / 4))),
    syncFields,
    salesNotesField: input.sync.salesNotesField,
    ...(input.clock ? { clock: input.clock } : {}),
  });
  return {
    hubspot,
    salesforce,
    salesforceTasks: (tasks) => salesforce.createTasks(tasks),
    salesforceSetup: salesforce,
    hubspotSetup: hubspot,
    salesforceChangeCapture: () => salesforce.changeDataCapture(),
  };
}
