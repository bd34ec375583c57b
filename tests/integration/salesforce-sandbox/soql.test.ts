/**
 * The sandbox's SOQL lexer, parser and evaluator as pure functions: valid queries, every operator,
 * escapes, Salesforce's error codes for malformed queries and unknown names.
 */
import { describe, expect, it } from 'vitest';
import { SandboxClock } from '../../../connectors/sandbox/common.js';
import { SalesforceStore } from '../../../connectors/salesforce/sandbox/store.js';
import { compileQuery } from '../../../connectors/salesforce/sandbox/soql/compile.js';
import { executeQuery } from '../../../connectors/salesforce/sandbox/soql/evaluate.js';
import { SoqlError, tokenize } from '../../../connectors/salesforce/sandbox/soql/lexer.js';
import { parseSoql } from '../../../connectors/salesforce/sandbox/soql/parser.js';
import { parseDateTime } from '../../../connectors/salesforce/sandbox/values.js';
import type { SfRecord } from '../../../connectors/salesforce/sandbox/values.js';

const NOW = Date.parse('2026-11-24T10:00:00Z');
const clock = new SandboxClock();
clock.set(NOW);
const store = new SalesforceStore(clock);
const at = (iso: string) => parseDateTime(iso) as number;

const rows: Array<Record<string, string | number | boolean | null>> = [
  { LastName: 'Lovelace', FirstName: 'Ada', Company: 'Acme', Email: 'ada@acme.example', Rating: 'Hot', NumberOfEmployees: 500, Status: 'Open - Not Contacted' },
  { LastName: 'Hopper', FirstName: 'Grace', Company: 'Navy', Email: 'GRACE@navy.example', Rating: 'Warm', NumberOfEmployees: 50, Status: 'Working - Contacted' },
  { LastName: 'Turing', FirstName: null, Company: 'Bletchley', Email: null, Rating: null, NumberOfEmployees: null, Status: 'Open - Not Contacted' },
  { LastName: "O'Brien", FirstName: 'Zoë', Company: '100% Cotton_Co', Email: 'zoe@cotton.example', Rating: 'Cold', NumberOfEmployees: 5, Status: 'Closed - Not Converted' },
];
const leads: SfRecord[] = rows.map((values, i) =>
  store.insert('Lead', values, { ts: at('2026-11-20T00:00:00Z') + i * 60_000 }),
);
const deleted = store.insert('Lead', { LastName: 'Gone', Company: 'Ghost' }, { ts: at('2026-11-21T00:00:00Z') });
store.softDelete(deleted, { ts: at('2026-11-22T00:00:00Z') });

function run(soql: string, includeDeleted = false) {
  const q = compileQuery(parseSoql(soql), (n) => store.schema(n), NOW, store.finder);
  return executeQuery(q, store.source(q.schema), { includeDeleted });
}

function names(soql: string, includeDeleted = false): string[] {
  const r = run(soql, includeDeleted);
  if (r.kind !== 'records') throw new Error(`expected records, got ${r.kind}`);
  return r.rows.map((row) => String(row.LastName));
}

function soqlError(soql: string): SoqlError {
  try {
    run(soql);
  } catch (err) {
    if (err instanceof SoqlError) return err;
    throw err;
  }
  throw new Error(`expected ${soql} to fail`);
}

describe('SOQL lexer', () => {
  it('keeps an escaped quote inside one string literal', () => {
    const tokens = tokenize("SELECT Id FROM Lead WHERE Email = 'x\\' OR Name != \\''");
    const strings = tokens.filter((t) => t.kind === 'string');
    expect(strings).toHaveLength(1);
    expect(strings[0]?.value).toBe("x' OR Name != '");
  });

  it.each([
    ["'a\\\\b'", 'a\\b'],
    ["'line\\nbreak'", 'line\nbreak'],
    ["'tab\\there'", 'tab\there'],
    ["'say \\\"hi\\\"'", 'say "hi"'],
    ["'upper\\Ncase'", 'upper\ncase'],
    ["'100\\%'", '100%'],
  ])('unescapes %s', (literal, value) => {
    expect(tokenize(`SELECT Id FROM Lead WHERE Name = ${literal}`).find((t) => t.kind === 'string')?.value).toBe(value);
  });

  it('reads date-time literals in every offset form as one instant', () => {
    const forms = ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000+0000', '2026-01-01T01:00:00+01:00', '2025-12-31T19:00:00.000-0500'];
    const values = forms.map((f) => parseSoql(`SELECT Id FROM Lead WHERE CreatedDate = ${f}`).where);
    for (const w of values) expect(w).toMatchObject({ kind: 'compare', value: { kind: 'datetime', value: Date.UTC(2026, 0, 1) } });
  });

  it('rejects an unknown escape and an unterminated string as MALFORMED_QUERY', () => {
    expect(soqlError("SELECT Id FROM Lead WHERE Name = 'a\\qb'").code).toBe('MALFORMED_QUERY');
    expect(soqlError("SELECT Id FROM Lead WHERE Name = '\\u00e9'").code).toBe('MALFORMED_QUERY');
    expect(soqlError("SELECT Id FROM Lead WHERE Name = 'abc").code).toBe('MALFORMED_QUERY');
  });
});

