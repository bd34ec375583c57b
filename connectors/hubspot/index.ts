/**
 * The HubSpot connector: CrmConnector (connectors/types.ts) on the official `@hubspot/api-client`,
 * plus webhook verification and parsing. It knows nothing of scoring; what it needs from outside
 * (the quota gate, the token store, a logger) is injected. Connections come from the environment
 * (`hubSpotOptionsFromEnv`), so pointing it at a real portal is configuration only.
 */
import { z } from 'zod';
import type {
  AccountPage,
  ChangeOptions,
  ChangePage,
  ConnectorLogger,
  CreateOutcome,
  CreateRequest,
  CrmConnector,
  CrmOwner,
  FeedPosition,
  OpportunityPage,
  QuotaGate,
  QuotaReport,
  ReadResult,
  RecordRef,
  RecordUpdate,
  SchemaReport,
  TokenStore,
  WriteOutcome,
} from '../types.js';
import type { RefreshLock } from './auth.js';
import { HubSpotClient, DEFAULT_BASE_URL, unexpectedAnswer } from './client.js';
import { mapContacts } from './mapping.js';
import type { MappedContacts } from './mapping.js';
import { createPicklists } from './picklists.js';
import type { PicklistOptions, Picklists } from './picklists.js';
import { READ_PROPERTIES } from './properties.js';
import type { SyncField } from '../../src/model/field-sync.js';
import { PropertyDefinitions } from './field-values.js';
import type { FieldSupport } from './batch.js';
import { CONTACTS_STREAM, DEFAULT_SAFETY_MARGIN_MS, SEARCH_PAGE_LIMIT, readContactChanges } from './change-feed.js';
import type { SearchRequest } from './change-feed.js';
import { ARCHIVED_STREAM, readAllContacts, readArchivedContacts } from './list.js';
import { DEALS_STREAM, readDeals } from './deals.js';
import { ARCHIVED_COMPANIES_STREAM, COMPANIES_STREAM, readCompanies } from './companies.js';
import { BATCH_LIMIT, createContacts, readContacts, writeContacts } from './batch.js';
import { ensureSchema } from './schema.js';
import { checkPropertyAccess } from './property-access.js';
import type { PropertyAccessReport } from './property-access.js';
import { listOwners } from './owners.js';
import { parseWebhookEvents, verifyWebhookSignature } from './webhooks.js';
import type { ParsedWebhook, WebhookRequest, WebhookVerdict } from './webhooks.js';

