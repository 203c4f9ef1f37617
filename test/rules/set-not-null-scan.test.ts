import { describe, expect, it } from 'vitest';
import rule from '../../rules/set-not-null-scan.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders', { notNull: ['email'], notNullChecked: ['code'] });

describe('set-not-null-scan', () => {
  it('reports SET NOT NULL on an unproven column with the CHECK-first sequence', async () => {
    expect(check(rule, await migration('ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL', { target: orders }))).toEqual([{
      line: 1,
      severity: 'warning',
      target: target('table', { schema: 'app', table: 'orders', columns: ['status'] }),
      sql: [[
        'ALTER TABLE app.orders ADD CONSTRAINT orders_status_not_null_check CHECK (status IS NOT NULL) NOT VALID;',
        '-- in a separate transaction (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
        'ALTER TABLE app.orders VALIDATE CONSTRAINT orders_status_not_null_check;',
        '-- the validated CHECK lets SET NOT NULL skip its scan:',
        'ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL;',
        'ALTER TABLE app.orders DROP CONSTRAINT orders_status_not_null_check;',
      ].join('\n')],
    }]);
  });

  it('ends the statement before a trailing comment, so its semicolon is not commented out', async () => {
    const [sql] = await fixOf(rule, 'ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL -- the last statement, no semicolon\n', { target: orders });
    expect(sql?.split('\n')[4]).toBe('ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL;');
  });

  it('quotes hostile names in the CHECK', async () => {
    const [sql] = await fixOf(rule, 'ALTER TABLE "My App"."Order ""Items""" ALTER "Customer Name" SET NOT NULL', { target: table('My App', 'Order "Items"') });
    expect(sql?.split('\n')[0]).toBe('ALTER TABLE "My App"."Order ""Items""" ADD CONSTRAINT "Order ""Items""_Customer Name_not_null_check" CHECK ("Customer Name" IS NOT NULL) NOT VALID;');
  });

  it('reports a PostgreSQL 18 NOT NULL constraint added without NOT VALID, with NOT VALID and VALIDATE', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app.orders ADD NOT NULL zip', { target: orders })).toEqual([[
      'ALTER TABLE app.orders ADD CONSTRAINT orders_zip_not_null NOT NULL zip NOT VALID;',
      '-- in a separate transaction:',
      'ALTER TABLE app.orders VALIDATE CONSTRAINT orders_zip_not_null;',
    ].join('\n')]);
  });

  it('reports one finding per column of a statement', async () => {
    const checked = await migration('ALTER TABLE app.orders ALTER a SET NOT NULL, ALTER code SET NOT NULL, ALTER b SET NOT NULL', { target: orders });
    expect(check(rule, checked).map((finding) => finding.target.columns)).toEqual([['a'], ['b']]);
  });

  it('does not report proven columns, NOT VALID, or a table created in the same file', async () => {
    const checked = await migration([
      'ALTER TABLE app.orders ALTER COLUMN code SET NOT NULL;',
      'ALTER TABLE app.orders ALTER COLUMN email SET NOT NULL;',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_street_not_null NOT NULL street NOT VALID;',
      'ALTER TABLE app.orders ALTER COLUMN note DROP NOT NULL;',
      'ALTER TABLE app.drafts ALTER COLUMN note SET NOT NULL;',
    ].join('\n'), ...Array(4).fill({ target: orders }), { target: table('app', 'drafts', { newInFile: true }) });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/set-not-null-scan/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('set-not-null-scan');
  });
});
