/**
 * `smk doctor`: checks config, environment, Redis, each CRM's reachability, tokens and scopes, the
 * provisioned fields, who sees them (doctor-visibility.ts) and quota headroom. Each check runs on its own, so one failure does not hide
 * the next; each failure says what to do.
 */
import { checkAlertChannel } from '../../jobs/alerts.js';
import { createConnectors } from '../../jobs/connectors.js';
import { isCrmError } from '../../connectors/errors.js';
import type { CrmConnector } from '../../connectors/types.js';
import { ConfigError, loadConfig } from '../config.js';
import type { AppConfig } from '../config.js';
import { createLogger } from '../logger.js';
import type { CrmName } from '../model/lead.js';
import { SecretBox } from '../store/crypto.js';
import { createKeys } from '../store/keys.js';
import { RedisQuotaGate } from '../store/quota.js';
import { Cluster } from 'ioredis';
import { clusterState, createRedis, isClusterUrl, redactUrl, redisAnswers, DEFAULT_REDIS_URL, howToGetRedis } from '../store/redis.js';
import { RedisTokenStore } from '../store/tokens.js';
import type { Check } from './check.js';
import { checkHubSpotGroup, checkSalesforceVisibility } from './doctor-visibility.js';
import type { ConnectorSet } from '../../jobs/connectors.js';

export type { Check };

const CRM_LABEL: Record<CrmName, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce' };

function fixForCrmError(crm: CrmName, code: string, message: string): string {
  switch (code) {
    case 'AUTH_INVALID':
    case 'AUTH_EXPIRED':
      return crm === 'hubspot'
        ? 'create a private app token (Settings > Integrations > Private apps) with the crm.objects.contacts.read/write and crm.schemas.contacts.read/write scopes, and set HUBSPOT_ACCESS_TOKEN; or, with an OAuth app, use the dashboard\'s "Connect HubSpot with OAuth" link (/oauth/hubspot/start on the running service)'
        : 'reconnect Salesforce with the dashboard\'s "Connect Salesforce with OAuth" link (/oauth/salesforce/start on the running service), or set SALESFORCE_ACCESS_TOKEN and SALESFORCE_REFRESH_TOKEN from the connected app';
    case 'PERMISSION':
      return crm === 'hubspot'
        ? `add the missing scopes to the private app (${message.match(/scopes?:? ([\w.,\s-]+)/i)?.[1]?.trim() ?? 'see the message'}) and regenerate the token`
        : "give the integration user the 'API Enabled', 'Customize Application' and 'Modify All Data' permissions";
    case 'QUOTA_EXHAUSTED':
    case 'RATE_LIMITED':
      return 'wait for the limit window to pass, or raise sync.budget in smarketing.yaml';
    case 'TRANSIENT':
      return crm === 'hubspot' ? 'check HUBSPOT_BASE_URL and the network path to it' : 'check SALESFORCE_INSTANCE_URL and the network path to it';
    default:
      return 'see the message; `smk errors` lists record-level problems';
  }
}

