import { beforeAll, describe, expect, it } from 'vitest';
import { loadRedactor, redactStatement } from '../../src/collect/redact.js';

describe('redactStatement', () => {
  beforeAll(loadRedactor);

  it.each([
    ["CREATE ROLE app LOGIN PASSWORD 'hunter2'", "CREATE ROLE app LOGIN PASSWORD '…'"],
    ["ALTER ROLE app WITH PASSWORD 'hunter2' VALID UNTIL '2030-01-01'", "ALTER ROLE app WITH PASSWORD '…' VALID UNTIL '…'"],
    ["ALTER USER app PASSWORD E'hun\\'ter2'", "ALTER USER app PASSWORD '…'"],
    ["CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password 'hunter2')", "CREATE USER MAPPING FOR app SERVER s OPTIONS (user '…', password '…')"],
    ["CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', password 'hunter2')", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '…', password '…')"],
    ["CREATE SUBSCRIPTION sub CONNECTION 'host=h password=hunter2' PUBLICATION p", "CREATE SUBSCRIPTION sub CONNECTION '…' PUBLICATION p"],
    ['SELECT dblink_connect($$host=h password=hunter2$$)', "SELECT dblink_connect('…')"],
    ["SELECT 1 /* token=hunter2 */ -- hunter2\n", 'SELECT 1'],
    ["SELECT U&'hunter\\0032', B'101', X'ff', 'héllo' || $1", "SELECT '…', '…', '…', '…' || $1"],
  ])('%s', (text, expected) => {
    expect(redactStatement(text)).toBe(expected);
  });

  it('leaves normalized DML as pg_stat_statements wrote it', () => {
    expect(redactStatement('SELECT * FROM app.t WHERE id = $1 AND "Name" = $2')).toBe('SELECT * FROM app.t WHERE id = $1 AND "Name" = $2');
  });

  it('tidies a text with nothing to redact the same way without tokenizing it', () => {
    expect(redactStatement('  SELECT $1, "a$b" \n FROM t  ')).toBe('SELECT $1, "a$b"\n FROM t');
    expect(redactStatement('SELECT $1, $q$hunter2$q$')).toBe("SELECT $1, '…'");
  });

  it('withholds a text it cannot tokenize rather than risk a secret', () => {
    expect(redactStatement("ALTER ROLE x PASSWORD 'unterminated")).not.toContain('unterminated');
  });
});
