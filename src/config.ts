/**
 * The one config loader: `smarketing.yaml` (path from SMK_CONFIG) plus the environment of
 * DESIGN.md "Interfaces", validated by zod. An invalid file is reported with every problem,
 * each as `path: expected X, got Y`, never a stack trace.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { durationSchema } from './model/duration.js';
import { DEFAULT_SYNC_FIELDS, SYNC_FIELD_TYPES } from './model/field-sync.js';
import type { SyncField } from './model/field-sync.js';
import { OWNED_PATHS, ownershipPolicySchema } from './model/ownership.js';
import type { OwnedPath, OwnershipPolicy } from './model/ownership.js';
import { alertSecretNames, alertsSchema } from './rules/alerts.js';
import { conditionSchema, RESERVED_KEYS, rulesConfigSchema } from './rules/config.js';

export { OWNED_PATHS, OWNERSHIP_POLICIES, ownershipPolicySchema } from './model/ownership.js';
export type { OwnedPath, OwnershipPolicy } from './model/ownership.js';

export const DEFAULT_OWNERSHIP: Record<OwnedPath, OwnershipPolicy> = {
  email: 'two-way',
  'person.firstName': 'two-way',
  'person.lastName': 'two-way',
  'person.title': 'two-way',
  'person.phone': 'two-way',
  'person.country': 'two-way',
  'person.state': 'two-way',
  'person.city': 'two-way',
  'company.name': 'salesforce-unless-blank',
  'company.domain': 'hubspot-unless-blank',
  'company.industry': 'salesforce-unless-blank',
  'company.employees': 'salesforce-unless-blank',
  'company.annualRevenue': 'salesforce-unless-blank',
  'marketing.source': 'hubspot',
  'marketing.campaign': 'hubspot',
  'marketing.lifecycleStage': 'hubspot',
  'marketing.leadStatus': 'hubspot',
  'marketing.unsubscribed': 'hubspot',
  'sales.ownerId': 'salesforce',
  'sales.status': 'salesforce',
  'sales.rating': 'salesforce',
  'sales.decision': 'salesforce',
  'sales.rejectReason': 'salesforce',
  'sales.qualityRating': 'salesforce',
  'sales.disqualifyReason': 'salesforce',
  'sales.notes': 'salesforce',
  'sales.lastActivityAt': 'salesforce',
  'sales.converted': 'salesforce',
};

const shareSchema = z.number().gt(0, 'expected a share above 0').max(1, 'expected a share of at most 1');

const HUBSPOT_PROPERTY = /^[a-z0-9_]+$/;
const SALESFORCE_FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;
const salesforceColumnSchema = z.union([
  z.string().regex(SALESFORCE_FIELD, 'a Salesforce field API name such as Title or Region__c'),
  z.strictObject({
    lead: z.string().regex(SALESFORCE_FIELD, 'a Salesforce field API name').nullable().default(null),
    contact: z.string().regex(SALESFORCE_FIELD, 'a Salesforce field API name').nullable().default(null),
  }),
]);

/** One entry of `sync.fields`: a default field's overrides, or a custom field in full. */
export const syncFieldEntrySchema = z.strictObject({
  hubspot: z.string().regex(HUBSPOT_PROPERTY, 'a HubSpot property internal name: lower case, digits, _').nullable().optional(),
  /** One API name for Lead and Contact, or `{ lead, contact }` (null where that object has none). */
  salesforce: salesforceColumnSchema.nullable().optional(),
  type: z.enum(SYNC_FIELD_TYPES).optional(),
  direction: ownershipPolicySchema.optional(),
  /** Picklist translation, HubSpot value <-> Salesforce value; the first pair of a value wins. */
  values: z.array(z.strictObject({ hubspot: z.string().min(1), salesforce: z.string().min(1) })).optional(),
});
export type SyncFieldEntry = z.infer<typeof syncFieldEntrySchema>;

