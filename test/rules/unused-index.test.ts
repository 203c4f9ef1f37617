import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Index, Snapshot } from '../../src/collect/snapshot.js';
import rule from '../../rules/unused-index.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

// The fixture's statistics are seconds old: judging them needs the age threshold lifted.
const JUDGE_YOUNG_STATS = { rules: { 'unused-index': { options: { minStatsAgeDays: 0 } } }, ignore: [] };
const DAY_MS = 86_400_000;

describe('unused-index', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('unused-index');
  });
  afterAll(() => db.drop());

  it('is skipped, with the statistics age, while statistics are younger than minStatsAgeDays', async () => {
    const analysis = await db.scan(['unused-index']);
    expect(analysis.findings).toEqual([]);
    expect(analysis.skipped).toEqual([{
      rule: 'unused-index',
      reason: expect.stringMatching(/^statistics are 0\.0 days old \(since \d{4}-\d\d-\d\dT[\d:.]+Z\); unused-index needs at least 7 days \(option minStatsAgeDays\)$/),
    }]);
  });

  it('reports never-scanned indexes with a concurrent drop; not the used, unique, constraint, FK-supporting or invalid look-alikes', async () => {
    expect(findingsOf(await db.scan(['unused-index'], JUDGE_YOUNG_STATS), 'unused-index')).toEqual([
      { severity: 'info', schema: 'app', table: 'customers', name: 'customers_region_vip_idx', columns: ['region'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.customers_region_vip_idx;'] },
      // Partitioned: judged once at the parent, on its partitions' scans; dropped without CONCURRENTLY, which it refuses.
      { severity: 'info', schema: 'app', table: 'events', name: 'events_kind_idx', columns: ['kind'],
        sql: ['DROP INDEX IF EXISTS app.events_kind_idx;'] },
      // Its narrower twin orders_customer_id_idx is kept for the foreign key.
      { severity: 'info', schema: 'app', table: 'orders', name: 'orders_customer_id_placed_at_idx', columns: ['customer_id', 'placed_at'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.orders_customer_id_placed_at_idx;'] },
      { severity: 'info', schema: 'app', table: 'orders', name: 'orders_note_idx', columns: ['note'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.orders_note_idx;'] },
    ]);
  });

  it('carries size, scans and statistics age, and the re-creation as undo', async () => {
    const finding = (await db.scan(['unused-index'], JUDGE_YOUNG_STATS)).findings.find((f) => f.target.name === 'orders_note_idx');
    expect(finding?.evidence).toEqual({ sizeBytes: expect.any(Number), scans: 0, statsAgeDays: 0, lastScan: null });
    expect(finding?.evidence.sizeBytes).toBeGreaterThan(8192);
    expect(finding?.message).toMatch(/^app\.orders_note_idx on app\.orders \(\d+ kB\) has not been scanned in 0\.0 days of statistics, yet every write maintains it\.$/);
    expect(finding?.actions[0]?.undo).toBe('CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note_idx ON app.orders USING btree (note);');
  });

  it('on PostgreSQL 16+, also reports an index whose last scan is older than minIdleDays', async () => {
    const snapshot = await db.snapshot();
    const collectedAt = Date.parse(snapshot.collectedAt);
    const scannedDaysAgo = (days: number): Snapshot => ({
      ...snapshot,
      server: { ...snapshot.server, statsResetAt: new Date(collectedAt - 100 * DAY_MS).toISOString() },
      indexes: snapshot.indexes.map((index): Index => index.name !== 'orders_status_idx' ? index
        : { ...index, stats: { scans: 3, tuplesRead: 9, tuplesFetched: 9, lastScan: new Date(collectedAt - days * DAY_MS).toISOString() } }),
    });
    const idle = rule.check(scannedDaysAgo(60), rule.options).find((f) => f.target.name === 'orders_status_idx');
    expect(idle?.message).toMatch(/^app\.orders_status_idx on app\.orders \(\d+ kB\) was last scanned 60 days ago \(3 scans in 100 days\), yet every write maintains it\.$/);
    expect(rule.check(scannedDaysAgo(10), rule.options).map((f) => f.target.name)).not.toContain('orders_status_idx');
  });

  it('is cleared by its own fix', async () => {
    const copy = await createDatabase('unused-index');
    try {
      const before = (await copy.scan(['unused-index'], JUDGE_YOUNG_STATS)).findings;
      for (const action of before.flatMap((f) => f.actions)) await copy.run(action.sql);
      expect((await copy.scan(['unused-index'], JUDGE_YOUNG_STATS)).findings).toEqual([]);
    } finally {
      await copy.drop();
    }
  });
});
