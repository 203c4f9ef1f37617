import { describe, expect, it } from 'vitest';
import rule from '../../rules/rewriting-column-type.js';
import { target } from '../../src/rule.js';
import { check, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const rewritten = table('app', 'orders', { rewritten: true });

describe('rewriting-column-type', () => {
  it('reports a type change that rewrote the table, with the online column swap', async () => {
    expect(check(rule, await migration('ALTER TABLE app.orders ALTER COLUMN quantity TYPE bigint', { target: rewritten }))).toEqual([{
      line: 1,
      severity: 'warning',
      target: target('table', { schema: 'app', table: 'orders', columns: ['quantity'] }),
      sql: [[
        'ALTER TABLE app.orders ADD COLUMN quantity_new bigint;',
        '-- keep quantity_new = quantity for new and updated rows with a BEFORE INSERT OR UPDATE trigger, then backfill in batches:',
        '--   UPDATE app.orders SET quantity_new = quantity WHERE quantity_new IS NULL AND <key range>;',
        '-- then, in one short transaction with a lock_timeout: drop the trigger, move defaults, constraints and indexes over, and swap:',
        '--   ALTER TABLE app.orders RENAME COLUMN quantity TO quantity_old;',
        '--   ALTER TABLE app.orders RENAME COLUMN quantity_new TO quantity;',
      ].join('\n')],
    }]);
  });

  it('carries the collation and the USING expression, and keeps a multi-line expression inside comments', async () => {
    const sql = 'ALTER TABLE "My App"."Order Items" ALTER "Unit Price" SET DATA TYPE numeric(12, 2) COLLATE "C" USING ("Unit Price"\n  / 100.0)';
    const [finding] = check(rule, await migration(sql, { target: table('My App', 'Order Items', { rewritten: true }) }));
    expect(finding?.sql).toEqual([[
      'ALTER TABLE "My App"."Order Items" ADD COLUMN "Unit Price_new" numeric(12, 2) COLLATE "C";',
      '-- keep "Unit Price_new" = ("Unit Price"',
      '--   / 100.0) for new and updated rows with a BEFORE INSERT OR UPDATE trigger, then backfill in batches:',
      '--   UPDATE "My App"."Order Items" SET "Unit Price_new" = ("Unit Price"',
      '--   / 100.0) WHERE "Unit Price_new" IS NULL AND <key range>;',
      '-- then, in one short transaction with a lock_timeout: drop the trigger, move defaults, constraints and indexes over, and swap:',
      '--   ALTER TABLE "My App"."Order Items" RENAME COLUMN "Unit Price" TO "Unit Price_old";',
      '--   ALTER TABLE "My App"."Order Items" RENAME COLUMN "Unit Price_new" TO "Unit Price";',
    ].join('\n')]);
  });

  it('does not report a type change that kept the table, a new table, or a rewrite without a type change', async () => {
    const checked = await migration([
      'ALTER TABLE app.orders ALTER COLUMN code TYPE varchar(40);',
      'ALTER TABLE app.drafts ALTER COLUMN id TYPE bigint;',
      'ALTER TABLE app.orders ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    ].join('\n'), { target: table('app', 'orders') }, { target: table('app', 'drafts', { newInFile: true, rewritten: true }) }, { target: rewritten });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/rewriting-column-type/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('rewriting-column-type');
  });
});
