import { loadModule } from 'libpg-query';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rule from '../../rules/seq-scan-heavy.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

// The fixture's workload is 43 scans of app.orders, not a production habit of hundreds.
const CONFIG = { rules: { 'seq-scan-heavy': { options: { minSeqScans: 20 } } }, ignore: [] };

const A = 'SELECT count(*) FROM app.orders WHERE note = $1';
const B = 'SELECT c.name, count(*) FROM app.customers c JOIN app.orders o ON o.customer_id = c.id WHERE c.region = $1 GROUP BY c.name';
const C = 'WITH recent AS (SELECT * FROM app.orders WHERE placed_at > $1) SELECT count(*) FROM recent';
const D = 'SELECT * FROM app.orders WHERE id = $1';
const G = 'SELECT count(*) FROM orders WHERE pad = $1';

/** The application: runs on one connection with parallel workers off, so each scan counts once. */
async function runWorkload(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET max_parallel_workers_per_gather = 0');
    const repeat = async (times: number, sql: string, param: (i: number) => unknown) => {
      for (let i = 1; i <= times; i++) await client.query(sql, [param(i)]);
    };
    await repeat(30, A, (i) => `note ${i * 7}`);
    await repeat(8, B, (i) => `region ${i}`);
    await repeat(3, C, () => '2025-03-01');
    await repeat(1, D, () => 42);
    // A CTE named like the table is not the table.
    await repeat(1, 'WITH orders AS (SELECT g FROM generate_series(1, $1) g) SELECT count(*) FROM orders', () => 10);
    // An unqualified name off the scanning session's search_path still resolves (to the only table of that name).
    await client.query('SET search_path = app, public');
    await repeat(1, G, () => 'none');
    await client.query('RESET search_path');
    // Small table, scanned often.
    await repeat(30, 'SELECT * FROM app.customers WHERE name = $1', (i) => `customer ${i}`);
    // Large table: many scans that stop at the first row, most rows through the index.
    await repeat(30, 'SELECT * FROM app.events LIMIT $1', () => 1);
    await repeat(20, 'SELECT sum(length(pad)) FROM app.events WHERE id BETWEEN $1 AND $1 + 9999', (i) => i * 10_000 - 9_999);
    // Large table, scanned by a report twice.
    await repeat(2, 'SELECT sum(amount) FROM app.ledger WHERE id > $1', () => 0);
    // Inserting into a table does not read it.
    await repeat(1, "INSERT INTO app.orders VALUES ($1, 1, 'late', now(), 'x')", () => 300_000);
  } finally {
    await client.end();
  }
}

