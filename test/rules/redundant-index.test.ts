import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const drop = (table: string, name: string, columns: string[]) => ({
  severity: 'warning', schema: 'app', table, name, columns, sql: [`DROP INDEX CONCURRENTLY IF EXISTS app.${name};`],
});

describe('redundant-index', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('redundant-index');
  });
  afterAll(() => db.drop());

  it('reports each index whose keys lead a longer one, with the exact drop; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['redundant-index']), 'redundant-index')).toEqual([
      drop('customers', 'customers_lower_name_idx', ['lower(name)']),
      drop('events_2026', 'events_2026_kind_idx', ['kind']),
      // A partitioned index cannot be dropped concurrently.
      { severity: 'warning', schema: 'app', table: 'events', name: 'events_account_idx', columns: ['account_id'],
        sql: ['DROP INDEX IF EXISTS app.events_account_idx;'] },
      drop('invoices', 'invoices_account_incl_issued_idx', ['account_id']),
      drop('order_items', 'order_items_order_id_idx', ['order_id']),
      drop('orders', 'orders_customer_id_idx', ['customer_id']),
      drop('orders', 'orders_live_customer_idx', ['customer_id']),
      drop('orders', 'orders_status_idx', ['status']),
      drop('orders', 'orders_status_placed_idx', ['status', 'placed_at']),
    ]);
  });

  it('names the longest covering index, which stays when every finding is fixed', async () => {
    const coveredBy = Object.fromEntries((await db.scan(['redundant-index'])).findings.map((f) => [f.target.name, f.evidence.coveredBy]));
    expect(coveredBy).toEqual({
      customers_lower_name_idx: 'customers_lower_name_region_idx',
      events_2026_kind_idx: 'events_2026_kind_occurred_idx',
      events_account_idx: 'events_account_occurred_idx',
      invoices_account_incl_issued_idx: 'invoices_account_issued_idx',
      order_items_order_id_idx: 'order_items_pkey',
      orders_customer_id_idx: 'orders_customer_placed_idx',
      orders_live_customer_idx: 'orders_live_customer_status_idx',
      orders_status_idx: 'orders_status_placed_total_idx',
      orders_status_placed_idx: 'orders_status_placed_total_idx',
    });
  });

  it('carries sizes and scans of both indexes and names both in the message', async () => {
    const finding = (await db.scan(['redundant-index'])).findings.find((f) => f.target.name === 'orders_customer_id_idx');
    const pages = await db.query<{ relname: string; relpages: number }>(
      `SELECT relname, relpages FROM pg_class WHERE relname IN ('orders_customer_id_idx', 'orders_customer_placed_idx')`);
    const bytes = (name: string) => (pages.find((row) => row.relname === name)?.relpages ?? NaN) * 8192;
    expect(finding?.evidence).toEqual({
      coveredBy: 'orders_customer_placed_idx',
      indexBytes: bytes('orders_customer_id_idx'),
      coveredByBytes: bytes('orders_customer_placed_idx'),
      indexScans: 0,
      coveredByScans: 0,
    });
    expect(finding?.message).toMatch(/^orders_customer_id_idx on app\.orders \(customer_id\) is a leading prefix of orders_customer_placed_idx \(customer_id, placed_at\); dropping it frees \d+ kB and its upkeep on every write \(0 scans against 0 on orders_customer_placed_idx\)\.$/);
  });

  it('is cleared by its own fix without leaving a foreign key unindexed, and its undo brings the findings back', async () => {
    const copy = await createDatabase('redundant-index');
    try {
      const before = await copy.scan(['redundant-index', 'missing-fk-index']);
      const actions = before.findings.filter((f) => f.rule === 'redundant-index').flatMap((f) => f.actions);
      for (const action of actions) await copy.run(action.sql);
      expect(findingsOf(await copy.scan(['redundant-index', 'missing-fk-index']), 'redundant-index')).toEqual([]);
      expect(findingsOf(await copy.scan(['missing-fk-index']), 'missing-fk-index')).toEqual(findingsOf(before, 'missing-fk-index'));
      for (const action of actions) await copy.run(action.undo ?? '');
      expect(findingsOf(await copy.scan(['redundant-index']), 'redundant-index')).toEqual(findingsOf(before, 'redundant-index'));
    } finally {
      await copy.drop();
    }
  });
});
