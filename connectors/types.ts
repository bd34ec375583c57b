/**
 * The contract every CRM adapter implements. The pipeline speaks only this; an adapter speaks its
 * vendor's official client. Adapters depend on `src/model` and this file only: no rules, no Redis.
 * What they need from the outside (a shared quota limiter, a token store, a logger) is injected.
 */
import type { CrmName, LeadFragment, Person, Company, Marketing } from '../src/model/lead.js';
import type { SmkFieldKey } from '../src/model/fields.js';
import type { CrmError, CrmErrorCode } from './errors.js';

export type { CrmName };

/** HubSpot `contact`; Salesforce `Lead` or `Contact`. */
export type CrmObject = 'contact' | 'Lead' | 'Contact';

export interface RecordRef {
  object: CrmObject;
  id: string;
}

/** A `(timestamp, id)` position in one change stream: records are ordered by both. */
export interface StreamPosition {
  /** ISO timestamp of the last record handed on. */
  ts: string;
  /**
   * Id of the last record handed on at that timestamp (the tie-breaker). Empty means "from this
   * timestamp on, inclusive" (where a full read began, before any record of the feed was seen).
   */
  id: string;
}

/** Positions of every stream of one CRM (HubSpot: `contacts`; Salesforce: `Lead`, `Contact`). */
export type FeedPosition = Record<string, StreamPosition | null>;

/** A record that could not be read or mapped: reported in sync errors, never blocking the rest. */
export interface RecordProblem {
  ref: RecordRef | null;
  code: CrmErrorCode;
  message: string;
  field?: string;
  value?: string;
}

export interface RemovedRecord {
  ref: RecordRef;
  /** archived (HubSpot), deleted (Salesforce), merged into another record (HubSpot merge). */
  reason: 'archived' | 'deleted' | 'merged';
  survivorId?: string;
  at: string;
}

