/**
 * Hostile vendor payloads that a sandbox would refuse to store, run through the connectors' own
 * mappers (fixtures/hostile/records/hubspot-payloads.json, salesforce-rows.json): wrong types,
 * nulls, 100 KB strings, odd emails, numbers as text, dates beyond JavaScript's range, `__proto__`
 * and `constructor` keys. Each bad record becomes a problem that names the record and the field;
 * the good record beside it still maps; nothing throws and no prototype is polluted.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapContacts } from '../../connectors/hubspot/mapping.js';
import { createPicklists } from '../../connectors/hubspot/picklists.js';
import { mapRow } from '../../connectors/salesforce/mapping.js';
import { toLeadStatuses } from '../../connectors/salesforce/metadata.js';
import { createTranslations } from '../../connectors/salesforce/picklists.js';
import { loadCases } from './helpers/corpus.js';

/** SMK_HOSTILE_SHOW_BUGS=1 runs the cases of known bugs as plain tests, to see how they fail. */
const SHOW_BUGS = Boolean(process.env.SMK_HOSTILE_SHOW_BUGS);

interface ProblemExpectation {
  ref?: string | null;
  field?: string;
  message?: string;
}

interface PayloadCase {
  name: string;
  file: string;
  properties?: Record<string, unknown>;
  raw?: unknown;
  rawText?: string;
  object?: 'Lead' | 'Contact';
  row?: Record<string, unknown>;
  rowText?: string;
  rowRaw?: unknown;
  expect: { problem?: ProblemExpectation; fragment?: Record<string, unknown>; removed?: boolean; position?: 'kept' | 'none' | 'any' };
  bug?: string;
}

const all = loadCases('records') as unknown as PayloadCase[];
const hubspotCases = all.filter((c) => c.file.endsWith('hubspot-payloads.json'));
const salesforceCases = all.filter((c) => c.file.endsWith('salesforce-rows.json'));

