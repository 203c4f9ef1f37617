import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analyze/engine.js';
import { withClient } from '../../src/embedded/server.js';
import { runWorkload } from '../../src/embedded/workload.js';
import { FIXTURES_DIR } from '../../src/paths.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

/** Resets this database's statement and table statistics (never the server's: test files share it), then replays the workload. */
async function replayWorkload(db: TestDatabase): Promise<void> {
  await withClient(db.url, async (client) => {
    await client.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)');
    // The fixture's bulk load is not the application's write traffic: both windows start here.
    await client.query('SELECT pg_stat_reset()');
    await runWorkload(client, join(FIXTURES_DIR, 'missing-index.workload.sql'));
  });
}

async function plan(db: TestDatabase, sql: string): Promise<string> {
  const rows = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

const index = (table: string, columns: string[], sql: string) =>
  ({ severity: 'warning', schema: 'app', table, name: null, columns, sql: [sql] });

describe('missing-index', () => {
  let db: TestDatabase;
  let analysis: Analysis;
  beforeAll(async () => {
    db = await createDatabase('missing-index');
    await replayWorkload(db);
    analysis = await db.scan(['missing-index']);
  });
  afterAll(() => db.drop());

  it('proposes the indexes the workload misses, not those existing indexes, small tables or broad reads make pointless', () => {
    expect(findingsOf(analysis, 'missing-index')).toEqual([
      // Partial: a rare boolean; no equality, so the sort column is the key.
      index('comments', ['created_at'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_created_at_idx ON app.comments (created_at) WHERE flagged;'),
      // Equality (most selective first) + sort; the owner-only count merges into it.
      index('documents', ['owner_id', 'type_id', 'uploaded_at'],
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_type_id_uploaded_at_idx ON app.documents (owner_id, type_id, uploaded_at);'),
      // Partial: IS NULL matching 1% of the rows.
      index('jobs', ['queue_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_queue_id_idx ON app.jobs (queue_id) WHERE finished_at IS NULL;'),
      // Join key.
      index('line_items', ['order_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS line_items_order_id_idx ON app.line_items (order_id);'),
      // IN list, and the first OR branch of another statement.
      index('tickets', ['assignee_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_assignee_id_idx ON app.tickets (assignee_id);'),
      // The other OR branch.
      index('tickets', ['reporter_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_reporter_id_idx ON app.tickets (reporter_id);'),
    ]);
  });

  it('names the statements each proposal serves, with the estimates, unverified, and counts the skipped statements', async () => {
    const documents = analysis.findings.find((f) => f.target.table === 'documents');
    const served = await db.query<{ queryid: string }>(
      "SELECT queryid::text FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM app.documents%' ORDER BY total_exec_time DESC");
    expect(served).toHaveLength(2);
    expect(documents?.evidence).toMatchObject({
      statements: served.map((row) => row.queryid).join(','),
      statementCount: 2, calls: 100, tableRows: 200000, predicate: null, selectivity: 0.005,
      indexWrites: 0, lostHotUpdates: 0, writeCostMs: 0, verified: false,
      statementsAnalyzed: 13, skippedUtility: 2, skippedUnparseable: 0,
    });
    expect(documents?.evidence.estimatedSavedMs).toBeGreaterThan(100);
    expect(documents?.message).toMatch(
      /^app\.documents \(owner_id, type_id, uploaded_at\): 2 statements \(100 calls, [\d.]+ m?s\) would read at most ~0\.50% of 200k rows per call; ~[\d.]+ m?s saved against ~0 ms of index writes \(estimated, unverified\)\.$/);
    const jobs = analysis.findings.find((f) => f.target.table === 'jobs');
    expect(jobs?.evidence).toMatchObject({ predicate: 'finished_at IS NULL', statementCount: 1, calls: 60 });
  });

  it('is skipped, with the reason, when pg_stat_statements cannot be read', async () => {
    const bare = await createDatabase();
    try {
      expect((await bare.scan(['missing-index'])).skipped).toEqual([
        { rule: 'missing-index', reason: expect.stringContaining('pg_stat_statements is not installed') },
      ]);
    } finally {
      await bare.drop();
    }
  });

  it('makes the planner use the new indexes, and is cleared by its own fix', async () => {
    for (const action of analysis.findings.flatMap((f) => f.actions)) await db.run(action.sql);
    await db.run('ANALYZE');
    expect(await plan(db, 'SELECT id, title FROM app.documents d WHERE d.owner_id = 42 AND d.type_id = 3 ORDER BY d.uploaded_at DESC LIMIT 20'))
      .toMatch(/Index Scan Backward using documents_owner_id_type_id_uploaded_at_idx on documents/);
    expect(await plan(db, 'SELECT count(*) FROM app.documents WHERE owner_id = 42')).toMatch(/documents_owner_id_type_id_uploaded_at_idx/);
    expect(await plan(db, 'SELECT id FROM app.jobs WHERE queue_id = 3 AND finished_at IS NULL')).toMatch(/Index Scan using jobs_queue_id_idx|Bitmap Index Scan on jobs_queue_id_idx/);
    expect(await plan(db, 'SELECT id, body FROM app.comments WHERE flagged ORDER BY created_at DESC LIMIT 50')).toMatch(/Index Scan Backward using comments_created_at_idx/);
    expect(await plan(db, 'SELECT o.id, sum(li.amount) FROM app.orders o JOIN app.line_items li ON li.order_id = o.id WHERE o.customer_id = 7 GROUP BY o.id'))
      .toMatch(/line_items_order_id_idx/);
    expect(await plan(db, 'SELECT count(*) FROM app.tickets WHERE assignee_id = 5 OR reporter_id = 12'))
      .toMatch(/BitmapOr[\s\S]*tickets_assignee_id_idx[\s\S]*tickets_reporter_id_idx/);
    expect(findingsOf(await db.scan(['missing-index']), 'missing-index')).toEqual([]);
  });
});
