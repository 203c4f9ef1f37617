import { describe, expect, it } from 'vitest';
import rule from '../../rules/missing-lock-timeout.js';
import { target } from '../../src/rule.js';
import { check, migration, table, type Observed } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders: Observed = { target: table('app', 'orders') };
const fix = [
  '-- at the top of the migration, so a lock that is not granted within 5s fails the migration (retry it later) instead of stalling the table:',
  "SET lock_timeout = '5s';",
].join('\n');

describe('missing-lock-timeout', () => {
  it('reports the first write-blocking statement on an existing table, once per file', async () => {
    const checked = await migration([
      'CREATE TABLE app.drafts (id bigint);',
      'ALTER TABLE app.drafts ADD COLUMN note text;',
      'CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders (status);',
      'ALTER TABLE app.orders VALIDATE CONSTRAINT orders_customer_fk, SET (fillfactor = 90), ALTER status SET STATISTICS 500;',
      'ALTER TABLE app."Audit Log" ADD COLUMN note text;',
      'CREATE INDEX orders_email_idx ON app.orders (email);',
    ].join('\n'), {}, { target: table('app', 'drafts', { newInFile: true }) }, orders, orders, { target: table('app', 'Audit Log') }, orders);
    expect(check(rule, checked)).toEqual([{ line: 5, severity: 'warning', target: target('table', { schema: 'app', table: 'Audit Log' }), sql: [fix] }]);
  });

  it('names the lock in the evidence: SHARE ROW EXCLUSIVE for a foreign key, SHARE for an index build', async () => {
    const lockOf = async (sql: string, observed: Observed = orders) =>
      rule.checkMigration(await migration(sql, observed), rule.options)[0]?.evidence.lock ?? null;
    expect(await lockOf('ALTER TABLE app.orders ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES app.customers (id) NOT VALID')).toBe('SHARE ROW EXCLUSIVE');
    expect(await lockOf('CREATE INDEX i ON app.orders (a)')).toBe('SHARE');
    expect(await lockOf('CREATE TRIGGER t BEFORE INSERT ON app.orders FOR EACH ROW EXECUTE FUNCTION app.f()')).toBe('SHARE ROW EXCLUSIVE');
    expect(await lockOf('LOCK TABLE app.orders IN SHARE MODE')).toBe('SHARE');
    expect(await lockOf('LOCK TABLE app.orders')).toBe('ACCESS EXCLUSIVE');
    expect(await lockOf('TRUNCATE app.orders')).toBe('ACCESS EXCLUSIVE');
    expect(await lockOf('ALTER TABLE app.orders RENAME COLUMN a TO b')).toBe('ACCESS EXCLUSIVE');
    expect(await lockOf('REINDEX SCHEMA app', {})).toBe('SHARE');
    expect(await lockOf('LOCK TABLE app.orders IN ROW EXCLUSIVE MODE')).toBeNull();
    expect(await lockOf('ALTER TABLE app.orders DETACH PARTITION app.o1 CONCURRENTLY')).toBeNull();
    expect(await lockOf('DROP INDEX CONCURRENTLY app.i')).toBeNull();
  });

  it('is satisfied by a lock_timeout set earlier, and proposes the configured one', async () => {
    const set = await migration("SET lock_timeout = '2s';\nALTER TABLE app.orders ADD COLUMN note text;", {}, { ...orders, lockTimeoutSet: true });
    expect(check(rule, set)).toEqual([]);
    const unset = await migration('ALTER TABLE app.orders ADD COLUMN note text;', orders);
    expect(rule.checkMigration(unset, { lockTimeout: "1s'; --\nx" })[0]?.actions[0]?.sql).toBe([
      "-- at the top of the migration, so a lock that is not granted within 1s'; --",
      '-- x fails the migration (retry it later) instead of stalling the table:',
      "SET lock_timeout = '1s''; --\nx';",
    ].join('\n'));
  });

  it('does not report plain VACUUM, a statement on no existing table, or DROP INDEX IF EXISTS of nothing', async () => {
    const checked = await migration('VACUUM (ANALYZE) app.orders;\nDROP INDEX IF EXISTS app.no_such_idx;\nCREATE TABLE app.t (id int);', orders, {}, {});
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/missing-lock-timeout/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('missing-lock-timeout');
  });
});
