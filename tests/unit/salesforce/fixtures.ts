/** Recorded Salesforce payloads from fixtures/salesforce-payloads. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../fixtures/salesforce-payloads/', import.meta.url));

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(`${dir}${name}`, 'utf8'));
}

export function fixtureText(name: string): string {
  return readFileSync(`${dir}${name}`, 'utf8');
}