/** `a.b.0.c` in a nested value; undefined when any step is missing. */
function valueAt(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function expectValues(actual: unknown, expected: Record<string, unknown>): void {
  for (const [path, value] of Object.entries(expected)) {
    const got = valueAt(actual, path);
    // An absent value and null both mean "no value".
    expect(got === undefined ? null : got, path).toEqual(value);
  }
}

function notPolluted(): void {
  for (const key of ['polluted', 'firstname', 'properties', 'Email', 'IsDeleted', 'email']) {
    expect(({} as Record<string, unknown>)[key], `Object.prototype.${key}`).toBeUndefined();
  }
}

function forEachCase<T extends { name: string; bug?: string }>(cases: T[], run: (c: T) => void): void {
  for (const c of cases) {
    if (c.bug && !SHOW_BUGS) {
      // BUG (see the case's `bug` in fixtures/hostile/records): fails until the product is fixed.
      it.fails(`${c.name} [bug: ${c.bug}]`, () => run(c));
    } else {
      it(c.name, () => run(c));
    }
  }
}

describe('hostile HubSpot contacts through connectors/hubspot/mapping.ts', () => {
  const picklists = createPicklists();
  const base = () => ({
    id: '9001',
    properties: { email: 'base@hostile.example', firstname: 'Base', lastname: 'Contact', lastmodifieddate: '2026-01-02T00:00:00Z' } as Record<string, unknown>,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-02T00:00:00Z',
    archived: false,
  });
  const good = { id: '9002', properties: { email: 'good@hostile.example', firstname: 'Good' }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-02T00:00:00Z', archived: false };

  function payloadOf(c: PayloadCase): unknown {
    if (c.rawText !== undefined) return JSON.parse(c.rawText);
    if ('raw' in c) return c.raw;
    const contact = base();
    Object.assign(contact.properties, c.properties ?? {});
    return contact;
  }

  it('holds enough cases to mean something', () => {
    expect(hubspotCases.length).toBeGreaterThanOrEqual(35);
  });

  forEachCase(hubspotCases, (c) => {
    const payload = payloadOf(c);
    // In a page with a good contact: the bad one must not take the page down.
    const page = mapContacts([payload, good], picklists);
    expect(page.fragments.some((f) => f.recordId === '9002' && f.email === 'good@hostile.example'), 'the good contact of the page').toBe(true);
    if (c.expect.problem) {
      expect(page.problems, JSON.stringify(page.fragments.map((f) => f.recordId))).toHaveLength(1);
      const problem = page.problems[0];
      expect(problem?.code).toBe('VALIDATION');
      if (c.expect.problem.ref !== undefined) expect(problem?.ref?.id ?? null).toBe(c.expect.problem.ref);
      if (c.expect.problem.message) expect(problem?.message).toContain(c.expect.problem.message);
      if (c.expect.problem.field) expect(problem?.field).toBe(c.expect.problem.field);
      expect(page.fragments.map((f) => f.recordId)).toEqual(['9002']);
    }
    if (c.expect.fragment) {
      expect(page.problems).toEqual([]);
      const fragment = page.fragments.find((f) => f.recordId === '9001');
      expect(fragment).toBeDefined();
      expectValues(fragment, c.expect.fragment);
    }
    notPolluted();
  });
});

describe('hostile Salesforce rows through connectors/salesforce/mapping.ts', () => {
  const statuses = toLeadStatuses((JSON.parse(readFileSync(new URL('../../fixtures/salesforce-payloads/lead-status.json', import.meta.url), 'utf8')) as { records: unknown[] }).records);
  const translations = createTranslations({}, statuses);
  const baseLead = (): Record<string, unknown> => ({
    attributes: { type: 'Lead', url: '/services/data/v62.0/sobjects/Lead/00Q0000000000A1EAA' },
    Id: '00Q0000000000A1EAA',
    IsDeleted: false,
    FirstName: 'Row',
    LastName: 'Base',
    Email: 'row@hostile.example',
    Company: 'Row Co',
    Status: 'Open - Not Contacted',
    IsConverted: false,
    OwnerId: '005000000000001AAA',
    LastModifiedDate: '2026-01-01T00:00:00.000+0000',
    SystemModstamp: '2026-01-01T00:00:00.000+0000',
  });
  const baseContact = (): Record<string, unknown> => ({
    attributes: { type: 'Contact', url: '/services/data/v62.0/sobjects/Contact/0030000000000A1AAA' },
    Id: '0030000000000A1AAA',
    IsDeleted: false,
    FirstName: 'Row',
    LastName: 'Contact',
    Email: 'row@hostile.example',
    AccountId: '0010000000000A1AAA',
    Account: { attributes: { type: 'Account' }, Name: 'Acct', Website: 'acct.example', Industry: null, NumberOfEmployees: 10, AnnualRevenue: null },
    OwnerId: '005000000000001AAA',
    LastModifiedDate: '2026-01-01T00:00:00.000+0000',
    SystemModstamp: '2026-01-01T00:00:00.000+0000',
  });

  function rowOf(c: PayloadCase): unknown {
    if (c.rowText !== undefined) return JSON.parse(c.rowText);
    if ('rowRaw' in c) return c.rowRaw;
    return { ...(c.object === 'Contact' ? baseContact() : baseLead()), ...(c.row ?? {}) };
  }

  it('holds enough cases to mean something', () => {
    expect(salesforceCases.length).toBeGreaterThanOrEqual(30);
  });

  forEachCase(salesforceCases, (c) => {
    const object = c.object ?? 'Lead';
    let mapped: ReturnType<typeof mapRow> | undefined;
    expect(() => {
      mapped = mapRow(object, rowOf(c), translations);
    }).not.toThrow();
    if (!mapped) return;
    if (c.expect.problem) {
      expect(mapped.problem, JSON.stringify(mapped).slice(0, 300)).toBeDefined();
      expect(mapped.fragment).toBeUndefined();
      if (c.expect.problem.ref !== undefined) expect(mapped.problem?.ref?.id ?? null).toBe(c.expect.problem.ref);
      if (c.expect.problem.field) expect(mapped.problem?.field).toBe(c.expect.problem.field);
      if (c.expect.problem.message) expect(mapped.problem?.message).toContain(c.expect.problem.message);
      expect(mapped.problem?.message).toMatch(/row does not have the expected shape/);
    }
    if (c.expect.fragment) {
      expect(mapped.problem, mapped.problem?.message).toBeUndefined();
      expectValues(mapped.fragment, c.expect.fragment);
    }
    if (c.expect.removed) expect(mapped.removed?.reason).toBe('deleted');
    // The cursor moves past even a bad row, so that it is not read forever.
    if (c.expect.position === 'none') expect(mapped.position).toBeUndefined();
    else if (c.expect.position !== 'any') expect(mapped.position?.id).toBeDefined();
    notPolluted();
  });
});