function connectionGaps(config: AppConfig, crm: CrmName, stored: boolean): Check | null {
  const env = config.env;
  if (crm === 'hubspot') {
    if (env.HUBSPOT_ACCESS_TOKEN || stored) return null;
    return { name: 'HubSpot credentials', status: 'fail', detail: 'no HubSpot token: HUBSPOT_ACCESS_TOKEN is not set and no OAuth install is stored', fix: 'set HUBSPOT_ACCESS_TOKEN to a private app token, or run `smk start` and connect HubSpot from the dashboard' };
  }
  // The JWT bearer flow needs neither an instance URL nor tokens: it logs in as the user at the login URL.
  if (env.SALESFORCE_JWT_USERNAME) return null;
  if (!env.SALESFORCE_INSTANCE_URL && !stored) {
    return { name: 'Salesforce credentials', status: 'fail', detail: 'SALESFORCE_INSTANCE_URL is not set and no OAuth install is stored', fix: 'set SALESFORCE_INSTANCE_URL (e.g. https://yourorg.my.salesforce.com) with SALESFORCE_ACCESS_TOKEN/SALESFORCE_REFRESH_TOKEN, or connect Salesforce from the dashboard' };
  }
  if (!env.SALESFORCE_ACCESS_TOKEN && !env.SALESFORCE_REFRESH_TOKEN && !stored) {
    return { name: 'Salesforce credentials', status: 'fail', detail: 'neither SALESFORCE_ACCESS_TOKEN nor SALESFORCE_REFRESH_TOKEN is set', fix: 'set the tokens from the connected app, or connect Salesforce from the dashboard' };
  }
  if (env.SALESFORCE_REFRESH_TOKEN && !env.SALESFORCE_CLIENT_ID) {
    return { name: 'Salesforce credentials', status: 'fail', detail: 'SALESFORCE_REFRESH_TOKEN is set without SALESFORCE_CLIENT_ID, so expired sessions cannot be refreshed', fix: "set SALESFORCE_CLIENT_ID (and SALESFORCE_CLIENT_SECRET) to the connected app's consumer key and secret" };
  }
  return null;
}

