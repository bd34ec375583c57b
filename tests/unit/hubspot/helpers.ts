/** Shared by the HubSpot unit tests: recorded payloads, the SDK's own deserializer, a fake gate. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ObjectSerializer } from '@hubspot/api-client/lib/codegen/crm/contacts/models/ObjectSerializer.js';
import type { CrmName } from '../../../src/model/lead.js';
import type { QuotaGate, QuotaObservation, QuotaReport } from '../../../connectors/types.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/hubspot-payloads/', import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(`${FIXTURES}${name}`, 'utf8');
}

/** A recorded JSON object (nock replies with it as is). */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}

/** A recorded wire payload as the SDK hands it to us: Dates, unknown top-level keys dropped. */
export function asSdk(type: 'SimplePublicObject' | 'BatchResponseSimplePublicObjectWithErrors', json: unknown): unknown {
  return ObjectSerializer.deserialize(json, type, '');
}

export interface FakeGate extends QuotaGate {
  takes: Array<{ crm: CrmName; kind: string }>;
  observed: QuotaObservation[];
}

export function fakeGate(): FakeGate {
  const gate: FakeGate = {
    takes: [],
    observed: [],
    take: async (crm, kind) => {
      gate.takes.push({ crm, kind });
    },
    observe: async (_crm, info) => {
      gate.observed.push(info);
    },
    report: async (crm): Promise<QuotaReport> => ({ crm, dailyUsed: gate.takes.length, dailyLimit: null, dailyBudget: null, paused: false }),
  };
  return gate;
}