const DEFAULT_FIELD_NAMES = new Set(DEFAULT_SYNC_FIELDS.map((f) => f.name));

const syncFieldsSchema = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a field name of letters, digits and _'), syncFieldEntrySchema)
  .default({})
  .superRefine((fields, ctx) => {
    for (const [name, entry] of Object.entries(fields)) {
      const base = DEFAULT_SYNC_FIELDS.find((f) => f.name === name);
      if (!base) {
        for (const key of ['hubspot', 'salesforce', 'type'] as const) {
          if (entry[key] === undefined || entry[key] === null) {
            ctx.addIssue({ code: 'custom', path: [name, key], input: entry[key], message: `a custom field needs ${key} (the defaults are ${[...DEFAULT_FIELD_NAMES].join(', ')})` });
          }
        }
      }
      const direction = entry.direction ?? base?.direction;
      if (base?.hubspotReadOnly && (entry.hubspot === undefined || entry.hubspot === base.hubspot) && direction !== undefined && !['hubspot', 'salesforce-unless-blank', 'none'].includes(direction)) {
        ctx.addIssue({ code: 'custom', path: [name, 'direction'], input: direction, message: `HubSpot calculates ${base.hubspot} itself and refuses writes to it: expected hubspot, salesforce-unless-blank or none, got ${direction}` });
      }
    }
  });

