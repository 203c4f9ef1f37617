import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const drop = (table: string, name: string, columns: string[]) => ({
  severity: 'warning', schema: 'app', table, name, columns, sql: [`DROP INDEX CONCURRENTLY IF EXISTS app.${name};`],
});

describe('duplicate-index', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('duplicate-index');
  });
  afterAll(() => db.drop());

  it('reports every copy but the one to keep, with the exact drop; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['duplicate-index']), 'duplicate-index')).toEqual([
      drop('accounts', 'accounts_slug_idx', ['slug']),
      drop('documents', 'documents_tags_idx', ['tags']),
      drop('events_2025', 'events_2025_account_btree', ['account_id']),
      // A partitioned index cannot be dropped concurrently.
      { severity: 'warning', schema: 'app', table: 'events', name: 'events_kind_idx', columns: ['kind'],
        sql: ['DROP INDEX IF EXISTS app.events_kind_idx;'] },
      drop('orders', 'idx_orders_status', ['status']),
      drop('orders', 'orders_customer_idx', ['customer_id']),
      drop('plans', 'plans_code_idx', ['code']),
      drop('readings', 'readings_a_sensor_idx', ['sensor']),
      drop('users', 'users_email_idx', ['email']),
      drop('users', 'users_email_uidx', ['email']),
      drop('users', 'users_id_idx', ['id']),
      drop('users', 'users_lower_email_idx', ['lower(email)']),
      drop('users', 'users_tenant_created_incl_idx', ['tenant_id', 'created_at']),
      drop('users', 'users_tenant_live_idx', ['tenant_id']),
    ]);
  });

  it('names the index it keeps: constraint, foreign key and attached indexes first, then unique, scanned, first by name', async () => {
    const keptFor = Object.fromEntries((await db.scan(['duplicate-index'])).findings.map((f) => [f.target.name, f.evidence.duplicateOf]));
    expect(keptFor).toEqual({
      accounts_slug_idx: 'accounts_slug_uniq',
      documents_tags_idx: 'documents_tags_gin',
      events_kind_idx: 'events_by_kind',
      events_2025_account_btree: 'events_2025_account_id_idx',
      idx_orders_status: 'orders_status_idx',
      orders_customer_idx: 'orders_customer_id_idx',
      plans_code_idx: 'plans_code_key',
      readings_a_sensor_idx: 'readings_b_sensor_idx',
      users_email_idx: 'users_email_key',
      users_email_uidx: 'users_email_key',
      users_id_idx: 'users_pkey',
      users_lower_email_idx: 'users_email_lower_idx',
      users_tenant_created_incl_idx: 'users_tenant_created_cover_idx',
      users_tenant_live_idx: 'users_active_tenant_idx',
    });
  });

  it('carries sizes and scans of both indexes and names both in the message', async () => {
    const finding = (await db.scan(['duplicate-index'])).findings.find((f) => f.target.name === 'idx_orders_status');
    const pages = await db.query<{ relname: string; relpages: number }>(
      `SELECT relname, relpages FROM pg_class WHERE relname IN ('idx_orders_status', 'orders_status_idx')`);
    const bytes = (name: string) => (pages.find((row) => row.relname === name)?.relpages ?? NaN) * 8192;
    expect(finding?.evidence).toEqual({
      duplicateOf: 'orders_status_idx',
      indexBytes: bytes('idx_orders_status'),
      duplicateOfBytes: bytes('orders_status_idx'),
      indexScans: 0,
      duplicateOfScans: 3,
    });
    expect(finding?.message).toMatch(/^idx_orders_status on app\.orders \(status\) duplicates orders_status_idx; dropping it frees \d+ kB and its upkeep on every write \(0 scans against 3 on orders_status_idx\)\.$/);
    expect(finding?.actions[0]?.undo).toBe('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_status ON app.orders USING btree (status);');
  });

  it('is cleared by its own fix, and its undo brings the same findings back', async () => {
    const copy = await createDatabase('duplicate-index');
    try {
      const before = await copy.scan(['duplicate-index']);
      const actions = before.findings.flatMap((f) => f.actions);
      for (const action of actions) await copy.run(action.sql);
      expect((await copy.scan(['duplicate-index'])).findings).toEqual([]);
      for (const action of actions) await copy.run(action.undo ?? '');
      expect(findingsOf(await copy.scan(['duplicate-index']), 'duplicate-index')).toEqual(findingsOf(before, 'duplicate-index'));
    } finally {
      await copy.drop();
    }
  });
});
