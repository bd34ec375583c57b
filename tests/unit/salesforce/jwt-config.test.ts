/**
 * Choosing the Salesforce JWT bearer flow by configuration: the environment variables, the errors
 * a RevOps admin gets for a half-given or unusable set (naming the variable, never echoing the
 * key), and the assertion's audience for each kind of login URL.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jwtAudience } from '../../../connectors/salesforce/auth.js';
import { ConfigError, parseEnv } from '../../../src/config.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PKCS1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const EC = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const BASE = { SALESFORCE_CLIENT_ID: '3MVG9connectedapp', SALESFORCE_JWT_USERNAME: 'integration@acme.example' };

function problems(env: Record<string, string>): string[] {
  try {
    parseEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function keyFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'smk-jwt-')), 'salesforce.key');
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

describe('the Salesforce JWT bearer flow in the environment', () => {
  it('takes the key inline, with real or \\n-escaped line breaks, PKCS#8 or PKCS#1', () => {
    for (const key of [PEM, PEM.trim().replace(/\n/g, '\\n'), PKCS1]) {
      const env = parseEnv({ ...BASE, SALESFORCE_JWT_PRIVATE_KEY: key });
      expect(env.SALESFORCE_JWT_PRIVATE_KEY).toBe(key.includes('\\n') ? PEM.trim() : key.trim());
      expect(env.SALESFORCE_JWT_USERNAME).toBe('integration@acme.example');
    }
  });

  it('reads the key from SALESFORCE_JWT_PRIVATE_KEY_FILE into the parsed key', () => {
    const env = parseEnv({ ...BASE, SALESFORCE_JWT_PRIVATE_KEY_FILE: keyFile(PEM), SALESFORCE_JWT_AUDIENCE: 'https://test.salesforce.com' });
    expect(env.SALESFORCE_JWT_PRIVATE_KEY).toBe(PEM.trim());
    expect(env.SALESFORCE_JWT_AUDIENCE).toBe('https://test.salesforce.com');
  });

  it('leaves the flow off when none of its variables is set', () => {
    const env = parseEnv({});
    expect(env.SALESFORCE_JWT_USERNAME).toBeUndefined();
    expect(env.SALESFORCE_JWT_PRIVATE_KEY).toBeUndefined();
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a key without a username', { SALESFORCE_CLIENT_ID: 'x', SALESFORCE_JWT_PRIVATE_KEY: PEM }, /^SALESFORCE_JWT_USERNAME: required with SALESFORCE_JWT_PRIVATE_KEY/],
    ['a key file without a username', { SALESFORCE_CLIENT_ID: 'x', SALESFORCE_JWT_PRIVATE_KEY_FILE: keyFile(PEM) }, /^SALESFORCE_JWT_USERNAME: required with SALESFORCE_JWT_PRIVATE_KEY_FILE/],
    ['a username without a key', BASE, /^SALESFORCE_JWT_PRIVATE_KEY: required with SALESFORCE_JWT_USERNAME/],
    ['no client id', { SALESFORCE_JWT_USERNAME: 'u@acme.example', SALESFORCE_JWT_PRIVATE_KEY: PEM }, /^SALESFORCE_CLIENT_ID: required for the JWT bearer flow/],
    ['a key that is not PEM', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY: 'not-a-key-but-a-secret-value' }, /^SALESFORCE_JWT_PRIVATE_KEY: expected a PEM private key/],
    ['a public key', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY: PUBLIC }, /^SALESFORCE_JWT_PRIVATE_KEY: expected a PEM private key/],
    ['an EC key', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY: EC }, /^SALESFORCE_JWT_PRIVATE_KEY: expected an RSA private key .* got ec$/],
    ['a bad key file', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY_FILE: keyFile('-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n') }, /^SALESFORCE_JWT_PRIVATE_KEY_FILE: expected a PEM private key/],
    ['a missing key file', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY_FILE: '/nonexistent/salesforce.key' }, /^SALESFORCE_JWT_PRIVATE_KEY_FILE: cannot read \/nonexistent\/salesforce.key \(ENOENT\)$/],
    ['both a key and a key file', { ...BASE, SALESFORCE_JWT_PRIVATE_KEY: PEM, SALESFORCE_JWT_PRIVATE_KEY_FILE: keyFile(PEM) }, /^SALESFORCE_JWT_PRIVATE_KEY_FILE: set SALESFORCE_JWT_PRIVATE_KEY or SALESFORCE_JWT_PRIVATE_KEY_FILE, not both$/],
  ])('refuses %s with an error naming the variable', (_name, env, expected) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
    // The key material is never echoed back.
    expect(found.join('\n')).not.toContain('not-a-key-but-a-secret-value');
    expect(found.join('\n')).not.toContain('MII');
  });

  it('says which file could not be read in the ConfigError message', () => {
    expect(() => parseEnv({ ...BASE, SALESFORCE_JWT_PRIVATE_KEY_FILE: '/nonexistent/k.pem' })).toThrow(/the environment is invalid:\n {2}- SALESFORCE_JWT_PRIVATE_KEY_FILE: cannot read/);
  });
});

describe('the JWT audience for a login URL', () => {
  it.each<[string, string]>([
    ['https://login.salesforce.com', 'https://login.salesforce.com'],
    ['https://acme.my.salesforce.com', 'https://login.salesforce.com'],
    ['https://test.salesforce.com/', 'https://test.salesforce.com'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com'],
    ['http://127.0.0.1:4020/', 'http://127.0.0.1:4020'],
  ])('%s -> %s', (loginUrl, audience) => {
    expect(jwtAudience(loginUrl)).toBe(audience);
  });
});