/** Backends flush table statistics when they exit, a moment after the client has gone. */
async function waitForSeqScans(db: TestDatabase, table: string, expected: number): Promise<void> {
  let seen = -1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const [row] = await db.query<{ seq_scan: string }>('SELECT seq_scan FROM pg_stat_user_tables WHERE relid = $1::regclass', [table]);
    seen = Number(row?.seq_scan);
    if (seen === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${table} has ${seen} sequential scans, expected ${expected}`);
}

describe('seq-scan-heavy', () => {
  let db: TestDatabase;
  let snapshot: Snapshot;
  const queryId = (text: string) => snapshot.workload.statements.find((s) => s.query === text)?.queryId ?? `<${text}>`;
  beforeAll(async () => {
    await loadModule(); // the rule parses statement texts; check() itself stays synchronous
    db = await createDatabase('seq-scan-heavy');
    await runWorkload(db.url);
    await waitForSeqScans(db, 'app.orders', 43);
    await waitForSeqScans(db, 'app.ledger', 3);
    snapshot = await db.snapshot();
  });
  afterAll(() => db.drop());

  it('reports the large table read by repeated full scans; not the small, index-read or rarely scanned look-alikes', async () => {
    expect(findingsOf(await db.scan(['seq-scan-heavy'], CONFIG), 'seq-scan-heavy')).toEqual([
      { severity: 'warning', schema: 'app', table: 'orders', name: null, columns: [], sql: [expect.any(String)] },
    ]);
  });

  it('carries the scan numbers and the statements behind them, most total time first', async () => {
    const orders = snapshot.tables.find((t) => t.name === 'orders');
    const [finding] = rule.check(snapshot, { ...rule.options, minSeqScans: 20 });
    expect(finding?.evidence).toEqual({
      // 42 by the workload, 1 by the primary key's build over the empty table.
      seqScan: 43,
      seqTupRead: 42 * 200_000,
      idxScan: 1,
      idxTupFetch: 1,
      tableBytes: (orders?.relpages ?? 0) * 8192,
      rows: 200_000,
      seqShare: 1,
      // A, B, C, D and G: the CTE named orders and the INSERT are not readers of app.orders.
      statements: 5,
      statement1: `${queryId(A)}: ${A}`,
      statement2: `${queryId(B)}: SELECT c.name, count(*) FROM app.customers c JOIN app.orders o ON o.customer_id…`,
      statement3: `${queryId(C)}: WITH recent AS (SELECT * FROM app.orders WHERE placed_at > $1) SELECT count(*) …`,
    });
    expect(finding?.evidence.tableBytes).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(finding?.message).toBe(`app.orders (${Math.round((orders?.relpages ?? 0) * 8192 / 1024 / 1024)} MB, 200k rows) saw 43 sequential scans since statistics were reset, `
      + `reading 8.4M rows (100% of rows read) against 1 fetched by index; statements reading it, most total time first: ${queryId(A)}, ${queryId(B)}, ${queryId(C)}.`);
    expect(finding?.actions).toEqual([{
      kind: 'manual',
      sql: [
        '-- app.orders is read mostly by sequential scans (43 scans, 8.4M rows read).',
        '-- 1. Look at the statements that read it, most total time first:',
        `--    ${finding?.evidence.statement1}`,
        `--    ${finding?.evidence.statement2}`,
        `--    ${finding?.evidence.statement3}`,
        '-- 2. Let perfaudit propose the indexes they need:  perfaudit scan --rules missing-index',
        '-- 3. Confirm with a statement\'s real plan and values:  EXPLAIN (ANALYZE, BUFFERS) <statement>;',
        '-- Statements that read most of the table (reports, exports) are right to scan it: leave them, or move them to a replica.',
      ].join('\n'),
      transactional: true,
      lock: null,
    }]);
  });

  it('shows why the look-alikes pass', () => {
    const stats = Object.fromEntries(snapshot.tables.map((t) => [t.name, t.stats]));
    expect(stats.customers).toMatchObject({ seqScan: 39 });
    expect(stats.events).toMatchObject({ seqScan: 31, seqTupRead: 30 });
    expect(stats.events?.idxTupFetch).toBeGreaterThanOrEqual(200_000);
    expect(stats.ledger).toMatchObject({ seqScan: 3, seqTupRead: 400_000 });
  });

  it('counts a table as large by rows when its size is under minTableBytes, and not when both are', () => {
    const bySize = { ...rule.options, minSeqScans: 20, minTableBytes: 1e12 };
    expect(rule.check(snapshot, bySize).map((f) => f.target.table)).toEqual(['orders']);
    expect(rule.check(snapshot, { ...bySize, minRows: 200_001 })).toEqual([]);
  });

  it('needs minSeqScans scans: the default of 100 does not take 43 for a habit', async () => {
    expect((await db.scan(['seq-scan-heavy'])).findings).toEqual([]);
  });

  it('says why no statement is listed when pg_stat_statements is unavailable', () => {
    const blind: Snapshot = { ...snapshot, workload: { ...snapshot.workload, statements: [], unavailable: 'pg_stat_statements is not installed' } };
    const [finding] = rule.check(blind, { ...rule.options, minSeqScans: 20 });
    expect(finding?.evidence.statements).toBe(0);
    expect(finding?.evidence).not.toHaveProperty('statement1');
    expect(finding?.message).toMatch(/against 1 fetched by index; pg_stat_statements is not installed\.$/);
  });
});