export const syncConfigSchema = z
  .strictObject({
    ownership: z.partialRecord(z.enum(OWNED_PATHS), ownershipPolicySchema).default({}),
    /**
     * Fields copied between the HubSpot contact and the Salesforce Lead or Contact, each with a
     * direction (model/field-sync.ts has the defaults; an entry here overrides one or adds one).
     */
    fields: syncFieldsSchema,
    /**
     * The Salesforce field on Lead and Contact where reps keep their notes; it reaches HubSpot as
     * `smk_sales_notes` (null: not read).
     */
    salesNotesField: z.string().regex(SALESFORCE_FIELD, 'a Salesforce field API name such as Description').nullable().default('Description'),
    pollEvery: durationSchema.default(30_000),
    /** The longest a write waits for its batch to fill before it is sent. */
    batchWait: durationSchema.default(2_000),
    reconcileEvery: durationSchema.default(86_400_000),
    /** HubSpot search lags writes: the poll cursor stays this far behind now. */
    searchSafetyMargin: durationSchema.default(10_000),
    /** How long a worker may hold a job before others take it as stalled (a killed worker's jobs come back after it). */
    jobLock: durationSchema.default(30_000),
    /** How long a taken batch of writes is reserved for its worker before another may write it. */
    writeLease: durationSchema.default(120_000),
    /**
     * Salesforce writes: above this many updates of one object in one write-back call, one Bulk
     * API 2.0 ingest job instead of collections of 200, and write-back hands up to 10,000 updates
     * to one call. Off (null) by default: a job takes seconds to minutes, and write-back's batches
     * then wait up to `batchWait` to fill; 2000 (Salesforce's advice) for an org short of API calls.
     */
    bulkThreshold: z.number().int().min(200).nullable().default(null),
    /**
     * Salesforce full reads (the first sync, `smk sync --full`, a changed field mapping): a Lead or
     * Contact stream that fills its first query page and holds more than this many rows (one
     * COUNT() call tells) is read by one Bulk API 2.0 query job instead of pages of 2,000. Null: off.
     */
    bulkQueryThreshold: z.number().int().min(2000).nullable().default(20_000),
    /** How often a Bulk API 2.0 job's state is read (each look is an API call). */
    bulkPollEvery: durationSchema.default(5_000),
    /**
     * How long a Bulk API 2.0 job may take: a query job then falls back to query pages, an ingest
     * job is aborted and its unprocessed records retried. Kept below three quarters of `writeLease`.
     */
    bulkTimeout: durationSchema.default(90_000),
    /**
     * Salesforce changes pushed by Change Data Capture (`cdc`, when the org has it on for Lead and
     * Contact) instead of read by polling; while the stream is healthy, Salesforce is polled only
     * every `safetyPollEvery` (the safety net), otherwise every `pollEvery`.
     */
    stream: z
      .strictObject({
        salesforce: z.enum(['cdc', 'off']).default('cdc'),
        safetyPollEvery: durationSchema.default(300_000),
      })
      .default({ salesforce: 'cdc', safetyPollEvery: 300_000 }),
    create: z
      .strictObject({
        /** When a person known only to HubSpot is created in Salesforce. */
        salesforce: z.enum(['never', 'mql', 'always']).default('mql'),
        /**
         * Who may be created there at all: conditions on the lead that must all hold (for example
         * `{ field: email, freemail: false }`). Excluded people are still scored in HubSpot.
         */
        salesforceWhen: z.array(conditionSchema).default([]),
        /** Lead, Contact under the Account whose domain matches, or decided per person. */
        salesforceAs: z.enum(['auto', 'lead', 'contact']).default('auto'),
        /** When a person known only to Salesforce is created in HubSpot. */
        hubspot: z.enum(['never', 'always']).default('always'),
      })
      .default({ salesforce: 'mql', salesforceWhen: [], salesforceAs: 'auto', hubspot: 'always' }),
    budget: z
      .strictObject({
        hubspot: z
          .strictObject({
            share: shareSchema.default(0.5),
            perTenSeconds: z.number().int().positive().default(190),
            daily: z.number().int().positive().default(650_000),
          })
          .default({ share: 0.5, perTenSeconds: 190, daily: 650_000 }),
        salesforce: z
          .strictObject({
            share: shareSchema.default(0.5),
            /** An explicit daily cap; otherwise `share` of the org's allocation read from Sforce-Limit-Info. */
            dailyCalls: z.number().int().positive().optional(),
          })
          .default({ share: 0.5 }),
      })
      .default({ hubspot: { share: 0.5, perTenSeconds: 190, daily: 650_000 }, salesforce: { share: 0.5 } }),
    /** Salesforce Opportunities and their contact roles are read (the funnel's opportunity and customer steps). */
    opportunities: z.boolean().default(true),
    /** HubSpot deals and their contacts are read too: on for a portal whose sales use deals. */
    deals: z.boolean().default(false),
    /** Salesforce Accounts and HubSpot companies are read, and leads matched to them (routing asks the account's owner first). */
    accounts: z.boolean().default(true),
    /**
     * Completed calls and emails reps log as Salesforce Tasks: `read` makes them the rep's touch for
     * the SLA (to the minute); `engagement` also scores them as engagement (call, sales_email).
     */
    activities: z
      .strictObject({ read: z.boolean().default(true), engagement: z.boolean().default(false) })
      .default({ read: true, engagement: false }),
    concurrency: z
      .strictObject({
        ingest: z.number().int().min(1).max(64).default(2),
        evaluate: z.number().int().min(1).max(256).default(32),
        writeback: z.number().int().min(1).max(16).default(2),
      })
      .default({ ingest: 2, evaluate: 8, writeback: 2 }),
  })
  .default({
    ownership: {},
    fields: {},
    salesNotesField: 'Description',
    pollEvery: 30_000,
    batchWait: 2_000,
    reconcileEvery: 86_400_000,
    searchSafetyMargin: 10_000,
    jobLock: 30_000,
    writeLease: 120_000,
    bulkThreshold: null,
    bulkQueryThreshold: 20_000,
    bulkPollEvery: 5_000,
    bulkTimeout: 90_000,
    stream: { salesforce: 'cdc', safetyPollEvery: 300_000 },
    create: { salesforce: 'mql', salesforceWhen: [], salesforceAs: 'auto', hubspot: 'always' },
    budget: { hubspot: { share: 0.5, perTenSeconds: 190, daily: 650_000 }, salesforce: { share: 0.5 } },
    opportunities: true,
    deals: false,
    accounts: true,
    activities: { read: true, engagement: false },
    concurrency: { ingest: 2, evaluate: 32, writeback: 2 },
  });
