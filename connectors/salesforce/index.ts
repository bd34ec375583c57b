/**
 * The Salesforce connector: the CrmConnector contract (connectors/types.ts) over jsforce, plus
 * what only Salesforce has (tasks for reps, the org's Lead Status values, Accounts by domain).
 * It knows nothing of scoring; it reads and writes records, fields and tasks.
 */
import type {
  AccountPage,
  ActivityPage,
  ChangeOptions,
  ChangePage,
  ChangeStreamHandler,
  ChangeSubscription,
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
  TaskRequest,
  RefreshLock,
  TokenStore,
  WriteOutcome,
} from '../types.js';
import { AccountLookup } from './accounts.js';
import type { AccountMatch } from './accounts.js';
import type { JwtBearerOptions } from './auth.js';
import { PAGE_SIZE, readStream, STREAMS } from './change-feed.js';
import { BULK_WRITE_BATCH, COLLECTION_SIZE } from './batch.js';
import { DEFAULT_API_VERSION, SalesforceClient } from './client.js';
import { createTranslations } from './picklists.js';
import type { SalesforceMappingOptions, Translations } from './picklists.js';
import { OrgMetadata } from './metadata.js';
import type { LeadStatusInfo } from './metadata.js';
import { readOpportunities } from './opportunities.js';
import { readAccounts } from './account-feed.js';
import { readActivities } from './activities.js';
import { listOwners } from './owners.js';
import { createRecords, IDS_PER_QUERY, readRecords, writeRecords } from './records.js';
import type { RecordDeps } from './records.js';
import { ensureSchema } from './schema.js';
import { changeCaptureObjects, subscribeChanges } from './streaming.js';
import { createTasks } from './tasks.js';
import type { TaskOutcome } from './tasks.js';
import { ensureUserAccess, resolveAssignees } from './user-access.js';
import { ensureLayouts } from './layouts.js';
import { integrationAccess } from './visibility.js';
import type { IntegrationAccess } from './visibility.js';
import type { LayoutReport } from './layouts.js';
import type { AssignTarget, SfUser, UserAccessReport } from './user-access.js';
import type { SyncField } from '../../src/model/field-sync.js';

export type { IntegrationAccess };
export type { AccountMatch, AssignTarget, JwtBearerOptions, LayoutReport, LeadStatusInfo, SalesforceMappingOptions, SfUser, TaskOutcome, UserAccessReport };
export { LAYOUT_FIELDS, LAYOUT_SECTION } from './layouts.js';
export { AssignTargetError, describeTarget, parseAssignTarget } from './user-access.js';
export { INTEGRATION_PERMISSION_SET, USER_PERMISSION_SET } from './permissions.js';
export { ACCESS_FIX } from './schema.js';
export { toCrmError, DEFAULT_API_VERSION } from './client.js';
export { isOwnOrigin, STREAM_CHANNELS } from './streaming.js';

/** Defaults of the Bulk API 2.0 path (README.md, configuration). */
export const DEFAULT_BULK_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_BULK_POLL_TIMEOUT_MS = 90_000;

/** The client id our calls carry (`Sforce-Call-Options`), and Change Data Capture reports back. */
export const DEFAULT_CLIENT_NAME = 'smarketing-connector';

export interface SalesforceConnectorOptions {
  instanceUrl: string;
  /** `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain; the token endpoint host. */
  loginUrl: string;
  accessToken?: string;
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** REST API version (default 62.0). */
  version?: string;
  /** The OAuth 2.0 JWT bearer flow instead of a refresh token. */
  jwt?: JwtBearerOptions;
  /** Where refreshed tokens are kept (encrypted by the implementation). */
  tokens?: TokenStore;
  /** Serialises refreshes across workers (with refresh token rotation, two at once would spend one token twice). */
  refreshLock?: RefreshLock;
  gate: QuotaGate;
  logger?: ConnectorLogger;
  mapping?: SalesforceMappingOptions;
  /**
   * Above this many updates of one object in one `write`, one Bulk API 2.0 ingest job instead of
   * collections, and `batchSizes.write` becomes BULK_WRITE_BATCH so that write-back can hand that
   * many to one call. Off by default; 2000 suits a real org (src/config.ts `sync.bulkThreshold`).
   */
  bulkThreshold?: number;
  /**
   * Above this many rows in a stream (a `COUNT()` first), a full read of Leads or Contacts is one
   * Bulk API 2.0 query job instead of SOQL pages. Off by default (src/config.ts
   * `sync.bulkQueryThreshold`).
   */
  bulkQueryThreshold?: number;
  /** How often a Bulk API 2.0 job's state is read (each look is an API call); default 5 s. */
  bulkPollIntervalMs?: number;
  /**
   * How long a job may take before it is given up (a query falls back to SOQL pages, an ingest
   * job is aborted and its unprocessed records retried); default 90 s, below write-back's lease.
   */
  bulkPollTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Refresh guard: failed refreshes tolerated in `refreshWindowMs` (default 2 in 10 minutes). */
  maxFailedRefreshes?: number;
  refreshWindowMs?: number;
  /**
   * Read a Contact's company through the `Account.*` relationship in the same query (default
   * true; turn it off for an integration user without access to Accounts).
   */
  contactAccountFields?: boolean;
  /** How long the describe of Lead/Contact and the Lead Status values are trusted (default 30 min). */
  metadataTtlMs?: number;
  /** Rows per change-feed query (default and maximum 2000, Salesforce's largest batch). */
  pageSize?: number;
  /** Epoch ms now, the quota gate's clock (the service's; tests move it with the sandbox's). */
  clock?: () => number;
  /** The client id our calls name (`Sforce-Call-Options: client=`); default `smarketing-connector`. */
  clientName?: string;
  /** Fields copied between the CRMs (src/config.ts `resolveSyncFields`): read with every row, written by field name. */
  syncFields?: readonly SyncField[];
  /** The field on Lead and Contact where reps keep notes (`sync.salesNotesField`), read into `sales.notes`. */
  salesNotesField?: string | null;
}

