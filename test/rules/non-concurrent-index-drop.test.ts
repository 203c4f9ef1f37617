import { describe, expect, it } from 'vitest';
import rule from '../../rules/non-concurrent-index-drop.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders');

describe('non-concurrent-index-drop', () => {
  it('reports a plain DROP INDEX on an existing table with the concurrent drop', async () => {
    const checked = await migration('SET lock_timeout = \'5s\';\n\nDROP INDEX app.orders_status_idx;', {}, { target: orders });
    expect(check(rule, checked)).toEqual([{
      line: 3,
      severity: 'warning',
      target: target('index', { schema: 'app', table: 'orders', name: 'orders_status_idx' }),
      sql: ['DROP INDEX CONCURRENTLY app.orders_status_idx;'],
    }]);
  });

  it('splits a multi-index drop, keeps IF EXISTS, and says CASCADE must go', async () => {
    expect(await fixOf(rule, 'DROP INDEX IF EXISTS a, app.b CASCADE', { target: orders })).toEqual([[
      '-- CONCURRENTLY refuses CASCADE: drop the objects that depend on the index first.',
      'DROP INDEX CONCURRENTLY IF EXISTS a;',
      'DROP INDEX CONCURRENTLY IF EXISTS app.b;',
    ].join('\n')]);
  });

  it('quotes hostile index names', async () => {
    expect(await fixOf(rule, 'DROP INDEX "My App"."Idx ""quoted""; x"', { target: table('My App', 'T') }))
      .toEqual(['DROP INDEX CONCURRENTLY "My App"."Idx ""quoted""; x";']);
  });

  it('does not report the concurrent drop, a table created in the file, a partitioned table, or other drops', async () => {
    const checked = await migration([
      'DROP INDEX CONCURRENTLY app.orders_status_idx;',
      'DROP INDEX app.new_idx;',
      'DROP INDEX app.events_kind_idx;',
      'DROP TABLE app.orders;',
    ].join('\n'),
    { target: orders },
    { target: table('app', 'fresh', { newInFile: true }) },
    { target: table('app', 'events', { partitioned: true }) },
    { target: orders });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/non-concurrent-index-drop/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('non-concurrent-index-drop');
  });
});
