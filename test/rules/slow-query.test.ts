import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import type { Snapshot, Statement } from '../../src/collect/snapshot.js';
import { EMPTY_CONFIG } from '../../src/config/load.js';
import { runWorkload } from '../../src/embedded/workload.js';
import { FIXTURES_DIR } from '../../src/paths.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

// Only this database's statements: other test files share the server and run in parallel.
const RESET = 'SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)';

const REPORT = `SELECT c.region, count(*) AS orders, percentile_cont($1) WITHIN GROUP (ORDER BY o.total) AS median_total
FROM app.orders o
JOIN app.customers c ON c.id = o.customer_id
CROSS JOIN pg_sleep($2)
WHERE o.customer_id <= $3
GROUP BY c.region`;

describe('slow-query', () => {
  let db: TestDatabase;
  let snapshot: Snapshot;
  beforeAll(async () => {
    db = await createDatabase('slow-query');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(RESET);
      await runWorkload(client, join(FIXTURES_DIR, 'slow-query.workload.sql'));
    } finally {
      await client.end();
    }
    snapshot = await db.snapshot();
  });
  afterAll(() => db.drop());

  const scan = async (snap: Snapshot = snapshot) => analyze(snap, await loadRules(), EMPTY_CONFIG, { only: ['slow-query'] });

  it('reports the statement that dominates query time and the one slow on every call; not the look-alikes', async () => {
    const { findings, skipped } = await scan();
    expect(skipped).toEqual([]);
    expect(findings.map((f) => ({ severity: f.severity, kind: f.target.kind, query: f.target.query, calls: f.evidence.calls }))).toEqual([
      { severity: 'critical', kind: 'query', query: 'SELECT count(*), sum(total) FROM app.orders WHERE status = $1', calls: 80 },
      { severity: 'warning', kind: 'query', query: REPORT, calls: 2 },
    ]);
  });

  it('carries the evidence numbers, a one-line message and manual advice', async () => {
    const [badge, report] = (await scan()).findings;
    expect(badge?.evidence).toMatchObject({ calls: 80, rowsPerCall: 1, tempBlocksWritten: 0 });
    expect(badge?.evidence.shareOfTotalTime).toBeGreaterThan(0.5);
    expect(Number(badge?.evidence.sharedBlocksHit) + Number(badge?.evidence.sharedBlocksRead)).toBeGreaterThan(80 * 500);
    expect(badge?.message).toMatch(/^\d+% of query time since statistics were reset \(80 calls, [\d.]+ m?s in all, [\d.]+ ms per call, 1 row per call\): SELECT count\(\*\), sum\(total\) FROM app\.orders WHERE status = \$1$/);
    expect(badge?.actions).toEqual([expect.objectContaining({ kind: 'manual', transactional: true, lock: null })]);
    expect(badge?.actions[0]?.sql).toContain('EXPLAIN (ANALYZE, BUFFERS)');
    expect(badge?.actions[0]?.sql).toContain('perfaudit scan --rules missing-index');
    expect(badge?.actions[0]?.sql).not.toContain('work_mem');

    expect(report?.evidence).toMatchObject({ calls: 2, rowsPerCall: 4 });
    expect(report?.evidence.meanTimeMs).toBeGreaterThanOrEqual(100);
    expect(report?.evidence.tempBlocksWritten).toBeGreaterThan(0);
    expect(report?.actions[0]?.sql).toMatch(/of temporary files: sorts or hashes spill to disk/);
    expect(report?.actions[0]?.sql).toContain("SET LOCAL work_mem = '64MB';");
  });

  it('ignores utility statements and one-offs, however slow, and skips texts that do not parse', async () => {
    const texts = snapshot.workload.statements.map((s) => s.query);
    expect(texts).toEqual(expect.arrayContaining(["DO '…'", 'VACUUM ANALYZE app.customers']));
    const heavy = (query: string): Statement => ({ ...snapshot.workload.statements[0]!, queryId: query, query, calls: 50, totalTimeMs: 1e7, meanTimeMs: 2e5 });
    const noisy: Snapshot = {
      ...snapshot,
      workload: { ...snapshot.workload, statements: [...snapshot.workload.statements, heavy('CREATE INDEX ON app.orders (status)'), heavy('SELEC broken …')] },
    };
    expect((await scan(noisy)).findings.map((f) => f.target.query)).toEqual([
      'SELECT count(*), sum(total) FROM app.orders WHERE status = $1', REPORT,
    ]);
  });

  it('takes its thresholds from options', async () => {
    const config = { ...EMPTY_CONFIG, rules: { 'slow-query': { options: { minShare: 0.99, meanMs: 1e6, criticalShare: 1 } } } };
    expect((await db.scan(['slow-query'], config)).findings).toEqual([]);
  });

  it('is skipped, with the reason, without pg_stat_statements', async () => {
    const bare = await createDatabase();
    try {
      expect((await bare.scan(['slow-query'])).skipped).toEqual([
        { rule: 'slow-query', reason: `pg_stat_statements is not installed in database ${bare.name}: run CREATE EXTENSION pg_stat_statements;` },
      ]);
    } finally {
      await bare.drop();
    }
    const unreadable: Snapshot = { ...snapshot, workload: { ...snapshot.workload, statements: [], unavailable: 'the role app may not read other roles\' statements' } };
    expect((await scan(unreadable)).skipped).toEqual([{ rule: 'slow-query', reason: 'the role app may not read other roles\' statements' }]);
  });
});