export interface ChangePage {
  stream: string;
  fragments: LeadFragment[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
  /** Save this only after the page has been handed on; reading a page twice is harmless. */
  position: StreamPosition | null;
}

export interface ChangeOptions {
  /** The feed reads up to `now - safetyMarginMs` (HubSpot's search index lags writes). */
  now?: Date;
  safetyMarginMs?: number;
  /** Stop after this many pages (a poll cycle can be bounded). */
  maxPages?: number;
  signal?: AbortSignal;
}

export interface ReadResult {
  fragments: LeadFragment[];
  /** Ids the CRM no longer has (or that were merged away: see `removed`). */
  missing: RecordRef[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
}

/** Values the connector writes to one record. `smk` values travel as strings (see model/fields.ts). */
export interface RecordUpdate {
  ref: RecordRef;
  smk: Partial<Record<SmkFieldKey, string | null>>;
  /** The CRM's own owner id, when routing assigned one. */
  ownerId?: string | null;
  /** HubSpot only: the lifecycle stage to set, and whether to clear first (a deliberate move back). */
  lifecycleStage?: { value: string; clearFirst: boolean };
  /** Salesforce Lead only: a Status value. */
  status?: string;
  /**
   * Synced fields (src/model/field-sync.ts) by field name, canonical, in this CRM's vocabulary
   * (null clears). A value the CRM would refuse is left out and reported in the outcome's `refused`;
   * the rest of the record is written.
   */
  fields?: Record<string, string | null>;
}

export type WriteOutcome =
  /** `refused`: synced field values left out of the write, each with the CRM's reason (the rest was written). */
  | { ref: RecordRef; ok: true; refused?: Array<{ field: string; error: CrmError }> }
  | { ref: RecordRef; ok: false; error: CrmError };

export interface CreateRequest {
  /** The connector's lead id: written to `smk_lead_id`/`Smk_Lead_Id__c`, so a retried create finds its first try. */
  leadId: string;
  email: string;
  person: Person;
  company: Company;
  marketing?: Pick<Marketing, 'source' | 'campaign'>;
  smk: Partial<Record<SmkFieldKey, string | null>>;
  ownerId?: string | null;
  /** Salesforce only: which object to create; `auto` = a Contact under the Account matching the domain, else a Lead. */
  as?: 'auto' | 'Lead' | 'Contact';
  /**
   * The account the lead was matched to in this CRM (src/sync/account-match.ts). Salesforce: with
   * `auto` or `Contact` the person is created as a Contact under the Account (without one, the
   * connector looks for an Account by the person's domain itself). HubSpot: the contact is created
   * with the company as its primary company.
   */
  account?: { id: string; ownerId: string | null };
  /** No earlier call can have created this record (its first try): the connector may skip looking for one. */
  firstTry?: boolean;
  /**
   * Synced field values for the new record (src/model/field-sync.ts), by field name, in this CRM's
   * vocabulary: written as the other CRM holds them (a website as typed, not as a domain). A value
   * this CRM would refuse is left out; field sync plans it again once the record is read, and the
   * refusal is reported then.
   */
  fields?: Record<string, string | null>;
}

export type CreateOutcome =
  /** `refused`: synced field values the create left out, each with the CRM's reason (the record was created without them). */
  | { leadId: string; ok: true; ref: RecordRef; created: boolean; refused?: Array<{ field: string; error: CrmError }> }
  | { leadId: string; ok: false; error: CrmError };

export interface TaskRequest {
  /** The rep (Salesforce User id). */
  ownerId: string;
  /** The Lead or Contact the task is about. */
  whoId: string;
  subject: string;
  description: string;
  dueDate?: string;
  /** Idempotency: a retried job does not create a second task. */
  key: string;
  /** No earlier call can have created this task (its first try): the connector may skip looking for one. */
  firstTry?: boolean;
}

export interface CrmOwner {
  id: string;
  email: string | null;
  name: string;
  active: boolean;
}

export interface SchemaChange {
  object: string;
  field: string;
  /** `granted`: the field existed, and the connector's own user was given access to it (Salesforce field-level security). */
  action: 'created' | 'updated' | 'granted' | 'unchanged';
}

export interface SchemaReport {
  crm: CrmName;
  changes: SchemaChange[];
  /** Permission or validation problems, each with what to do about it. */
  problems: Array<{ object: string; field?: string; message: string; fix: string }>;
  /** What else was done (or, on a dry run, would be), one sentence each: e.g. a permission set created. */
  notes?: string[];
}

export interface QuotaReport {
  crm: CrmName;
  /** Our calls in the current daily window (see `window`), as the limiter counts them. */
  dailyUsed: number;
  /** The CRM's daily limit for everyone, as it reports it (or as configured). */
  dailyLimit: number | null;
  /** Our share of that limit. */
  dailyBudget: number | null;
  /** Short-window figures (HubSpot 10 s). */
  windowUsed?: number;
  windowLimit?: number;
  paused: boolean;
  /** When work may go again: the end of the window, or when the CRM's usage is next re-checked. */
  resumesAt?: string;
  /**
   * How the daily window is counted: HubSpot's portal day (midnight to midnight in the portal's
   * time zone), or a rolling 24 hours (Salesforce; HubSpot until the portal's time zone is known).
   */
  window?: { kind: 'portal-day'; timeZone: string; resetsAt: string } | { kind: 'rolling-24h' };
  /** What the CRM last said of everyone's usage (Sforce-Limit-Info, /limits, X-HubSpot-RateLimit-Daily*). */
  crmUsage?: { used: number; limit: number; at: string };
  /** Why work is paused: our own budget, the CRM's limit for everyone, or an explicit pause. */
  pausedBy?: 'budget' | 'crm-limit' | 'pause';
}

/** What a CRM said about its limits, in the gate's vocabulary. */
export interface QuotaObservation {
  /** Calls used and allowed in the CRM's daily window, for everyone (Sforce-Limit-Info, X-HubSpot-RateLimit-Daily*). */
  dailyUsed?: number;
  dailyLimit?: number;
  windowRemaining?: number;
  windowLimit?: number;
  /** HubSpot: the portal's time zone (`GET /account-info/v3/details` `timeZone`), whose midnight ends the daily window. */
  timeZone?: string;
  /** The CRM refused a call because its daily limit is reached, without saying its usage. */
  limitReached?: boolean;
}

/**
 * The shared limiter (implemented in src/store over Redis so that every worker process counts
 * against one budget). `take` resolves when a call may go out, waits through short windows, and
 * throws a QUOTA_EXHAUSTED CrmError when the daily budget is spent or the CRM is out of calls for
 * everyone.
 */
export interface QuotaGate {
  /**
   * `probe`: the one call that re-reads the CRM's own usage (or HubSpot's time zone) after
   * `claimProbe` allowed it. It passes a hold that only the CRM can lift; it still counts, and our
   * own budget still applies.
   */
  take(crm: CrmName, kind: 'read' | 'write' | 'search', calls?: number, options?: { probe?: boolean }): Promise<void>;
  /** What the CRM said about usage (Sforce-Limit-Info, X-HubSpot-RateLimit-*, account info). */
  observe(crm: CrmName, info: QuotaObservation): Promise<void>;
  report(crm: CrmName): Promise<QuotaReport>;
  /**
   * Whether the caller may now make the one call that tells the gate what it waits for: the CRM's
   * usage while work is held for the CRM's limit (Salesforce `GET /limits`), or the portal's time
   * zone (HubSpot account info). At most one caller per interval across every worker.
   */
  claimProbe?(crm: CrmName): Promise<boolean>;
}

export interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; absent when the CRM does not say (Salesforce). */
  expiresAt?: number;
  instanceUrl?: string;
  scopes?: string[];
}

/** Tokens at rest are encrypted by the implementation (src/store). */
/**
 * One token refresh at a time for a CRM, across every worker process (the service implements it
 * with a Redis lock beside the TokenStore). `fn` runs while the lock is held; the implementation
 * waits for another holder and rejects when it cannot get the lock in time.
 */
export interface RefreshLock {
  withRefreshLock<T>(crm: CrmName, fn: () => Promise<T>): Promise<T>;
}

export interface TokenStore {
  get(crm: CrmName): Promise<StoredTokens | null>;
  set(crm: CrmName, tokens: StoredTokens): Promise<void>;
}

/** The slice of a pino logger adapters use; it must never receive tokens or personal values. */
export interface ConnectorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * One change a CRM pushed (Salesforce Change Data Capture): the records it names, never their
 * values; ingest reads them, so the engine's ordering and recency rules apply unchanged.
 */
export interface StreamedChange {
  /** The stream it belongs to (the feed's stream names: Salesforce `Lead`, `Contact`). */
  stream: string;
  /** Its position in the stream: resubscribing from here delivers what came after it. */
  replayId: number;
  /** `change` (created, updated, deleted, undeleted); `gap` (no details: read the records); `overflow` (no record ids: poll). */
  kind: 'change' | 'gap' | 'overflow';
  changeType: string;
  refs: RecordRef[];
  /** Made by this connector's own client (its write-back, seen again): nothing to read. */
  own: boolean;
  /** Epoch ms the change was committed in the CRM. */
  committedAt: number;
}

export type StreamState =
  | { state: 'connected' }
  | {
      state: 'down';
      /**
       * `replay-invalid`: the stored position is no longer retained (72 hours); `auth`: the CRM
       * refused the session; `allocation`: the org's daily event delivery allocation is spent;
       * `transport`: the connection is lost (the client retries); `malformed`: an event failed validation;
       * `handoff`: a delivery could not be handed on (the handler rejected): the subscription stops
       * delivering, and a new one from the stored replay ids delivers it again.
       */
      reason: 'replay-invalid' | 'auth' | 'allocation' | 'transport' | 'malformed' | 'handoff';
      message: string;
      stream?: string;
    };

export interface ChangeStreamHandler {
  /** Changes delivered together, in stream order; resolve only once they are durably handed on. */
  onChanges(changes: StreamedChange[]): Promise<void>;
  onState(state: StreamState): void;
}

export interface ChangeSubscription {
  close(): Promise<void>;
}

/**
 * One opportunity (Salesforce Opportunity, HubSpot deal) as read, with the people on it: its
 * contact roles (Salesforce Contacts) or its associated contacts (HubSpot). The pipeline maps it to
 * the leads of those people; a person no longer on it (`removed`) stops carrying it.
 */
export interface OpportunityFact {
  source: CrmName;
  id: string;
  name: string | null;
  /** The CRM's stage as it names it (Salesforce StageName; HubSpot's dealstage id). */
  stage: string | null;
  closed: boolean;
  won: boolean;
  /** In the CRM's currency; null when not set. */
  amount: number | null;
  /** YYYY-MM-DD. */
  closeDate: string | null;
  /** ISO: when the opportunity was created in the CRM. */
  createdAt: string;
  /** ISO: the CRM's modification time of what this fact was read from (the recency rule compares these). */
  modifiedAt: string;
  /** Deleted (Salesforce recycle bin) or archived (HubSpot): no longer anyone's opportunity. */
  deleted: boolean;
  /** The people on it; `removed`: the role or association is gone (that person no longer carries it). */
  contacts: Array<{ ref: RecordRef; removed: boolean }>;
}

export interface OpportunityPage {
  /** Salesforce `Opportunity`, `OpportunityContactRole`; HubSpot `deals`. */
  stream: string;
  opportunities: OpportunityFact[];
  /**
   * Each opportunity lists every person on it now (a person it no longer lists is off it); false
   * when the page names only the people whose role changed (Salesforce OpportunityContactRole).
   */
  complete: boolean;
  problems: RecordProblem[];
  /** Save this only after the page has been applied; applying a page twice is harmless. */
  position: StreamPosition | null;
}

/**
 * One account as read: a Salesforce Account or a HubSpot company. Leads are matched to accounts by
 * website domain, email domain and normalised name (src/sync/account-match.ts); the matched
 * account's owner is asked first at routing.
 */
export interface AccountFact {
  source: CrmName;
  id: string;
  name: string | null;
  /** The website or domain as the CRM holds it (Salesforce Website is free text; HubSpot `domain`). */
  website: string | null;
  /** The owner in that CRM (Salesforce User id; HubSpot owner id), if any. */
  ownerId: string | null;
  /** ISO: when the account was created in the CRM (the oldest account wins a tie). */
  createdAt: string;
  /** ISO: the CRM's modification time of what this fact was read from (the recency rule compares these). */
  modifiedAt: string;
  /** Deleted (Salesforce recycle bin) or archived (HubSpot). */
  deleted: boolean;
}

export interface AccountPage {
  /** Salesforce `Account`; HubSpot `companies`. */
  stream: string;
  accounts: AccountFact[];
  problems: RecordProblem[];
  /** Save this only after the page has been applied; applying a page twice is harmless. */
  position: StreamPosition | null;
}

/**
 * A completed sales activity (a Salesforce Task a rep logged: a call or an email) on a person's
 * record: the rep's touch for the SLA and, where configured, an engagement event.
 */
export interface ActivityFact {
  source: CrmName;
  id: string;
  kind: 'call' | 'email';
  /** The Lead or Contact it was logged on. */
  who: RecordRef;
  /** The rep (Salesforce User id). */
  ownerId: string | null;
  subject: string | null;
  /** ISO: when it was completed; null when the task is not (or no longer) completed. */
  completedAt: string | null;
  /** ISO: the CRM's modification time of what this fact was read from (the recency rule compares these). */
  modifiedAt: string;
  deleted: boolean;
}

export interface ActivityPage {
  /** Salesforce `Task`. */
  stream: string;
  activities: ActivityFact[];
  problems: RecordProblem[];
  /** Save this only after the page has been applied; applying a page twice is harmless. */
  position: StreamPosition | null;
}

export interface CrmConnector {
  readonly name: CrmName;
  /** The largest batches the APIs allow; the pipeline fills them. */
  readonly batchSizes: { read: number; write: number; create: number };
  changes(position: FeedPosition, options?: ChangeOptions): AsyncIterable<ChangePage>;
  /** A full read of every record (initial sync, reconcile), through the cheapest paging the API has. */
  readAll(options?: { signal?: AbortSignal }): AsyncIterable<ChangePage>;
  read(refs: RecordRef[]): Promise<ReadResult>;
  write(updates: RecordUpdate[]): Promise<WriteOutcome[]>;
  create(requests: CreateRequest[]): Promise<CreateOutcome[]>;
  ensureSchema(options?: { dryRun?: boolean }): Promise<SchemaReport>;
  owners(): Promise<CrmOwner[]>;
  quota(): Promise<QuotaReport>;
  /** Reachable and authorised; throws a CrmError otherwise. */
  ping(): Promise<void>;
  /**
   * Pushed changes, where the CRM has a stream (Salesforce Change Data Capture): subscribes every
   * stream from its position (`null`: new changes only) and calls the handler as changes arrive.
   */
  subscribe?(from: Record<string, number | null>, handler: ChangeStreamHandler): Promise<ChangeSubscription>;
  /**
   * Opportunities changed since the position (every one from an empty position), with the people
   * on them, in pages; where the CRM has them (Salesforce Opportunities, HubSpot deals when the
   * portal uses them). Positions are kept per stream, as for `changes`.
   */
  opportunities?(position: FeedPosition, options?: ChangeOptions): AsyncIterable<OpportunityPage>;
  /**
   * Accounts (Salesforce Accounts, HubSpot companies) changed since the position (every one from an
   * empty position), in pages. Positions are kept per stream, as for `changes`.
   */
  accounts?(position: FeedPosition, options?: ChangeOptions): AsyncIterable<AccountPage>;
  /** Completed sales activities (Salesforce Tasks: calls and emails) changed since the position. */
  activities?(position: FeedPosition, options?: ChangeOptions): AsyncIterable<ActivityPage>;
}