export type SyncConfig = z.infer<typeof syncConfigSchema>;

/** Picklist translations between the CRMs and the common model; empty means the defaults. */
export const mappingConfigSchema = z
  .strictObject({
    /** HubSpot lifecyclestage value -> common stage hint. */
    lifecycleStage: z.record(z.string(), z.string()).default({}),
    /** HubSpot hs_lead_status value -> Salesforce Lead Status label, and back. */
    leadStatus: z.record(z.string(), z.string()).default({}),
    /** Salesforce Rating -> common grade hint. */
    rating: z.record(z.string(), z.string()).default({}),
  })
  .default({ lifecycleStage: {}, leadStatus: {}, rating: {} });
export type MappingConfig = z.infer<typeof mappingConfigSchema>;

export const fileConfigSchema = z
  .object({
    ...rulesConfigSchema.shape,
    sync: syncConfigSchema,
    mapping: mappingConfigSchema,
    /** Slack and email alerts on handoffs, reminders, breaches, escalations and rejections (src/rules/alerts.ts). */
    alerts: alertsSchema.prefault({}),
  })
  .strict();
export type FileConfig = z.infer<typeof fileConfigSchema>;

const optionalUrl = z.url({ protocol: /^https?$/ }).optional();

/** A PEM given in one environment line often has `\\n` escapes for its line breaks. */
function unescapePem(value: string): string {
  const pem = value.trim();
  return pem.includes('-----BEGIN') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;
}

/** Why a PEM cannot sign the RS256 JWT of Salesforce's JWT bearer flow, or null. Never quotes the key. */
function rsaPrivateKeyProblem(pem: string): string | null {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    const detail = err instanceof Error && /passphrase/i.test(err.message) ? ' (it is encrypted: give it without a passphrase)' : '';
    return `expected a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)${detail}`;
  }
  return key.asymmetricKeyType === 'rsa' ? null : `expected an RSA private key (the JWT is signed RS256), got ${key.asymmetricKeyType ?? 'another kind'}`;
}

