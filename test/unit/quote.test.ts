import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESERVED_KEYWORDS } from '../../src/plan/keywords.js';
import { qualify, quoteIdent, quoteLiteral } from '../../src/plan/quote.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

// Names that must survive quoting exactly: every one is checked against the server's quote_ident.
const HOSTILE_NAMES = [
  'tasks', 'project_id', '_private', 'a1', 'a$b', '$a', '1abc', '123',
  'Tasks', 'camelCase', 'UPPER', 'with space', ' leading', 'trailing ',
  'semi;colon', 'x; DROP TABLE t; --', 'dash-name', 'dot.name', '--comment', '/* block */',
  'say "hi"', '"', '""', "it's", 'back\\slash', 'tab\there', 'new\nline',
  'Ünïcødé 表', 'café', 'ß', 'naïve', '表', '🐘',
  'user', 'order', 'select', 'table', 'from', 'group', 'all', 'check', 'default', 'offset',
  'name', 'text', 'id', 'key', 'value', 'data', 'type', 'comment', 'index', 'position', 'between', 'json',
  'User', 'SELECT', 'ORDER',
  'a'.repeat(63),
  '',
];

describe('quoteIdent', () => {
  it('leaves plain lower-case names bare', () => {
    expect(quoteIdent('tasks')).toBe('tasks');
    expect(quoteIdent('project_id')).toBe('project_id');
    expect(quoteIdent('_private')).toBe('_private');
    expect(quoteIdent('a1')).toBe('a1');
    expect(quoteIdent('t_2025_01')).toBe('t_2025_01');
  });

  it('quotes mixed and upper case, which would otherwise fold to lower case', () => {
    expect(quoteIdent('Tasks')).toBe('"Tasks"');
    expect(quoteIdent('camelCase')).toBe('"camelCase"');
    expect(quoteIdent('UPPER')).toBe('"UPPER"');
  });

  it('quotes spaces, punctuation, semicolons and comment markers', () => {
    expect(quoteIdent('with space')).toBe('"with space"');
    expect(quoteIdent('semi;colon')).toBe('"semi;colon"');
    expect(quoteIdent('x; DROP TABLE t; --')).toBe('"x; DROP TABLE t; --"');
    expect(quoteIdent('dot.name')).toBe('"dot.name"');
    expect(quoteIdent('dash-name')).toBe('"dash-name"');
    expect(quoteIdent('/* block */')).toBe('"/* block */"');
  });

  it('doubles embedded double quotes', () => {
    expect(quoteIdent('say "hi"')).toBe('"say ""hi"""');
    expect(quoteIdent('"')).toBe('""""');
    expect(quoteIdent('""')).toBe('""""""');
    expect(quoteIdent('Order "Items"; drop')).toBe('"Order ""Items""; drop"');
  });

  it('leaves single quotes and backslashes alone inside a quoted identifier', () => {
    expect(quoteIdent("it's")).toBe(`"it's"`);
    expect(quoteIdent('back\\slash')).toBe('"back\\slash"');
  });

  it('quotes non-ASCII names (quote_ident treats only a-z, 0-9 and _ as safe)', () => {
    expect(quoteIdent('Ünïcødé 表')).toBe('"Ünïcødé 表"');
    expect(quoteIdent('café')).toBe('"café"');
    expect(quoteIdent('表')).toBe('"表"');
  });

  it('quotes reserved and other non-unreserved keywords, not unreserved ones', () => {
    for (const word of ['user', 'order', 'select', 'table', 'from', 'all', 'check', 'default', 'between', 'json', 'position']) {
      expect(quoteIdent(word)).toBe(`"${word}"`);
    }
    for (const word of ['name', 'text', 'id', 'key', 'value', 'data', 'type', 'comment', 'index']) {
      expect(quoteIdent(word)).toBe(word);
    }
  });

  it('quotes names starting with a digit', () => {
    expect(quoteIdent('1abc')).toBe('"1abc"');
    expect(quoteIdent('123')).toBe('"123"');
  });

  it('quotes names containing $, as quote_ident does', () => {
    expect(quoteIdent('a$b')).toBe('"a$b"');
    expect(quoteIdent('$a')).toBe('"$a"');
  });

  it('quotes the empty string', () => {
    expect(quoteIdent('')).toBe('""');
  });

  it('qualifies with each part quoted on its own', () => {
    expect(qualify('app', 'tasks')).toBe('app.tasks');
    expect(qualify('My Schema', 'order')).toBe('"My Schema"."order"');
    expect(qualify('a.b', 'c')).toBe('"a.b".c');
  });
});

describe('quoteLiteral', () => {
  it('quotes plain text', () => {
    expect(quoteLiteral('abc')).toBe("'abc'");
    expect(quoteLiteral('')).toBe("''");
  });

  it('doubles single quotes', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral("''")).toBe("''''''");
  });

  it('uses the E form and doubles backslashes when there is a backslash', () => {
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(quoteLiteral("\\'")).toBe("E'\\\\'''");
    expect(quoteLiteral('\\')).toBe("E'\\\\'");
  });

  it('keeps other characters as they are', () => {
    expect(quoteLiteral('"x"; --')).toBe(`'"x"; --'`);
    expect(quoteLiteral('Ünïcødé 表\n')).toBe("'Ünïcødé 表\n'");
  });
});

describe('quoting against the live server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
  });
  afterAll(() => db.drop());

  it('RESERVED_KEYWORDS is exactly the server\'s non-unreserved keywords', async () => {
    const rows = await db.query<{ word: string }>(`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U' ORDER BY word`);
    expect([...RESERVED_KEYWORDS].sort()).toEqual(rows.map((row) => row.word).sort());
  });

  it('quoteIdent agrees with quote_ident() for every hostile name and every keyword', async () => {
    const keywords = await db.query<{ word: string }>(`SELECT word FROM pg_get_keywords()`);
    const names = [...HOSTILE_NAMES, ...keywords.map((row) => row.word)];
    const rows = await db.query<{ name: string; quoted: string }>(
      `SELECT name, quote_ident(name) AS quoted FROM unnest($1::text[]) AS name`, [names]);
    expect(rows.map((row) => quoteIdent(row.name))).toEqual(rows.map((row) => row.quoted));
    expect(rows).toHaveLength(names.length);
  });

  it('quoteLiteral agrees with quote_literal() and round-trips through the server', async () => {
    const values = ["it's", 'a\\b', "\\'", '\\', '', 'plain', 'Ünïcødé 表', '"x"; --', "E'", '$$dollar$$', 'new\nline'];
    const rows = await db.query<{ value: string; quoted: string }>(
      `SELECT value, quote_literal(value) AS quoted FROM unnest($1::text[]) AS value`, [values]);
    expect(rows.map((row) => quoteLiteral(row.value))).toEqual(rows.map((row) => row.quoted));
    for (const value of values) {
      const [row] = await db.query<{ v: string }>(`SELECT ${quoteLiteral(value)}::text AS v`);
      expect(row?.v).toBe(value);
    }
  });

  it('quoted identifiers name exactly the object they quote', async () => {
    const names = HOSTILE_NAMES.filter((name) => name !== '' && Buffer.byteLength(name) <= 63);
    for (const name of names) {
      await db.run(`CREATE TABLE ${quoteIdent(name)} (${quoteIdent(name)} int);`);
    }
    const rows = await db.query<{ relname: string; attname: string }>(`
      SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`);
    expect(rows.map((row) => row.relname).sort()).toEqual([...names].sort());
    for (const row of rows) expect(row.attname).toBe(row.relname);
  });
});
