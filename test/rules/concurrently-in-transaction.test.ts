import { describe, expect, it } from 'vitest';
import rule from '../../rules/concurrently-in-transaction.js';
import { target } from '../../src/rule.js';
import { check, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders');
const moveOut = (what: string, statement: string) => [
  `-- ${what} cannot run inside a transaction block: give it a migration of its own that runs outside one`,
  '-- (plain SQL: no BEGIN/COMMIT; goose: -- +goose NO TRANSACTION; dbmate: -- migrate:up transaction:false; Flyway: executeInTransaction=false).',
  statement,
].join('\n');

describe('concurrently-in-transaction', () => {
  it('reports each concurrent statement inside a transaction block, as critical, on new tables too', async () => {
    const checked = await migration([
      'BEGIN;',
      'CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders (status);',
      'DROP INDEX CONCURRENTLY app."Orders ""Old"" Idx";',
      'REINDEX INDEX CONCURRENTLY app.orders_email_idx;',
      'ALTER TABLE app.events DETACH PARTITION app.events_2024 CONCURRENTLY;',
      'CREATE INDEX CONCURRENTLY ON app.drafts (note);',
      'COMMIT;',
    ].join('\n'),
    {},
    { target: orders, inTransaction: true },
    { target: orders, inTransaction: true },
    { target: orders, inTransaction: true },
    { target: table('app', 'events', { partitioned: true }), inTransaction: true },
    { target: table('app', 'drafts', { newInFile: true }), inTransaction: true });
    expect(check(rule, checked)).toEqual([
      { line: 2, severity: 'critical', target: target('index', { schema: 'app', table: 'orders', name: 'orders_status_idx' }),
        sql: [moveOut('CREATE INDEX CONCURRENTLY', 'CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders (status);')] },
      { line: 3, severity: 'critical', target: target('index', { schema: 'app', table: 'orders', name: 'Orders "Old" Idx' }),
        sql: [moveOut('DROP INDEX CONCURRENTLY', 'DROP INDEX CONCURRENTLY app."Orders ""Old"" Idx";')] },
      { line: 4, severity: 'critical', target: target('index', { schema: 'app', table: 'orders', name: 'orders_email_idx' }),
        sql: [moveOut('REINDEX CONCURRENTLY', 'REINDEX INDEX CONCURRENTLY app.orders_email_idx;')] },
      { line: 5, severity: 'critical', target: target('table', { schema: 'app', table: 'events' }),
        sql: [moveOut('DETACH PARTITION CONCURRENTLY', 'ALTER TABLE app.events DETACH PARTITION app.events_2024 CONCURRENTLY;')] },
      { line: 6, severity: 'critical', target: target('table', { schema: 'app', table: 'drafts' }),
        sql: [moveOut('CREATE INDEX CONCURRENTLY', 'CREATE INDEX CONCURRENTLY ON app.drafts (note);')] },
    ]);
  });

  it('does not report concurrent statements outside a transaction, or plain ones inside', async () => {
    const checked = await migration([
      'CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders (status);',
      'CREATE INDEX orders_email_idx ON app.orders (email);',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY app.order_counts;',
      'ALTER TABLE app.events DETACH PARTITION app.events_2024;',
    ].join('\n'),
    { target: orders },
    { target: orders, inTransaction: true },
    { inTransaction: true },
    { target: table('app', 'events', { partitioned: true }), inTransaction: true });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/concurrently-in-transaction/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('concurrently-in-transaction');
  });
});
