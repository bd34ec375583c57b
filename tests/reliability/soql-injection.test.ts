/**
 * SOQL built from data is always escaped (connectors/salesforce/soql.ts): a value such as
 * `x' OR Name != '` stays one string literal. Shown three ways: the query's syntax tree (parsed by
 * the Salesforce sandbox's own SOQL parser) has the same shape whatever the value; run through
 * jsforce against the sandbox it matches only the record that literally holds the value; and
 * what SOQL cannot escape is refused before anything is sent. (hostile-records.test.ts adds the
 * product path: a HubSpot website built to break a LIKE still creates a plain Lead.)
 */
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCrmError } from '../../connectors/errors.js';
import { accountsByDomainQuery, byFieldValuesQuery, byIdsQuery, changeFeedQuery, existingTasksQuery, soqlDateTime, soqlId, soqlLike, soqlString } from '../../connectors/salesforce/soql.js';
import { parseSoql } from '../../connectors/salesforce/sandbox/soql/parser.js';
import type { Condition } from '../../connectors/salesforce/sandbox/soql/parser.js';
import { startSandboxes } from '../../connectors/sandbox/start.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { sandboxControl } from '../helpers/pipeline.js';

const PAYLOADS = [
  "x' OR Name != '",
  "x\\' OR Name != '",
  "' OR '1'='1",
  "x') OR (Name != '",
  "'; DELETE FROM Lead; --",
  "%' OR Id != null OR Name LIKE '%",
  'back\\\\slash\' OR Name != \'',
  '\\',
  'x\\',
  '"double" quotes',
  "O'Brien",
  "line\nbreak' OR Id != null OR Name = '",
  "tab\there' OR Name != '",
  '‘curly’ quotes\' OR Name != \'',
  "%",
  "_",
  "100%_sure",
  "مريم' OR Name != 'כהן",
  '👩‍💻\' OR Name != \'',
];

function where(soql: string): Condition | null {
  return parseSoql(soql).where;
}