const envFields = z.object({
  HUBSPOT_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.hubapi.com'),
  HUBSPOT_ACCESS_TOKEN: z.string().min(1).optional(),
  HUBSPOT_CLIENT_ID: z.string().min(1).optional(),
  HUBSPOT_CLIENT_SECRET: z.string().min(1).optional(),
  HUBSPOT_APP_ID: z.coerce.number().int().positive().optional(),
  SALESFORCE_INSTANCE_URL: optionalUrl,
  SALESFORCE_LOGIN_URL: z.url({ protocol: /^https?$/ }).default('https://login.salesforce.com'),
  SALESFORCE_ACCESS_TOKEN: z.string().min(1).optional(),
  SALESFORCE_REFRESH_TOKEN: z.string().min(1).optional(),
  SALESFORCE_CLIENT_ID: z.string().min(1).optional(),
  SALESFORCE_CLIENT_SECRET: z.string().min(1).optional(),
  SALESFORCE_API_VERSION: z.string().regex(/^\d+\.0$/, 'expected an API version such as 62.0').default('62.0'),
  /** OAuth 2.0 JWT bearer flow: the integration user's username (the JWT's `sub`). */
  SALESFORCE_JWT_USERNAME: z.string().trim().min(1).optional(),
  /** The PEM private key whose certificate the connected app holds (line breaks may be `\\n`). */
  SALESFORCE_JWT_PRIVATE_KEY: z.string().min(1).optional(),
  /** Or a file holding it. */
  SALESFORCE_JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  /** The JWT's `aud` when the default (from SALESFORCE_LOGIN_URL) is not right, e.g. an Experience Cloud site. */
  SALESFORCE_JWT_AUDIENCE: optionalUrl,
  /** One Redis (redis://, rediss://) or a Redis Cluster (redis+cluster://host:port,host:port). */
  REDIS_URL: z.string().regex(/^rediss?(?:\+cluster)?:\/\//, 'expected a redis://, rediss:// or redis+cluster://host:port,host:port URL').optional(),
  /** A Redis Cluster by its nodes, `host:port,host:port` (the same as REDIS_URL=redis+cluster://...). */
  REDIS_CLUSTER_NODES: z
    .string()
    .trim()
    .regex(/^[^,\s/@]+:\d{1,5}(?:\s*,\s*[^,\s/@]+:\d{1,5})*$/, 'expected host:port,host:port (a few of the cluster\'s nodes)')
    .optional(),
  SMK_CONFIG: z.string().min(1).optional(),
  SMK_ADMIN_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  SMK_ENCRYPTION_KEY: z
    .string()
    .refine((key) => /^[0-9a-fA-F]{64}$/.test(key) || Buffer.from(key, 'base64').length === 32, {
      message: 'expected 32 bytes as 64 hex characters or base64 (generate one with `openssl rand -hex 32`)',
    })
    .optional(),
  SMK_PUBLIC_URL: optionalUrl,
  SMK_KEY_PREFIX: z.string().regex(/^[\w:.-]+$/).default('smk'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The interface the HTTP service listens on (unset: every interface). */
  HOST: z
    .string()
    .trim()
    .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/, 'expected a host name or an IP address, such as 127.0.0.1, 0.0.0.0 or ::')
    .optional(),
  /** Serve /metrics on this port of 127.0.0.1 only, instead of on PORT. */
  SMK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Require `Authorization: Bearer <token>` on /metrics. */
  SMK_METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  /**
   * Behind a reverse proxy: how many proxies in front set X-Forwarded-For (a number), or which
   * (express's `trust proxy`: loopback, a subnet list). Unset: the client is the socket's peer, so
   * behind a proxy every client would share one rate-limit bucket and one logged address.
   */
  SMK_TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^(?:\d{1,2}|loopback|linklocal|uniquelocal|[0-9A-Fa-f:.,/\s]+)$/, 'expected a number of proxies (1), loopback, or a list of proxy addresses or subnets')
    .optional(),
});

/**
 * The environment. The Salesforce JWT bearer flow is chosen by SALESFORCE_JWT_USERNAME with a key
 * (SALESFORCE_JWT_PRIVATE_KEY, or SALESFORCE_JWT_PRIVATE_KEY_FILE) and SALESFORCE_CLIENT_ID; a
 * half-given or unusable set is an error naming the variable to fix. In the parsed result,
 * SALESFORCE_JWT_PRIVATE_KEY holds the PEM however it was given (the file is read here, once).
 */
