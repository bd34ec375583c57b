import { describe, expect, it } from 'vitest';
import { CrmError } from '../../../connectors/errors.js';
import {
  accountsByDomainQuery,
  byIdsQuery,
  changeFeedQuery,
  existingTasksQuery,
  soqlDateTime,
  soqlId,
  soqlIn,
  soqlLike,
  soqlString,
  toIsoDateTime,
} from '../../../connectors/salesforce/soql.js';

describe('soqlString escapes per Salesforce\'s quoted-string escape sequences', () => {
  it.each([
    ['plain', 'acme', "'acme'"],
    ['single quote', "O'Brien", "'O\\'Brien'"],
    ['double quote', 'say "hi"', "'say \\\"hi\\\"'"],
    ['backslash', 'C:\\temp', "'C:\\\\temp'"],
    ['backslash before quote', "\\'", "'\\\\\\''"],
    ['newline', 'a\nb', "'a\\nb'"],
    ['carriage return', 'a\rb', "'a\\rb'"],
    ['tab', 'a\tb', "'a\\tb'"],
    ['backspace (\\b)', 'a\bb', "'a\\bb'"],
    ['form feed', 'a\fb', "'a\\fb'"],
    ['non-ASCII passes as is', 'Zoë Nguyễn 予算 كريم', "'Zoë Nguyễn 予算 كريم'"],
    ['emoji (surrogate pair) passes whole', 'hi 👋', "'hi 👋'"],
    ['LIKE wildcards are plain characters outside LIKE', '50%_off', "'50%_off'"],
    ['empty', '', "''"],
  ])('%s', (_name, input, expected) => {
    expect(soqlString(input)).toBe(expected);
  });

  it('keeps an injection attempt inside one literal', () => {
    const literal = soqlString("x' OR Email != '");
    expect(literal).toBe("'x\\' OR Email != \\''");
    // Unescaped quotes only at the two ends: the value cannot close the literal early.
    const unescapedQuotes = [...literal.matchAll(/(?<!\\)'/g)].length;
    expect(unescapedQuotes).toBe(2);
  });

  it('keeps a backslash-quote injection inside the literal too', () => {
    // `\'` in the value must not turn our closing quote into an escaped one.
    const literal = soqlString("x\\' OR Name != '");
    expect(literal).toBe("'x\\\\\\' OR Name != \\''");
  });

  it.each([['NUL', 'a\u0000b'], ['vertical tab', 'a\u000bb'], ['escape', 'a\u001bb'], ['DEL', 'a\u007fb']])(
    'refuses %s, which SOQL has no escape for',
    (_name, input) => {
      expect(() => soqlString(input)).toThrow(CrmError);
      expect(() => soqlString(input)).toThrow(/control character/);
    },
  );
});

describe('soqlLike', () => {
  it.each([
    ['exact', 'acme.com', 'exact', "'acme.com'"],
    ['contains', 'acme.com', 'contains', "'%acme.com%'"],
    ['startsWith', 'acme', 'startsWith', "'acme%'"],
    ['endsWith', '.com', 'endsWith', "'%.com'"],
    ['escapes % and _ in the value', '50%_off', 'contains', "'%50\\%\\_off%'"],
    ['escapes quotes and backslashes too', "o'k\\", 'exact', "'o\\'k\\\\'"],
  ] as const)('%s', (_name, value, mode, expected) => {
    expect(soqlLike(value, mode)).toBe(expected);
  });
});

describe('soqlDateTime', () => {
  it.each([
    ['ISO with Z', '2025-03-14T09:12:45.000Z', '2025-03-14T09:12:45.000Z'],
    ['Salesforce +0000 offset', '2025-03-14T09:12:45.000+0000', '2025-03-14T09:12:45.000Z'],
    ['another offset', '2025-03-14T11:12:45+02:00', '2025-03-14T09:12:45.000Z'],
    ['a Date', new Date(Date.UTC(2025, 2, 14, 9, 12, 45, 7)), '2025-03-14T09:12:45.007Z'],
  ])('%s', (_name, input, expected) => {
    expect(soqlDateTime(input)).toBe(expected);
  });

  it.each(["2025-03-14' OR Id != '", 'yesterday', '2025-03-14', ''])('refuses %j', (input) => {
    expect(() => soqlDateTime(input)).toThrow(CrmError);
  });

  it('reads Salesforce date-times as ISO', () => {
    expect(toIsoDateTime('2025-03-14T09:12:45.000+0000')).toBe('2025-03-14T09:12:45.000Z');
    expect(toIsoDateTime('nope')).toBeNull();
    expect(toIsoDateTime(null)).toBeNull();
  });
});

describe('ids and IN lists', () => {
  it('accepts 15- and 18-character ids only', () => {
    expect(soqlId('00Q5g00000KjX3a')).toBe("'00Q5g00000KjX3a'");
    expect(soqlId('00Q5g00000KjX3aEAF')).toBe("'00Q5g00000KjX3aEAF'");
    for (const bad of ["00Q5g00000KjX3a' OR ''='", '00Q5g00000KjX3aEA', '', '00Q5g00000KjX3a-EAF']) {
      expect(() => soqlId(bad)).toThrow(CrmError);
    }
  });

  it('refuses an empty IN list', () => {
    expect(() => soqlIn([])).toThrow(CrmError);
    expect(soqlIn(["'a'", "'b'"])).toBe("('a','b')");
  });
});

describe('query builders', () => {
  it('pages a change stream by (SystemModstamp, Id)', () => {
    expect(changeFeedQuery('Lead', ['Id', 'SystemModstamp'], null, { limit: 2000 })).toBe(
      'SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000',
    );
    expect(
      changeFeedQuery('Contact', ['Id'], { ts: '2025-03-14T09:12:45.000Z', id: '0035g00000QrStUAAV' }, { limit: 5000, until: '2025-03-15T00:00:00Z' }),
    ).toBe(
      'SELECT Id FROM Contact WHERE (SystemModstamp > 2025-03-14T09:12:45.000Z OR (SystemModstamp = 2025-03-14T09:12:45.000Z AND Id > \'0035g00000QrStUAAV\')) AND SystemModstamp <= 2025-03-15T00:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000',
    );
  });

  it('refuses a cursor that is not a timestamp and an id', () => {
    expect(() => changeFeedQuery('Lead', ['Id'], { ts: "2025' OR Id != '", id: '00Q5g00000KjX3aEAF' }, { limit: 10 })).toThrow(CrmError);
    expect(() => changeFeedQuery('Lead', ['Id'], { ts: '2025-03-14T09:12:45.000Z', id: "x' OR Id != '" }, { limit: 10 })).toThrow(CrmError);
  });

  it('refuses field and object names that are not names', () => {
    expect(() => byIdsQuery('Lead; DELETE', ['Id'], ['00Q5g00000KjX3aEAF'])).toThrow(CrmError);
    expect(() => byIdsQuery('Lead', ['Id, (SELECT Id FROM Tasks)'], ['00Q5g00000KjX3aEAF'])).toThrow(CrmError);
    expect(byIdsQuery('Contact', ['Id', 'Account.Name'], ['0035g00000QrStUAAV'])).toBe("SELECT Id, Account.Name FROM Contact WHERE Id IN ('0035g00000QrStUAAV')");
  });

  it('matches domains with LIKE, escaping their wildcards', () => {
    expect(accountsByDomainQuery(['acme.com', 'my_co.io'])).toBe(
      "SELECT Id, Name, Website, OwnerId, CreatedDate FROM Account WHERE Website LIKE '%acme.com%' OR Website LIKE '%my\\_co.io%' ORDER BY CreatedDate ASC, Id ASC",
    );
  });

  it('escapes task subjects', () => {
    expect(existingTasksQuery(['00Q5g00000KjX3aEAF'], ["Follow up: O'Brien \"hot\" lead"])).toBe(
      "SELECT Id, WhoId, OwnerId, Subject, Description FROM Task WHERE WhoId IN ('00Q5g00000KjX3aEAF') AND Subject IN ('Follow up: O\\'Brien \\\"hot\\\" lead')",
    );
  });
});
