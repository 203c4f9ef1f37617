import { describe, expect, it } from 'vitest';
import rule from '../../rules/table-rewrite-command.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders');

describe('table-rewrite-command', () => {
  it('reports VACUUM FULL with pg_repack and plain VACUUM instead', async () => {
    expect(check(rule, await migration('VACUUM (FULL, ANALYZE) app.orders', { target: orders }))).toEqual([{
      line: 1,
      severity: 'warning',
      target: target('table', { schema: 'app', table: 'orders' }),
      sql: [[
        '-- Rewrite online instead, from a job rather than a migration (needs the pg_repack extension):',
        '--   pg_repack --table=app.orders',
        '-- or, to make dead space reusable without shrinking the files:',
        'VACUUM app.orders;',
      ].join('\n')],
    }]);
  });

  it('shell-quotes hostile names for pg_repack and vacuums every listed table', async () => {
    expect(await fixOf(rule, 'VACUUM FULL "My App"."Bob\'s Items", app.orders', { target: table('My App', "Bob's Items") })).toEqual([[
      '-- Rewrite online instead, from a job rather than a migration (needs the pg_repack extension):',
      `--   pg_repack '--table="My App"."Bob'\\''s Items"'`,
      '--   pg_repack --table=app.orders',
      '-- or, to make dead space reusable without shrinking the files:',
      'VACUUM "My App"."Bob\'s Items", app.orders;',
    ].join('\n')]);
  });

  it('reports CLUSTER with the index marked and pg_repack to order by it', async () => {
    expect(await fixOf(rule, 'CLUSTER app.orders USING "Orders Created"', { target: orders })).toEqual([[
      'ALTER TABLE app.orders CLUSTER ON "Orders Created";',
      '-- then, from a job rather than a migration, rewrite it online in that order (needs the pg_repack extension):',
      '--   pg_repack --table=app.orders',
    ].join('\n')]);
  });

  it('reports VACUUM FULL and CLUSTER of every table', async () => {
    const checked = await migration('VACUUM FULL;\nCLUSTER;', {}, {});
    expect(check(rule, checked).map((finding) => [finding.line, finding.target, finding.sql])).toEqual([
      [1, target('database', {}), [[
        '-- Rewrite online instead, from a job rather than a migration (needs the pg_repack extension):',
        '--   pg_repack --all',
        '-- or, to make dead space reusable without shrinking the files:',
        'VACUUM;',
      ].join('\n')]],
      [2, target('database', {}), ['-- Re-cluster online instead, from a job rather than a migration: pg_repack --all (orders each table by its CLUSTER index).']],
    ]);
  });

  it('does not report plain VACUUM, ANALYZE, CLUSTER ON, or a table created in the same file', async () => {
    const checked = await migration([
      'VACUUM app.orders;',
      'VACUUM (ANALYZE, FULL false) app.orders;',
      'ANALYZE app.orders;',
      'ALTER TABLE app.orders CLUSTER ON orders_created_idx;',
      'VACUUM FULL app.drafts;',
    ].join('\n'), ...Array(4).fill({ target: orders }), { target: table('app', 'drafts', { newInFile: true }) });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/table-rewrite-command/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('table-rewrite-command');
  });
});
