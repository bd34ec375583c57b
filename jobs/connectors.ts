/**
 * Makes both connectors from the environment of DESIGN.md "Interfaces": a sandbox or the real CRM
 * is a matter of base URLs alone. Tokens from an OAuth install (stored encrypted) take over where
 * the environment gives none.
 *
 * This is wiring, so it lives above the connectors (DESIGN.md "Layout"): it reads src/config's
 * environment and sync settings, which no code under connectors/ may import.
 */
import type { CrmName } from '../src/model/lead.js';
import type { EnvConfig, SyncConfig } from '../src/config.js';
import { createHubSpotConnector } from '../connectors/hubspot/index.js';
import { createSalesforceConnector } from '../connectors/salesforce/index.js';
import type { ConnectorLogger, CrmConnector, QuotaGate, TaskRequest, TokenStore } from '../connectors/types.js';

export interface ConnectorSet extends Record<CrmName, CrmConnector> {
  salesforceTasks?: (tasks: TaskRequest[]) => Promise<Array<{ key: string; ok: boolean; id?: string; error?: Error }>>;
}

export async function createConnectors(input: {
  env: EnvConfig;
  sync: SyncConfig;
  gate: QuotaGate;
  tokens: TokenStore | null;
  logger: ConnectorLogger;
  retries?: number;
}): Promise<ConnectorSet> {
  const { env, gate, tokens, logger } = input;
  const storedHubspot = env.HUBSPOT_ACCESS_TOKEN ? null : await tokens?.get('hubspot');
  const storedSalesforce = env.SALESFORCE_ACCESS_TOKEN || env.SALESFORCE_REFRESH_TOKEN ? null : await tokens?.get('salesforce');

  const hubspot = createHubSpotConnector({
    baseUrl: env.HUBSPOT_BASE_URL,
    accessToken: env.HUBSPOT_ACCESS_TOKEN ?? storedHubspot?.accessToken,
    clientId: env.HUBSPOT_CLIENT_ID,
    clientSecret: env.HUBSPOT_CLIENT_SECRET,
    appId: env.HUBSPOT_APP_ID,
    tokens: tokens ?? undefined,
    gate,
    logger,
    ...(input.retries !== undefined ? { retries: input.retries } : {}),
  });
  const salesforce = createSalesforceConnector({
    instanceUrl: env.SALESFORCE_INSTANCE_URL ?? storedSalesforce?.instanceUrl ?? env.SALESFORCE_LOGIN_URL,
    loginUrl: env.SALESFORCE_LOGIN_URL,
    accessToken: env.SALESFORCE_ACCESS_TOKEN ?? storedSalesforce?.accessToken,
    refreshToken: env.SALESFORCE_REFRESH_TOKEN ?? storedSalesforce?.refreshToken,
    clientId: env.SALESFORCE_CLIENT_ID,
    clientSecret: env.SALESFORCE_CLIENT_SECRET,
    version: env.SALESFORCE_API_VERSION,
    tokens: tokens ?? undefined,
    gate,
    logger,
    bulkThreshold: input.sync.bulkThreshold,
  });
  return {
    hubspot,
    salesforce,
    salesforceTasks: (tasks) => salesforce.createTasks(tasks),
  };
}
