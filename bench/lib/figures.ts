/**
 * The pure arithmetic of the benchmark: the batching floor, call classification, percentiles and
 * rates. No I/O here, so that it can be unit tested.
 */

/** The largest batches the APIs allow (DESIGN.md "Data flow"). */
export const HUBSPOT_LIST_PAGE = 100;
export const HUBSPOT_BATCH = 100;
export const SALESFORCE_QUERY_PAGE = 2000;
export const SALESFORCE_COLLECTION = 200;
/**
 * Bulk API 2.0 (connectors/salesforce/sandbox/README.md): every HTTP request of a job is one API
 * request. A query job is at least a create, one look at its state and one call per result set
 * (the sandbox's sets hold 50,000 rows; Salesforce sizes them itself). An ingest job is at least a
 * create, the upload, the close, one look at its state and its failed results; the connector puts
 * at most 10,000 records in one (one of the org's daily batches).
 */
export const BULK_RESULT_SET = 50_000;
export const BULK_QUERY_JOB_CALLS = 2;
export const BULK_INGEST_JOB_CALLS = 5;
export const BULK_INGEST_RECORDS = 10_000;

export interface CallStats {
  total: number;
  calls: Record<string, number>;
}

export interface FloorInput {
  /**
   * Records read by listing or querying everything (a full read). `salesforceSide`: the rows of each
   * Salesforce side stream (Accounts, Tasks: pages of 2,000, one query at least); `hubspotCompanies`:
   * companies listed (pages of 100, plus one listing of the archived ones).
   */
  fullRead?: { hubspot: number; salesforceLeads: number; salesforceContacts: number; salesforceSide?: number[]; hubspotCompanies?: number };
  /** Records read by id (HubSpot batch read of 100). */
  hubspotReadById?: number;
  /** Salesforce change-feed polls made (each must query Lead and Contact once at least). */
  salesforcePolls?: number;
  /**
   * Opportunity streams each Salesforce poll (and a full read) also queries: 2 (Opportunity and
   * OpportunityContactRole) when `sync.opportunities` is on, else 0; one query each at least.
   */
  opportunityStreams?: number;
  /**
   * Other side streams each poll reads, one query or search each at least: Salesforce Accounts and
   * Tasks (sync.accounts, sync.activities.read), HubSpot companies (sync.accounts).
   */
  sideStreams?: { salesforce: number; hubspot: number };
  /** Records found by those polls. */
  salesforceChanged?: number;
  /** HubSpot change-feed polls (one search each at least). */
  hubspotPolls?: number;
  hubspotWritten: number;
  hubspotCreated: number;
  salesforceWritten: number;
  /** Leads, Contacts and Tasks created. */
  salesforceCreated: number;
  /**
   * The run may use Bulk API 2.0 (bench `--bulk-threshold`): a full read of Leads or Contacts
   * (`query`) and Salesforce updates (`write`) cost the fewer of the batch calls and the job's
   * calls. Creates stay collections (the connector creates by collections).
   */
  bulk?: { query: boolean; write: boolean };
}

export interface Floor {
  hubspot: { reads: number; writes: number };
  salesforce: { reads: number; writes: number };
  total: number;
}

const pages = (n: number, size: number) => (n > 0 ? Math.ceil(n / size) : 0);

/** The fewest calls the batch APIs allow for the given work. */
export function batchingFloor(input: FloorInput): Floor {
  const full = input.fullRead;
  const side = input.sideStreams ?? { salesforce: 0, hubspot: 0 };
  const companies = full?.hubspotCompanies;
  const hubspotReads =
    (full ? pages(full.hubspot, HUBSPOT_LIST_PAGE) + (companies !== undefined ? Math.max(1, pages(companies, HUBSPOT_LIST_PAGE)) + 1 : 0) : 0) +
    pages(input.hubspotReadById ?? 0, HUBSPOT_BATCH) + (input.hubspotPolls ?? 0) * (1 + side.hubspot);
  const polls = input.salesforcePolls ?? 0;
  const opportunityStreams = input.opportunityStreams ?? 0;
  const sideFull = (full?.salesforceSide ?? []).reduce((n, rows) => n + Math.max(1, pages(rows, SALESFORCE_QUERY_PAGE)), 0);
  const stream = (rows: number) => {
    const soql = pages(rows, SALESFORCE_QUERY_PAGE);
    return input.bulk?.query && rows > 0 ? Math.min(soql, BULK_QUERY_JOB_CALLS + pages(rows, BULK_RESULT_SET)) : soql;
  };
  const updates = (n: number) => {
    const collections = pages(n, SALESFORCE_COLLECTION);
    return input.bulk?.write && n > 0 ? Math.min(collections, BULK_INGEST_JOB_CALLS * pages(n, BULK_INGEST_RECORDS)) : collections;
  };
  const salesforceReads =
    (full ? stream(full.salesforceLeads) + stream(full.salesforceContacts) + opportunityStreams + sideFull : 0) +
    Math.max(2 * polls, pages(input.salesforceChanged ?? 0, SALESFORCE_QUERY_PAGE)) +
    (opportunityStreams + side.salesforce) * polls;
  const hubspotWrites = pages(input.hubspotWritten, HUBSPOT_BATCH) + pages(input.hubspotCreated, HUBSPOT_BATCH);
  const salesforceWrites = updates(input.salesforceWritten) + pages(input.salesforceCreated, SALESFORCE_COLLECTION);
  return {
    hubspot: { reads: hubspotReads, writes: hubspotWrites },
    salesforce: { reads: salesforceReads, writes: salesforceWrites },
    total: hubspotReads + hubspotWrites + salesforceReads + salesforceWrites,
  };
}