export const envSchema = envFields.transform((env, ctx) => {
  const issue = (variable: keyof typeof env, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message, input: undefined });
  let pem = env.SALESFORCE_JWT_PRIVATE_KEY === undefined ? undefined : unescapePem(env.SALESFORCE_JWT_PRIVATE_KEY);
  let keyVariable: 'SALESFORCE_JWT_PRIVATE_KEY' | 'SALESFORCE_JWT_PRIVATE_KEY_FILE' = 'SALESFORCE_JWT_PRIVATE_KEY';
  if (env.SALESFORCE_JWT_PRIVATE_KEY_FILE !== undefined) {
    if (pem !== undefined) {
      issue('SALESFORCE_JWT_PRIVATE_KEY_FILE', 'set SALESFORCE_JWT_PRIVATE_KEY or SALESFORCE_JWT_PRIVATE_KEY_FILE, not both');
    } else {
      keyVariable = 'SALESFORCE_JWT_PRIVATE_KEY_FILE';
      try {
        pem = unescapePem(readFileSync(env.SALESFORCE_JWT_PRIVATE_KEY_FILE, 'utf8'));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        issue('SALESFORCE_JWT_PRIVATE_KEY_FILE', `cannot read ${env.SALESFORCE_JWT_PRIVATE_KEY_FILE}${typeof code === 'string' ? ` (${code})` : ''}`);
        return z.NEVER;
      }
    }
  }
  if (pem !== undefined) {
    const problem = rsaPrivateKeyProblem(pem);
    if (problem) issue(keyVariable, problem);
    if (!env.SALESFORCE_JWT_USERNAME) issue('SALESFORCE_JWT_USERNAME', `required with ${keyVariable}: the Salesforce username of the integration user (the JWT's subject)`);
  } else if (env.SALESFORCE_JWT_USERNAME) {
    issue('SALESFORCE_JWT_PRIVATE_KEY', 'required with SALESFORCE_JWT_USERNAME: the PEM private key of the connected app\'s certificate (or set SALESFORCE_JWT_PRIVATE_KEY_FILE)');
  }
  if (env.SMK_METRICS_PORT !== undefined && env.SMK_METRICS_PORT !== 0 && env.SMK_METRICS_PORT === env.PORT) {
    issue('SMK_METRICS_PORT', `must differ from PORT (${env.PORT}): /metrics gets a port of its own on 127.0.0.1`);
  }
  if ((pem !== undefined || env.SALESFORCE_JWT_USERNAME) && !env.SALESFORCE_CLIENT_ID) {
    issue('SALESFORCE_CLIENT_ID', "required for the JWT bearer flow: the connected app's consumer key (the JWT's issuer)");
  }
  // REDIS_CLUSTER_NODES is another spelling of a cluster REDIS_URL: the rest of the service reads REDIS_URL.
  let redisUrl = env.REDIS_URL;
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    if (env.REDIS_URL !== undefined) issue('REDIS_CLUSTER_NODES', 'set REDIS_URL or REDIS_CLUSTER_NODES, not both (a cluster with a password: REDIS_URL=redis+cluster://:password@host:port,host:port)');
    else redisUrl = `redis+cluster://${env.REDIS_CLUSTER_NODES.split(',').map((node) => node.trim()).join(',')}`;
  }
  return { ...env, REDIS_URL: redisUrl, SALESFORCE_JWT_PRIVATE_KEY: pem };
});
export type EnvConfig = z.output<typeof envSchema>;

export interface AppConfig {
  file: FileConfig;
  env: EnvConfig;
  /** Where the file came from, or null when the embedded defaults are used. */
  source: string | null;
  /**
   * The values of the environment variables the file names for its secrets (alert webhooks, bot
   * tokens, SMTP passwords), by variable name. Never logged; absent when the file names none.
   */
  secrets?: Readonly<Record<string, string>>;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function article(type: string): string {
  const word = type === 'int' ? 'whole number' : type;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** `scoring.fit[2].points` from zod's path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

/**
 * `a value of at least 1`, `at most 100 items`, and for an exclusive bound (zod's `inclusive:
 * false`, as from `.gt()` / `.positive()`) `a number above 0`, `more than 3 characters`.
 */
function bound(side: 'min' | 'max', origin: string, limit: number | bigint, inclusive: boolean | undefined): string {
  const unit = origin === 'string' ? ' characters' : origin === 'array' ? ' items' : '';
  const counted = unit !== '';
  if (inclusive === false) {
    if (counted) return `${side === 'min' ? 'more' : 'fewer'} than ${String(limit)}${unit}`;
    const what = origin === 'number' || origin === 'int' || origin === 'bigint' ? 'a number' : 'a value';
    return `${what} ${side === 'min' ? 'above' : 'below'} ${String(limit)}`;
  }
  const word = side === 'min' ? 'at least' : 'at most';
  return `${origin === 'array' ? word : `a value of ${word}`} ${String(limit)}${unit}`;
}

/** Turns zod issues into `path: expected X, got Y` lines a RevOps admin can act on. */
export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path);
    const got = describeValue(issue.input);
    switch (issue.code) {
      case 'invalid_type':
        return `${path}: expected ${article(issue.expected)}, got ${got}`;
      case 'invalid_value':
        return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
      case 'unrecognized_keys':
        return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      case 'too_small':
        return `${path}: expected ${bound('min', issue.origin, issue.minimum, issue.inclusive)}, got ${got}`;
      case 'too_big':
        return `${path}: expected ${bound('max', issue.origin, issue.maximum, issue.inclusive)}, got ${got}`;
      case 'invalid_format':
        return `${path}: expected ${issue.format === 'regex' ? 'text matching the expected pattern' : `a valid ${issue.format}`}${issue.message && !issue.message.startsWith('Invalid') ? ` (${issue.message})` : ''}, got ${got}`;
      default:
        return `${path}: ${issue.message}${issue.input !== undefined && !issue.message.includes('got') ? `, got ${got}` : ''}`;
    }
  });
}