describe('SOQL parser and evaluator', () => {
  it.each([
    ["SELECT LastName FROM Lead WHERE Rating = 'Hot'", ['Lovelace']],
    ["SELECT LastName FROM Lead WHERE Rating != 'Hot' ORDER BY LastName", ['Hopper', "O'Brien", 'Turing']],
    ['SELECT LastName FROM Lead WHERE NumberOfEmployees < 50', ["O'Brien"]],
    ['SELECT LastName FROM Lead WHERE NumberOfEmployees <= 50 ORDER BY LastName', ['Hopper', "O'Brien"]],
    ['SELECT LastName FROM Lead WHERE NumberOfEmployees > 50', ['Lovelace']],
    ['SELECT LastName FROM Lead WHERE NumberOfEmployees >= 50 ORDER BY LastName', ['Hopper', 'Lovelace']],
    ["SELECT LastName FROM Lead WHERE Rating IN ('Hot', 'Cold') ORDER BY LastName", ['Lovelace', "O'Brien"]],
    ["SELECT LastName FROM Lead WHERE Rating NOT IN ('Hot', 'Cold') ORDER BY LastName", ['Hopper', 'Turing']],
    ["SELECT LastName FROM Lead WHERE Email LIKE '%@NAVY.%'", ['Hopper']],
    ["SELECT LastName FROM Lead WHERE LastName LIKE 'h_pper'", ['Hopper']],
    ["SELECT LastName FROM Lead WHERE Company LIKE '100\\% Cotton\\_%'", ["O'Brien"]],
    ["SELECT LastName FROM Lead WHERE Company LIKE '100_ Cotton%'", ["O'Brien"]],
    ['SELECT LastName FROM Lead WHERE Email = null', ['Turing']],
    ['SELECT LastName FROM Lead WHERE Email != null ORDER BY LastName', ['Hopper', 'Lovelace', "O'Brien"]],
    ["SELECT LastName FROM Lead WHERE email = 'grace@NAVY.example'", ['Hopper']],
    ["SELECT LastName FROM Lead WHERE LastName = 'O\\'Brien'", ["O'Brien"]],
    ["SELECT LastName FROM Lead WHERE NOT Rating = 'Hot' ORDER BY LastName", ['Hopper', "O'Brien", 'Turing']],
    ["SELECT LastName FROM Lead WHERE Rating = 'Hot' OR (NumberOfEmployees < 100 AND Rating != 'Cold')", ['Lovelace', 'Hopper']],
    ["SELECT LastName FROM Lead WHERE (Rating = 'Hot' OR Rating = 'Warm') AND NumberOfEmployees > 60", ['Lovelace']],
    ['SELECT LastName FROM Lead WHERE IsConverted = false AND IsDeleted = false ORDER BY LastName LIMIT 2', ['Hopper', 'Lovelace']],
    ['SELECT LastName FROM Lead ORDER BY LastName LIMIT 2 OFFSET 1', ['Lovelace', "O'Brien"]],
    ['SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC NULLS LAST', ['Lovelace', 'Hopper', "O'Brien", 'Turing']],
    ['SELECT LastName FROM Lead ORDER BY NumberOfEmployees ASC NULLS FIRST', ['Turing', "O'Brien", 'Hopper', 'Lovelace']],
    ['SELECT LastName FROM Lead ORDER BY Rating, LastName DESC', ['Turing', "O'Brien", 'Lovelace', 'Hopper']],
    ['SELECT LastName FROM Lead WHERE CreatedDate > 2026-11-20T00:01:00Z ORDER BY CreatedDate', ['Turing', "O'Brien"]],
    ['SELECT LastName FROM Lead WHERE CreatedDate = 2026-11-20T00:00:00.000+0000', ['Lovelace']],
    ['SELECT LastName FROM Lead WHERE CreatedDate = LAST_N_DAYS:7 AND NumberOfEmployees > 100', ['Lovelace']],
    ['SELECT LastName FROM Lead WHERE CreatedDate = TODAY', []],
    ['select lastname from LEAD where RATING = \'Warm\'', ['Hopper']],
  ])('%s', (soql, expected) => {
    expect(names(soql)).toEqual(expected);
  });

  it('matches SystemModstamp/Id cursors with a predicate compiled once', () => {
    const x = '2026-11-20T00:01:00.000+0000';
    const second = leads[1]?.Id as string;
    const soql = `SELECT Id, LastName FROM Lead WHERE SystemModstamp > ${x} OR (SystemModstamp = ${x} AND Id > '${second}') ORDER BY SystemModstamp, Id LIMIT 10`;
    expect(names(soql)).toEqual(['Turing', "O'Brien"]);
  });

  it('hides deleted rows from query and shows them to queryAll', () => {
    expect(names("SELECT LastName FROM Lead WHERE LastName = 'Gone'")).toEqual([]);
    expect(names("SELECT LastName FROM Lead WHERE LastName = 'Gone' AND IsDeleted = true", true)).toEqual(['Gone']);
  });

  it('answers COUNT() with a count, and aggregates per group', () => {
    expect(run("SELECT COUNT() FROM Lead WHERE Status = 'Open - Not Contacted'")).toEqual({ kind: 'count', count: 2 });
    const agg = run('SELECT Status, COUNT(Id) n, MAX(NumberOfEmployees) FROM Lead GROUP BY Status ORDER BY Status');
    expect(agg).toMatchObject({
      kind: 'aggregate',
      rows: [
        { Status: 'Closed - Not Converted', n: 1, expr0: 5 },
        { Status: 'Open - Not Contacted', n: 2, expr0: 500 },
        { Status: 'Working - Contacted', n: 1, expr0: 50 },
      ],
    });
  });

  it('returns fields with their canonical casing', () => {
    const q = compileQuery(parseSoql('SELECT id, lastname, EMAIL FROM lead'), (n) => store.schema(n), NOW);
    expect(q.schema.name).toBe('Lead');
    expect(q.columns.map((f) => f.name)).toEqual(['Id', 'LastName', 'Email']);
  });

  it.each([
    ['SELECT FROM Lead', 'MALFORMED_QUERY'],
    ['SELECT Id Lead', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead WHERE', 'MALFORMED_QUERY'],
    ["SELECT Id FROM Lead WHERE Rating = 'Hot' AND Rating = 'Warm' OR Rating = 'Cold'", 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead WHERE Email = :email', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead LIMIT -1', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead ORDER BY', 'MALFORMED_QUERY'],
    ['SELECT Id, (SELECT Id FROM Tasks) FROM Lead', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead.Owner', 'MALFORMED_QUERY'],
    ['SELECT Foo.Name FROM Lead', 'INVALID_FIELD'],
    ['SELECT OwnerId.Name FROM Lead', 'INVALID_FIELD'],
    ['SELECT Owner.Bogus FROM Lead', 'INVALID_FIELD'],
    ['SELECT Owner FROM Lead', 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE Owner.Email = 5", 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE Owner.Id = 'abc'", 'INVALID_QUERY_FILTER_OPERATOR'],
    ['SELECT Owner.Name, owner.name FROM Lead', 'MALFORMED_QUERY'],
    ['SELECT Id, Id FROM Lead', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Lead OFFSET 2001', 'NUMBER_OUTSIDE_VALID_RANGE'],
    ['SELECT Foo FROM Lead', 'INVALID_FIELD'],
    ['SELECT Id FROM Lead WHERE Smk_Score__c > 1', 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01'", 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", 'INVALID_FIELD'],
    ['SELECT Id FROM Lead WHERE Email = 5', 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE Description = 'x'", 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE Id = 'abc'", 'INVALID_QUERY_FILTER_OPERATOR'],
    ['SELECT Id FROM Lead WHERE NumberOfEmployees LIKE 5', 'INVALID_QUERY_FILTER_OPERATOR'],
    ['SELECT Id FROM Leads', 'INVALID_TYPE'],
  ])('%s fails with %s', (soql, code) => {
    expect(soqlError(soql).code).toBe(code);
  });

  it("words an unknown field the way Salesforce does, with the query and a caret", () => {
    const err = soqlError('SELECT Id, Foo FROM Lead');
    expect(err.message).toContain("No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom field, be sure to append the '__c'");
    expect(err.message).toContain('\nSELECT Id, Foo FROM Lead\n           ^\nERROR at Row:1:Column:12\n');
    expect(soqlError('SELECT Id FROM Leads').message).toContain("sObject type 'Leads' is not supported.");
  });
});

describe('SOQL child-to-parent relationship paths', () => {
  const owner = store.insert('User', { FirstName: 'Olive', LastName: 'Owner', Email: 'olive@corp.example', Username: 'olive@corp.example', Alias: 'oowner', IsActive: true });
  const acme = store.insert('Account', { Name: 'Acme Inc', Website: 'acme.example.com', NumberOfEmployees: 500, OwnerId: owner.Id as string });
  const zeta = store.insert('Account', { Name: 'Zeta', Website: null, NumberOfEmployees: 20 });
  const gone = store.insert('Account', { Name: 'Gone Co' });
  store.softDelete(gone);
  const contacts = [
    store.insert('Contact', { LastName: 'Alpha', AccountId: acme.Id as string }),
    store.insert('Contact', { LastName: 'Bravo', AccountId: zeta.Id as string }),
    store.insert('Contact', { LastName: 'Charlie', AccountId: null }),
    store.insert('Contact', { LastName: 'Delta', AccountId: gone.Id as string }),
  ];
  const contactNames = (soql: string) => names(soql);
  const records = (soql: string): SfRecord[] => {
    const r = run(soql);
    if (r.kind !== 'records') throw new Error(`expected records, got ${r.kind}`);
    return r.rows;
  };

  it('parses a dotted field into its path parts, keeping the text as written', () => {
    const ast = parseSoql('SELECT Id, account.Owner.EMAIL FROM Contact WHERE Account.Name = \'x\' ORDER BY Account.Name');
    expect(ast.select[1]).toEqual({ kind: 'field', field: { name: 'account.Owner.EMAIL', path: ['account', 'Owner', 'EMAIL'], pos: 11 } });
    expect(ast.where).toMatchObject({ kind: 'compare', field: { path: ['Account', 'Name'] } });
    expect(ast.orderBy[0]?.field.path).toEqual(['Account', 'Name']);
    expect(ast.from).toEqual({ name: 'Contact', path: ['Contact'], pos: 36 });
  });

  it('binds paths to relationship names from describe, in canonical casing, nested by relationship', () => {
    const q = compileQuery(parseSoql('SELECT id, account.name, Email, ACCOUNT.website, account.owner.email FROM contact'), (n) => store.schema(n), NOW, store.finder);
    expect(q.columns.map((f) => f.name)).toEqual(['Id', 'Email']);
    const shape = (nodes: typeof q.select): unknown[] =>
      nodes.map((n) => (n.kind === 'field' ? n.field.name : { [n.hop.name]: shape(n.children) }));
    expect(shape(q.select)).toEqual(['Id', { Account: ['Name', 'Website', { Owner: ['Email'] }] }, 'Email']);
    const hop = q.select[1]?.kind === 'parent' ? q.select[1].hop : null;
    expect(hop?.ref.name).toBe('AccountId');
    expect(hop?.target.name).toBe('Account');
  });

  it('filters on a parent field; a null, dangling or deleted parent reads as null', () => {
    expect(contactNames("SELECT LastName FROM Contact WHERE Account.Website = 'ACME.example.com'")).toEqual(['Alpha']);
    expect(contactNames('SELECT LastName FROM Contact WHERE Account.Name = null ORDER BY LastName')).toEqual(['Charlie', 'Delta']);
    expect(contactNames("SELECT LastName FROM Contact WHERE Account.Name != 'Acme Inc' ORDER BY LastName")).toEqual(['Bravo', 'Charlie', 'Delta']);
    expect(contactNames('SELECT LastName FROM Contact WHERE Account.NumberOfEmployees > 100')).toEqual(['Alpha']);
    expect(contactNames("SELECT LastName FROM Contact WHERE Account.Name LIKE 'ze%'")).toEqual(['Bravo']);
    expect(contactNames("SELECT LastName FROM Contact WHERE Account.Name IN ('Zeta', null) ORDER BY LastName")).toEqual(['Bravo', 'Charlie', 'Delta']);
    expect(contactNames(`SELECT LastName FROM Contact WHERE Account.Id = '${String(acme.Id).slice(0, 15)}'`)).toEqual(['Alpha']);
    expect(contactNames("SELECT LastName FROM Contact WHERE Account.Owner.Email = 'olive@corp.example'")).toEqual(['Alpha']);
  });

  it('orders by a parent field, nulls first unless asked otherwise', () => {
    expect(contactNames('SELECT LastName FROM Contact ORDER BY Account.Name, LastName')).toEqual(['Charlie', 'Delta', 'Alpha', 'Bravo']);
    expect(contactNames('SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName')).toEqual(['Bravo', 'Alpha', 'Charlie', 'Delta']);
    expect(contactNames('SELECT LastName FROM Contact ORDER BY Account.NumberOfEmployees DESC NULLS LAST LIMIT 1')).toEqual(['Alpha']);
  });

  it('reads parents for the rows it returns, and takes the object name as a qualifier', () => {
    const q = compileQuery(parseSoql(`SELECT Contact.LastName, Contact.Account.Name FROM Contact WHERE Id = '${String(contacts[0]?.Id)}'`), (n) => store.schema(n), NOW, store.finder);
    expect(q.columns.map((f) => f.name)).toEqual(['LastName']);
    expect(q.idCandidates).toEqual([contacts[0]?.Id]);
    const [row] = records(`SELECT Id, Account.Name FROM Contact WHERE Id = '${String(contacts[0]?.Id)}'`);
    expect(row?.LastName).toBe('Alpha');
  });

  it('groups by a parent field under its own field name', () => {
    expect(run('SELECT Account.Name, COUNT(Id) n FROM Contact GROUP BY Account.Name ORDER BY Account.Name')).toMatchObject({
      kind: 'aggregate',
      rows: [{ Name: null, n: 2 }, { Name: 'Acme Inc', n: 1 }, { Name: 'Zeta', n: 1 }],
    });
  });

  it('does not mistake a parent Id or SystemModstamp for the index hints', () => {
    const q = compileQuery(
      parseSoql(`SELECT Id FROM Contact WHERE Account.Id = '${String(acme.Id)}' AND Account.SystemModstamp > 2026-01-01T00:00:00Z ORDER BY Account.SystemModstamp, Id`),
      (n) => store.schema(n),
      NOW,
      store.finder,
    );
    expect(q.idCandidates).toBeNull();
    expect(q.modstampRange).toEqual({ lo: -Infinity, hi: Infinity });
    expect(q.modstampOrder).toBeNull();
  });

  it("words an unknown relationship and an unknown parent field the way Salesforce does", () => {
    const rel = soqlError('SELECT Id, Foo.Name FROM Contact');
    expect(rel.code).toBe('INVALID_FIELD');
    expect(rel.message).toContain(
      "\nSELECT Id, Foo.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\nDidn't understand relationship 'Foo' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
    );
    expect(soqlError('SELECT Account.Bogus FROM Contact').message).toContain(
      "No such column 'Bogus' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.",
    );
    expect(soqlError('SELECT Account.Foo.Name FROM Contact').message).toContain("Didn't understand relationship 'Foo' in field path.");
    expect(soqlError('SELECT Who.Company FROM Task').message).toContain("No such column 'Company' on entity 'Name'.");
    expect(soqlError('SELECT Account.Description FROM Contact WHERE Account.Description = null').message).toContain("field 'Description' can not be filtered");
    expect(soqlError('SELECT Id FROM Contact WHERE Owner.CreatedBy.CreatedBy.CreatedBy.CreatedBy.CreatedBy.Name = null').code).toBe('MALFORMED_QUERY');
  });
});
