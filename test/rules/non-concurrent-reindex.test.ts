import { describe, expect, it } from 'vitest';
import rule from '../../rules/non-concurrent-reindex.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders');

describe('non-concurrent-reindex', () => {
  it('reports REINDEX INDEX with CONCURRENTLY put in, on the index of an existing table', async () => {
    expect(check(rule, await migration('REINDEX INDEX app.orders_status_idx', { target: orders }))).toEqual([{
      line: 1,
      severity: 'warning',
      target: target('index', { schema: 'app', table: 'orders', name: 'orders_status_idx' }),
      sql: ['REINDEX INDEX CONCURRENTLY app.orders_status_idx;'],
    }]);
  });

  it('keeps an option list and quotes nothing it did not write', async () => {
    expect(await fixOf(rule, 'REINDEX (VERBOSE) TABLE "My App"."Audit ""Log"""', { target: table('My App', 'Audit "Log"') }))
      .toEqual(['REINDEX (VERBOSE) TABLE CONCURRENTLY "My App"."Audit ""Log""";']);
  });

  it('reports schema and database reindexes, which name no table', async () => {
    const checked = await migration('REINDEX SCHEMA "My App";\nREINDEX DATABASE;\nREINDEX SYSTEM;', {}, {}, {});
    expect(check(rule, checked)).toEqual([
      { line: 1, severity: 'warning', target: target('database', { schema: 'My App' }), sql: ['REINDEX SCHEMA CONCURRENTLY "My App";'] },
      { line: 2, severity: 'warning', target: target('database', {}), sql: ['REINDEX DATABASE CONCURRENTLY;'] },
      { line: 3, severity: 'warning', target: target('database', {}),
        sql: ['-- System catalogs cannot be reindexed concurrently: run this in a maintenance window, not in a migration.'] },
    ]);
  });

  it('does not report the concurrent forms or a table created in the same file', async () => {
    const checked = await migration([
      'REINDEX INDEX CONCURRENTLY app.orders_status_idx;',
      'REINDEX (CONCURRENTLY) TABLE app.orders;',
      'REINDEX (VERBOSE, CONCURRENTLY true) TABLE app.orders;',
      'REINDEX TABLE app.drafts;',
    ].join('\n'), { target: orders }, { target: orders }, { target: orders }, { target: table('app', 'drafts', { newInFile: true }) });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/non-concurrent-reindex/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('non-concurrent-reindex');
  });
});