/** The most alias expansions a config file may use (yaml's guard against a "billion laughs" file). */
export const MAX_YAML_ALIASES = 100;

/** A value met while walking the config, with the way back to the root (no path copied per step). */
interface Visit {
  value: unknown;
  key: PropertyKey | null;
  parent: Visit | null;
}

function pathOf(visit: Visit | null): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let v = visit; v !== null && v.key !== null; v = v.parent) path.push(v.key);
  return path.reverse();
}

/**
 * `path.__proto__: ...` for every reserved key in the data, at any depth. zod skips an own
 * `__proto__` key of a record silently, so these are found before the schema sees the data.
 * Iterative, and each object visited once (aliases share objects), so no input can exhaust the stack.
 */
export function reservedKeyProblems(data: unknown): string[] {
  const problems: string[] = [];
  const seen = new Set<object>();
  const stack: Visit[] = [{ value: data, key: null, parent: null }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value } = visit;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    const children: Visit[] = [];
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => children.push({ value: item, key: index, parent: visit }));
    } else {
      for (const key of Object.keys(value)) {
        if (RESERVED_KEYS.has(key)) {
          problems.push(`${formatPath([...pathOf(visit), key])}: "${key}" is a reserved word and cannot be used as a key`);
        } else {
          children.push({ value: (value as Record<string, unknown>)[key], key, parent: visit });
        }
      }
    }
    // Reversed onto the stack, so that problems come in the order of the file.
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i] as Visit);
  }
  return problems;
}

/** Validates already-parsed config data (YAML or JSON); every problem is reported at once. */
export function parseConfigData(data: unknown, source: string): FileConfig {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(source, [`(top level): expected a map of sections, got ${describeValue(data)}`]);
  }
  const reserved = reservedKeyProblems(data);
  const result = fileConfigSchema.safeParse(data, { reportInput: true });
  if (reserved.length > 0 || !result.success) {
    throw new ConfigError(source, [...reserved, ...(result.success ? [] : formatIssues(result.error.issues))]);
  }
  return result.data;
}

/** Parses YAML text into the file config; every YAML and schema problem is reported at once. */
export function parseConfigText(text: string, source: string): FileConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0] ?? e.message}`),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    // yaml throws (a ReferenceError) for an alias bomb or an alias it cannot resolve.
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new ConfigError(
      source,
      [
        /alias count/i.test(message)
          ? `(top level): the file expands YAML aliases (*name) more than ${MAX_YAML_ALIASES} times; write the values out instead`
          : `(top level): the YAML could not be read: ${message.slice(0, 200)}`,
      ],
    );
  }
  return parseConfigData(data, source);
}

export function parseEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  // An empty value counts as unset: docker compose passes `NAME=` lines of an .env file as they are.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const result = envSchema.safeParse(set, { reportInput: true });
  if (!result.success) {
    // Environment values may be secrets: never echo them back.
    const problems = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message.replace(/, received .*$/, '')}`);
    throw new ConfigError('the environment', problems);
  }
  return result.data;
}