/**
 * What `smk install` and `smk doctor` do beyond the fields: who may see them (field-level security
 * through permission sets) and where reps see them (page layouts).
 */
export interface SalesforceSetup {
  /**
   * The active users an `--assign` target names; a profile or email naming nobody (or an inactive
   * user) is an AssignTargetError that says which. Reads only.
   */
  resolveAssignees(target: AssignTarget): Promise<SfUser[]>;
  /** The reps' permission set "Smarketing Connector" with its grants; with `assign`, those users hold it. */
  ensureUserAccess(options?: { dryRun?: boolean; assign?: { target: AssignTarget; users: SfUser[] } }): Promise<UserAccessReport>;
  /**
   * The "Smarketing" section on every Lead and Contact page layout (Metadata API); on a dry run,
   * which layouts lack which fields, without writing.
   */
  ensureLayouts(options?: { dryRun?: boolean }): Promise<LayoutReport>;
  /** Which smk fields the integration user can read and edit, and through which permission sets. */
  integrationAccess(): Promise<IntegrationAccess>;
}

export interface SalesforceConnector extends CrmConnector, SalesforceSetup {
  readonly name: 'salesforce';
  createTasks(tasks: TaskRequest[]): Promise<TaskOutcome[]>;
  /** The org's real Lead Status values (LeadStatus), in their sort order. */
  leadStatuses(): Promise<LeadStatusInfo[]>;
  /** The Account of each company domain that has one (normalised domain → Account). */
  accountsByDomain(domains: string[]): Promise<Map<string, AccountMatch>>;
  /** The objects selected for Change Data Capture in the org (`Lead`, `Contact`...). */
  changeDataCapture(): Promise<string[]>;
}

/** The connection settings from the environment (DESIGN.md "Interfaces"); undefined when unset. */
export function salesforceOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<SalesforceConnectorOptions, 'instanceUrl' | 'loginUrl' | 'accessToken' | 'refreshToken' | 'clientId' | 'clientSecret'> {
  const value = (name: string) => (env[name] && env[name]?.trim() !== '' ? env[name]?.trim() : undefined);
  const loginUrl = value('SALESFORCE_LOGIN_URL') ?? 'https://login.salesforce.com';
  return {
    instanceUrl: value('SALESFORCE_INSTANCE_URL') ?? loginUrl,
    loginUrl,
    accessToken: value('SALESFORCE_ACCESS_TOKEN'),
    refreshToken: value('SALESFORCE_REFRESH_TOKEN'),
    clientId: value('SALESFORCE_CLIENT_ID'),
    clientSecret: value('SALESFORCE_CLIENT_SECRET'),
  };
}