export interface HubSpotConnectorOptions {
  /** HUBSPOT_BASE_URL (default https://api.hubapi.com). */
  baseUrl?: string;
  /** HUBSPOT_ACCESS_TOKEN: a private-app token. Without it, OAuth tokens come from `tokens`. */
  accessToken?: string;
  clientId?: string;
  /** HUBSPOT_CLIENT_SECRET: OAuth refresh and webhook signatures. */
  clientSecret?: string;
  appId?: number;
  /** OAuth tokens of an install (used where no `accessToken` is given), refreshed and stored back. */
  tokens?: TokenStore;
  /** One OAuth refresh at a time across workers: a single-use refresh token is never spent twice. */
  refreshLock?: RefreshLock;
  gate: QuotaGate;
  logger?: ConnectorLogger;
  /** Picklist translations (src/config.ts `mapping`) over the defaults. */
  mapping?: PicklistOptions;
  /** Fields copied between the CRMs (src/config.ts `resolveSyncFields`): read with every contact, written by field name. */
  syncFields?: readonly SyncField[];
  /** Total attempts per API call (default 3). */
  retries?: number;
  timeoutMs?: number;
  /**
   * How often `changes()` also lists archived contacts (search never returns them). Per process;
   * default 15 minutes; 0 = every call. Webhook `contact.deletion` events report archives at once.
   */
  archivedScanIntervalMs?: number;
  /** Epoch ms now (token expiry); tests inject it. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type { PropertyAccessReport };
export { SIDEBAR_HOWTO } from './property-access.js';

/** What `smk doctor` checks beyond the fields: the smarketing group and whether the app reads its properties. */
export interface HubSpotSetup {
  propertyAccess(): Promise<PropertyAccessReport>;
}

export interface HubSpotConnector extends CrmConnector, HubSpotSetup {
  readonly name: 'hubspot';
  /** The v3 signature check over the raw request (a reason on refusal, never a throw). */
  verifyWebhook(request: WebhookRequest, options?: { now?: number }): WebhookVerdict;
  /** The event array as refs for `read`, eventIds for the duplicate check, and removals. */
  parseWebhook(rawBody: string | Buffer): ParsedWebhook;
  /** The underlying client (tests and diagnostics). */
  readonly client: HubSpotClient;
  readonly picklists: Picklists;
}

const searchAnswerSchema = z.object({ total: z.number().optional(), results: z.array(z.unknown()) });

export function createHubSpotConnector(options: HubSpotConnectorOptions): HubSpotConnector {
  const client = new HubSpotClient({
    baseUrl: options.baseUrl,
    accessToken: options.accessToken,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    tokens: options.tokens,
    refreshLock: options.refreshLock,
    gate: options.gate,
    logger: options.logger,
    retries: options.retries,
    timeoutMs: options.timeoutMs,
    clock: options.clock,
    sleep: options.sleep,
  });
  const picklists = createPicklists(options.mapping);
  const syncFields = options.syncFields ?? [];
  const fieldSupport: FieldSupport = { specs: new Map(syncFields.map((f) => [f.name, f])), definitions: new PropertyDefinitions(client) };
  const map = (raw: readonly unknown[]): MappedContacts => mapContacts(raw, picklists, syncFields);
  // The synced fields' properties join every read (HubSpot ignores names a portal lacks).
  const readProperties = [...new Set([...READ_PROPERTIES, ...syncFields.flatMap((f) => (f.hubspot ? [f.hubspot] : []))])];
  const archivedEvery = options.archivedScanIntervalMs ?? 15 * 60_000;
  // Per process: the first poll of a process lists archived contacts, then every `archivedEvery`.
  let lastArchivedScan = Number.NEGATIVE_INFINITY;
  let lastArchivedCompanyScan = Number.NEGATIVE_INFINITY;

  // POST /crm/v3/objects/contacts/search (reference H3). `sorts` is typed string[] by the SDK but
  // its serializer passes the {propertyName, direction} objects HubSpot expects through untouched.
  const search = async (request: SearchRequest): Promise<{ results: readonly unknown[] }> => {
    const answer = await client.call('search', 'contacts.search', (sdk, o) =>
      sdk.crm.contacts.searchApi.doSearch({
        ...request,
        sorts: request.sorts as unknown as string[],
        filterGroups: request.filterGroups as unknown as Parameters<typeof sdk.crm.contacts.searchApi.doSearch>[0]['filterGroups'],
      }, o),
    );
    const parsed = searchAnswerSchema.safeParse(answer);
    if (!parsed.success) throw unexpectedAnswer('contacts search', parsed.error.issues[0]?.message ?? 'not a search page');
    return parsed.data;
  };

  async function* changes(position: FeedPosition, changeOptions: ChangeOptions = {}): AsyncGenerator<ChangePage> {
    const now = changeOptions.now?.getTime() ?? Date.now();
    let pages = 0;
    for await (const page of readContactChanges(
      { search, map, properties: readProperties },
      position[CONTACTS_STREAM] ?? null,
      { now, safetyMarginMs: changeOptions.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS, maxPages: changeOptions.maxPages, signal: changeOptions.signal },
    )) {
      pages += 1;
      yield page;
    }
    const budgetLeft = changeOptions.maxPages === undefined || pages < changeOptions.maxPages;
    const due = Date.now() - lastArchivedScan >= archivedEvery;
    if (budgetLeft && due && !changeOptions.signal?.aborted) {
      lastArchivedScan = Date.now();
      yield* readArchivedContacts(client, position[ARCHIVED_STREAM] ?? null, changeOptions.signal);
    }
  }

  async function* accounts(position: FeedPosition, opts: ChangeOptions = {}): AsyncGenerator<AccountPage> {
    // Archived companies as archived contacts: listed on a process's first call, then every `archivedEvery`.
    const archived = Date.now() - lastArchivedCompanyScan >= archivedEvery;
    if (archived) lastArchivedCompanyScan = Date.now();
    yield* readCompanies(
      client,
      { live: position[COMPANIES_STREAM] ?? null, archived: position[ARCHIVED_COMPANIES_STREAM] ?? null },
      { now: opts.now?.getTime() ?? Date.now(), safetyMarginMs: opts.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS, maxPages: opts.maxPages, signal: opts.signal, archived },
    );
  }

  return {
    accounts,
    opportunities: (position: FeedPosition, opts: ChangeOptions = {}): AsyncIterable<OpportunityPage> =>
      readDeals(client, position[DEALS_STREAM] ?? null, { now: opts.now?.getTime() ?? Date.now(), safetyMarginMs: opts.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS, maxPages: opts.maxPages, signal: opts.signal }),
    name: 'hubspot',
    batchSizes: { read: BATCH_LIMIT, write: BATCH_LIMIT, create: BATCH_LIMIT },
    client,
    picklists,
    changes,
    readAll: (readOptions?: { signal?: AbortSignal }) => readAllContacts(client, readProperties, map, readOptions?.signal),
    read: (refs: RecordRef[]): Promise<ReadResult> => readContacts({ client, properties: readProperties, map }, refs),
    write: (updates: RecordUpdate[]): Promise<WriteOutcome[]> => writeContacts(client, updates, picklists, fieldSupport),
    create: (requests: CreateRequest[]): Promise<CreateOutcome[]> => createContacts(client, requests, fieldSupport),
    ensureSchema: (schemaOptions?: { dryRun?: boolean }): Promise<SchemaReport> => ensureSchema(client, schemaOptions),
    propertyAccess: () => checkPropertyAccess(client),
    owners: (): Promise<CrmOwner[]> => listOwners(client),
    quota: (): Promise<QuotaReport> => options.gate.report('hubspot'),
    ping: async (): Promise<void> => {
      // The cheapest authorised call: one contact from the list endpoint.
      await client.call('read', 'ping', (sdk, o) => sdk.crm.contacts.basicApi.getPage(1, undefined, ['hs_object_id'], undefined, undefined, false, o));
    },
    verifyWebhook: (request, verifyOptions) => verifyWebhookSignature(request, options.clientSecret, verifyOptions?.now),
    parseWebhook: (rawBody) => parseWebhookEvents(rawBody),
  };
}

/** The connection settings from the environment (DESIGN.md "Interfaces"). */
export function hubSpotOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Pick<HubSpotConnectorOptions, 'baseUrl' | 'accessToken' | 'clientId' | 'clientSecret' | 'appId'> {
  const appId = env.HUBSPOT_APP_ID ? Number(env.HUBSPOT_APP_ID) : undefined;
  return {
    baseUrl: env.HUBSPOT_BASE_URL || DEFAULT_BASE_URL,
    accessToken: env.HUBSPOT_ACCESS_TOKEN || undefined,
    clientId: env.HUBSPOT_CLIENT_ID || undefined,
    clientSecret: env.HUBSPOT_CLIENT_SECRET || undefined,
    appId: appId !== undefined && Number.isFinite(appId) ? appId : undefined,
  };
}

export { SEARCH_PAGE_LIMIT, CONTACTS_STREAM, ARCHIVED_STREAM, COMPANIES_STREAM, ARCHIVED_COMPANIES_STREAM };
export type { WebhookRequest, WebhookVerdict, ParsedWebhook, PicklistOptions, RefreshLock };