/** A counted call is a read when it is a GET, a query, a batch read or a search; else a write. */
export function isReadCall(key: string): boolean {
  const [method, path = ''] = key.split(' ');
  return method === 'GET' || /\/(batch\/read|search)$/.test(path);
}

export function splitCalls(stats: CallStats): { reads: number; writes: number; total: number } {
  let reads = 0;
  let writes = 0;
  for (const [key, n] of Object.entries(stats.calls)) {
    if (isReadCall(key)) reads += n;
    else writes += n;
  }
  return { reads, writes, total: reads + writes };
}

/** `a - b` per key (calls the bench itself made are taken out of a sandbox's counts). */
export function subtractCalls(a: CallStats, b: Record<string, number>): CallStats {
  const calls: Record<string, number> = { ...a.calls };
  let total = a.total;
  for (const [key, n] of Object.entries(b)) {
    const have = calls[key] ?? 0;
    const take = Math.min(have, n);
    total -= take;
    if (have - take > 0) calls[key] = have - take;
    else delete calls[key];
  }
  return { total, calls };
}

/** Collapses ids in paths (`/sobjects/Lead/00Q...`, `/contacts/123`) so that endpoints group. */
export function endpointOf(key: string): string {
  return key
    .replace(/\/v\d+\.\d+\//, '/vXX.X/')
    .replace(/\/[0-9A-Za-z]{15,18}(?=\/|$)/g, (segment) => (/\d/.test(segment) ? '/:id' : segment))
    .replace(/\/\d+(?=\/|$)/g, '/:id');
}

export function byEndpoint(stats: CallStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(stats.calls)) {
    const e = endpointOf(key);
    out[e] = (out[e] ?? 0) + n;
  }
  return Object.fromEntries(Object.entries(out).sort((x, y) => y[1] - x[1]));
}

/** Nearest-rank percentile of a list (ms); null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Calls per 10 s: averaged over the span from the first to the last call, and the busiest 10 s window. */
export function callRate(times: readonly number[], windowMs = 10_000): { calls: number; spanMs: number; avgPer10s: number; peakPer10s: number } {
  if (times.length === 0) return { calls: 0, spanMs: 0, avgPer10s: 0, peakPer10s: 0 };
  const sorted = [...times].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const last = sorted[sorted.length - 1] as number;
  const spanMs = Math.max(last - first, 1);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi += 1) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs) lo += 1;
    peak = Math.max(peak, hi - lo + 1);
  }
  // Under 10 s of calls, the average is the count itself (it fits one window).
  const avgPer10s = spanMs < windowMs ? sorted.length : (sorted.length / spanMs) * windowMs;
  return { calls: sorted.length, spanMs, avgPer10s, peakPer10s: peak };
}

export interface Timeline {
  t: number;
  who: 'user' | 'connector';
}

/**
 * The latency of one change: from the first user change of `source` to the first connector write
 * after it to `source` itself and to `other`. Null parts when no write followed.
 */
export function changeLatency(source: readonly Timeline[], other: readonly Timeline[]): { changedAt: number | null; toOther: number | null; toBoth: number | null } {
  const change = source.find((m) => m.who === 'user');
  if (!change) return { changedAt: null, toOther: null, toBoth: null };
  const firstAfter = (marks: readonly Timeline[]) => marks.find((m) => m.who === 'connector' && m.t >= change.t)?.t ?? null;
  const self = firstAfter(source);
  const there = firstAfter(other);
  return {
    changedAt: change.t,
    toOther: there === null ? null : there - change.t,
    // A change whose own record needs nothing back (a title that moves no score) is in both CRMs once
    // the other is written; when its record is written back too, the later write counts. (Whether
    // the two agree afterwards is the phase's own check on the scores.)
    toBoth: there === null ? null : Math.max(there, self ?? there) - change.t,
  };
}
