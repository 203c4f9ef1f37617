import { describe, expect, it } from 'vitest';
import rule from '../../rules/constraint-without-not-valid.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders');
const validate = (sql: string, validation: string) =>
  [sql, '-- in a separate transaction, ideally a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):', validation].join('\n');

describe('constraint-without-not-valid', () => {
  it('reports a foreign key with the same statement NOT VALID and a separate VALIDATE', async () => {
    const sql = 'ALTER TABLE app.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES app.customers (id) ON DELETE CASCADE';
    expect(check(rule, await migration(`\n${sql}`, { target: orders }))).toEqual([{
      line: 2,
      severity: 'warning',
      target: target('constraint', { schema: 'app', table: 'orders', name: 'orders_customer_fk', columns: ['customer_id'] }),
      sql: [validate(`${sql} NOT VALID;`, 'ALTER TABLE app.orders VALIDATE CONSTRAINT orders_customer_fk;')],
    }]);
  });

  it('names an unnamed CHECK as PostgreSQL would, so VALIDATE can name it', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app.orders ADD CHECK (amount > 0)', { target: orders })).toEqual([validate(
      'ALTER TABLE app.orders ADD CONSTRAINT orders_amount_check CHECK (amount > 0) NOT VALID;',
      'ALTER TABLE app.orders VALIDATE CONSTRAINT orders_amount_check;',
    )]);
  });

  it('edits by byte positions, so names with multi-byte characters stay whole', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app."Bücher" ADD CONSTRAINT "Prüfung" CHECK ("Größe" > 0)', { target: table('app', 'Bücher') })).toEqual([validate(
      'ALTER TABLE app."Bücher" ADD CONSTRAINT "Prüfung" CHECK ("Größe" > 0) NOT VALID;',
      'ALTER TABLE app."Bücher" VALIDATE CONSTRAINT "Prüfung";',
    )]);
  });

  it('moves a constraint out of ADD COLUMN when PostgreSQL would check every row against it', async () => {
    const checked = await migration(
      'ALTER TABLE "My App"."Order Lines" ADD COLUMN "Region Id" bigint DEFAULT 1 REFERENCES app.regions (id) NOT NULL, ADD COLUMN qty int CONSTRAINT qty_ok CHECK (qty >= 0)',
      { target: table('My App', 'Order Lines') },
    );
    expect(check(rule, checked).map((finding) => [finding.target.name, finding.target.columns, finding.sql])).toEqual([
      [null, ['Region Id'], [validate(
        'ALTER TABLE "My App"."Order Lines" ADD COLUMN "Region Id" bigint DEFAULT 1 NOT NULL, ADD CONSTRAINT "Order Lines_Region Id_fkey" FOREIGN KEY ("Region Id") '
          + 'REFERENCES app.regions (id) NOT VALID, ADD COLUMN qty int CONSTRAINT qty_ok CHECK (qty >= 0);',
        'ALTER TABLE "My App"."Order Lines" VALIDATE CONSTRAINT "Order Lines_Region Id_fkey";',
      )]],
      ['qty_ok', ['qty'], [validate(
        'ALTER TABLE "My App"."Order Lines" ADD COLUMN "Region Id" bigint DEFAULT 1 REFERENCES app.regions (id) NOT NULL, ADD COLUMN qty int, ADD CONSTRAINT qty_ok CHECK (qty >= 0) NOT VALID;',
        'ALTER TABLE "My App"."Order Lines" VALIDATE CONSTRAINT qty_ok;',
      )]],
    ]);
  });

  it('does not report the look-alikes', async () => {
    const checked = await migration([
      'ALTER TABLE app.orders ADD CONSTRAINT a_fk FOREIGN KEY (a) REFERENCES app.customers (id) NOT VALID;',
      'ALTER TABLE app.orders VALIDATE CONSTRAINT a_fk;',
      'ALTER TABLE app.orders ADD CONSTRAINT b_check CHECK (b > 0) NOT VALID;',
      'ALTER TABLE app.orders ADD CONSTRAINT c_check CHECK (c > 0) NOT ENFORCED;',
      'ALTER TABLE app.orders ADD COLUMN referrer_id bigint REFERENCES app.customers (id);',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_code_key UNIQUE (code);',
      'ALTER TABLE app.payments ADD CONSTRAINT payments_order_fk FOREIGN KEY (order_id) REFERENCES app.orders (id);',
    ].join('\n'), ...Array(6).fill({ target: orders }), { target: table('app', 'payments', { newInFile: true }) });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/constraint-without-not-valid/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('constraint-without-not-valid');
  });
});
