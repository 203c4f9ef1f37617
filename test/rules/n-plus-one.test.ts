import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analyze/engine.js';
import { runWorkload } from '../../src/embedded/workload.js';
import { FIXTURES_DIR } from '../../src/paths.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

// Only this database's statements: other test files share the server and run in parallel.
const RESET = 'SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)';

/** Each finding: where, by which key, for which statement, and the batched statement it proposes. */
function summary(analysis: Analysis) {
  return analysis.findings.filter((f) => f.rule === 'n-plus-one').map((f) => ({
    severity: f.severity,
    schema: f.target.schema,
    table: f.target.table,
    columns: f.target.columns,
    kind: f.evidence.kind,
    query: f.target.query,
    batched: f.actions[0]?.sql.split('\n').find((line) => line.startsWith('SELECT')),
  }));
}

async function replay(db: TestDatabase, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(RESET);
    await work(client);
  } finally {
    await client.end();
  }
}

describe('n-plus-one', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('n-plus-one');
    await replay(db, (client) => runWorkload(client, join(FIXTURES_DIR, 'n-plus-one.workload.sql')));
  });
  afterAll(() => db.drop());

  it('reports key lookups run in a loop, with the batched statement; not the look-alikes', async () => {
    expect(summary(await db.scan(['n-plus-one']))).toEqual([
      { severity: 'warning', schema: 'app', table: 'customers', columns: ['id'], kind: 'primary key',
        query: 'SELECT id, name, email FROM app.customers WHERE id = $1',
        batched: 'SELECT id, name, email FROM app.customers WHERE id = ANY($1::bigint[]);' },
      { severity: 'warning', schema: 'app', table: 'invoices', columns: ['order_id'], kind: 'foreign key',
        query: 'SELECT id, amount, issued_on FROM app.invoices WHERE order_id = $1',
        batched: 'SELECT order_id, id, amount, issued_on FROM app.invoices WHERE order_id = ANY($1::bigint[]);' },
      { severity: 'warning', schema: 'app', table: 'order_items', columns: ['order_id'], kind: 'foreign key',
        query: 'SELECT $2 FROM app.order_items WHERE order_id = $1 LIMIT $3',
        batched: 'SELECT DISTINCT order_id FROM app.order_items WHERE order_id = ANY($1::bigint[]);' },
      { severity: 'warning', schema: 'archive', table: 'products', columns: ['id'], kind: 'primary key',
        query: 'SELECT name FROM archive.products AS p WHERE p.id = $1',
        batched: 'SELECT id, name FROM archive.products p WHERE id = ANY($1::integer[]);' },
      { severity: 'warning', schema: 'public', table: 'products', columns: ['id'], kind: 'primary key',
        query: 'SELECT * FROM products WHERE id = $1::integer AND active = $2',
        batched: 'SELECT * FROM public.products WHERE id = ANY($1::integer[]) AND active = $2;' },
    ]);
  });

  it('carries the evidence numbers, a one-line message and a manual action', async () => {
    const findings = (await db.scan(['n-plus-one'])).findings;
    const customers = findings.find((f) => f.target.table === 'customers');
    expect(customers?.evidence).toMatchObject({ calls: 200, rowsPerCall: 1, table: 'app.customers', column: 'id', kind: 'primary key' });
    expect(customers?.evidence.meanTimeMs).toBeGreaterThan(0);
    expect(customers?.evidence.totalTimeMs).toBeGreaterThan(0);
    expect(customers?.message).toBe('app.customers is read one id (primary key) at a time: 200 calls of 1 row each; fetch them in one query with id = ANY($1), or join.');
    expect(customers?.actions).toEqual([expect.objectContaining({ kind: 'manual', transactional: true, lock: null })]);
    expect(customers?.actions[0]?.sql).toContain('Or join the table into the query that produced the keys');
    const items = findings.find((f) => f.target.table === 'order_items');
    expect(items?.evidence).toMatchObject({ calls: 200, rowsPerCall: 0.5, kind: 'foreign key' });
    expect(items?.actions[0]?.sql).toContain('Its LIMIT was per key');
  });

  it('takes its thresholds from options', async () => {
    const config = { rules: { 'n-plus-one': { options: { minCalls: 150, maxRowsPerCall: 10 } } }, ignore: [] };
    expect(summary(await db.scan(['n-plus-one'], config)).map((f) => f.query)).toEqual([
      'SELECT id, name, email FROM app.customers WHERE id = $1',
      'SELECT id, amount, issued_on FROM app.invoices WHERE order_id = $1',
      'SELECT $2 FROM app.order_items WHERE order_id = $1 LIMIT $3',
      'SELECT id, status, total FROM app.orders WHERE customer_id = $1 ORDER BY id',
    ]);
  });

  it('is cleared by its fix: one batched call returns what the loop did', async () => {
    const findings = (await db.scan(['n-plus-one'])).findings;
    const copy = await createDatabase('n-plus-one');
    try {
      await replay(copy, async (client) => {
        for (const finding of findings) {
          const batched = finding.actions[0]!.sql.split('\n').find((line) => line.startsWith('SELECT'))!;
          const keys = Array.from({ length: Number(finding.evidence.calls) }, (_, i) => i + 1);
          const { rowCount } = await client.query(batched, batched.includes('$2') ? [keys, true] : [keys]);
          expect(rowCount).toBe(Number(finding.evidence.calls) * Number(finding.evidence.rowsPerCall));
        }
      });
      expect((await copy.scan(['n-plus-one'])).findings).toEqual([]);
    } finally {
      await copy.drop();
    }
  });

  it('is skipped, with the reason, without pg_stat_statements', async () => {
    const bare = await createDatabase();
    try {
      expect((await bare.scan(['n-plus-one'])).skipped).toEqual([
        { rule: 'n-plus-one', reason: `pg_stat_statements is not installed in database ${bare.name}: run CREATE EXTENSION pg_stat_statements;` },
      ]);
    } finally {
      await bare.drop();
    }
  });
});