/**
 * Loads the config: `explicitPath`, else SMK_CONFIG, else `./smarketing.yaml` when present,
 * else the embedded defaults (a working rule set, for the demo and a first try).
 */
export function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): AppConfig {
  const env = parseEnv(options.env ?? process.env);
  const candidate = options.path ?? env.SMK_CONFIG ?? (existsSync('smarketing.yaml') ? 'smarketing.yaml' : undefined);
  if (!candidate) return { file: fileConfigSchema.parse({}), env, source: null };
  const path = resolve(candidate);
  if (!existsSync(path)) throw new ConfigError(candidate, [`the file does not exist (looked at ${path})`]);
  const file = parseConfigText(readFileSync(path, 'utf8'), candidate);
  return { file, env, source: path, secrets: resolveSecrets(file, options.env ?? process.env, candidate) };
}

/**
 * The secrets the file names by environment variable: every one must be set, or the config is
 * refused naming the variable and where the file names it (never a value).
 */
export function resolveSecrets(file: FileConfig, environment: NodeJS.ProcessEnv, source: string): Record<string, string> {
  const secrets: Record<string, string> = {};
  const problems: string[] = [];
  for (const { name, path } of alertSecretNames(file.alerts)) {
    const value = environment[name];
    if (value === undefined || value.trim() === '') problems.push(`${path}: the environment variable ${name} is not set`);
    else secrets[name] = value.trim();
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return secrets;
}

/** The effective ownership policy of every owned path: the defaults overlaid with the config. */
export function effectiveOwnership(sync: SyncConfig): Record<OwnedPath, OwnershipPolicy> {
  // A field whose direction the admin set decides what scoring reads of it too, unless the
  // ownership of that path is set on its own: one direction per field, not two that disagree.
  const fromFields: Partial<Record<OwnedPath, OwnershipPolicy>> = {};
  for (const field of DEFAULT_SYNC_FIELDS) {
    const direction = sync.fields[field.name]?.direction;
    if (field.path && direction) fromFields[field.path] = direction;
  }
  return { ...DEFAULT_OWNERSHIP, ...fromFields, ...sync.ownership };
}

/** The synced fields: the defaults with the config's overrides, then the config's custom fields. */
export function resolveSyncFields(sync: Pick<SyncConfig, 'fields'>): SyncField[] {
  const resolved: SyncField[] = [];
  const apply = (name: string, base: SyncField | undefined, entry: SyncFieldEntry | undefined): SyncField | null => {
    const type = entry?.type ?? base?.type;
    const hubspot = entry?.hubspot !== undefined ? entry.hubspot : (base?.hubspot ?? null);
    if (!type) return null;
    let salesforce = base?.salesforce ?? { Lead: null, Contact: null };
    if (entry?.salesforce !== undefined) {
      const sf = entry.salesforce;
      salesforce = sf === null ? { Lead: null, Contact: null } : typeof sf === 'string' ? { Lead: sf, Contact: sf } : { Lead: sf.lead, Contact: sf.contact };
    }
    const field: SyncField = {
      name,
      type,
      hubspot,
      salesforce,
      direction: entry?.direction ?? base?.direction ?? 'two-way',
      values: entry?.values ?? base?.values ?? [],
    };
    // A default field pointed at another HubSpot property is no longer the calculated one.
    if (base?.hubspotReadOnly && hubspot === base.hubspot) field.hubspotReadOnly = true;
    if (base?.path) field.path = base.path;
    return field;
  };
  for (const base of DEFAULT_SYNC_FIELDS) {
    const field = apply(base.name, base, sync.fields[base.name]);
    if (field) resolved.push(field);
  }
  for (const [name, entry] of Object.entries(sync.fields)) {
    if (DEFAULT_FIELD_NAMES.has(name)) continue;
    const field = apply(name, undefined, entry);
    if (field) resolved.push(field);
  }
  return resolved;
}
