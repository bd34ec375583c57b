/**
 * Shared by the HubSpot sandbox tests: official clients bound to a sandbox, raw HTTP calls for
 * wire-level checks, and a shape comparison against the recorded payloads in fixtures/hubspot.
 */
import { readFileSync } from 'node:fs';
import { Client } from '@hubspot/api-client';
import { afterEach } from 'vitest';
import { startHubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import type { HubSpotSandbox, HubSpotSandboxOptions } from '../../../connectors/hubspot/sandbox/index.js';
import type { SeedWorld } from '../../../connectors/sandbox/seed.js';

/**
 * The official client, with its API objects created at once: the SDK's retry decorators are a
 * process-wide singleton applied when an API object is first built, so build them before another
 * client changes the settings.
 */
export function officialClient(sandbox: HubSpotSandbox, options: { numberOfApiCallRetries?: number; accessToken?: string } = {}): Client {
  const client = new Client({
    accessToken: options.accessToken ?? sandbox.accessToken,
    basePath: sandbox.baseUrl,
    ...(options.numberOfApiCallRetries !== undefined ? { numberOfApiCallRetries: options.numberOfApiCallRetries } : {}),
  });
  void client.crm.contacts.basicApi;
  void client.crm.properties.coreApi;
  void client.crm.owners.ownersApi;
  void client.oauth.tokensApi;
  return client;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One HTTP call as a plain client would make it (no SDK deserialisation). */
export async function raw(
  sandbox: HubSpotSandbox,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; rawBody?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = options.token === undefined ? sandbox.accessToken : options.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${sandbox.baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A control call (`/__sandbox/...`), never counted as an API call. */
export async function control(sandbox: HubSpotSandbox, method: string, path: string, body?: unknown): Promise<RawResponse> {
  return raw(sandbox, method, `/__sandbox${path}`, body, { token: null });
}

export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../../fixtures/hubspot/${name}`, import.meta.url), 'utf8')) as T;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Differences in shape between a sandbox payload and a recorded one: the same keys with the same
 * value types, recursively (arrays compared by their first element). Objects under a key named in
 * `openMaps` (such as `properties`) may hold other keys, but their values must still be strings or
 * null. A string where the fixture has null, or the reverse, is the same shape (HubSpot sends null
 * for an empty requested property).
 */
export function shapeDiff(actual: unknown, expected: unknown, openMaps: readonly string[] = ['properties'], path = '$'): string[] {
  const a = typeName(actual);
  const e = typeName(expected);
  const nullable = (t: string) => t === 'null' || t === 'string';
  if (a !== e && !(nullable(a) && nullable(e))) return [`${path}: ${a} where the recording has ${e}`];
  if (a === 'array') {
    const [first] = actual as unknown[];
    const [model] = expected as unknown[];
    return first === undefined || model === undefined ? [] : shapeDiff(first, model, openMaps, `${path}[0]`);
  }
  if (a !== 'object') return [];
  const act = actual as Record<string, unknown>;
  const exp = expected as Record<string, unknown>;
  const key = path.split('.').pop() ?? '';
  if (openMaps.includes(key)) {
    return Object.entries(act)
      .filter(([, v]) => v !== null && typeof v !== 'string')
      .map(([k, v]) => `${path}.${k}: ${typeName(v)} in a map of strings`);
  }
  const diffs: string[] = [];
  for (const k of Object.keys(exp)) {
    if (!(k in act)) diffs.push(`${path}.${k}: missing`);
    else diffs.push(...shapeDiff(act[k], exp[k], openMaps, `${path}.${k}`));
  }
  for (const k of Object.keys(act)) if (!(k in exp)) diffs.push(`${path}.${k}: not in the recording`);
  return diffs;
}

export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A `start` that gives each test its own sandbox over `world`; every sandbox started is closed after its test. */
export function sandboxPerTest(world: SeedWorld): (options?: HubSpotSandboxOptions) => Promise<HubSpotSandbox> {
  const running: HubSpotSandbox[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const sandbox = await startHubSpotSandbox({ world, ...options });
    running.push(sandbox);
    return sandbox;
  };
}