describe('SOQL built from data', () => {
  it.each(PAYLOADS)('keeps %j one string literal in an IN list', (payload) => {
    const condition = where(byFieldValuesQuery('Lead', ['Id', 'LastName'], 'LastName', [payload]));
    expect(condition?.kind).toBe('in');
    if (condition?.kind !== 'in') return;
    expect(condition.field.path).toEqual(['LastName']);
    expect(condition.negated).toBe(false);
    expect(condition.values).toHaveLength(1);
    expect(condition.values[0]).toMatchObject({ kind: 'string', value: payload });
  });

  it.each(PAYLOADS)('keeps %j one literal LIKE pattern, wildcards included', (payload) => {
    const condition = where(accountsByDomainQuery([payload]));
    expect(condition?.kind).toBe('like');
    if (condition?.kind !== 'like') return;
    expect(condition.field.path).toEqual(['Website']);
    // The value between the added % is the payload; its own % and _ are not wildcards (the
    // parser keeps wildcards as % and _ in its pattern, literal ones as other code points).
    expect(condition.value).toMatchObject({ kind: 'string', value: `%${payload}%` });
    const pattern = (condition.value as { like: string }).like;
    expect(pattern.startsWith('%') && pattern.endsWith('%')).toBe(true);
    expect(pattern.slice(1, -1)).not.toMatch(/[%_]/);
  });

  it('keeps a query on several values an IN list of exactly those values', () => {
    const condition = where(byFieldValuesQuery('Lead', ['Id'], 'Email', PAYLOADS));
    expect(condition?.kind === 'in' && condition.values.map((v) => (v as { value: unknown }).value)).toEqual(PAYLOADS);
  });

  it('keeps task subjects literal beside the record ids', () => {
    const condition = where(existingTasksQuery(['00Q000000000001EAA'], ["Follow up' OR Subject != '"]));
    expect(condition?.kind).toBe('and');
    if (condition?.kind !== 'and') return;
    expect(condition.parts).toHaveLength(2);
    expect(condition.parts[1]).toMatchObject({ kind: 'in', values: [{ kind: 'string', value: "Follow up' OR Subject != '" }] });
  });

  it('refuses what SOQL has no escape for, and anything that is not an id, a date or a name', () => {
    const refused = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        expect(isCrmError(err) && err.code === 'VALIDATION', String(err)).toBe(true);
        return (err as Error).message;
      }
      throw new Error('the value was accepted');
    };
    for (const ch of ['\u0000', '\u0007', '\u000b', '\u001b', '\u007f']) expect(refused(() => soqlString(`a${ch}b`))).toMatch(/control character/);
    expect(refused(() => soqlId("00Q000000000001EAA' OR Id != '"))).toMatch(/record id/);
    expect(refused(() => byIdsQuery('Lead', ['Id'], ['1 OR 1=1']))).toMatch(/record id/);
    expect(refused(() => soqlDateTime('2026-01-01T00:00:00Z OR Id != null'))).toMatch(/date-time/);
    expect(refused(() => byFieldValuesQuery('Lead', ['Id, (SELECT Id FROM Contacts)'], 'Email', ['x']))).toMatch(/field name/);
    expect(refused(() => byFieldValuesQuery('Lead', ['Id'], "Email = 'x' OR Name", ['x']))).toMatch(/field name/);
    expect(refused(() => byFieldValuesQuery("Lead WHERE Name != ''", ['Id'], 'Email', ['x']))).toMatch(/object name/);
    expect(refused(() => changeFeedQuery('Lead', ['Id'], { ts: '2026-01-01T00:00:00Z', id: "x' OR Id != '" }, { limit: 10 }))).toMatch(/record id/);
    expect(refused(() => byFieldValuesQuery('Lead', ['Id'], 'Email', []))).toMatch(/empty IN/);
  });

  describe('run through jsforce against the Salesforce sandbox', () => {
    let sandboxes: Sandboxes;
    let conn: jsforce.Connection;
    const ids = new Map<string, string>();

    beforeAll(async () => {
      sandboxes = await startSandboxes({ people: 12, seed: 9, hubspotPerTenSeconds: 0 });
      const sf = sandboxes.connection.salesforce;
      conn = new jsforce.Connection({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, version: '62.0' });
      // Leads whose last names are the payloads (those that fit a name), plus plain decoys.
      for (const payload of PAYLOADS) {
        const created = (await sandboxControl(sf.instanceUrl, '/activity', { kind: 'create', type: 'Lead', fields: { LastName: payload, Company: 'Injection Test Co' } })) as { id: string };
        ids.set(payload, created.id);
      }
      for (const name of ['Decoy', 'Name', "x'"]) await sandboxControl(sf.instanceUrl, '/activity', { kind: 'create', type: 'Lead', fields: { LastName: name, Company: 'Decoy Co' } });
    });

    afterAll(async () => {
      await sandboxes?.close();
    });

    it.each(PAYLOADS)('finds only Leads named exactly %j', async (payload) => {
      const result = await conn.query<{ Id: string; LastName: string }>(byFieldValuesQuery('Lead', ['Id', 'LastName'], 'LastName', [payload]));
      expect(result.records.map((r) => r.Id)).toContain(ids.get(payload));
      // A seeded person may share a plain name such as O'Brien; nobody else comes back.
      for (const r of result.records) expect(r.LastName).toBe(payload);
    });

    it('finds no Lead for an injection that names nobody, though every Lead has a Name', async () => {
      const total = (await conn.query('SELECT COUNT() FROM Lead')).totalSize;
      expect(total).toBeGreaterThan(PAYLOADS.length);
      const result = await conn.query(byFieldValuesQuery('Lead', ['Id'], 'LastName', ["nobody' OR Name != '"]));
      expect(result.totalSize).toBe(0);
      const like = await conn.query(`SELECT Id FROM Lead WHERE LastName LIKE ${soqlLike("nobody%' OR Name != '", 'contains')}`);
      expect(like.totalSize).toBe(0);
    });

    it('matches % and _ in a value literally in a LIKE', async () => {
      const result = await conn.query<{ Id: string }>(`SELECT Id FROM Lead WHERE LastName LIKE ${soqlLike('%', 'exact')}`);
      expect(result.records.map((r) => r.Id)).toEqual([ids.get('%')]);
      const contains = await conn.query<{ Id: string }>(`SELECT Id FROM Lead WHERE LastName LIKE ${soqlLike('0%_', 'contains')}`);
      expect(contains.records.map((r) => r.Id)).toEqual([ids.get('100%_sure')]);
    });
  });
});