export function createSalesforceConnector(options: SalesforceConnectorOptions): SalesforceConnector {
  const client = new SalesforceClient({
    instanceUrl: options.instanceUrl.replace(/\/+$/, ''),
    loginUrl: options.loginUrl.replace(/\/+$/, ''),
    accessToken: options.accessToken,
    refreshToken: options.refreshToken,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    jwt: options.jwt,
    tokens: options.tokens,
    refreshLock: options.refreshLock,
    gate: options.gate,
    logger: options.logger,
    version: options.version ?? DEFAULT_API_VERSION,
    requestTimeoutMs: options.requestTimeoutMs,
    maxFailedRefreshes: options.maxFailedRefreshes,
    windowMs: options.refreshWindowMs,
    ...(options.clock ? { clock: options.clock } : {}),
    clientName: options.clientName ?? DEFAULT_CLIENT_NAME,
  });
  const metadata = new OrgMetadata(client, options.metadataTtlMs);
  // The translation tables hold the org's Lead Status values: rebuilt whenever those are re-read.
  let translations: { source: Promise<LeadStatusInfo[]>; value: Promise<Translations> } | null = null;
  const accounts = new AccountLookup(client);
  const deps: RecordDeps = {
    client,
    metadata,
    accounts,
    translations: () => {
      const source = metadata.leadStatuses();
      if (translations?.source !== source) translations = { source, value: source.then((statuses) => createTranslations(options.mapping ?? {}, statuses)) };
      return translations.value;
    },
    bulkThreshold: options.bulkThreshold ?? Number.POSITIVE_INFINITY,
    relationships: options.contactAccountFields ?? true,
    syncFields: options.syncFields ?? [],
    syncFieldSpecs: new Map((options.syncFields ?? []).map((f) => [f.name, f])),
    salesNotesField: options.salesNotesField ?? null,
    bulkPollTimeoutMs: options.bulkPollTimeoutMs ?? DEFAULT_BULK_POLL_TIMEOUT_MS,
    bulkPollIntervalMs: options.bulkPollIntervalMs ?? DEFAULT_BULK_POLL_INTERVAL_MS,
    bulkQuery: {
      threshold: options.bulkQueryThreshold ?? Number.POSITIVE_INFINITY,
      pollIntervalMs: options.bulkPollIntervalMs ?? DEFAULT_BULK_POLL_INTERVAL_MS,
      pollTimeoutMs: options.bulkPollTimeoutMs ?? DEFAULT_BULK_POLL_TIMEOUT_MS,
    },
    ...(options.logger ? { logger: options.logger } : {}),
  };
  // Write-back hands a connector at most `batchSizes.write` updates per call: with bulk writes on,
  // up to one ingest job's worth (below the threshold the call still goes by collections of 200).
  const writeBatch = Number.isFinite(deps.bulkThreshold) ? Math.max(COLLECTION_SIZE, BULK_WRITE_BATCH) : COLLECTION_SIZE;

  const pageSize = Math.max(1, Math.min(PAGE_SIZE, options.pageSize ?? PAGE_SIZE));

  async function* changes(position: FeedPosition, opts: ChangeOptions = {}): AsyncGenerator<ChangePage> {
    const until = opts.safetyMarginMs ? new Date((opts.now ?? new Date()).getTime() - opts.safetyMarginMs) : null;
    // Each stream gets up to `maxPages`, so a backlog of Leads cannot starve the Contacts.
    for (const object of STREAMS) {
      if (opts.signal?.aborted) return;
      yield* readStream(deps, object, position[object] ?? null, { scanAll: true, until, openSecondAt: until ? null : (opts.now ?? new Date()), maxPages: opts.maxPages, signal: opts.signal, pageSize });
    }
  }

  async function* readAll(opts: { signal?: AbortSignal } = {}): AsyncGenerator<ChangePage> {
    for (const object of STREAMS) {
      if (opts.signal?.aborted) return;
      yield* readStream(deps, object, null, { scanAll: false, signal: opts.signal, pageSize });
    }
  }

  return {
    name: 'salesforce',
    batchSizes: { read: IDS_PER_QUERY, write: writeBatch, create: COLLECTION_SIZE },
    changes,
    readAll,
    read: (refs: RecordRef[]): Promise<ReadResult> => readRecords(deps, refs),
    write: (updates: RecordUpdate[]): Promise<WriteOutcome[]> => writeRecords(deps, updates),
    create: (requests: CreateRequest[]): Promise<CreateOutcome[]> => createRecords(deps, requests),
    ensureSchema: (opts?: { dryRun?: boolean }): Promise<SchemaReport> => ensureSchema({ client, metadata }, opts),
    owners: (): Promise<CrmOwner[]> => listOwners(client),
    quota: (): Promise<QuotaReport> => options.gate.report('salesforce'),
    ping: async (): Promise<void> => {
      // Reachable, authorised and allowed to read leads: the Lead Status values (also cached for mapping).
      await metadata.leadStatuses({ fresh: true });
    },
    subscribe: (from: Record<string, number | null>, handler: ChangeStreamHandler): Promise<ChangeSubscription> =>
      subscribeChanges(client, from, handler, { clientName: options.clientName ?? DEFAULT_CLIENT_NAME, logger: options.logger }),
    createTasks: (tasks: TaskRequest[]) => createTasks(client, tasks),
    resolveAssignees: (target: AssignTarget) => resolveAssignees(client, target),
    ensureUserAccess: (opts = {}) => ensureUserAccess(client, opts),
    ensureLayouts: (opts = {}) => ensureLayouts(client, opts),
    integrationAccess: () => integrationAccess({ client, metadata }),
    leadStatuses: () => metadata.leadStatuses(),
    accountsByDomain: (domains: string[]) => accounts.byDomain(domains),
    changeDataCapture: () => changeCaptureObjects(client),
    opportunities: (position: FeedPosition, opts: ChangeOptions = {}): AsyncIterable<OpportunityPage> => readOpportunities(deps, position, { ...opts, pageSize }),
    accounts: (position: FeedPosition, opts: ChangeOptions = {}): AsyncIterable<AccountPage> => readAccounts(deps, position, { ...opts, pageSize }),
    activities: (position: FeedPosition, opts: ChangeOptions = {}): AsyncIterable<ActivityPage> => readActivities(deps, position, { ...opts, pageSize }),
  };
}