async function checkCrm(crm: CrmName, connectors: ConnectorSet, checks: Check[]): Promise<void> {
  const connector: CrmConnector = connectors[crm];
  const label = CRM_LABEL[crm];
  try {
    await connector.ping();
    checks.push({ name: `${label} connection`, status: 'ok', detail: 'reachable and authorised' });
  } catch (err) {
    const code = isCrmError(err) ? err.code : 'TRANSIENT';
    const message = err instanceof Error ? err.message : String(err);
    checks.push({ name: `${label} connection`, status: 'fail', detail: `${code}: ${message}`, fix: fixForCrmError(crm, code, message) });
    return;
  }
  try {
    const report = await connector.ensureSchema({ dryRun: true });
    // A field that exists but that the integration user cannot use (`granted`) is the field access check's.
    const missing = report.changes.filter((c) => c.action === 'created' || c.action === 'updated');
    if (report.problems.length > 0) {
      for (const p of report.problems) checks.push({ name: `${label} fields`, status: 'fail', detail: `${p.object}${p.field ? `.${p.field}` : ''}: ${p.message}`, fix: p.fix });
    } else if (missing.length > 0) {
      checks.push({ name: `${label} fields`, status: 'fail', detail: `${missing.length} smk field(s) missing or out of date: ${missing.slice(0, 5).map((c) => `${c.object}.${c.field}`).join(', ')}${missing.length > 5 ? ', ...' : ''}`, fix: 'run `smk install`' });
    } else {
      checks.push({ name: `${label} fields`, status: 'ok', detail: `${report.changes.length} smk fields in place` });
    }
  } catch (err) {
    const code = isCrmError(err) ? err.code : 'TRANSIENT';
    const message = err instanceof Error ? err.message : String(err);
    checks.push({ name: `${label} fields`, status: 'fail', detail: `could not read the field definitions: ${message}`, fix: fixForCrmError(crm, code, message) });
  }
  const fixOf = (err: unknown) => {
    const code = isCrmError(err) ? err.code : 'TRANSIENT';
    return fixForCrmError(crm, code, err instanceof Error ? err.message : String(err));
  };
  if (crm === 'salesforce' && connectors.salesforceSetup) await checkSalesforceVisibility(connectors.salesforceSetup, checks, fixOf);
  if (crm === 'hubspot' && connectors.hubspotSetup) await checkHubSpotGroup(connectors.hubspotSetup, checks, fixOf);
  try {
    const quota = await connector.quota();
    const left = quota.dailyBudget !== null ? quota.dailyBudget - quota.dailyUsed : null;
    if (quota.paused) {
      checks.push({ name: `${label} API budget`, status: 'warn', detail: `paused until ${quota.resumesAt ?? 'the window resets'}`, fix: 'wait, or raise sync.budget in smarketing.yaml' });
    } else if (left !== null && quota.dailyBudget !== null && left < quota.dailyBudget * 0.1) {
      checks.push({ name: `${label} API budget`, status: 'warn', detail: `${left} of ${quota.dailyBudget} daily calls left`, fix: 'raise sync.budget or lower the poll frequency (sync.pollEvery)' });
    } else {
      checks.push({ name: `${label} API budget`, status: 'ok', detail: `${quota.dailyUsed} used of ${quota.dailyBudget ?? 'an unknown'} daily budget` });
    }
  } catch (err) {
    checks.push({ name: `${label} API budget`, status: 'warn', detail: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * Change Data Capture for Lead and Contact: pushed Salesforce changes instead of polls. Off is a
 * warning, not a failure: the service then polls Salesforce every `sync.pollEvery`.
 */
async function checkChangeCapture(config: AppConfig, selected: () => Promise<string[]>, checks: Check[]): Promise<void> {
  const name = 'Salesforce Change Data Capture';
  const { stream, pollEvery } = config.file.sync;
  if (stream.salesforce === 'off') {
    checks.push({ name, status: 'ok', detail: `not used (sync.stream.salesforce: off): Salesforce is polled every ${Math.round(pollEvery / 1000)} s` });
    return;
  }
  try {
    const on = await selected();
    const missing = ['Lead', 'Contact'].filter((o) => !on.includes(o));
    if (missing.length === 0) {
      checks.push({ name, status: 'ok', detail: `on for Lead and Contact: changes are pushed, and Salesforce is polled every ${Math.round(stream.safetyPollEvery / 60_000)} min as a safety net` });
      return;
    }
    checks.push({
      name,
      status: 'warn',
      detail: `off for ${missing.join(' and ')}: Salesforce changes are polled every ${Math.round(pollEvery / 1000)} s instead of pushed`,
      fix: "in Salesforce Setup > Integrations > Change Data Capture, move Lead and Contact to Selected Entities and save (the integration user also needs 'View All' on Leads and Contacts, or 'View All Data', to receive their change events); or set sync.stream.salesforce: off",
    });
  } catch (err) {
    const code = isCrmError(err) ? err.code : 'UNKNOWN';
    const message = err instanceof Error ? err.message : String(err);
    checks.push({ name, status: 'warn', detail: `could not read which objects are selected (Tooling API PlatformEventChannelMember): ${message}`, fix: fixForCrmError('salesforce', code, message) });
  }
}

export async function diagnose(options: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  let config: AppConfig;
  try {
    config = loadConfig({ path: options.configPath, env: options.env });
    checks.push({ name: 'config', status: 'ok', detail: config.source ? `loaded ${config.source}` : 'no smarketing.yaml: using the built-in rules' });
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('; ') : String(err);
    checks.push({ name: 'config', status: 'fail', detail: problems, fix: err instanceof ConfigError && err.source === 'the environment' ? 'correct the named environment variables' : 'correct the named entries (smarketing.example.yaml documents every option)' });
    return checks;
  }
  const env = config.env;
  if (!env.SMK_ADMIN_TOKEN) checks.push({ name: 'admin token', status: 'warn', detail: 'SMK_ADMIN_TOKEN is not set: the dashboard and admin API refuse everyone', fix: 'set SMK_ADMIN_TOKEN to a long random value (openssl rand -hex 24)' });
  if (!env.SMK_ENCRYPTION_KEY) checks.push({ name: 'encryption key', status: 'warn', detail: 'SMK_ENCRYPTION_KEY is not set: OAuth installs cannot store their tokens', fix: 'set SMK_ENCRYPTION_KEY (openssl rand -hex 32) and keep it safe: tokens stored with it cannot be read without it' });

  // Alert channels, live and without sending (they need neither Redis nor the CRMs).
  for (const [name, channel] of Object.entries(config.file.alerts.channels)) {
    const result = await checkAlertChannel(name, channel, config.secrets ?? {});
    checks.push({ name: `alert channel "${name}"`, ...result });
  }

  const redisUrl = env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const cluster = isClusterUrl(redisUrl);
  if (cluster) {
    const state = await clusterState(redisUrl);
    if (state !== 'ok') {
      checks.push({
        name: 'Redis',
        status: 'fail',
        detail: state === null ? `Redis Cluster mode: no node answers at ${redactUrl(redisUrl)}` : `Redis Cluster mode: the cluster at ${redactUrl(redisUrl)} says cluster_state:${state}`,
        fix: state === null ? 'start the cluster, or correct REDIS_CLUSTER_NODES / REDIS_URL' : 'every hash slot needs a master that answers: check `redis-cli --cluster check host:port`',
      });
      return checks;
    }
  } else if (!(await redisAnswers(redisUrl))) {
    checks.push({ name: 'Redis', status: 'fail', detail: `single-Redis mode: nothing answers at ${redactUrl(redisUrl)}`, fix: howToGetRedis('no answer').split('\n').slice(1).join(' ') });
    return checks;
  }

  const redis = createRedis(redisUrl);
  try {
    if (redis instanceof Cluster) {
      // The slot map comes with the first command; the masters are known from then on.
      await redis.ping();
      checks.push({ name: 'Redis', status: 'ok', detail: `Redis Cluster mode: ${redis.nodes('master').length} masters answer at ${redactUrl(redisUrl)} (cluster_state:ok)` });
    } else {
      checks.push({ name: 'Redis', status: 'ok', detail: `single-Redis mode: answers at ${redactUrl(redisUrl)}` });
    }
    const keys = createKeys(env.SMK_KEY_PREFIX);
    const tokens = env.SMK_ENCRYPTION_KEY ? new RedisTokenStore(redis, keys, new SecretBox(env.SMK_ENCRYPTION_KEY)) : null;
    const stored: Record<CrmName, boolean> = { hubspot: false, salesforce: false };
    for (const crm of ['hubspot', 'salesforce'] as const) {
      try {
        stored[crm] = !!(await tokens?.get(crm));
      } catch (err) {
        checks.push({ name: `${CRM_LABEL[crm]} stored tokens`, status: 'fail', detail: err instanceof Error ? err.message : String(err), fix: 'SMK_ENCRYPTION_KEY differs from the one the tokens were stored with: restore it, or reconnect the CRM' });
      }
    }
    const { budget } = config.file.sync;
    const gate = new RedisQuotaGate(redis, keys, {
      hubspot: { perTenSeconds: budget.hubspot.perTenSeconds, share: budget.hubspot.share, daily: budget.hubspot.daily, searchPerSecond: 4 },
      salesforce: { share: budget.salesforce.share, ...(budget.salesforce.dailyCalls !== undefined ? { dailyCalls: budget.salesforce.dailyCalls } : {}) },
    }, { maxWaitMs: 15_000 });
    const gaps = (['hubspot', 'salesforce'] as const).map((crm) => connectionGaps(config, crm, stored[crm]));
    for (const gap of gaps) if (gap) checks.push(gap);
    let connectors;
    try {
      connectors = await createConnectors({ env, sync: config.file.sync, gate, tokens, logger: createLogger({ level: 'silent' }), retries: 1 });
    } catch (err) {
      checks.push({ name: 'connectors', status: 'fail', detail: err instanceof Error ? err.message : String(err), fix: 'correct the CRM connection settings named above' });
      return checks;
    }
    for (const crm of ['hubspot', 'salesforce'] as const) {
      if (gaps[crm === 'hubspot' ? 0 : 1]) continue;
      await checkCrm(crm, connectors, checks);
    }
    const selected = connectors.salesforceChangeCapture;
    if (!gaps[1] && selected) await checkChangeCapture(config, selected, checks);
  } finally {
    redis.disconnect();
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  return `${checks.map((c) => `[${mark[c.status]}] ${c.name}: ${c.detail}${c.fix ? `\n       fix: ${c.fix}` : ''}`).join('\n')}\n`;
}

export async function runDoctor(options: { configPath?: string }): Promise<void> {
  const checks = await diagnose(options);
  process.stdout.write(formatChecks(checks));
  const failed = checks.filter((c) => c.status === 'fail').length;
  process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
  if (failed > 0) process.exitCode = 1;
}
